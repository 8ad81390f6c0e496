"""Admin API under /_aiiro/: health (no auth), reset and account management (admin token).

Emulator controls (clock, seed, faults, request log) add their routes to `router` too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from aiiro.api.auth import runtime
from aiiro.api.body import json_object, path_id, validate
from aiiro.bootstrap import check_admin_token
from aiiro.domain import accounts
from aiiro.domain.accounts import service_id
from aiiro.domain.errors import ACCOUNT_NOT_FOUND, ADMIN_TOKEN_REQUIRED, IndigoError
from aiiro.emulator import profiles
from aiiro.emulator.reset import reset_state
from aiiro.store.models import Account

router = APIRouter(prefix="/_aiiro", tags=["admin"])


async def admin(request: Request) -> None:
    rt = runtime(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not check_admin_token(rt, token.strip()):
        raise IndigoError(401, ADMIN_TOKEN_REQUIRED, "The admin token is missing or wrong.")


@router.get("/health", summary="200 once the server is ready")
async def health(request: Request) -> dict[str, Any]:
    rt = runtime(request)
    return {
        "status": "ok",
        "driver": rt.settings.driver,
        "profile": profiles.current_name(rt),
        "quota": rt.settings.quota_enabled,
    }


def account_json(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "email": a.email,
        "status": a.status,
        "service_id": service_id(a.id),
        "created_at": a.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    }


@router.post(
    "/reset",
    dependencies=[Depends(admin)],
    summary="Forget every resource; accounts and API keys stay",
)
async def reset(request: Request) -> dict[str, Any]:
    rt = runtime(request)
    reset_state(rt)
    return {"success": True}


class NewAccount(BaseModel):
    name: str
    email: str | None = None


@router.get("/accounts", dependencies=[Depends(admin)])
async def list_accounts(request: Request) -> list[dict[str, Any]]:
    rt = runtime(request)
    with rt.db.read() as s:
        return [account_json(a) for a in accounts.list_accounts(s)]


@router.post("/accounts", status_code=201, dependencies=[Depends(admin)])
async def create_account(request: Request) -> dict[str, Any]:
    rt = runtime(request)
    body = validate(NewAccount, await json_object(request))
    with rt.db.write() as s:
        account = accounts.create_account(rt, s, body.name, body.email)
        key = accounts.create_api_key(rt, s, account.id)
        out = account_json(account)
    return {"account": out, "apiKey": key.api_key, "apiSecret": key.api_secret}


def _account_id(raw: str) -> int:
    account_id = path_id(raw)
    if account_id is None:
        raise IndigoError(404, ACCOUNT_NOT_FOUND, "Account not found.")
    return account_id


@router.post("/accounts/{account_id}/disable", dependencies=[Depends(admin)])
async def disable_account(account_id: str, request: Request) -> dict[str, Any]:
    return _set_status(request, _account_id(account_id), "disabled")


@router.post("/accounts/{account_id}/enable", dependencies=[Depends(admin)])
async def enable_account(account_id: str, request: Request) -> dict[str, Any]:
    return _set_status(request, _account_id(account_id), "active")


def _set_status(request: Request, account_id: int, status: str) -> dict[str, Any]:
    rt = runtime(request)
    with rt.db.write() as s:
        account = accounts.set_account_status(rt, s, account_id, status)
        if account is None:
            raise IndigoError(404, ACCOUNT_NOT_FOUND, "Account not found.")
        out = account_json(account)
    rt.key_cache.clear()
    return out


@router.post("/accounts/{account_id}/apikeys", status_code=201, dependencies=[Depends(admin)])
async def create_apikey(account_id: str, request: Request) -> dict[str, Any]:
    rt = runtime(request)
    aid = _account_id(account_id)
    with rt.db.write() as s:
        if accounts.get_account(s, aid) is None:
            raise IndigoError(404, ACCOUNT_NOT_FOUND, "Account not found.")
        key = accounts.create_api_key(rt, s, aid)
    return {"id": key.id, "accountId": aid, "apiKey": key.api_key, "apiSecret": key.api_secret}
