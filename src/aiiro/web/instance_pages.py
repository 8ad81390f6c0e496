"""インスタンス管理: the list with live status, creation, power commands and the instance
page, through domain/instances.py, the same services /webarenaIndigo/v1/vm/... uses."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aiiro.catalog import IMPORT_OS_ID
from aiiro.domain import firewalls, instances, lifecycle, snapshots, sshkeys
from aiiro.domain.errors import IndigoError
from aiiro.domain.lifecycle import Command, Power
from aiiro.engine import operations
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Snapshot
from aiiro.web import i18n, pages
from aiiro.web.accounts import PanelProblem
from aiiro.web.forms import Form
from aiiro.web.sessions import PanelUser

router = APIRouter(route_class=pages.PanelRoute)
PAGE = f"{pages.PREFIX}/instances"
SOURCES = ("image", "import", "snapshot")

# What the panel adds to the API's `instancestatus` while a command is being carried out
# (the API shows the state the command answered with; the panel says what is happening).
UNDER_WAY = {
    Power.STARTING: "instances.note.starting",
    Power.STOPPING: "instances.note.stopping",
    Power.FORCESTOPPING: "instances.note.forcestopping",
    Power.RESETTING: "instances.note.resetting",
    Power.DESTROYING: "instances.note.destroying",
    Power.RESTORING: "instances.note.restoring",
}


@dataclass(frozen=True)
class Shown:
    """An instance's state as the panel shows it."""

    text: str  # the API's instancestatus, in the visitor's language where known
    badge: str  # running / stopped / busy / failed
    note: str  # what is under way, or what failed last, or ""
    ip: str
    allowed: list[str]  # the commands the lifecycle would take now


def shown(lang: str, inst: Instance, failed: str | None = None) -> Shown:
    """`failed`: the kind of the instance's last operation when it failed (the engine gave
    up on it); the panel says which, not why: the reason is the operator's (/_aiiro/)."""
    power = Power(inst.power)
    text = instances.shown_status(inst)
    note = ""
    if power is Power.INSTALL_FAILED:
        badge = "failed"
    elif power in UNDER_WAY or power is Power.INSTALLING:
        badge = "busy"
        note = i18n.translate(lang, UNDER_WAY[power]) if power in UNDER_WAY else ""
    elif inst.unreachable_since is not None:
        badge = "failed"
        note = i18n.translate(lang, "instances.unreachable")
    elif failed is not None:
        badge = "failed"
        note = i18n.translate(lang, f"instances.failed.{failed}")
        if note == f"instances.failed.{failed}":
            note = i18n.translate(lang, "instances.failed.other")
    elif text == lifecycle.RUNNING_TEXT:
        badge = "running"
    else:
        badge = "stopped"
    key = f"instancestatus.{text}"
    label = i18n.translate(lang, key)
    open_ = lifecycle.status_of(inst.power) == lifecycle.OPEN
    return Shown(
        text=text if label == key else label,
        badge=badge,
        note=note,
        ip=readable_address(inst.ipaddress) if open_ else "",
        allowed=[
            c.value
            for c in Command
            if isinstance(lifecycle.decide(inst.power, c), lifecycle.Accept)
        ],
    )


def readable_address(text: str | None) -> str:
    """An address as the CLI and the SDK show it: IPv6 compressed and lower-case
    ("2001:db8:100:a49b::1"). The API's own answers keep Indigo's upper-case, zero-padded
    spelling (domain/addresses.py)."""
    if not text:
        return ""
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def status_json(lang: str, inst: Instance, failed: str | None = None) -> dict[str, Any]:
    view = shown(lang, inst, failed)
    return {
        "id": inst.id,
        "status": lifecycle.status_of(inst.power),
        "instancestatus": instances.shown_status(inst),
        "label": view.text + (f" ({view.note})" if view.note else ""),
        "state": view.badge,
        "ip": view.ip,
        "allowed": view.allowed,
    }


# --- list and live status ---------------------------------------------------------------------


@router.get(PAGE)
def instances_page(request: Request, user: pages.User) -> Response:
    rt = pages.runtime(request)
    lang = i18n.choose(request)
    with pages.engine(request).view() as s:
        rows = instances.listed(s, user.account_id)
        failed = _failed(s, rows)
    return pages.render(
        request,
        "instances.html",
        rows=[(i, shown(lang, i, failed.get(i.id)), _plan_name(rt, i)) for i in rows],
        region_names={r.id: r.name for r in rt.catalog.regions},
        nav="instances",
    )


@router.get(PAGE + "/status.json")
def instances_status(request: Request, user: pages.User) -> Response:
    lang = i18n.choose(request)
    with pages.engine(request).view() as s:
        rows = instances.listed(s, user.account_id)
        failed = _failed(s, rows)
    return JSONResponse(
        {"instances": [status_json(lang, i, failed.get(i.id)) for i in rows]},
        headers=pages.SECURITY_HEADERS,
    )


def _failed(s: Session, rows: list[Instance]) -> dict[int, str]:
    """The kind of each instance's last operation, where it failed."""
    return {i: op.kind for i, op in operations.latest_failures(s, [r.id for r in rows]).items()}


def _plan_name(rt: Runtime, inst: Instance) -> str:
    plan = rt.catalog.plan(inst.plan_id)
    return plan.kvm_name if plan else str(inst.plan_id)


# --- creation ---------------------------------------------------------------------------------


def create_form(
    request: Request,
    user: PanelUser,
    status: int = 200,
    form: Form | None = None,
    error: IndigoError | None = None,
) -> Response:
    rt = pages.runtime(request)
    cat = rt.catalog
    with rt.db.read() as s:
        keys = sshkeys.list_keys(s, user.account_id, sshkeys.ACTIVE)
        snaps = [
            (snap, _family(rt, os_id)) for snap, os_id in _snapshot_choices(s, user.account_id)
        ]
    types = [(t, bool(cat.regions_for(t["id"]))) for t in cat.instance_types]
    os_groups = [
        (c["name"], [cat.images[o["id"]] for o in c["osLists"] if o["id"] in cat.images])
        for c in cat.os_categories
    ]
    return pages.render(
        request,
        "instance_new.html",
        status,
        types=types,
        regions=cat.regions,
        os_groups=[(name, items) for name, items in os_groups if items],
        plans=cat.plans,
        keys=keys,
        snapshots=snaps,
        form=form,
        error=error,
        nav="instances",
    )


def _snapshot_choices(s: Session, account_id: int) -> list[tuple[Snapshot, int]]:
    """Finished snapshots of the account's listed instances, each with its instance's OS:
    what an instance can be made from (domain/snapshots.resolve_source has the final word)."""
    rows = s.execute(
        select(Snapshot, Instance.os_id)
        .join(Instance, Instance.id == Snapshot.instance_id)
        .where(
            Snapshot.account_id == account_id,
            Snapshot.deleted_at.is_(None),
            Snapshot.status == snapshots.CREATED,
            Instance.removed_at.is_(None),
        )
        .order_by(Snapshot.id)
    )
    return [(snap, os_id) for snap, os_id in rows]


def _family(rt: Runtime, os_id: int) -> str:
    """linux, windows or import: what an instance of this OS needs (an SSH key for
    linux, a password for windows; domain/instances.check_create)."""
    image = rt.catalog.image(os_id)
    return image.family if image else "linux"


def create_request(form: Form) -> instances.CreateRequest:
    """The createinstance body the form stands for (one of the API's four variants)."""
    source = form.get("source", "image")
    name = form.get("instanceName")
    plan = form.id("instancePlan")
    sshkey = form.id("sshKeyId")
    password = form.get("winPassword") or None
    if source == "snapshot":
        return instances.CreateRequest(
            instance_name=name,
            plan_id=plan,
            sshkey_id=sshkey,
            win_password=password,
            snapshot_id=form.id("snapshotId") or 0,
        )
    region = form.id("regionId")
    if source == "import":
        return instances.CreateRequest(
            instance_name=name,
            region_id=region,
            os_id=IMPORT_OS_ID,
            plan_id=plan,
            sshkey_id=sshkey,
            import_url=form.get("importUrl"),
        )
    return instances.CreateRequest(
        instance_name=name,
        region_id=region,
        os_id=form.id("osId"),
        plan_id=plan,
        sshkey_id=sshkey,
        win_password=password,
    )


@router.get(PAGE + "/new")
def new_instance(request: Request, user: pages.User) -> Response:
    return create_form(request, user)


@router.post(PAGE)
def create_instance(request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    try:
        inst = pages.engine(request).apply(
            lambda s: instances.create(rt, s, act.user.account_id, create_request(act.form))
        )
    except IndigoError as err:
        return create_form(request, act.user, err.status, act.form, err)
    inst_id, name = inst.id, inst.name
    pages.flash_ok(request, act.user, "instances.created", name=name, while_busy=True)
    return pages.see_other(f"{PAGE}/{inst_id}")


# --- one instance -------------------------------------------------------------------------------


@router.get(PAGE + "/{instance_id:id}")
def instance_page(instance_id: int, request: Request, user: pages.User) -> Response:
    rt = pages.runtime(request)
    lang = i18n.choose(request)
    with pages.engine(request).view() as s:
        inst = instances.get(s, user.account_id, instance_id)
        templates = firewalls.list_templates(s, user.account_id)
        current = next((f for f in templates if f.id == inst.firewall_id), None)
        snaps = snapshots.list_for(s, user.account_id, inst.id)
        failed = _failed(s, [inst]).get(inst.id)
    return pages.render(
        request,
        "instance.html",
        inst=inst,
        view=shown(lang, inst, failed),
        plan=rt.catalog.plan(inst.plan_id),
        image=rt.catalog.image(inst.os_id),
        region=rt.catalog.region(inst.region_id),
        templates=templates,
        firewall=current,
        secondary_ip=readable_address(inst.secondary_ip),
        snapshots=snaps,
        commands=[c.value for c in Command],
        console_ws=f"{PAGE}/{inst.id}/console",
        nav="instances",
    )


@router.post(PAGE + "/{instance_id:id}/power")
def instance_command(instance_id: int, request: Request, act: pages.Act) -> Response:
    """start / stop / forcestop / reset / destroy, as statusupdate takes them."""
    rt = pages.runtime(request)
    try:
        cmd = Command(act.form.get("command"))
    except ValueError:
        raise PanelProblem("instances.bad_command") from None
    # The message tells of the command under way; it goes once the instance settles.
    under_way = cmd is not Command.DESTROY
    with pages.outcome(
        request, act.user, f"instances.done.{cmd.value}", while_busy=under_way
    ) as done:
        pages.engine(request).apply(
            lambda s: instances.command(rt, s, act.user.account_id, instance_id, cmd)
        )
    if cmd is Command.DESTROY and done.ok:
        return pages.see_other(PAGE)
    return pages.see_other(f"{PAGE}/{instance_id}")
