"""A bound on the request bodies the service holds at once.

A 16 MB batch costs several times its size once parsed into proposals; eight clients sending one each
took the service from 128 MB to 896 MB. Each request reserves its body's size (its declared length,
or the body limit when it declares none) before reading it and releases it once answered; requests
beyond the budget wait, unread, in the socket, so memory follows the budget instead of the clients.
"""

import asyncio
from contextlib import asynccontextmanager


class InFlightBodies:
    def __init__(self, limit_bytes: int):
        self.limit = limit_bytes
        self.reserved = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def reserve(self, size: int):
        size = max(1, min(size, self.limit))  # one body alone always fits
        async with self._changed:
            await self._changed.wait_for(lambda: self.reserved + size <= self.limit)
            self.reserved += size
        try:
            yield
        finally:
            async with self._changed:
                self.reserved -= size
                self._changed.notify_all()
