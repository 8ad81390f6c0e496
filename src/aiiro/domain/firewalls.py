"""Firewall templates: create, list, read, update, assign, delete.

A template is a named, ordered rule list (domain/firewall_rules.py decides what a rule may
say and what it admits). An instance carries at most one template (Instance.firewall_id).
aiiro's decisions where the real service is silent (docs/compatibility.md):
- assign replaces the instance's template (one per instance; there is no unassign API);
- `instances` in create/update assigns the template to each listed instance; instances
  that hold the template but are not listed keep it (an omission never opens an
  instance's firewall);
- update replaces the whole rule set; a missing `inbound`/`outbound` list means none;
- an instance still being provisioned cannot be given a template (A4021): clients retry,
  as they do against the real service;
- delete is refused (F60009) while the template is assigned to an instance that is not
  destroyed; a destroyed instance lets go of it.

Every change to what an instance enforces adds an `apply_firewall` operation for that
instance in the same transaction (`_apply_to`): the engine then gives the driver the rules
current at that time (domain/instance_ops.py), so a crash in between loses nothing and a
repeat applies the same rules again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aiiro.compute.driver import FirewallRule as EnforcedRule
from aiiro.domain import firewall_rules, instances, limits, names
from aiiro.domain.errors import (
    FIREWALL_NOT_FOUND,
    INSTANCE_NOT_FOUND,
    INSTANCE_NOT_READY,
    IndigoError,
    bad_request,
    not_found,
)
from aiiro.domain.firewall_rules import Protocol, TemplateRule
from aiiro.engine import operations
from aiiro.runtime import Runtime
from aiiro.store.models import Firewall, FirewallRule, Instance

ASSIGNED_TO_ACTIVE = "F60009"


def create(
    rt: Runtime,
    s: Session,
    account_id: int,
    name: str,
    inbound: Sequence[Any] | None,
    outbound: Sequence[Any] | None,
    instance_ids: Iterable[int] | None,
) -> Firewall:
    rules = firewall_rules.parse_rules(inbound, outbound)
    targets = _assignable(s, account_id, instance_ids or [])
    limits.check(rt, s, account_id, "firewalls")
    now = rt.clock.now().replace(microsecond=0)
    fw = Firewall(account_id=account_id, name=_name(name), status=1, created_at=now, updated_at=now)
    s.add(fw)
    s.flush()
    _store_rules(s, fw.id, rules)
    _assign(rt, s, fw, targets)
    return fw


def list_templates(s: Session, account_id: int) -> list[Firewall]:
    return list(
        s.scalars(
            select(Firewall)
            .where(Firewall.account_id == account_id, Firewall.deleted_at.is_(None))
            .order_by(Firewall.id)
        )
    )


def get(s: Session, account_id: int, firewall_id: int | None) -> Firewall:
    fw = s.get(Firewall, firewall_id) if firewall_id is not None else None
    if fw is None or fw.account_id != account_id or fw.deleted_at is not None:
        raise not_found(FIREWALL_NOT_FOUND, "Firewall template not found.")
    return fw


def rules(s: Session, firewall_id: int) -> list[FirewallRule]:
    """The template's rules in the order sent (inbound list first, then outbound)."""
    return list(
        s.scalars(
            select(FirewallRule)
            .where(FirewallRule.firewall_id == firewall_id)
            .order_by(FirewallRule.position)
        )
    )


def update(
    rt: Runtime,
    s: Session,
    account_id: int,
    firewall_id: int | None,
    name: str | None,
    inbound: Sequence[Any] | None,
    outbound: Sequence[Any] | None,
    instance_ids: Iterable[int] | None,
) -> Firewall:
    fw = get(s, account_id, firewall_id)
    new_rules = firewall_rules.parse_rules(inbound, outbound)
    targets = _assignable(s, account_id, instance_ids or [])
    if name is not None:
        fw.name = _name(name)
    s.execute(delete(FirewallRule).where(FirewallRule.firewall_id == fw.id))
    _store_rules(s, fw.id, new_rules)
    fw.updated_at = rt.clock.now().replace(microsecond=0)
    holders = [i for i in _holders(s, fw.id) if i.id not in {t.id for t in targets}]
    _apply_to(rt, s, [i.id for i in holders])
    _assign(rt, s, fw, targets)
    return fw


def assign(
    rt: Runtime, s: Session, account_id: int, instance_id: int, firewall_id: int
) -> Firewall:
    fw = get(s, account_id, firewall_id)
    _assign(rt, s, fw, _assignable(s, account_id, [instance_id]))
    return fw


def delete_template(rt: Runtime, s: Session, account_id: int, firewall_id: int | None) -> None:
    fw = get(s, account_id, firewall_id)
    holders = _holders(s, fw.id)
    if any(instances.is_active(i) for i in holders):
        raise bad_request(
            ASSIGNED_TO_ACTIVE,
            "This firewall template has already been assigned to an active instance.",
        )
    for instance in holders:
        instance.firewall_id = None
    s.execute(delete(FirewallRule).where(FirewallRule.firewall_id == fw.id))
    # Kept as a tombstone so that ids are never handed out twice.
    fw.deleted_at = rt.clock.now().replace(microsecond=0)


def enforced_rules(s: Session, instance: Instance) -> list[EnforcedRule] | None:
    """What the instance's driver must enforce: None when it has no template."""
    if instance.firewall_id is None:
        return None
    fw = s.get(Firewall, instance.firewall_id)
    if fw is None or fw.deleted_at is not None:
        return None
    return [as_template_rule(r).enforced() for r in rules(s, fw.id)]


def as_template_rule(row: FirewallRule) -> TemplateRule:
    return TemplateRule(
        direction="in" if row.direction == "in" else "out",
        type=row.type,
        protocol=cast(Protocol, row.protocol),
        port=row.port,
        source=row.source,
    )


# --- internals --------------------------------------------------------------------------


def _name(name: str) -> str:
    return names.checked("name", name)


def _store_rules(s: Session, firewall_id: int, new_rules: list[TemplateRule]) -> None:
    for position, r in enumerate(new_rules):
        s.add(
            FirewallRule(
                firewall_id=firewall_id,
                position=position,
                direction=r.direction,
                type=r.type,
                protocol=r.protocol,
                port=r.port,
                source=r.source,
            )
        )
    s.flush()


def _assignable(s: Session, account_id: int, instance_ids: Iterable[int]) -> list[Instance]:
    """The listed instances, each checked before anything changes (all or nothing)."""
    found: dict[int, Instance] = {}
    for instance_id in instance_ids:
        instance = s.get(Instance, instance_id)
        if (
            instance is None
            or instance.account_id != account_id
            or not instances.is_active(instance)
        ):
            raise not_found(INSTANCE_NOT_FOUND, f"Instance {instance_id} not found.")
        if instance.status != "OPEN":
            raise IndigoError(
                400,
                INSTANCE_NOT_READY,
                f"Instance {instance_id} is still being provisioned; "
                "assign the template once it is ready.",
            )
        found[instance.id] = instance
    return list(found.values())


def _assign(rt: Runtime, s: Session, fw: Firewall, targets: list[Instance]) -> None:
    for instance in targets:
        instance.firewall_id = fw.id
    s.flush()
    _apply_to(rt, s, [i.id for i in targets])


def assignments(s: Session) -> list[tuple[int, int]]:
    """(instance id, template id) for every instance, not destroyed, that carries a
    template: what the control panel shows and the Indigo API never returns."""
    held = s.scalars(select(Instance).where(Instance.firewall_id.is_not(None)))
    return [(i.id, i.firewall_id) for i in held if i.firewall_id and instances.is_active(i)]


def _holders(s: Session, firewall_id: int) -> list[Instance]:
    return list(s.scalars(select(Instance).where(Instance.firewall_id == firewall_id)))


APPLY_FIREWALL = "apply_firewall"


def _apply_to(rt: Runtime, s: Session, instance_ids: Iterable[int]) -> None:
    for instance_id in sorted(set(instance_ids)):
        operations.enqueue(rt, s, APPLY_FIREWALL, instance_id=instance_id)
