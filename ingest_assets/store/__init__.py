"""The embedded metadata store and (later) the local metadata service over it."""
