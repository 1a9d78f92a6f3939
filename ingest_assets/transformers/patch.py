"""PATCH proposals as DataHub 1.7's patch builders send them, for the aspects transformers add to.

GMS (and `ingest-assets serve`) applies a patch to the stored aspect inside one write, so a transformer with
`semantics: PATCH` adds its tags, owners, terms, domains or properties without reading the catalog first and
without dropping what someone added in the UI meanwhile. The paths and `arrayPrimaryKeys` are the builders'
(`datahub.specific.*`): arrays keyed by their members' identity, a path component per key field, `""` for a
missing one, `~` and `/` escaped as JSON Pointer escapes them.
"""

from dataclasses import dataclass

from ..core.mcp import MCP

PATCH_CONTENT_TYPE = "application/json-patch+json"
SOURCE_KEY = "attribution\u241fsource"
"""A nested key field (`attribution.source`), spelt with DataHub's unit separator."""

TAG_KEYS = {"tags": [SOURCE_KEY, "tag"]}
OWNER_KEYS = {"owners": ["owner", "type", "typeUrn", SOURCE_KEY]}
TERM_KEYS = {"terms": ["urn", SOURCE_KEY]}
DOMAIN_KEYS = {"domainAssociations": [SOURCE_KEY, "domain"]}


def pointer(*parts: str) -> str:
    """A JSON Pointer of these path components (`~` -> `~0`, `/` -> `~1`)."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class AspectPatch:
    """The operations of one PATCH proposal, with the array keys they rely on (None: a plain JSON Patch)."""

    ops: list[dict]
    array_primary_keys: dict | None = None

    def payload(self) -> list | dict:
        if self.array_primary_keys is None:
            return self.ops
        return {"arrayPrimaryKeys": self.array_primary_keys, "patch": self.ops}

    @classmethod
    def from_payload(cls, payload) -> "AspectPatch":
        if isinstance(payload, dict):
            return cls(list(payload.get("patch", [])), payload.get("arrayPrimaryKeys"))
        return cls(list(payload))

    def joined(self, other: "AspectPatch") -> "AspectPatch | None":
        """Both patches as one proposal, when they key their arrays alike (else None)."""
        if self.array_primary_keys != other.array_primary_keys:
            return None
        return AspectPatch(self.ops + other.ops, self.array_primary_keys)


def patch_mcp(entity_type: str, urn: str, aspect_name: str, patch: AspectPatch) -> MCP:
    return MCP(entity_type, urn, aspect_name, patch.payload(), change_type="PATCH")


def _source(association: dict) -> str:
    return (association.get("attribution") or {}).get("source") or ""


def add_tags(tags: list[dict]) -> AspectPatch:
    """`HasTagsPatch.add_tag` for each tag association."""
    return AspectPatch([{"op": "add", "path": pointer("tags", _source(t), t["tag"]), "value": t} for t in tags], TAG_KEYS)


def add_owners(owners: list[dict]) -> AspectPatch:
    """`HasOwnershipPatch.add_owner` for each owner."""
    return AspectPatch([
        {"op": "add", "path": pointer("owners", o["owner"], o.get("type") or "", o.get("typeUrn") or "", _source(o)), "value": o}
        for o in owners
    ], OWNER_KEYS)


def add_terms(terms: list[dict]) -> AspectPatch:
    """`HasTermsPatch.add_term` for each term association."""
    return AspectPatch([{"op": "add", "path": pointer("terms", t["urn"], _source(t)), "value": t} for t in terms], TERM_KEYS)


def add_domains(domains: list[str]) -> AspectPatch:
    """`HasDomainsPatch.add_domain` for each domain URN (unattributed)."""
    return AspectPatch([{"op": "add", "path": pointer("domainAssociations", "", d), "value": {"domain": d}} for d in domains],
                       DOMAIN_KEYS)


def add_properties(properties: dict[str, str]) -> list[dict]:
    """`HasCustomPropertiesPatch.add_custom_property` for each property (a plain JSON Patch)."""
    return [{"op": "add", "path": pointer("customProperties", key), "value": value} for key, value in properties.items()]


def set_fields(aspect: dict, skip: tuple[str, ...] = ()) -> list[dict]:
    """`add` of each top-level field, as the builders' `set_description`, `set_external_url`... do."""
    return [{"op": "add", "path": pointer(key), "value": value} for key, value in aspect.items() if key not in skip]


def add_assets(asset_urns: list[str]) -> AspectPatch:
    """`DataProductPatchBuilder.add_asset` for each asset (not an output port)."""
    return AspectPatch([{"op": "add", "path": pointer("assets", urn), "value": {"destinationUrn": urn, "outputPort": False}}
                        for urn in asset_urns])
