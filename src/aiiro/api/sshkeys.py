"""SSH keys: /webarenaIndigo/v1/vm/sshkey..."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import engine, runtime
from aiiro.api.body import Body, path_id
from aiiro.api.endpoint import Area
from aiiro.api.openapi import BAD, MISSING, STR, arr, const, listing, obj, ok, ref
from aiiro.domain import sshkeys
from aiiro.domain.accounts import Caller, service_id
from aiiro.runtime import Runtime
from aiiro.store.models import SshKey

area = Area("/webarenaIndigo/v1/vm", tag="sshkeys")


class CreateSshKey(Body):
    sshName: str
    sshKey: str


class UpdateSshKey(Body):
    sshName: str | None = None
    sshKey: str | None = None
    sshKeyStatus: str | None = None


def listed(k: SshKey) -> dict[str, Any]:
    """A key as the list and retrieve endpoints show it (their field order)."""
    return {
        "id": k.id,
        "service_id": service_id(k.account_id),
        "user_id": k.account_id,
        "name": k.name,
        "sshkey": k.sshkey,
        "status": k.status,
        "created_at": render.timestamp(k.created_at),
        "updated_at": render.timestamp(k.updated_at),
    }


def created(k: SshKey) -> dict[str, Any]:
    """A key as the create endpoint shows it: same fields, another order."""
    return {
        "name": k.name,
        "sshkey": k.sshkey,
        "status": k.status,
        "user_id": k.account_id,
        "service_id": service_id(k.account_id),
        "updated_at": render.timestamp(k.updated_at),
        "created_at": render.timestamp(k.created_at),
        "id": k.id,
    }


def _listing(rt: Runtime, account_id: int, status: str | None) -> Response:
    # Clients poll these lists; the body depends on stored rows only, so it is kept
    # until the database changes (hot path: see api/hotpath.py and bench/).
    def body() -> bytes:
        with rt.db.read() as s:
            keys = sshkeys.list_keys(s, account_id, status)
            return render.listing_body("sshkeys", [listed(k) for k in keys])

    return render.rendered(rt.db.memo(("sshkeys", account_id, status), body))


@area.get(
    "/sshkey",
    summary="List SSH keys",
    answers={"200": ok(listing("sshkeys", ref("SshKey")))},
    fault="sshkey",
)
async def list_keys(request: Request, who: Caller) -> Response:
    return _listing(runtime(request), who.account_id, None)


@area.get(
    "/sshkey/active/status",
    summary="List ACTIVE SSH keys",
    answers={"200": ok(listing("sshkeys", ref("SshKey")))},
    fault="sshkey/active/status",
)
async def list_active(request: Request, who: Caller) -> Response:
    return _listing(runtime(request), who.account_id, sshkeys.ACTIVE)


@area.post(
    "/sshkey",
    summary="Register an SSH public key",
    answers={
        "201": ok(
            obj({"success": const(True), "message": STR, "sshKey": ref("SshKey")}),
            "Created; `sshKey` is an object (in another key order than the list)",
        )
    },
    errors=(BAD,),
    body=CreateSshKey,
    fault="sshkey",
)
async def create_key(request: Request, who: Caller, body: CreateSshKey) -> Response:
    rt = runtime(request)
    out = await engine(request).change(
        lambda s: created(sshkeys.create(rt, s, who.account_id, body.sshName, body.sshKey))
    )
    return render.success("SSH key has been added successfully", 201, sshKey=out)


@area.get(
    "/sshkey/{key_id}",
    summary="Retrieve one SSH key (`sshKey` is an array)",
    answers={"200": ok(obj({"success": const(True), "sshKey": arr(ref("SshKey"))}))},
    errors=(MISSING,),
    fault="sshkey",
)
async def get_key(request: Request, who: Caller, key_id: str) -> Response:
    with runtime(request).db.read() as s:
        key = sshkeys.get(s, who.account_id, path_id(key_id))
        return render.backend({"success": True, "sshKey": [listed(key)]})


@area.put(
    "/sshkey/{key_id}",
    summary="Update an SSH key's name, key or status",
    answers={"200": ok(ref("Message"))},
    errors=(BAD, MISSING),
    body=UpdateSshKey,
    fault="sshkey",
)
async def update_key(request: Request, who: Caller, body: UpdateSshKey, key_id: str) -> Response:
    rt = runtime(request)
    await engine(request).change(
        lambda s: sshkeys.update(
            rt, s, who.account_id, path_id(key_id), body.sshName, body.sshKey, body.sshKeyStatus
        )
    )
    # The trailing space is the real API's.
    return render.success("SSH key has been updated successfully ")


@area.delete(
    "/sshkey/{key_id}",
    summary="Delete an SSH key",
    answers={"200": ok(ref("Message"))},
    errors=(MISSING,),
    fault="sshkey",
)
async def delete_key(request: Request, who: Caller, key_id: str) -> Response:
    await engine(request).change(lambda s: sshkeys.delete(s, who.account_id, path_id(key_id)))
    return render.success("SSH key has been removed successfully")
