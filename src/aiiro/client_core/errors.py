"""The exceptions the SDK raises. Each carries the Indigo code and message when the API
sent one, and a hint a person can act on.

    IndigoError
    ├── ConfigError            no credentials, bad profile
    ├── NetworkError           the endpoint could not be reached (after retries)
    ├── APIError               the API answered with an error (code, message, status)
    │   ├── AuthError          401: bad key/secret or token
    │   ├── QuotaError         429 and the quota did not free up within the allowed wait
    │   ├── NotFoundError      404, or an id the API does not know
    │   ├── StateError         refused in this state: I10016, I10017, I10055, S10002, F60009
    │   ├── InvalidRequest     other 4xx (bad field, bad combination, out of stock ...)
    │   └── ServerError        5xx
    ├── LookupFailed           no resource by that name / several by that name
    ├── WaitTimeout            a waiter gave up
    └── BootFailed             the instance never answered after start (restore workflow)
"""

from __future__ import annotations

from typing import Any

# Codes whose meaning is "not in this state"; the hint says what to do instead.
ALREADY_RUNNING = "I10016"
ALREADY_STOPPED = "I10017"
STOP_BEFORE_DESTROY = "I10055"
STOP_BEFORE_RESTORE = "S10002"
FIREWALL_IN_USE = "F60009"
STATE_CODES = {
    ALREADY_RUNNING,
    ALREADY_STOPPED,
    STOP_BEFORE_DESTROY,
    STOP_BEFORE_RESTORE,
    FIREWALL_IN_USE,
}

HINTS: dict[str, str] = {
    ALREADY_RUNNING: "the instance is already running; nothing to do "
    "(with --wait the command treats this as success, as the SDK's `ensure_running` does)",
    ALREADY_STOPPED: "the instance is already stopped; nothing to do "
    "(with --wait the command treats this as success, as the SDK's `ensure_stopped` does)",
    STOP_BEFORE_DESTROY: "stop the instance first: `aiiro instance stop NAME --wait` "
    "(or `aiiro instance destroy NAME --stop`)",
    STOP_BEFORE_RESTORE: "stop the instance first; `aiiro snapshot restore` does it for you",
    FIREWALL_IN_USE: "the template is assigned to an active instance; destroy that instance "
    "first (Indigo has no unassign)",
    "I10034": "the key was refused: Indigo takes RSA keys without a comment (ed25519 is refused)",
    "I10059": "the region is out of stock; try another plan or try again later",
    # aiiro's: a snapshot slot that holds a snapshot (Indigo's answer is unknown).
    "A4030": "leave --slot out to take the lowest free slot, or delete the snapshot in that "
    "slot first (`aiiro snapshot list` shows the slots)",
    "401": "check the API key and secret (`aiiro configure`), and that they belong to "
    "this endpoint",
    "429": "the quota (6 requests per minute per key) is used up; wait for the next minute "
    "or allow a longer wait",
}


# For an error against the real service when nothing named an endpoint: the user most
# likely meant a local aiiro, whose credentials mean nothing there.
DEFAULT_ENDPOINT_HINT = (
    "no endpoint was named, so the client tried the real Indigo service; for an aiiro "
    "server `source ~/.webarena_secret` (`aiiro serve --write-secret` writes its endpoint "
    "there), export AIIRO_ENDPOINT, or pass --endpoint"
)


def auth_hint(defaulted: bool) -> str:
    """What to check when the token request was refused (401)."""
    if defaulted:
        return DEFAULT_ENDPOINT_HINT
    return (
        "check that the API key and secret belong to this endpoint "
        "(`aiiro profile show`, `aiiro configure`)"
    )


def network_hint(cause: BaseException, defaulted: bool) -> str:
    """What to check when the endpoint could not be reached, by what went wrong. (httpx
    and http.client word their errors alike: "[Errno 111] Connection refused".)"""
    text = str(cause)
    if isinstance(cause, ConnectionRefusedError) or "refused" in text.lower():
        hint = "nothing listens there: is `aiiro serve` running? check --endpoint / the profile"
    elif isinstance(cause, TimeoutError) or "timed out" in text.lower():
        hint = "no answer in time: check the endpoint (--endpoint / the profile) and the network"
    elif any(w in text.lower() for w in ("name or service", "name resolution", "nodename")):
        hint = "the host name does not resolve: check --endpoint / the profile"
    else:
        hint = "check --endpoint / the profile, and the network"
    return f"{hint}; {DEFAULT_ENDPOINT_HINT}" if defaulted else hint


class IndigoError(Exception):
    """Base class of every SDK error."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(IndigoError):
    pass


class IndigoWarning(UserWarning):
    """Something worth knowing that is not an error: e.g. a new instance takes a name
    another instance already has (the API allows it, but names then stop naming one)."""


class NetworkError(IndigoError):
    pass


class LookupFailed(IndigoError):
    """No resource by that name, or more than one."""


class WaitTimeout(IndigoError):
    def __init__(self, message: str, *, last: Any = None) -> None:
        super().__init__(message, hint="raise --timeout, or check the instance in the panel")
        self.last = last


class BootFailed(IndigoError):
    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="look at the console; `aiiro instance forcestop` then `start` is the usual cure",
        )


class APIError(IndigoError):
    """An error answer from the API: HTTP status, Indigo code and message, raw body."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        body: Any = None,
        method: str = "",
        path: str = "",
        request_id: str | None = None,
    ) -> None:
        key = code or str(status)
        super().__init__(message, hint=HINTS.get(key))
        self.status = status
        self.code = code
        self.body = body
        self.method = method
        self.path = path
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class AuthError(APIError):
    pass


class QuotaError(APIError):
    pass


class NotFoundError(APIError):
    pass


class StateError(APIError):
    pass


class InvalidRequest(APIError):
    pass


class ServerError(APIError):
    pass


def error_class(status: int, code: str | None) -> type[APIError]:
    if status == 401:
        return AuthError
    if status == 429:
        return QuotaError
    if code in STATE_CODES:
        return StateError
    if status == 404:
        return NotFoundError
    if status >= 500:
        return ServerError
    return InvalidRequest
