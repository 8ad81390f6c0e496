"""API keys: /webarenaIndigo/v1/auth/..."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import engine, runtime
from aiiro.api.body import path_id
from aiiro.api.endpoint import Area
from aiiro.api.openapi import BAD, MISSING, STR, listing, obj, ok, ref
from aiiro.domain import accounts
from aiiro.domain.accounts import Caller
from aiiro.domain.errors import APIKEY_NOT_FOUND, not_found

area = Area("/webarenaIndigo/v1/auth", tag="apikeys")


@area.get(
    "/create/apikey",
    summary="Create an API key (a GET, as on Indigo)",
    answers={"201": ok(obj({"apiKey": STR, "apiSecret": STR}), "The secret is shown only here")},
    errors=(BAD,),
    fault="create/apikey",
)
async def create_apikey(request: Request, who: Caller) -> Response:
    rt = runtime(request)
    new = await engine(request).change(lambda s: accounts.create_api_key(rt, s, who.account_id))
    return render.backend({"apiKey": new.api_key, "apiSecret": new.api_secret}, 201)


@area.get(
    "/apikey",
    summary="List API keys (under `accesstokens`)",
    answers={"200": ok(listing("accesstokens", ref("ApiKey")))},
    fault="apikey",
)
async def list_apikeys(request: Request, who: Caller) -> Response:
    rt = runtime(request)
    with rt.db.read() as s:
        keys = accounts.list_api_keys(s, who.account_id)
    return render.listing(
        "accesstokens",
        [
            {"id": k.id, "apiKey": k.api_key, "created_at": render.timestamp(k.created_at)}
            for k in keys
        ],
    )


@area.delete(
    "/apikey/{apikey_id}",
    summary="Delete an API key",
    answers={"200": ok(ref("Message"))},
    errors=(MISSING,),
    fault="apikey",
)
async def delete_apikey(request: Request, who: Caller, apikey_id: str) -> Response:
    rt = runtime(request)
    key_id = path_id(apikey_id)
    if key_id is None:
        raise not_found(APIKEY_NOT_FOUND, "API key not found.")
    await engine(request).change(lambda s: accounts.delete_api_key(rt, s, who.account_id, key_id))
    return render.success("API Key is removed successfully")
