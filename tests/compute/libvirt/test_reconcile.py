"""Reconciliation through the API with the libvirt driver on `test:///default`: a machine
powered off (or started) on the host, not through aiiro, shows so after the next pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiiro.config import Settings
from aiiro.engine.worker import Engine
from aiiro.images.store import Image
from aiiro.runtime import Runtime
from tests.api.instance_helpers import PLAN_DUAL, advance, command, create_id, register_key, shown
from tests.conftest import Account

from .conftest import TEST_URI

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")

PREFIX = "aiiro-reconcile-"


@pytest.fixture
def settings(tmp_path: Path, storage: Path, database_url: str) -> Settings:
    """The shared app fixtures (`rt`, `alice`...), with the libvirt driver on the test host."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        profile="instant",
        admin_token="test-admin-token",
        worker=False,
        secret_key="test-secret",
        driver="libvirt",
        libvirt_uris=TEST_URI,
        libvirt_storage_dir=storage,
        libvirt_memory_scale=0.25,
        libvirt_name_prefix=PREFIX,
    )


@pytest.fixture
def host(rt: Runtime, engine: Engine) -> Iterator[Any]:
    """The test host as an operator would reach it (virsh), cleaned up afterwards:
    test:///default is shared by the whole process."""
    conn = libvirt.open(TEST_URI)
    yield conn
    for dom in conn.listAllDomains():
        if dom.name().startswith(PREFIX):
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    conn.close()
    engine.driver.hosts.close()  # type: ignore[attr-defined]


def test_a_machine_powered_off_on_the_host_shows_stopped(
    rt: Runtime, alice: Account, tiny: Image, host: Any, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice), instancePlan=PLAN_DUAL)
    dom = host.lookupByName(f"{PREFIX}{iid}")
    assert shown(alice, iid) == "OS installation In Progress"  # the first boot runs
    dom.destroy()  # the guest powers off at the end of its first boot
    advance(rt, 1)
    assert shown(alice, iid) == "Stopped"
    assert command(alice, iid, "start").json()["sucessCode"] == "I20008"
    assert shown(alice, iid) == "Running" and dom.isActive()

    dom.destroy()  # `virsh destroy` (or a crash), not through aiiro
    assert shown(alice, iid) == "Running"  # nobody has looked yet
    assert engine.reconcile() == 1
    assert shown(alice, iid) == "Stopped"

    dom.create()  # `virsh start`
    assert engine.reconcile() == 1
    assert shown(alice, iid) == "Running"
    assert command(alice, iid, "forcestop").json()["sucessCode"] == "I20009"
    assert not dom.isActive()
