"""POST /oauth/v1/accesstokens: API key + secret -> bearer token (gateway shapes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import runtime
from aiiro.api.endpoint import Area, Schema
from aiiro.api.openapi import ok, ref
from aiiro.domain.accounts import TOKEN_LIFETIME_S, issue_token
from aiiro.domain.errors import GatewayError
from aiiro.inputs import BadInput, has_nul, load_json

area = Area("/oauth/v1", tag="oauth")

TOKEN_BODY: Schema = {
    "type": "object",
    "properties": {
        "grantType": {"type": "string", "enum": ["client_credentials"]},
        "clientId": {"type": "string"},
        "clientSecret": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["clientId", "clientSecret"],
}


def _bad_request(message: str, why: str = "The token request could not be read.") -> GatewayError:
    return GatewayError(400, message, why)


def _credentials(raw: bytes) -> tuple[str, str, str]:
    """(grantType, clientId, clientSecret) from a JSON body, or a form body as OAuth
    clients send it."""
    data: dict[str, Any]
    try:
        parsed = load_json(raw) if raw.strip() else {}
    except BadInput as exc:
        if raw.lstrip()[:1] in (b"{", b"["):  # JSON, but bad: not a form either
            raise _bad_request("Invalid request body.", str(exc)) from None
        form = parse_qs(raw.decode("latin-1"))
        if not form or any(has_nul(v) for values in form.values() for v in values):
            raise _bad_request("Invalid request body.") from None
        parsed = {k: v[0] for k, v in form.items()}
    if not isinstance(parsed, dict):
        raise _bad_request("Invalid request body.")
    data = parsed
    grant = data.get("grantType", data.get("grant_type", "client_credentials"))
    cid = data.get("clientId", data.get("client_id"))
    secret = data.get("clientSecret", data.get("client_secret"))
    if not all(isinstance(v, str) for v in (grant, cid, secret)):
        raise GatewayError(401, "Invalid client credentials.", "ApiKey and ApiSecret are required.")
    return str(grant), str(cid), str(secret)


@area.post(
    "/accesstokens",
    summary="Issue an access token (client credentials)",
    answers={"201": ok(ref("Token"))},
    body_doc=TOKEN_BODY,
    fault="accesstokens",
    gateway=True,
)
async def access_token(request: Request) -> Response:
    rt = runtime(request)
    grant, client_id, client_secret = _credentials(await request.body())
    if grant != "client_credentials":
        raise GatewayError(
            400, "Unsupported grant type.", f"Grant type {grant!r} is not supported."
        )
    issued = issue_token(rt, client_id, client_secret)
    body = render.token_body(issued.token, issued.issued_ms, TOKEN_LIFETIME_S)
    return Response(body, status_code=201, media_type=render.JSON)
