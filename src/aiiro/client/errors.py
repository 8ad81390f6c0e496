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

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: CLI start-up)
if TYPE_CHECKING:
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
    "(`ensure_running` treats this as success)",
    ALREADY_STOPPED: "the instance is already stopped; nothing to do "
    "(`ensure_stopped` treats this as success)",
    STOP_BEFORE_DESTROY: "stop the instance first: `aiiro instance stop NAME --wait` "
    "(or `aiiro instance destroy NAME --stop`)",
    STOP_BEFORE_RESTORE: "stop the instance first; `aiiro snapshot restore` does it for you",
    FIREWALL_IN_USE: "the template is assigned to an active instance; destroy that instance "
    "first (Indigo has no unassign)",
    "I10034": "the key was refused: Indigo takes RSA keys without a comment (ed25519 is refused)",
    "I10059": "the region is out of stock; try another plan or try again later",
    "401": "check the API key and secret (`aiiro configure`), or the endpoint",
    "429": "the quota (6 requests per minute per key) is used up; wait for the next minute "
    "or allow a longer wait",
}


class IndigoError(Exception):
    """Base class of every SDK error."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(IndigoError):
    pass


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
