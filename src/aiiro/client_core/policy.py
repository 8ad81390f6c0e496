"""Requests, operations, and the request policy: written once for the sync and the async
client, and for the CLI.

Every API operation is a generator (an `Op`) that yields effects — send this HTTP request
(`Http`), sleep this long (`Sleep`), run this blocking function (`Blocking`) — and receives
their results. `run_sync` and `run_async` carry the effects out with the transport and the
sleep they are given. So token handling, quota waits, retries, waiters and workflows exist
in one copy, and a test can drive them with a virtual clock and no real sleeping. A `Call`
is one request and how to read its answer.

`Engine.send` holds the request policy:
- a bearer token from the token store, fetched when missing and refreshed `REFRESH_MARGIN`
  seconds before expiry; on a 401 the token is fetched again and the request sent once more;
- quota: X-Quota-Available/X-Quota-Reset are read on every answer; when none is left the
  next request waits for the reset instead of drawing a 429, and a 429 waits for the reset
  and retries (a 429 is refused before the backend, so this is safe for any method), up to
  `quota_wait` seconds in all (logged at debug level on the "aiiro.client" logger);
- retries with exponential backoff and jitter on network errors and 5xx, for safe requests
  only (GET, and the token request).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from aiiro import __version__
from aiiro.client_core.config import Settings
from aiiro.client_core.errors import (
    APIError,
    AuthError,
    NetworkError,
    auth_hint,
    error_class,
    network_hint,
)
from aiiro.client_core.tokens import MemoryTokens, Token, TokenStore

T = TypeVar("T")
LOGGER = "aiiro.client"


def debug(message: str, *args: Any) -> None:
    """Log at debug level on the "aiiro.client" logger. Until something has imported
    `logging` nobody can have configured it, and a debug message would go nowhere: so a
    CLI run does not import it (it would cost a tenth of the start-up budget)."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(LOGGER).debug(message, *args)


TOKEN_PATH = "/oauth/v1/accesstokens"
REFRESH_MARGIN = 60.0  # seconds before expiry a token is replaced
USER_AGENT = f"aiiro-client/{__version__}"
RETRY_STATUSES = {500, 502, 503, 504}


# Plain classes rather than dataclasses: importing `dataclasses` (and with it `inspect`)
# would cost every CLI list command as much as the rest of its imports (docs/performance.md).


class Request:
    """One Indigo API call, before credentials are added."""

    __slots__ = ("auth", "body", "idempotent", "method", "params", "path")

    def __init__(
        self,
        method: str,
        path: str,
        params: tuple[tuple[str, str], ...] = (),
        body: Any = None,
        auth: bool = True,
        idempotent: bool | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.body = body
        self.auth = auth
        # Whether resending after a network error or 5xx is harmless; by default GET and HEAD.
        self.idempotent = idempotent

    def __repr__(self) -> str:
        return f"Request({self.method!r}, {self.target!r})"

    @property
    def safe(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in ("GET", "HEAD")

    @property
    def target(self) -> str:
        if not self.params:
            return self.path
        return f"{self.path}?{urlencode(self.params)}"


# --- effects --------------------------------------------------------------------------


class Http:
    __slots__ = ("content", "headers", "method", "timeout", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        timeout: float,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Http({self.method!r}, {self.url!r})"


class Reply:
    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status = status
        self.headers = headers  # lower-case names
        self.content = content

    def __repr__(self) -> str:
        return f"Reply({self.status}, {len(self.content)} bytes)"

    def json(self) -> Any:
        return json.loads(self.content) if self.content.strip() else None


class Sleep:
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Blocking:
    """Run a blocking function (a TCP probe, a user's boot check); its result is sent back."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn


Effect = Http | Sleep | Blocking
Op = Generator[Effect, Any, T]
SyncSend = Callable[[Http], Reply]
AsyncSend = Callable[[Http], Awaitable[Reply]]


class Call(Generic[T]):
    """A request and what to make of its decoded JSON answer."""

    __slots__ = ("parse", "request")

    def __init__(self, request: Request, parse: Callable[[Any], T]) -> None:
        self.request = request
        self.parse = parse

    def __repr__(self) -> str:
        return f"Call({self.request!r})"


class Steps(Iterator[Effect], Generic[T]):
    """An op's effects, one at a time, for a runner: the runner sets `result` (or `error`)
    after carrying each out, and `value` is the op's return value once it has finished."""

    def __init__(self, op: Op[T]) -> None:
        self.op = op
        self.result: Any = None
        self.error: BaseException | None = None
        self.value: T

    def __next__(self) -> Effect:
        result, error = self.result, self.error
        self.result, self.error = None, None
        try:
            return self.op.throw(error) if error is not None else self.op.send(result)
        except StopIteration as stop:
            self.value = stop.value
            raise StopIteration from None


def run_sync(op: Op[T], send: SyncSend, sleep: Callable[[float], None] = time.sleep) -> T:
    """Carry out an op: its requests with `send`, its sleeps with `sleep`, its blocking
    functions in this thread; an exception is handed to the op, which may retry."""
    steps = Steps(op)
    for effect in steps:
        try:
            if isinstance(effect, Http):
                steps.result = send(effect)
            elif isinstance(effect, Sleep):
                sleep(effect.seconds)
            else:
                steps.result = effect.fn()
        except Exception as exc:
            steps.error = exc
    return steps.value


async def run_async(
    op: Op[T], send: AsyncSend, sleep: Callable[[float], Awaitable[Any]] | None = None
) -> T:
    """As `run_sync`, awaiting `send` and `sleep` (asyncio.sleep by default); blocking
    functions run in a thread."""
    # asyncio is imported here, not above: the CLI and sync SDK users never need it, and it
    # costs more start-up time than the rest of this module.
    import asyncio

    steps = Steps(op)
    for effect in steps:
        try:
            if isinstance(effect, Http):
                steps.result = await send(effect)
            elif isinstance(effect, Sleep):
                await (sleep or asyncio.sleep)(effect.seconds)
            else:
                steps.result = await asyncio.to_thread(effect.fn)
        except Exception as exc:
            steps.error = exc
    return steps.value


# --- answers ----------------------------------------------------------------------------


def api_error(status: int, body: Any, req: Request, reply: Reply | None = None) -> APIError:
    """The exception for an error answer: backend shape {success:false,errorMessage,
    errorCode} or gateway shape {errorCode:"429",errorMessage,developerMessage,...}."""
    code: str | None = None
    message = f"HTTP {status}"
    if isinstance(body, dict):
        raw_code = body.get("errorCode")
        code = str(raw_code) if raw_code not in (None, "") else None
        message = str(body.get("errorMessage") or body.get("message") or message)
    if code == str(status):  # the gateway repeats the HTTP status as its code
        code = None
    request_id = reply.headers.get("x-request-id") if reply else None
    cls = error_class(status, code)
    return cls(
        status, code, message, body=body, method=req.method, path=req.path, request_id=request_id
    )


def decode(req: Request, reply: Reply) -> Any:
    """The JSON of a successful answer, or the APIError the answer means."""
    try:
        body = reply.json()
    except ValueError:
        body = None
        if reply.status < 400:
            raise APIError(
                reply.status, None, "the answer is not JSON", method=req.method, path=req.path
            ) from None
    if reply.status >= 400:
        raise api_error(reply.status, body, req, reply)
    if isinstance(body, dict) and body.get("success") is False and body.get("errorCode"):
        raise api_error(400, body, req, reply)
    return body


# --- the engine -------------------------------------------------------------------------


class Engine:
    """Turns Requests into HTTP with credentials and the request policy (module doc)."""

    def __init__(
        self,
        settings: Settings,
        *,
        tokens: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        quota_wait: float = 180.0,
    ) -> None:
        self.settings = settings
        self.tokens: TokenStore = tokens if tokens is not None else MemoryTokens()
        self.clock = clock
        self._rng = rng
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.quota_wait = quota_wait
        # (requests left, reset time in seconds) from the last answer that said so.
        self.quota: tuple[int, float] | None = None
        self.quota_allowed: int | None = None  # X-Quota-Allowed: requests per minute
        # Told of each quota wait before it starts ("waiting 34 s for the API quota (6
        # requests a minute)"): the CLI shows it, as a wait of a minute looks like a hang.
        self.on_quota_wait: Callable[[str], None] | None = None

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    @property
    def rng(self) -> random.Random:
        """Jitter for waits (made on first use: most runs never wait)."""
        if self._rng is None:
            self._rng = random.Random()
        return self._rng

    def url(self, req: Request) -> str:
        return self.endpoint + req.target

    # -- ops -------------------------------------------------------------------------------

    def run(self, call: Call[T]) -> Op[T]:
        reply = yield from self.send(call.request)
        return call.parse(decode(call.request, reply))

    def token(self, refresh: bool = False) -> Op[Token]:
        key, _ = self.settings.require_credentials()
        if not refresh:
            cached = self.tokens.get(self.endpoint, key)
            if cached is not None and cached.expires_at - REFRESH_MARGIN > self.clock():
                return cached
        req = self.token_request()
        reply = yield from self._send(req)
        if reply.status == 401:
            body = _json_or_none(reply)
            err = api_error(401, body, req, reply)
            settings = self.settings
            failed = AuthError(
                401,
                err.code,
                f"{err.message} Endpoint {settings.where()}; credentials from {settings.source}.",
                body=body,
                method="POST",
                path=TOKEN_PATH,
                request_id=err.request_id,
            )
            failed.hint = auth_hint(settings.defaulted)
            raise failed
        data = decode(req, reply)
        if not isinstance(data, dict) or "accessToken" not in data:
            raise APIError(reply.status, None, "no accessToken in the answer", body=data)
        token = Token.from_api(data, self.clock())
        self.tokens.put(self.endpoint, key, token)
        return token

    def token_request(self) -> Request:
        """The token request for the settings' credentials."""
        key, secret = self.settings.require_credentials()
        return Request(
            "POST",
            TOKEN_PATH,
            body={
                "grantType": "client_credentials",
                "clientId": key,
                "clientSecret": secret,
                "code": "",
            },
            auth=False,
            idempotent=True,  # a second token does no harm
        )

    def send(self, req: Request) -> Op[Reply]:
        """Send with credentials; one fresh token on a 401."""
        reply = yield from self._send(req)
        if reply.status == 401 and req.auth:
            debug("401 on %s %s: fetching a new token and retrying once", req.method, req.path)
            key, _ = self.settings.require_credentials()
            self.tokens.forget(self.endpoint, key)
            reply = yield from self._send(req, refresh=True)
        return reply

    def _send(self, req: Request, refresh: bool = False) -> Op[Reply]:
        attempt = 0
        quota_waited = 0.0
        while True:
            headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
            content = None
            if req.body is not None:
                headers["Content-Type"] = "application/json"
                content = json.dumps(req.body).encode()
            if req.auth:
                token = yield from self.token(refresh=refresh)
                refresh = False
                headers["Authorization"] = f"Bearer {token.access_token}"
                quota_waited += yield from self._quota_pause()
            try:
                reply: Reply = yield Http(req.method, self.url(req), headers, content, self.timeout)
            except NetworkError as exc:
                if not req.safe or attempt >= self.max_retries:
                    raise self._unreachable(exc) from exc
                attempt += 1
                delay = self._backoff(attempt)
                debug(
                    "%s %s failed (%s); retry %d in %.1f s",
                    req.method,
                    req.path,
                    exc,
                    attempt,
                    delay,
                )
                yield Sleep(delay)
                continue
            self._note_quota(reply)
            debug("%s %s -> %d", req.method, req.target, reply.status)
            if reply.status == 429:
                wait = self._quota_delay(attempt)
                if quota_waited + wait > self.quota_wait:
                    raise api_error(429, _json_or_none(reply), req, reply)
                debug(
                    "quota used up (429 on %s %s); waiting %.1f s for the reset",
                    req.method,
                    req.path,
                    wait,
                )
                self._tell_quota_wait(wait)
                quota_waited += wait
                attempt += 1
                self.quota = None  # this wait covers it
                yield Sleep(wait)
                continue
            if reply.status in RETRY_STATUSES and req.safe and attempt < self.max_retries:
                attempt += 1
                delay = self._backoff(attempt)
                debug(
                    "%s %s answered %d; retry %d in %.1f s",
                    req.method,
                    req.path,
                    reply.status,
                    attempt,
                    delay,
                )
                yield Sleep(delay)
                continue
            return reply

    def _unreachable(self, exc: NetworkError) -> NetworkError:
        """The transport's error, naming the endpoint, where it came from, and a hint."""
        settings = self.settings
        cause = exc.__cause__ or exc
        return NetworkError(
            f"{exc.message}. Endpoint {settings.where()}.",
            hint=network_hint(cause, settings.defaulted),
        )

    # -- quota and backoff -------------------------------------------------------------------

    def _tell_quota_wait(self, seconds: float) -> None:
        if self.on_quota_wait is None:
            return
        per_minute = f" ({self.quota_allowed} requests a minute)" if self.quota_allowed else ""
        self.on_quota_wait(f"waiting {seconds:.0f} s for the API quota{per_minute}")

    def _note_quota(self, reply: Reply) -> None:
        allowed = reply.headers.get("x-quota-allowed")
        if allowed is not None and allowed.strip().isdigit():
            self.quota_allowed = int(allowed)
        available = reply.headers.get("x-quota-available")
        reset = reply.headers.get("x-quota-reset")
        if available is None or reset is None:
            return
        try:
            self.quota = (int(available), int(reset) / 1000.0)
        except ValueError:
            self.quota = None

    def _quota_pause(self) -> Op[float]:
        """Wait for the quota reset when the last answer said nothing is left."""
        if self.quota is None:
            return 0.0
        available, reset = self.quota
        wait = reset - self.clock()
        if available > 0 or wait <= 0:
            return 0.0
        wait = min(wait, 61.0) + self.rng.uniform(0.05, 0.25)
        if wait > self.quota_wait:
            return 0.0  # let the request draw the 429, which reports the error
        debug("quota used up; waiting %.1f s for the reset before the next request", wait)
        self._tell_quota_wait(wait)
        self.quota = None
        yield Sleep(wait)
        return wait

    def _quota_delay(self, attempt: int) -> float:
        if self.quota is not None:
            wait = self.quota[1] - self.clock()
            if wait > 0:
                return min(wait, 61.0) + self.rng.uniform(0.05, 0.25)
        # No usable reset time (spike arrest, clock skew): back off instead.
        return self._backoff(attempt + 1)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(30.0, self.backoff * 2.0 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    # -- dry run -------------------------------------------------------------------------------

    def describe(self, req: Request) -> str:
        """The HTTP request as text, as it would be sent (token not shown)."""
        lines = [f"{req.method} {self.url(req)}"]
        if req.auth:
            lines.append("Authorization: Bearer <token>")
        if req.body is not None:
            lines.append("Content-Type: application/json")
            lines.append("")
            lines.append(json.dumps(req.body, indent=2, ensure_ascii=False))
        return "\n".join(lines)


def _json_or_none(reply: Reply) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None
