"""Two real compute hosts: this machine's libvirtd and a second libvirtd of the test's own
(conftest.SecondHost: its own socket, state, definitions and logs), both in
`AIIRO_LIBVIRT_URIS` of a real `aiiro serve --driver libvirt`, driven through the Indigo API.

The host daemon is made the fuller one (a shut-off machine of the test's defined there, with
all the machine's memory), so the first instance goes to the second host. That host then
hangs (SIGSTOP: its socket still accepts, nothing answers, its guests run on): its instance
stays listed, marked `daemonstatus` "unreachable"; a new instance goes to the host that
answers although it has less free memory. The host answers again (SIGCONT): the mark goes.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.server import AiiroServer

from .conftest import PREFIX, URI, SecondHost
from .indigo import Indigo, Operator, wait_for, wait_status

pytestmark = [pytest.mark.acceptance, pytest.mark.libvirt]

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHUe8v2S8c2bQxWQ6p6n4pDq0dVbV8m6tq3kPjyXj2aL e2e"


def virsh(uri: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["virsh", "-c", uri, *argv], capture_output=True, text=True)


def host_of(operator: Operator, instance_id: int) -> str | None:
    resp = operator.http.get(f"/_aiiro/instances/{instance_id}")
    assert resp.status_code == 200, resp.text
    host: str | None = resp.json()["driver_state"].get("host")
    return host


def marks(api: Indigo, instance_id: int) -> tuple[str, str]:
    inst: Any = api.instance(instance_id)
    return inst["instancestatus"], inst["daemonstatus"]


def test_placement_and_a_host_that_stops_answering(
    tmp_path: Path, second_host: SecondHost, e2e_storage: Path
) -> None:
    ballast = f"{PREFIX}ballast"
    info = dict(
        line.split(":", 1) for line in virsh(URI, "nodeinfo").stdout.splitlines() if ":" in line
    )
    node_kib = int(info["Memory size"].split()[0])
    (tmp_path / "ballast.xml").write_text(
        f"<domain type='qemu'><name>{ballast}</name><memory unit='KiB'>{node_kib}</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    defined = virsh(URI, "define", str(tmp_path / "ballast.xml"))
    assert defined.returncode == 0, defined.stderr
    env = {
        "AIIRO_DRIVER": "libvirt",
        "AIIRO_PROFILE": "fast",
        "AIIRO_QUOTA": "false",
        "AIIRO_LIBVIRT_URIS": f"{URI},{second_host.uri}",
        "AIIRO_LIBVIRT_HOST_TIMEOUT_S": "2",
        "AIIRO_RECONCILE_S": "1",
        "AIIRO_LIBVIRT_STORAGE_DIR": str(e2e_storage),
        "AIIRO_LIBVIRT_MEMORY_SCALE": "0.25",
        "AIIRO_LIBVIRT_NAME_PREFIX": PREFIX,
    }
    key = tmp_path / "id_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f", str(key)],
        check=True,
    )
    public_key = key.with_suffix(".pub").read_text().strip()
    made: list[int] = []
    try:
        with AiiroServer(tmp_path / "data", env=env) as server:
            server.start("--write-secret", tmp_path / "secret")
            api = Indigo(server.base_url, *server.credentials())
            operator = Operator(server.base_url, server.admin_token)
            key_id = api.call("POST", "/vm/sshkey", {"sshName": "e2e", "sshKey": public_key})[
                "sshKey"
            ]["id"]

            def create(name: str) -> int:
                body = {
                    "sshKeyId": key_id,
                    "regionId": 1,
                    "osId": 22,
                    "instancePlan": 1,
                    "instanceName": name,
                }
                iid: int = api.call("POST", "/vm/createinstance", body)["vms"]["id"]
                made.append(iid)
                operator.instance_id = iid
                return iid

            # --- placement: the host with the most free memory -------------------------
            far = create("e2e-far")
            wait_status(api, operator, far, "Stopped")  # a real first boot there, then off
            assert host_of(operator, far) == second_host.uri
            assert second_host.virsh("domstate", f"{PREFIX}{far}").stdout.strip() == "shut off"
            assert marks(api, far) == ("Stopped", "")

            # --- the second host hangs ---------------------------------------------------
            second_host.signal(signal.SIGSTOP)
            wait_for(
                operator,
                "the instance on the silent host marked",
                lambda: marks(api, far) == ("Stopped", "unreachable"),
                timeout=60,
            )
            # The API answers all the while: no request waits for a host.
            listed = httpx.get(
                f"{server.base_url}/webarenaIndigo/v1/vm/getinstancelist",
                headers=api.http.headers,
                timeout=10,
            )
            assert listed.status_code == 200
            # A new instance goes to the host that answers, though it has less free memory.
            near = create("e2e-near")
            wait_status(api, operator, near, "Stopped")
            assert host_of(operator, near) == URI
            assert virsh(URI, "domstate", f"{PREFIX}{near}").stdout.strip() == "shut off"
            assert marks(api, near) == ("Stopped", "")
            assert marks(api, far) == ("Stopped", "unreachable")  # still listed, still marked

            # --- it answers again ----------------------------------------------------------
            second_host.signal(signal.SIGCONT)
            wait_for(
                operator,
                "the mark cleared",
                lambda: marks(api, far) == ("Stopped", ""),
                timeout=60,
            )
            # ...and it is in use again: the instance there starts.
            operator.instance_id = far
            api.status(far, "start")
            wait_for(
                operator,
                "the instance running on the second host",
                lambda: second_host.virsh("domstate", f"{PREFIX}{far}").stdout.strip() == "running",
            )
            wait_status(api, operator, far, "Running")
            api.status(far, "forcestop")
            wait_status(api, operator, far, "Stopped")
            for iid in made:
                api.status(iid, "destroy")
            for iid in made:
                wait_for(operator, f"instance {iid} gone", lambda i=iid: api.instance(i) is None)
            assert PREFIX not in virsh(URI, "list", "--all", "--name").stdout.replace(ballast, "")
            assert PREFIX not in second_host.virsh("list", "--all", "--name").stdout
    finally:
        with contextlib.suppress(AssertionError, ProcessLookupError):
            second_host.signal(signal.SIGCONT)
        virsh(URI, "undefine", ballast)
        for iid in made:  # what a failed run left on the host daemon (conftest: the other)
            virsh(URI, "destroy", f"{PREFIX}{iid}")
            virsh(URI, "undefine", "--snapshots-metadata", f"{PREFIX}{iid}")
