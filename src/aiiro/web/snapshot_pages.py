"""スナップショット: take, restore, retry and delete an instance's snapshots, through
domain/snapshots.py like /webarenaIndigo/v1/disk/... (S10002 unless stopped, and so on)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from aiiro.domain import snapshots
from aiiro.web import pages

router = APIRouter(route_class=pages.PanelRoute)
BASE = pages.PREFIX + "/instances/{instance_id:id}/snapshots"


# The snapshot card of the instance page: the answer to its forms is shown there, and
# the redirect's fragment brings it into view.
CARD = "snapshots"


def back(instance_id: int) -> Response:
    return pages.see_other(f"{pages.PREFIX}/instances/{instance_id}#{CARD}")


@router.post(BASE)
def take_snapshot(instance_id: int, request: Request, act: pages.Act) -> Response:
    rt, who = pages.runtime(request), act.user.account_id

    def take(s: Session) -> None:
        # The panel fills the lowest free slot (the API leaves the choice to the caller);
        # when all are taken the domain's own refusal (A4030) is shown.
        used = {x.slot_number for x in snapshots.list_for(s, who, instance_id)}
        slot = next((n for n in range(snapshots.SLOTS) if n not in used), 0)
        snapshots.take(rt, s, who, instance_id, act.form.get("name"), slot)

    with pages.outcome(request, act.user, "snapshots.taken", at=CARD):
        pages.engine(request).apply(take)
    return back(instance_id)


@router.post(BASE + "/{snapshot_id:id}/restore")
def restore_snapshot(
    instance_id: int, snapshot_id: int, request: Request, act: pages.Act
) -> Response:
    rt, who = pages.runtime(request), act.user.account_id
    with pages.outcome(request, act.user, "snapshots.restored", at=CARD):
        pages.engine(request).apply(
            lambda s: snapshots.restore(rt, s, who, instance_id, snapshot_id)
        )
    return back(instance_id)


@router.post(BASE + "/{snapshot_id:id}/retake")
def retake_snapshot(
    instance_id: int, snapshot_id: int, request: Request, act: pages.Act
) -> Response:
    rt, who = pages.runtime(request), act.user.account_id
    with pages.outcome(request, act.user, "snapshots.retaken", at=CARD):
        pages.engine(request).apply(
            lambda s: snapshots.retake(rt, s, who, instance_id, snapshot_id)
        )
    return back(instance_id)


@router.post(BASE + "/{snapshot_id:id}/delete")
def delete_snapshot(
    instance_id: int, snapshot_id: int, request: Request, act: pages.Act
) -> Response:
    rt, who = pages.runtime(request), act.user.account_id
    with pages.outcome(request, act.user, "snapshots.deleted", at=CARD):
        pages.engine(request).apply(lambda s: snapshots.delete(rt, s, who, snapshot_id))
    return back(instance_id)
