"""API keys: /webarenaIndigo/v1/auth/..."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import caller, engine, runtime
from aiiro.api.body import path_id
from aiiro.domain import accounts
from aiiro.domain.accounts import Caller
from aiiro.domain.errors import APIKEY_NOT_FOUND, not_found

router = APIRouter(prefix="/webarenaIndigo/v1/auth", tags=["apikeys"])


@router.get("/create/apikey", status_code=201, summary="Create an API key (a GET, as on Indigo)")
async def create_apikey(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    new = await engine(request).change(lambda s: accounts.create_api_key(rt, s, who.account_id))
    return render.backend({"apiKey": new.api_key, "apiSecret": new.api_secret}, 201)


@router.get("/apikey", summary="List API keys (under `accesstokens`)")
async def list_apikeys(request: Request, who: Caller = Depends(caller)) -> Response:
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


@router.delete("/apikey/{apikey_id}", summary="Delete an API key")
async def delete_apikey(
    apikey_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    rt = runtime(request)
    key_id = path_id(apikey_id)
    if key_id is None:
        raise not_found(APIKEY_NOT_FOUND, "API key not found.")
    await engine(request).change(lambda s: accounts.delete_api_key(rt, s, who.account_id, key_id))
    return render.success("API Key is removed successfully")
