"""End to end with real VMs: `aiiro serve --driver libvirt`, driven only through the Indigo
API, and checked from client hosts on the instance's network.

register a key -> create -> "OS installation In Progress" -> Stopped -> firewall admitting
one client -> start -> SSH with that key from the admitted client, refused from the other
-> write a file -> snapshot -> change the file -> stop (ACPI) -> restore -> start -> the old
file is back -> the serial console answers -> stop, destroy -> domain, disks, filter gone.

Every wait also asks the server (/_aiiro/operations) whether it gave up on an operation of
the instance: a host that cannot run the machine fails the test with the server's reason as
soon as the engine stops retrying, not after the wait's time-out.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.server import AiiroServer

from .conftest import PREFIX, STORAGE, URI, ClientHost
from .indigo import API, Indigo, Operator, wait_for, wait_status

pytestmark = [pytest.mark.acceptance, pytest.mark.libvirt]


def virsh(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["virsh", "-c", URI, *argv], capture_output=True, text=True)


def test_real_instance_through_the_indigo_api(
    tmp_path: Path, client_hosts: dict[str, ClientHost], e2e_storage: Path
) -> None:
    admitted, refused = client_hosts["admitted"], client_hosts["refused"]
    key = tmp_path / "id_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f", str(key)],
        check=True,
    )
    public_key = " ".join(key.with_suffix(".pub").read_text().split()[:2])
    env = {
        "AIIRO_DRIVER": "libvirt",
        "AIIRO_PROFILE": "fast",
        "AIIRO_QUOTA": "false",
        "AIIRO_LIBVIRT_URIS": URI,
        "AIIRO_LIBVIRT_STORAGE_DIR": str(e2e_storage),
        "AIIRO_LIBVIRT_MEMORY_SCALE": "0.25",
        "AIIRO_LIBVIRT_NAME_PREFIX": PREFIX,
    }
    instance_id = None
    with AiiroServer(tmp_path / "data", env=env) as server:
        server.start("--write-secret", tmp_path / "secret")
        api = Indigo(server.base_url, *server.credentials())
        operator = Operator(server.base_url, server.admin_token)
        try:
            # --- register a key, create, installation, Stopped ------------------------
            created = api.call("POST", "/vm/sshkey", {"sshName": "e2e", "sshKey": public_key})
            key_id = created["sshKey"]["id"]
            vms = api.call(
                "POST",
                "/vm/createinstance",
                {
                    "sshKeyId": key_id,
                    "regionId": 1,
                    "osId": 22,
                    "instancePlan": 1,
                    "instanceName": "e2e-real",
                },
            )["vms"]
            instance_id = operator.instance_id = vms["id"]
            assert api.instance(instance_id)["instancestatus"] == "OS installation In Progress"  # type: ignore[index]
            wait_status(api, operator, instance_id, "Stopped")
            address = api.instance(instance_id)["ipaddress"]  # type: ignore[index]
            assert address not in (admitted.address, refused.address)
            assert virsh("domstate", f"{PREFIX}{instance_id}").stdout.strip() == "shut off"

            # --- a firewall that admits SSH from one client only; start -----------------
            def ssh_from(*clients: ClientHost) -> list[dict[str, str]]:
                return [
                    {"type": "Custom", "protocol": "TCP", "port": "22", "source": c.address}
                    for c in clients
                ]

            firewall_id = api.call(
                "POST",
                "/nw/createfirewall",
                {
                    "name": "e2e-ssh",
                    "inbound": ssh_from(admitted),
                    "instances": [str(instance_id)],
                },
            )["firewallId"]
            api.status(instance_id, "start")
            wait_status(api, operator, instance_id, "Running")
            login = wait_for(
                operator,
                "SSH login from the admitted client",
                lambda: admitted.ssh(key, address, "id -un").stdout.strip() == "root",
            )
            assert login
            # The guest is up and serving SSH, yet the other client is dropped.
            denied = refused.ssh(key, address, "true", connect_timeout=5)
            assert denied.returncode == 255, denied
            assert "timed out" in denied.stderr.lower(), denied.stderr
            # ...and it is the template: admit that client too, live, and it gets in.
            api.call(
                "PUT",
                "/nw/updatefirewall",
                {
                    "templateid": str(firewall_id),
                    "name": "e2e-ssh",
                    "inbound": ssh_from(admitted, refused),
                    "instances": [str(instance_id)],
                },
            )
            wait_for(
                operator,
                "SSH login from the newly admitted client",
                lambda: refused.ssh(key, address, "true").returncode == 0,
                timeout=60,
            )

            # --- snapshot, change, stop, restore, start: the old file is back ------------
            wrote = admitted.ssh(key, address, "echo before > /root/marker && sync")
            assert wrote.returncode == 0, wrote.stderr
            api.call(
                "POST",
                "/disk/takesnapshot",
                {"name": "e2e-snap", "instanceid": instance_id, "slotnum": "0"},
            )

            def snapshot_created() -> Any:
                snaps = api.call("GET", f"/disk/snapshotlist/{instance_id}")
                return next((s for s in snaps if s["status"] == "created"), None)

            snap = wait_for(operator, "snapshot created", snapshot_created)
            changed = admitted.ssh(key, address, "echo after > /root/marker && sync")
            assert changed.returncode == 0, changed.stderr
            api.status(instance_id, "stop")  # ACPI: the guest powers itself off
            wait_status(api, operator, instance_id, "Stopped")
            api.call(
                "POST",
                "/disk/restoresnapshot",
                {"instanceid": str(instance_id), "snapshotid": str(snap["id"])},
            )
            wait_for(
                operator,
                "start accepted after the restore",
                lambda: api.http.post(
                    f"{API}/vm/instance/statusupdate",
                    json={"instanceId": str(instance_id), "status": "start"},
                ).json().get("success") is True,
            )  # fmt: skip
            wait_status(api, operator, instance_id, "Running")
            marker = wait_for(
                operator,
                "SSH after the restore",
                lambda: admitted.ssh(key, address, "cat /root/marker").stdout.strip(),
            )
            assert marker == "before"

            # --- the serial console answers ----------------------------------------------
            check_console(instance_id)

            # --- deletesnapshot, then destroy: machine, disks and filter are gone ---------
            api.status(instance_id, "forcestop")
            wait_status(api, operator, instance_id, "Stopped")
            api.call("DELETE", f"/disk/deletesnapshot/{snap['id']}")
            wait_for(
                operator,
                "snapshot deleted",
                lambda: (
                    virsh("snapshot-list", f"{PREFIX}{instance_id}", "--name").stdout.strip() == ""
                ),
            )
            api.status(instance_id, "destroy")
            wait_for(
                operator, "instance gone from the list", lambda: api.instance(instance_id) is None
            )
            assert virsh("dominfo", f"{PREFIX}{instance_id}").returncode != 0
            assert not (e2e_storage / "instances" / f"{PREFIX}{instance_id}").exists()
            assert (STORAGE / "images" / "tiny" / "disk.qcow2").exists()  # the base stays
            assert virsh("nwfilter-dumpxml", f"{PREFIX}instance-{instance_id}").returncode != 0
            instance_id = None
        finally:
            if instance_id is not None:
                _force_remove(instance_id, e2e_storage)


def check_console(instance_id: int) -> None:
    import libvirt

    from aiiro.compute.libvirt.console import LibvirtConsole

    conn = libvirt.open(URI)
    try:
        console = LibvirtConsole(conn, conn.lookupByName(f"{PREFIX}{instance_id}"))
        try:
            console.write(b"\necho console-$((6*7))\n")
            seen = b""
            deadline = time.monotonic() + 30
            while b"console-42" not in seen and time.monotonic() < deadline:
                seen += console.read(timeout=1.0)
            assert b"console-42" in seen, seen[-500:]
        finally:
            console.close()
    finally:
        conn.close()


def _force_remove(instance_id: int, storage: Path) -> None:
    """After a failure: leave no machine, disk or filter behind."""
    name = f"{PREFIX}{instance_id}"
    virsh("destroy", name)
    virsh("undefine", name, "--snapshots-metadata")
    virsh("nwfilter-undefine", f"{PREFIX}instance-{instance_id}")
    subprocess.run(["rm", "-rf", str(storage / "instances" / name)], check=False)
