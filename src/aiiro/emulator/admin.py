"""The operator's door to /_aiiro/: the admin token (every control but health), health,
reset and the accounts.

The controls are plain functions, run in worker threads: the store's write lock may be
held by another process, and waiting for it must not stall the event loop.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from aiiro.api.auth import engine, runtime
from aiiro.api.body import body_of, body_schema, path_id
from aiiro.bootstrap import check_admin_token
from aiiro.domain import accounts, limits
from aiiro.domain.accounts import NewApiKey, service_id
from aiiro.domain.errors import (
    ACCOUNT_NOT_FOUND,
    ADMIN_NOT_HERE,
    ADMIN_TOKEN_REQUIRED,
    IndigoError,
)
from aiiro.emulator.reset import reset_state
from aiiro.inputs import parse_networks
from aiiro.runtime import Runtime
from aiiro.store.models import Account

router = APIRouter(prefix="/_aiiro", tags=["admin"])


def admin(request: Request) -> None:
    """The admin token, from loopback or an allowed network (AIIRO_ADMIN_NETWORKS)."""
    rt = runtime(request)
    if not _from_allowed_network(rt, request.client.host if request.client else None):
        raise IndigoError(403, ADMIN_NOT_HERE, "The emulator controls answer on loopback only.")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not check_admin_token(rt, token.strip()):
        raise IndigoError(401, ADMIN_TOKEN_REQUIRED, "The admin token is missing or wrong.")


def _from_allowed_network(rt: Runtime, host: str | None) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return True  # no network peer: a Unix socket, an in-process test client
    if address.is_loopback:
        return True
    allowed = parse_networks(rt.settings.admin_networks)
    return any(address in network for network in allowed)


@router.get("/health", summary="200 once the server is ready")
async def health(request: Request) -> dict[str, Any]:
    rt = runtime(request)
    return {
        "status": "ok",
        "driver": rt.settings.driver,
        "profile": rt.profile,
        "quota": rt.quota,
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
def reset(request: Request) -> dict[str, Any]:
    engine(request).apply(lambda s: reset_state(runtime(request), s))
    runtime(request).request_log.clear()
    return {"success": True}


class NewAccount(BaseModel):
    name: str
    email: str | None = None


@router.get("/accounts", dependencies=[Depends(admin)])
def list_accounts(request: Request) -> list[dict[str, Any]]:
    with runtime(request).db.read() as s:
        return [account_json(a) for a in accounts.list_accounts(s)]


@router.post("/accounts", status_code=201, dependencies=[Depends(admin)])
def create_account(request: Request, body: NewAccount = Depends(body_of(NewAccount))) -> Any:
    rt = runtime(request)

    def made(s: Session) -> tuple[dict[str, Any], NewApiKey]:
        account = accounts.create_account(rt, s, body.name, body.email)
        return account_json(account), accounts.create_api_key(rt, s, account.id)

    out, key = engine(request).apply(made)
    return {"account": out, "apiKey": key.api_key, "apiSecret": key.api_secret}


def _account_id(raw: str) -> int:
    account_id = path_id(raw)
    if account_id is None:
        raise IndigoError(404, ACCOUNT_NOT_FOUND, "Account not found.")
    return account_id


@router.post("/accounts/{account_id}/disable", dependencies=[Depends(admin)])
def disable_account(account_id: str, request: Request) -> dict[str, Any]:
    return _set_status(request, _account_id(account_id), "disabled")


@router.post("/accounts/{account_id}/enable", dependencies=[Depends(admin)])
def enable_account(account_id: str, request: Request) -> dict[str, Any]:
    return _set_status(request, _account_id(account_id), "active")


def _set_status(request: Request, account_id: int, status: str) -> dict[str, Any]:
    # The key states this process cached while the change was made go when it commits
    # (Runtime.keys_revoked, Runtime.sync).
    rt = runtime(request)

    def changed(s: Session) -> dict[str, Any]:
        account = accounts.set_account_status(rt, s, account_id, status)
        if account is None:
            raise IndigoError(404, ACCOUNT_NOT_FOUND, "Account not found.")
        return account_json(account)

    return engine(request).apply(changed)


@router.post("/accounts/{account_id}/apikeys", status_code=201, dependencies=[Depends(admin)])
def create_apikey(account_id: str, request: Request) -> dict[str, Any]:
    rt = runtime(request)
    aid = _account_id(account_id)

    def made(s: Session) -> NewApiKey:
        if accounts.get_account(s, aid) is None:
            raise IndigoError(404, ACCOUNT_NOT_FOUND, "Account not found.")
        return accounts.create_api_key(rt, s, aid)

    key = engine(request).apply(made)
    return {"id": key.id, "accountId": aid, "apiKey": key.api_key, "apiSecret": key.api_secret}


class Limits(BaseModel):
    """New figures for some of an account's limits; null puts one back to the default."""

    model_config = ConfigDict(extra="forbid")

    instances: int | None = Field(default=None, ge=0, le=1_000_000)
    sshkeys: int | None = Field(default=None, ge=0, le=1_000_000)
    firewalls: int | None = Field(default=None, ge=0, le=1_000_000)
    apikeys: int | None = Field(default=None, ge=0, le=1_000_000)


def _account(s: Session, account_id: str) -> Account:
    account = s.get(Account, _account_id(account_id))
    if account is None:
        raise IndigoError(404, ACCOUNT_NOT_FOUND, "Account not found.")
    return account


@router.get(
    "/accounts/{account_id}/limits",
    dependencies=[Depends(admin)],
    summary="What the account may hold (instances, SSH keys, firewall templates, API keys)",
)
def get_limits(account_id: str, request: Request) -> dict[str, int]:
    rt = runtime(request)
    with rt.db.read() as s:
        return limits.of_account(rt, _account(s, account_id))


@router.put(
    "/accounts/{account_id}/limits",
    dependencies=[Depends(admin)],
    openapi_extra=body_schema(Limits),
    summary="Set some of an account's limits (null: back to the default)",
)
def put_limits(
    account_id: str, request: Request, body: Limits = Depends(body_of(Limits))
) -> dict[str, int]:
    rt = runtime(request)
    changes = body.model_dump(exclude_unset=True)
    return engine(request).apply(lambda s: limits.set_for(rt, _account(s, account_id), changes))
