"""Instances: what createinstance accepts, the list, and power commands.

A new instance is READY ("OS installation In Progress", or the import's download
progress) until the engine has provisioned it through the compute driver; it then stands
OPEN and "Stopped", as on Indigo. Commands change Instance.power at once (a compare-and-set
on Instance.version, so concurrent commands are serialised) and leave the driver work to an
operation; domain/lifecycle.py says which command is taken in which state.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from aiiro.catalog import OsImage, Plan, Region
from aiiro.compute import import_url as import_url_rule
from aiiro.domain import addresses, faults, lifecycle, limits, names
from aiiro.domain.errors import (
    IMPORT_URL_REQUIRED,
    INSTANCE_NOT_FOUND,
    OS_NOT_FOUND,
    PLAN_NOT_FOUND,
    PLAN_NOT_OFFERED,
    REGION_NOT_FOUND,
    SNAPSHOT_NOT_FOUND,
    SNAPSHOT_NOT_READY,
    SSHKEY_INACTIVE,
    SSHKEY_UNKNOWN,
    WIN_PASSWORD_POLICY,
    IndigoError,
    bad_request,
    invalid,
    missing,
    not_found,
)
from aiiro.domain.lifecycle import Accept, Command, Power
from aiiro.engine import operations
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Snapshot, SshKey

OUT_OF_STOCK = "I10059"
# Engine operations that carry out the installation or a power command.
LIFECYCLE_KINDS = ("provision", "start", "stop", "forcestop", "reset", "destroy")

REFUSALS = {
    lifecycle.ALREADY_RUNNING: "This instance is already running.",
    lifecycle.ALREADY_STOPPED: "This instance is already stopped.",
    lifecycle.ALREADY_DESTROYED: "This instance has already been destroyed.",
    lifecycle.RUNNING_CANNOT_DESTROY: (
        "Instance is in running status. Please stop the instance before destroying."
    ),
    lifecycle.PROVISIONING: (
        "The instance is still being provisioned. Try again once its OS installation has completed."
    ),
    lifecycle.BUSY: "The instance is still carrying out a previous command. Try again shortly.",
    lifecycle.FAILED_INSTALL: (
        "The instance could not be provisioned. Destroy it and create it again."
    ),
}


@dataclass(frozen=True)
class CreateRequest:
    instance_name: str | None = None
    region_id: int | None = None
    os_id: int | None = None
    plan_id: int | None = None
    sshkey_id: int | None = None
    win_password: str | None = None
    import_url: str | None = None
    snapshot_id: int | None = None


@dataclass(frozen=True)
class SnapshotSource:
    """Where an instance created from a snapshot comes from."""

    snapshot_id: int
    region_id: int
    os_id: int


def resolve_snapshot(rt: Runtime, s: Session, account_id: int, snapshot_id: int) -> SnapshotSource:
    """The caller's finished snapshot an instance may be created from: its region and OS
    are those of the instance it was taken of. (The snapshot module may refine the rules.)"""
    snap = s.get(Snapshot, snapshot_id)
    if snap is None or snap.account_id != account_id or snap.deleted_at is not None:
        raise not_found(SNAPSHOT_NOT_FOUND, "Snapshot not found.")
    if snap.status != "created":
        raise bad_request(SNAPSHOT_NOT_READY, "The snapshot is not ready yet.")
    source = s.get(Instance, snap.instance_id)
    if source is None or source.removed_at is not None:  # gone with its instance
        raise not_found(SNAPSHOT_NOT_FOUND, "Snapshot not found.")
    return SnapshotSource(snap.id, source.region_id, source.os_id)


# Replaceable: the snapshot module may install its own resolver here.
snapshot_resolver: Callable[[Runtime, Session, int, int], SnapshotSource] = resolve_snapshot


# --- createinstance ---------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    image: OsImage
    plan: Plan
    region: Region
    name: str
    sshkey: SshKey | None
    win_password: str | None
    import_url: str | None
    snapshot_id: int | None


def check_create(rt: Runtime, s: Session, account_id: int, req: CreateRequest) -> Checked:
    """Every rule of createinstance, in the order the checks are made."""
    cat = rt.catalog
    snapshot_id = None
    region_id, os_id = req.region_id, req.os_id
    if req.snapshot_id is not None:
        source = snapshot_resolver(rt, s, account_id, req.snapshot_id)
        snapshot_id, region_id, os_id = source.snapshot_id, source.region_id, source.os_id
    if os_id is None:
        raise missing("osId")
    image = cat.image(os_id)
    if image is None:
        raise bad_request(OS_NOT_FOUND, "OS was not found")
    import_url = None
    if image.family == "import" and snapshot_id is None:
        import_url = (req.import_url or "").strip()
        if not import_url:
            raise bad_request(IMPORT_URL_REQUIRED, "Import ULR required")  # sic
        try:
            import_url_rule.split(import_url)  # the text; where it leads is checked later
        except import_url_rule.Refused as exc:
            raise invalid("importUrl", str(exc)) from None
    if req.plan_id is None:
        raise missing("instancePlan")
    plan = cat.plan(req.plan_id)
    if plan is None:
        raise bad_request(PLAN_NOT_FOUND, "Instance plan was not found.")
    if region_id is None:
        raise missing("regionId")
    region = cat.region(region_id)
    if region is None:
        raise bad_request(REGION_NOT_FOUND, "Region was not found.")
    if not cat.plan_allows(plan, image):
        raise bad_request(PLAN_NOT_OFFERED, "The instance plan is not offered for this OS.")
    if not (plan.instancetype_id == image.instancetype_id == region.instancetype_id):
        raise bad_request(
            PLAN_NOT_OFFERED, "The plan, OS and region belong to different instance types."
        )
    name = check_name(req.instance_name)
    sshkey = None
    win_password = None
    if image.family == "windows":
        if req.win_password is None or req.win_password == "":
            raise missing("winPassword")
        win_password = check_win_password(req.win_password)
    elif req.sshkey_id is not None or image.family == "linux":
        if req.sshkey_id is None:
            raise missing("sshKeyId")
        sshkey = usable_sshkey(s, account_id, req.sshkey_id)
    return Checked(image, plan, region, name, sshkey, win_password, import_url, snapshot_id)


def check_name(name: str | None) -> str:
    return names.checked("instanceName", name)


WIN_PASSWORD_MIN = 8
WIN_PASSWORD_MAX = 64
SYMBOLS = set(string.punctuation)


def check_win_password(password: str) -> str:
    """aiiro's Windows password policy (the real one is unknown): 8-64 printable ASCII
    characters without spaces, from at least three of upper case, lower case, digits and
    symbols (Windows' own complexity rule), not containing "administrator"."""
    problems = []
    if not WIN_PASSWORD_MIN <= len(password) <= WIN_PASSWORD_MAX:
        problems.append(f"be {WIN_PASSWORD_MIN} to {WIN_PASSWORD_MAX} characters long")
    if any(not (33 <= ord(c) <= 126) for c in password):
        problems.append("use printable ASCII characters without spaces")
    classes = sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(c in SYMBOLS for c in password),
        )
    )
    if classes < 3:
        problems.append("mix at least three of upper case, lower case, digits and symbols")
    if "administrator" in password.lower():
        problems.append('not contain "Administrator"')
    if problems:
        raise bad_request(WIN_PASSWORD_POLICY, "The winPassword must " + "; ".join(problems) + ".")
    return password


def usable_sshkey(s: Session, account_id: int, key_id: int) -> SshKey:
    row = s.get(SshKey, key_id)
    if row is None or row.account_id != account_id:
        raise bad_request(SSHKEY_UNKNOWN, "SSH key was not found.")
    if row.status != "ACTIVE":
        raise bad_request(SSHKEY_INACTIVE, "The SSH key is not active.")
    return row


def create(rt: Runtime, s: Session, account_id: int, req: CreateRequest) -> Instance:
    """Create the instance (READY) and the operation that provisions it."""
    c = check_create(rt, s, account_id, req)
    limits.check(rt, s, account_id, "instances")
    hit = faults.take(rt, s, "createinstance", account_id)
    if hit is not None and hit.error is not None:
        raise hit.error  # out of stock, daily cap
    fault = hit.action if hit is not None else None
    now = rt.clock.now()
    inst = Instance(
        account_id=account_id,
        name=c.name,
        instancetype_id=c.image.instancetype_id,
        region_id=c.region.id,
        os_id=c.image.id,
        plan_id=c.plan.id,
        sshkey_id=c.sshkey.id if c.sshkey else 0,
        snapshot_id=c.snapshot_id or 0,
        import_url=c.import_url,
        win_password_hash=_hash_password(c.win_password),
        status=lifecycle.READY,
        power=Power.INSTALLING.value,
        progress=0 if c.import_url else None,
        set_no=c.region.set_no.get(c.plan.ipaddress_type, 10),
        host_id=c.region.host_ids[rt.rand.randint(0, len(c.region.host_ids) - 1)],
        uuid=rt.rand.uuid4(),
        vnc_port=rt.rand.randint(11000, 11999),
        vnc_passwd=rt.rand.alnum(16),
        ipaddress_type=c.plan.ipaddress_type,
        macaddress=rt.rand.mac(),
        arpadate=0,
        created_at=now,
        updated_at=now,
        driver_state="{}",
        version=0,
    )
    s.add(inst)
    s.flush()
    reserved = []
    try:
        for family in addresses.families(c.plan.ipaddress_type):
            reserved.append(addresses.reserve(rt, s, c.region, family, inst.id))
    except addresses.PoolExhausted:
        raise IndigoError(400, OUT_OF_STOCK, "Out of stock.") from None
    # Stored now, shown once provisioned (the list shows null / "" while READY).
    inst.ipaddress = addresses.shown(reserved[0])
    inst.secondary_ip = addresses.shown(reserved[1]) if len(reserved) > 1 else None
    inst.arpaname = addresses.arpaname(reserved[0])
    payload: dict[str, Any] = {"fault": fault} if fault and c.import_url else {}
    operations.enqueue(rt, s, "provision", instance_id=inst.id, payload=payload)
    return inst


def _hash_password(password: str | None) -> str | None:
    if password is None:
        return None
    from aiiro.security import hash_password

    return hash_password(password)


# --- the list -----------------------------------------------------------------------------


def listed(s: Session, account_id: int) -> list[Instance]:
    """The account's instances as getinstancelist shows them: newest first (the order of
    the documentation's example), destroyed ones until they have been removed."""
    return list(
        s.scalars(
            select(Instance)
            .where(Instance.account_id == account_id, Instance.removed_at.is_(None))
            .order_by(Instance.id.desc())
        )
    )


# Columns the list shows nothing of: the driver's own record (long, and rewritten as the
# machine runs) and a password hash.
UNLISTED = frozenset({"driver_state", "win_password_hash"})


def listed_rows(s: Session, account_id: int) -> list[Row[Any]]:
    """The account's listed instances as plain rows (the columns by name), without the
    ORM's cost: the API's list of 1,000 instances. A row holds every other column, so
    that it is all its rendered item is made of (api/instances.py keeps items by row)."""
    table = Instance.__table__
    return list(
        s.execute(
            select(*(c for c in table.c if c.name not in UNLISTED))
            .where(table.c.account_id == account_id, table.c.removed_at.is_(None))
            .order_by(table.c.id.desc())
        ).all()
    )


def get(s: Session, account_id: int, instance_id: int | None, lock: bool = False) -> Instance:
    """The caller's instance, or 404 (another account's behaves as if it did not exist)."""
    inst = s.get(Instance, instance_id, with_for_update=lock) if instance_id is not None else None
    if inst is None or inst.account_id != account_id or inst.removed_at is not None:
        raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
    return inst


def shown_status(inst: Instance | Row[Any]) -> str:
    """The `instancestatus` of an instance, as the API lists it and the panel shows it
    (their one home). An import shows its download; an instance made from a snapshot of
    an import downloads nothing: it installs."""
    return lifecycle.instancestatus(
        inst.power, inst.import_url is not None, inst.progress, inst.status
    )


def is_active(inst: Instance) -> bool:
    """Not destroyed (a firewall template it carries cannot be deleted)."""
    return inst.removed_at is None and inst.power != Power.DESTROYING.value


# --- power commands ---------------------------------------------------------------------


class Conflict(operations.Conflict):
    """The instance changed between read and write: decide again (Engine.apply does);
    still losing after a few tries, the command is refused as busy."""

    def give_up(self) -> Exception:
        return bad_request(lifecycle.BUSY, REFUSALS[lifecycle.BUSY])


def command(
    rt: Runtime, s: Session, account_id: int, instance_id: int | None, cmd: Command
) -> Instance:
    """Apply a power command; the instance is returned in its new state, or the refusal
    is raised as the Indigo-shaped error."""
    inst = get(s, account_id, instance_id, lock=True)
    decision = lifecycle.decide(inst.power, cmd)
    if not isinstance(decision, Accept):
        raise bad_request(decision.code, REFUSALS[decision.code])
    now = rt.clock.now()
    values: dict[str, Any] = {
        "power": decision.to.value,
        "version": inst.version + 1,
        "updated_at": now,
    }
    result = s.execute(
        update(Instance)
        .where(Instance.id == inst.id, Instance.version == inst.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict()
    s.refresh(inst)
    payload: dict[str, Any] = {}
    if cmd is Command.STOP:
        hit = faults.take(rt, s, "stop", account_id)
        if hit is not None and hit.action == "stop_hangs":
            payload["hang"] = True
    moot = tuple(c.value for c in lifecycle.CANCELS[cmd])
    if moot:
        operations.cancel_pending(rt, s, inst.id, moot)
    operations.enqueue(rt, s, cmd.value, instance_id=inst.id, payload=payload)
    return inst
