"""`Indigo` and `AsyncIndigo`: the SDK's entry points.

    from aiiro.client import Indigo
    indigo = Indigo(api_key=..., api_secret=..., endpoint="http://127.0.0.1:8080")
    for inst in indigo.instances.list():
        print(inst.instance_name, inst.instancestatus)

Without arguments, endpoint and credentials come from the environment, a profile or
~/.webarena_secret (aiiro.client_core.config). Tokens are cached on disk per endpoint and
key. Pass `http_client` (an httpx.Client, e.g. starlette's TestClient) or `transport` (any
callable Http -> Reply) to choose how requests travel, and `clock`/`sleep` to run on a
virtual clock. Both clients take the same options (`Options`) and have the same
resources, written once (aiiro.client.resource).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from aiiro.client.apikeys import ApiKeys
from aiiro.client.catalog import Catalog
from aiiro.client.firewalls import Firewalls
from aiiro.client.instances import Instances
from aiiro.client.resource import Async, M, Resource, Runner, Sync, operation
from aiiro.client.snapshots import Snapshots
from aiiro.client.sshkeys import SshKeys
from aiiro.client_core.config import Places, Settings, resolve
from aiiro.client_core.policy import (
    AsyncSend,
    Call,
    Engine,
    Op,
    SyncSend,
    run_async,
    run_sync,
)
from aiiro.client_core.tokens import DiskTokens, MemoryTokens, Token, TokenStore
from aiiro.client_core.transport import HttpxAsyncSend, HttpxSend

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

# Where tokens are kept: True, the user's cache dir; False, this process only; a path,
# that directory; or a TokenStore of your own.
TokenCache = TokenStore | str | bool
TIMEOUT = 30.0  # seconds per request


class Options(TypedDict, total=False):
    """What both clients take besides the credentials and the transport."""

    profile: str | None  # a profile of the profile file (`aiiro configure`)
    settings: Settings | None  # resolved settings, instead of resolving them here
    places: Places | None  # where settings and the token cache are read (tests)
    token_cache: TokenCache  # default True
    timeout: float  # seconds per request; default 30
    max_retries: int  # retries of safe requests on network errors and 5xx; default 3
    quota_wait: float  # seconds a request may wait for the API quota in all; default 180
    clock: Callable[[], float]  # default time.time
    rng: random.Random | None  # jitter of waits


def _token_store(cache: TokenCache, places: Places) -> TokenStore:
    if cache is True:
        return DiskTokens.in_cache(places.cache_dir)
    if cache is False:
        return MemoryTokens()
    if isinstance(cache, str):
        return DiskTokens(cache)
    return cache


def _engine(
    api_key: str | None, api_secret: str | None, endpoint: str | None, options: Options
) -> Engine:
    places = options.get("places") or Places.from_environ()
    settings = options.get("settings") or resolve(
        api_key=api_key,
        api_secret=api_secret,
        endpoint=endpoint,
        profile=options.get("profile"),
        places=places,
    )
    return Engine(
        settings,
        tokens=_token_store(options.get("token_cache", True), places),
        clock=options.get("clock", time.time),
        rng=options.get("rng"),
        timeout=options.get("timeout", TIMEOUT),
        max_retries=options.get("max_retries", 3),
        quota_wait=options.get("quota_wait", 180.0),
    )


def _httpx() -> ModuleType:
    """httpx, imported when a client makes its own: the CLI and clients given a transport
    never need it, and importing it costs more than the rest of the SDK."""
    import httpx

    return httpx


class Client(Resource[M]):
    """What `Indigo` and `AsyncIndigo` share: the engine and the resources."""

    def __init__(self, engine: Engine, run: Runner) -> None:
        super().__init__(engine, run)
        self.engine = engine
        self.apikeys: ApiKeys[M] = ApiKeys(engine, run)
        self.sshkeys: SshKeys[M] = SshKeys(engine, run)
        self.catalog: Catalog[M] = Catalog(engine, run)
        self.instances: Instances[M] = Instances(engine, run)
        self.firewalls: Firewalls[M] = Firewalls(engine, run)
        self.snapshots: Snapshots[M] = Snapshots(engine, run)

    @property
    def settings(self) -> Settings:
        """The endpoint and credentials in use, and where each came from."""
        return self.engine.settings

    @operation
    def token(self, refresh: bool = False) -> Op[Token]:
        """A valid access token (cached, or fetched now; with `refresh`, fetched now)."""
        return self.engine.token(refresh)


class Indigo(Client[Sync]):
    """The synchronous client."""

    _own_client: httpx.Client | None = None  # the one it made, to close

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        endpoint: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        transport: SyncSend | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[Options],
    ) -> None:
        if transport is None:
            client = http_client or _httpx().Client(timeout=options.get("timeout", TIMEOUT))
            self._own_client = None if client is http_client else client
            transport = HttpxSend(client)
        self._send, self._sleep = transport, sleep
        super().__init__(_engine(api_key, api_secret, endpoint, options), self.run)

    def run(self, op: Op[T]) -> T:
        """Carry out an op (any generator from the resource modules)."""
        return run_sync(op, self._send, self._sleep)

    def call(self, call: Call[T]) -> T:
        """Send one request and read its answer (`instances.list_call()`, ...)."""
        return self.run(self.engine.run(call))

    def close(self) -> None:
        """Close the httpx client this client made (not one it was given)."""
        if self._own_client is not None:
            self._own_client.close()

    def __enter__(self) -> Indigo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncIndigo(Client[Async]):
    """The asyncio client: the same resources and options, with `await`."""

    _own_client: httpx.AsyncClient | None = None  # the one it made, to close

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        endpoint: str | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: AsyncSend | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        **options: Unpack[Options],
    ) -> None:
        if transport is None:
            client = http_client or _httpx().AsyncClient(timeout=options.get("timeout", TIMEOUT))
            self._own_client = None if client is http_client else client
            transport = HttpxAsyncSend(client)
        self._send, self._sleep = transport, sleep
        super().__init__(_engine(api_key, api_secret, endpoint, options), self.run)

    async def run(self, op: Op[T]) -> T:
        """Carry out an op (any generator from the resource modules)."""
        return await run_async(op, self._send, self._sleep)

    async def call(self, call: Call[T]) -> T:
        """Send one request and read its answer (`instances.list_call()`, ...)."""
        return await self.run(self.engine.run(call))

    async def aclose(self) -> None:
        """Close the httpx client this client made (not one it was given)."""
        if self._own_client is not None:
            await self._own_client.aclose()

    async def __aenter__(self) -> AsyncIndigo:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
