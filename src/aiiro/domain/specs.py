"""The compute driver's view of an instance (compute/driver.py InstanceSpec), made from
its rows: what the engine's handlers, the reconciliation pass and the console hand to the
driver."""

from __future__ import annotations

import json
from typing import Literal

from sqlalchemy.orm import Session

from aiiro.catalog import IMPORT_OS_ID
from aiiro.compute.driver import ComputeDriver, ConsoleStream, InstanceSpec
from aiiro.domain import addresses
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Snapshot, SshKey


def spec_of(rt: Runtime, s: Session, inst: Instance) -> InstanceSpec:
    image = rt.catalog.image(inst.os_id)
    plan = rt.catalog.plan(inst.plan_id)
    family: Literal["linux", "windows", "import"] = (
        image.family if image else ("import" if inst.os_id == IMPORT_OS_ID else "linux")
    )
    key = s.get(SshKey, inst.sshkey_id) if inst.sshkey_id else None
    if key is not None and key.account_id != inst.account_id:
        key = None  # never another tenant's key, whatever became of the id
    addrs = addresses.of_instance(s, inst.id)
    source = None
    if inst.snapshot_id:
        snap = s.get(Snapshot, inst.snapshot_id)
        source = json.loads(snap.driver_state or "{}") if snap is not None else None
    return InstanceSpec(
        id=inst.id,
        name=inst.name,
        os_id=inst.os_id,
        os_name=image.name if image else "ImportVM",
        os_family=family,
        cpus=plan.cpus if plan else 1,
        memory_mb=plan.memory_mb if plan else 1024,
        disk_gb=plan.disk_gb if plan else 20,
        region_id=inst.region_id,
        mac=inst.macaddress,
        ipv4=str(addrs[4]) if 4 in addrs else None,
        ipv6=addrs[6].compressed if 6 in addrs else None,
        ssh_public_key=key.sshkey if key is not None else None,
        import_url=inst.import_url,
        source_snapshot=source,
        state=json.loads(inst.driver_state or "{}"),
    )


def console(rt: Runtime, s: Session, driver: ComputeDriver, inst: Instance) -> ConsoleStream:
    """The instance's console, opened through the driver."""
    return driver.console(spec_of(rt, s, inst))
