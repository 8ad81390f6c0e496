"""Indigo's response shapes, in one place.

The backend (`/webarenaIndigo/...`) is a PHP application: compact JSON with `\\/`-escaped
slashes and `\\uXXXX` for non-ASCII, as PHP's json_encode writes by default. The gateway
(`/oauth/...`, 401, 429) writes `": "` and `", "` separators, and the token body is a
hand-made template with a space before two of its commas.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.responses import Response

from aiiro.domain.errors import GatewayError, IndigoError

JSON = "application/json"


def php_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def php_array(items: Iterable[bytes]) -> bytes:
    """A JSON array of items each rendered by `php_json`: the same bytes as `php_json` of
    the list of them (compact separators; an escape never spans two items)."""
    return b"[" + b",".join(items) + b"]"


def backend(data: Any, status: int = 200) -> Response:
    return Response(php_json(data), status_code=status, media_type=JSON)


def success(message: str, status: int = 200, **extra: Any) -> Response:
    """{"success":true,"message":...} plus extra keys in the order given."""
    return backend({"success": True, "message": message, **extra}, status)


def coded_success(message: str, code: str, status: int = 200, **extra: Any) -> Response:
    """{"success":true,"message":...,"sucessCode":...} (sic: one "c", as the real API)."""
    return backend({"success": True, "message": message, "sucessCode": code, **extra}, status)


def listing(key: str, items: list[Any]) -> Response:
    """{"success":true,"total":N,"<key>":[...]}, the envelope of catalogue and key lists."""
    return rendered(listing_body(key, items))


def listing_body(key: str, items: list[Any]) -> bytes:
    return php_json({"success": True, "total": len(items), key: items})


def rendered(body: bytes, status: int = 200) -> Response:
    """A backend body rendered earlier (kept by `Database.memo`)."""
    return Response(body, status_code=status, media_type=JSON)


STATUS_OK = php_json({"STATUS": 0})


def status_zero(status: int = 200) -> Response:
    """The snapshot endpoints' success body."""
    return Response(STATUS_OK, status_code=status, media_type=JSON)


def error(err: IndigoError) -> Response:
    return backend(
        {"success": False, "errorMessage": err.message, "errorCode": err.code}, err.status
    )


def gateway_error(
    err: GatewayError, request_id: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "errorCode": str(err.status),
        "errorMessage": err.message,
        "developerMessage": err.developer_message,
        "moreInfo": None,
        "requestId": request_id or str(uuid.uuid4()),
    }
    return Response(
        json.dumps(body).encode(), status_code=err.status, media_type=JSON, headers=headers
    )


def token_body(token: str, issued_at_ms: int, expires_in: int) -> bytes:
    return (
        f'{{"accessToken": "{token}", "tokenType": "BearerToken", "expiresIn": "{expires_in}" , '
        f'"scope": "" , "issuedAt": "{issued_at_ms}"}}'
    ).encode()


def timestamp(dt: Any) -> str | None:
    """ "YYYY-MM-DD HH:MM:SS" (UTC), the API's plain timestamp form."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        # The strftime text below for the naive UTC times the store holds (years 1000 on),
        # several times faster; lists render thousands of these.
        return str(dt.isoformat(" ", "seconds"))
    return str(dt.strftime("%Y-%m-%d %H:%M:%S"))


def fields(row: object, names: tuple[str, ...], times: tuple[str, ...] = ()) -> dict[str, Any]:
    """`row`'s attributes `names` as they are and `times` as timestamps: a stored row as
    the emulator controls show it."""
    shown = {name: getattr(row, name) for name in names}
    return shown | {name: timestamp(getattr(row, name)) for name in times}


ZERO_TIME = "0000-00-00 00:00:00"


def php_datetime(dt: Any) -> dict[str, Any]:
    """PHP DateTime as json_encode writes it (createinstance's `created_at`)."""
    return {"date": dt.strftime("%Y-%m-%d %H:%M:%S.%f"), "timezone_type": 3, "timezone": "UTC"}
