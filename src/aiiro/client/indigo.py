"""`Indigo` and `AsyncIndigo`: the SDK's entry points.

    from aiiro.client import Indigo
    indigo = Indigo(api_key=..., api_secret=..., endpoint="http://127.0.0.1:8080")
    for inst in indigo.instances.list():
        print(inst.instance_name, inst.instancestatus)

Without arguments, endpoint and credentials come from the environment, a profile or
~/.webarena_secret (aiiro.client.config). Tokens are cached on disk per endpoint and key.
Pass `http_client` (an httpx.Client, e.g. starlette's TestClient) or `transport` (any
callable Http -> Reply) to choose how requests travel, and `clock`/`sleep` to run on a
virtual clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiiro.client.apikeys import ApiKeys, AsyncApiKeys
from aiiro.client.catalog import AsyncCatalog, Catalog
from aiiro.client.config import Settings, resolve
from aiiro.client.core import AsyncSend, Engine, SyncSend, run_async, run_sync
from aiiro.client.firewalls import AsyncFirewalls, Firewalls
from aiiro.client.instances import AsyncInstances, Instances
from aiiro.client.ops import Call, Op
from aiiro.client.places import Places
from aiiro.client.snapshots import AsyncSnapshots, Snapshots
from aiiro.client.sshkeys import AsyncSshKeys, SshKeys
from aiiro.client.tokens import DiskTokens, MemoryTokens, Token

if TYPE_CHECKING:
    import httpx

    from aiiro.client.tokens import TokenStore

    TokenCache = TokenStore | str | bool

T = TypeVar("T")


def _token_store(cache: TokenCache, places: Places) -> TokenStore:
    if cache is True:
        return DiskTokens.in_cache(places.cache_dir)
    if cache is False:
        return MemoryTokens()
    if isinstance(cache, str):
        return DiskTokens(cache)
    return cache


def _engine(
    api_key: str | None,
    api_secret: str | None,
    endpoint: str | None,
    profile: str | None,
    settings: Settings | None,
    places: Places | None,
    token_cache: TokenCache,
    clock: Callable[[], float],
    rng: random.Random | None,
    timeout: float,
    max_retries: int,
    quota_wait: float,
) -> Engine:
    places = places or Places.from_environ()
    settings = settings or resolve(
        api_key=api_key, api_secret=api_secret, endpoint=endpoint, profile=profile, places=places
    )
    return Engine(
        settings,
        tokens=_token_store(token_cache, places),
        clock=clock,
        rng=rng,
        timeout=timeout,
        max_retries=max_retries,
        quota_wait=quota_wait,
    )


class Indigo:
    """The synchronous client."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        endpoint: str | None = None,
        *,
        profile: str | None = None,
        settings: Settings | None = None,
        places: Places | None = None,
        http_client: httpx.Client | None = None,
        transport: SyncSend | None = None,
        token_cache: TokenCache = True,
        timeout: float = 30.0,
        max_retries: int = 3,
        quota_wait: float = 180.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = _engine(
            api_key,
            api_secret,
            endpoint,
            profile,
            settings,
            places,
            token_cache,
            clock,
            rng,
            timeout,
            max_retries,
            quota_wait,
        )
        self._own_client: httpx.Client | None = None
        if transport is None:
            from aiiro.client.transport import HttpxSend

            if http_client is None:
                import httpx

                http_client = self._own_client = httpx.Client(timeout=timeout)
            transport = HttpxSend(http_client)
        self._send = transport
        self._sleep = sleep
        e = self.engine
        self.apikeys = ApiKeys(e, self.run)
        self.sshkeys = SshKeys(e, self.run)
        self.catalog = Catalog(e, self.run)
        self.instances = Instances(e, self.run)
        self.firewalls = Firewalls(e, self.run)
        self.snapshots = Snapshots(e, self.run)

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    def run(self, op: Op[T]) -> T:
        """Carry out an op (any generator from the resource modules)."""
        return run_sync(op, self._send, self._sleep)

    def call(self, call: Call[T]) -> T:
        return self.run(self.engine.run(call))

    def token(self, refresh: bool = False) -> Token:
        """A valid access token (cached, or fetched now)."""
        return self.run(self.engine.token(refresh))

    def close(self) -> None:
        if self._own_client is not None:
            self._own_client.close()

    def __enter__(self) -> Indigo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncIndigo:
    """The asyncio client; the same resources, with `await`."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        endpoint: str | None = None,
        *,
        profile: str | None = None,
        settings: Settings | None = None,
        places: Places | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: AsyncSend | None = None,
        token_cache: TokenCache = True,
        timeout: float = 30.0,
        max_retries: int = 3,
        quota_wait: float = 180.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = _engine(
            api_key,
            api_secret,
            endpoint,
            profile,
            settings,
            places,
            token_cache,
            clock,
            rng,
            timeout,
            max_retries,
            quota_wait,
        )
        self._own_client: httpx.AsyncClient | None = None
        if transport is None:
            from aiiro.client.transport import HttpxAsyncSend

            if http_client is None:
                import httpx

                http_client = self._own_client = httpx.AsyncClient(timeout=timeout)
            transport = HttpxAsyncSend(http_client)
        self._send = transport
        self._sleep = sleep
        e = self.engine
        self.apikeys = AsyncApiKeys(e, self.run)
        self.sshkeys = AsyncSshKeys(e, self.run)
        self.catalog = AsyncCatalog(e, self.run)
        self.instances = AsyncInstances(e, self.run)
        self.firewalls = AsyncFirewalls(e, self.run)
        self.snapshots = AsyncSnapshots(e, self.run)

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    async def run(self, op: Op[T]) -> T:
        return await run_async(op, self._send, self._sleep)

    async def call(self, call: Call[T]) -> T:
        return await self.run(self.engine.run(call))

    async def token(self, refresh: bool = False) -> Token:
        return await self.run(self.engine.token(refresh))

    async def aclose(self) -> None:
        if self._own_client is not None:
            await self._own_client.aclose()

    async def __aenter__(self) -> AsyncIndigo:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
