"""SSH鍵: add, activate/deactivate, delete, through domain/sshkeys.py (the same rules as
/webarenaIndigo/v1/vm/sshkey: I10034 for a key the API would refuse)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aiiro.domain import sshkeys
from aiiro.web.pages import (
    PREFIX,
    Acting,
    PanelRoute,
    acting,
    outcome,
    render,
    runtime,
    see_other,
    signed_in,
)
from aiiro.web.sessions import PanelUser

router = APIRouter(route_class=PanelRoute)
PAGE = f"{PREFIX}/sshkeys"


@router.get(PAGE)
async def sshkeys_page(request: Request, user: PanelUser = Depends(signed_in)) -> Response:
    with runtime(request).db.read() as s:
        keys = sshkeys.list_keys(s, user.account_id)
    return render(request, "sshkeys.html", keys=keys, nav="sshkeys")


@router.post(PAGE)
async def add_sshkey(request: Request, act: Acting = Depends(acting)) -> Response:
    rt = runtime(request)
    name = act.form.get("name")
    with outcome(request, act.user, "sshkeys.added", name=name), rt.db.write() as s:
        sshkeys.create(rt, s, act.user.account_id, name, act.form.get("sshkey"))
    return see_other(PAGE)


@router.post(PAGE + "/{key_id:int}/status")
async def set_sshkey_status(
    key_id: int, request: Request, act: Acting = Depends(acting)
) -> Response:
    rt = runtime(request)
    status = act.form.get("status")
    with outcome(request, act.user, "sshkeys.updated"), rt.db.write() as s:
        sshkeys.update(rt, s, act.user.account_id, key_id, None, None, status)
    return see_other(PAGE)


@router.post(PAGE + "/{key_id:int}/delete")
async def delete_sshkey(key_id: int, request: Request, act: Acting = Depends(acting)) -> Response:
    rt = runtime(request)
    with outcome(request, act.user, "sshkeys.deleted"), rt.db.write() as s:
        sshkeys.delete(s, act.user.account_id, key_id)
    return see_other(PAGE)
