"""スナップショット: take, restore, retry and delete an instance's snapshots, through
domain/snapshots.py like /webarenaIndigo/v1/disk/... (S10002 unless stopped, and so on)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aiiro.domain import snapshots
from aiiro.web.instance_pages import kick, settle
from aiiro.web.pages import PREFIX, Acting, PanelRoute, acting, outcome, runtime, see_other

router = APIRouter(route_class=PanelRoute)
BASE = PREFIX + "/instances/{instance_id:id}/snapshots"


# The snapshot card of the instance page: the answer to its forms is shown there, and
# the redirect's fragment brings it into view.
CARD = "snapshots"


def back(instance_id: int) -> Response:
    return see_other(f"{PREFIX}/instances/{instance_id}#{CARD}")


@router.post(BASE)
async def take_snapshot(
    instance_id: int, request: Request, act: Acting = Depends(acting)
) -> Response:
    rt = runtime(request)
    settle(rt)
    with outcome(request, act.user, "snapshots.taken", at=CARD), rt.db.write() as s:
        # The panel fills the lowest free slot (the API leaves the choice to the caller);
        # when all are taken the domain's own refusal (A4030) is shown.
        used = {x.slot_number for x in snapshots.list_for(s, act.user.account_id, instance_id)}
        slot = next((n for n in range(snapshots.SLOTS) if n not in used), 0)
        snapshots.take(rt, s, act.user.account_id, instance_id, act.form.get("name"), slot)
    kick(rt)
    return back(instance_id)


@router.post(BASE + "/{snapshot_id:id}/restore")
async def restore_snapshot(
    instance_id: int, snapshot_id: int, request: Request, act: Acting = Depends(acting)
) -> Response:
    rt = runtime(request)
    settle(rt)
    with outcome(request, act.user, "snapshots.restored", at=CARD), rt.db.write() as s:
        snapshots.restore(rt, s, act.user.account_id, instance_id, snapshot_id)
    kick(rt)
    return back(instance_id)


@router.post(BASE + "/{snapshot_id:id}/retake")
async def retake_snapshot(
    instance_id: int, snapshot_id: int, request: Request, act: Acting = Depends(acting)
) -> Response:
    rt = runtime(request)
    settle(rt)
    with outcome(request, act.user, "snapshots.retaken", at=CARD), rt.db.write() as s:
        snapshots.retake(rt, s, act.user.account_id, instance_id, snapshot_id)
    kick(rt)
    return back(instance_id)


@router.post(BASE + "/{snapshot_id:id}/delete")
async def delete_snapshot(
    instance_id: int, snapshot_id: int, request: Request, act: Acting = Depends(acting)
) -> Response:
    rt = runtime(request)
    settle(rt)
    with outcome(request, act.user, "snapshots.deleted", at=CARD), rt.db.write() as s:
        snapshots.delete(rt, s, act.user.account_id, snapshot_id)
    kick(rt)
    return back(instance_id)
