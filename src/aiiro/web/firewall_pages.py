"""ファイアウォール: templates with a rule editor, assignment and deletion, through
domain/firewalls.py (the rules of /webarenaIndigo/v1/nw/...: F60009, rule validation)."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from aiiro.domain import firewalls, instances
from aiiro.domain.errors import IndigoError
from aiiro.domain.firewall_rules import CUSTOM, PROTOCOLS, TYPES
from aiiro.store.models import Instance
from aiiro.web import pages
from aiiro.web.forms import Form
from aiiro.web.sessions import PanelUser

router = APIRouter(route_class=pages.PanelRoute)
PAGE = f"{pages.PREFIX}/firewalls"


def rules_from(form: Form, direction: str) -> list[dict[str, str]]:
    """The editor's rows of one direction, as the API takes them; empty rows dropped."""
    columns = [
        form.getall(f"{direction}_{field}") for field in ("type", "protocol", "port", "source")
    ]
    rows = []
    for kind, protocol, port, source in zip_longest(*columns, fillvalue=""):
        if kind in ("", CUSTOM) and not port.strip() and not source.strip():
            continue
        rows.append({"type": kind, "protocol": protocol, "port": port, "source": source})
    return rows


def instance_choices(s: Session, account_id: int) -> list[Instance]:
    """The account's instances a template can be given to (not destroyed)."""
    rows = s.scalars(
        select(Instance).where(Instance.account_id == account_id).order_by(Instance.id)
    )
    return [i for i in rows if instances.is_active(i)]


def editor(
    request: Request,
    user: PanelUser,
    status: int = 200,
    firewall_id: int | None = None,
    form: Form | None = None,
    error: IndigoError | None = None,
) -> Response:
    with pages.runtime(request).db.read() as s:
        instances = instance_choices(s, user.account_id)
        fw = firewalls.get(s, user.account_id, firewall_id) if firewall_id is not None else None
        rules: dict[str, list[Any]] = {"in": [], "out": []}
        if form is not None:
            rules = {d: rules_from(form, d) for d in ("in", "out")}
            name = form.get("name")
            chosen = set(form.ids("instances"))
        else:
            for r in firewalls.rules(s, fw.id) if fw else []:
                rules[r.direction].append(r)
            name = fw.name if fw else ""
            chosen = set()
    return pages.render(
        request,
        "firewall_edit.html",
        status,
        fw=fw,
        name=name,
        rules=rules,
        instances=instances,
        chosen=chosen,
        types=list(TYPES),
        protocols=PROTOCOLS,
        error=error,
        nav="firewalls",
    )


@router.get(PAGE)
def firewalls_page(request: Request, user: pages.User) -> Response:
    with pages.runtime(request).db.read() as s:
        templates = firewalls.list_templates(s, user.account_id)
        holders: dict[int, list[Instance]] = {}
        for instance in instance_choices(s, user.account_id):
            if instance.firewall_id is not None:
                holders.setdefault(instance.firewall_id, []).append(instance)
    return pages.render(
        request, "firewalls.html", templates=templates, holders=holders, nav="firewalls"
    )


@router.get(PAGE + "/new")
def new_firewall(request: Request, user: pages.User) -> Response:
    return editor(request, user)


@router.post(PAGE)
def create_firewall(request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    form = act.form
    try:
        fw_id = pages.engine(request).apply(
            lambda s: (
                firewalls.create(
                    rt,
                    s,
                    act.user.account_id,
                    form.get("name"),
                    rules_from(form, "in"),
                    rules_from(form, "out"),
                    form.ids("instances"),
                ).id
            )
        )
    except IndigoError as err:
        # Shown again with what was typed, so a mistake in one rule loses nothing.
        return editor(request, act.user, err.status, form=form, error=err)
    pages.flash_ok(request, act.user, "firewalls.created", name=form.get("name").strip())
    return pages.see_other(f"{PAGE}/{fw_id}")


@router.get(PAGE + "/{firewall_id:id}")
def edit_firewall(firewall_id: int, request: Request, user: pages.User) -> Response:
    return editor(request, user, firewall_id=firewall_id)


@router.post(PAGE + "/{firewall_id:id}")
def update_firewall(firewall_id: int, request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    form = act.form
    try:
        pages.engine(request).apply(
            lambda s: firewalls.update(
                rt,
                s,
                act.user.account_id,
                firewall_id,
                form.get("name"),
                rules_from(form, "in"),
                rules_from(form, "out"),
                form.ids("instances"),
            )
        )
    except IndigoError as err:
        if err.status == 404:
            raise
        return editor(request, act.user, err.status, firewall_id, form=form, error=err)
    pages.flash_ok(request, act.user, "firewalls.updated")
    return pages.see_other(f"{PAGE}/{firewall_id}")


@router.post(PAGE + "/{firewall_id:id}/delete")
def delete_firewall(firewall_id: int, request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    with pages.outcome(request, act.user, "firewalls.deleted"):
        pages.engine(request).apply(
            lambda s: firewalls.delete_template(rt, s, act.user.account_id, firewall_id)
        )
    return pages.see_other(PAGE)


@router.post(pages.PREFIX + "/instances/{instance_id:id}/firewall")
def assign_firewall(instance_id: int, request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    template = act.form.id("templateid")
    # Answered in the instance page's firewall card, next to the form.
    with pages.outcome(request, act.user, "firewalls.assigned_ok", at="firewall"):
        pages.engine(request).apply(
            lambda s: firewalls.assign(rt, s, act.user.account_id, instance_id, template or 0)
        )
    return pages.see_other(f"{pages.PREFIX}/instances/{instance_id}#firewall")
