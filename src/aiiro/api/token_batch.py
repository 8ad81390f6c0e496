"""Group commit for the token endpoint.

Every token is a row written before the answer leaves (tokens survive a crash). One
transaction per request makes the commit, the credential query and the connection
checkout the bulk of the endpoint's cost; under concurrent load the requests that arrive
together (in one turn of the event loop) are written by one `accounts.issue_tokens` call,
one transaction, and each answered when it commits. A lone request waits for nothing but
the next turn of the loop.
"""

from __future__ import annotations

import asyncio

from aiiro.domain import accounts
from aiiro.domain.accounts import IssuedToken
from aiiro.runtime import Runtime

Pending = list[tuple[str, str, "asyncio.Future[IssuedToken]"]]


class TokenBatch:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # Per event loop: each test client runs its own loop.
        self._pending: dict[asyncio.AbstractEventLoop, Pending] = {}

    async def issue(self, client_id: str, client_secret: str) -> IssuedToken:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IssuedToken] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._flush, loop)
        pending.append((client_id, client_secret, future))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, [])
        if not batch:
            return
        try:
            with self.rt.db.write() as s:
                results = accounts.issue_tokens(self.rt, s, [(c, p) for c, p, _ in batch])
        except Exception as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # the client went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def token_batch(rt: Runtime) -> TokenBatch:
    found: TokenBatch | None = rt.extras.get("token_batch")
    if found is None:
        found = rt.extras.setdefault("token_batch", TokenBatch(rt))
    return found
