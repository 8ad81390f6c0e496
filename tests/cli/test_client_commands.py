"""Every client command, run in-process against an in-process aiiro (instant profile,
virtual clock): output formats, dry runs, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from aiiro.client_core.policy import Http, Reply
from aiiro.runtime import Runtime
from tests.cli.client_env import CREATE_WEB1, ENDPOINT, Cli

ADMIN = {"Authorization": "Bearer test-admin-token"}
# Restore s1 on web1 and start it, curing no hung boot.
RESTORE_NO_CURE = [
    "snapshot",
    "restore",
    "web1",
    "--snapshot",
    "s1",
    "--start",
    "--cures",
    "0",
    "--boot-timeout",
    "5",
    "--poll",
    "1",
]


@pytest.fixture
def web1(cli: Cli, pubkey: Path) -> dict[str, Any]:
    cli.ok("sshkey", "create", "--name", "mykey", "--file", str(pubkey))
    return cli.json(
        "instance",
        "create",
        "--name",
        "web1",
        "--os",
        "Debian12",
        "--plan",
        "1CR768MB",
        "--ssh-key",
        "mykey",
        "--start",
        "--wait",
        "--poll",
        "1",
    )


def test_the_interface_sketch(cli: Cli, pubkey: Path) -> None:
    cli.ok("sshkey", "create", "--name", "mykey", "--file", str(pubkey))
    made = cli.ok(
        *CREATE_WEB1,
        "--wait",
    )
    assert "Stopped" in made.stdout
    cli.ok("instance", "start", "web1", "--wait")
    [inst] = json.loads(cli.ok("instance", "list", "-o", "json").stdout)
    assert (inst["instance_name"], inst["instancestatus"]) == ("web1", "Running")
    cli.ok("snapshot", "take", "web1", "--name", "before-upgrade", "--wait")
    restored = cli.ok(
        "snapshot", "restore", "web1", "--snapshot", "before-upgrade", "--start", "--wait"
    )
    assert "Running" in restored.stdout
    assert "restoring before-upgrade on web1" in restored.stderr


def test_output_formats(cli: Cli, web1: dict[str, Any]) -> None:
    table = cli.ok("instance", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "STATUS", "IP", "PLAN", "OS", "REGION"]
    assert table[1].split()[1:3] == ["web1", "Running"]
    bare = cli.ok("instance", "list", "--no-header", "--columns", "instance_name,os.name")
    assert bare.stdout.split() == ["web1", "Debian12"]
    [as_yaml] = yaml.safe_load(cli.ok("instance", "list", "-o", "yaml").stdout)
    assert as_yaml["instance_name"] == "web1" and as_yaml["os"]["name"] == "Debian12"
    shown = cli.ok("instance", "show", "web1").stdout
    assert "instancestatus    Running" in shown
    bad = cli("instance", "list", "-o", "xml")
    assert bad.exit_code == 2 and "table, json or yaml" in bad.stderr


def test_dry_run_prints_the_request_and_sends_nothing(cli: Cli, web1: dict[str, Any]) -> None:
    out = cli.ok("instance", "stop", "web1", "--dry-run").stdout
    assert out.startswith(f"POST {ENDPOINT}/webarenaIndigo/v1/vm/instance/statusupdate\n")
    assert "Authorization: Bearer <token>" in out
    assert json.loads(out.split("\n\n", 1)[1]) == {"instanceId": str(web1["id"]), "status": "stop"}
    assert cli.json("instance", "show", "web1")["instancestatus"] == "Running"
    listing = cli.ok("instance", "list", "--dry-run").stdout
    assert listing.strip() == (
        f"GET {ENDPOINT}/webarenaIndigo/v1/vm/getinstancelist\nAuthorization: Bearer <token>"
    )
    # Lookups by name are still made: a name that names nothing fails as without --dry-run.
    missing = cli("snapshot", "restore", "web1", "--snapshot", "nope", "--dry-run")
    assert missing.exit_code == 5 and "no snapshot named 'nope'" in missing.stderr


def test_errors_print_code_message_hint_and_exit_codes(cli: Cli, web1: dict[str, Any]) -> None:
    again = cli("instance", "start", "web1")
    assert again.exit_code == 6
    assert again.stderr.startswith("error: I10016: This instance is already running. (HTTP 400")
    assert "hint: the instance is already running" in again.stderr
    running = cli("instance", "destroy", "web1", "--yes")
    assert running.exit_code == 6 and "I10055" in running.stderr and "stop" in running.stderr
    missing = cli("instance", "show", "nope")
    assert missing.exit_code == 5 and "no instance named 'nope'" in missing.stderr
    nocreds = cli("instance", "list", IndigoApiKey="", IndigoApiPrivateKey="")
    assert nocreds.exit_code == 3 and "aiiro configure" in nocreds.stderr
    wrong = cli("instance", "list", IndigoApiKey="unknown-key")
    assert wrong.exit_code == 4 and "Invalid client credentials." in wrong.stderr


def test_instance_commands(cli: Cli, web1: dict[str, Any]) -> None:
    out = cli.ok("instance", "reset", "web1").stdout
    assert out.startswith("web1: reset")
    assert cli.json("instance", "wait", "web1", "--for", "Running")["instancestatus"] == "Running"
    stopped = cli.json("instance", "stop", "web1", "--wait", "--poll", "1")
    assert stopped["instancestatus"] == "Stopped"
    cli.ok("instance", "start", str(web1["id"]))
    assert cli.json("instance", "forcestop", "web1", "--wait")["instancestatus"] == "Stopped"
    refused = cli("instance", "destroy", "web1")  # not a terminal, no --yes
    assert refused.exit_code == 3 and "--yes" in refused.stderr
    cli.ok("instance", "start", "web1", "--wait")
    gone = cli.ok("instance", "destroy", "web1", "--yes", "--stop", "--wait")
    assert "web1" in gone.stdout or str(web1["id"]) in gone.stdout
    assert cli.json("instance", "list") == []


def test_instance_ssh(cli: Cli, web1: dict[str, Any]) -> None:
    dry = cli.ok("instance", "ssh", "web1", "--dry-run").stdout.strip()
    assert dry == f"ssh debian@{web1['ip']}"
    ran: list[list[str]] = []

    def fake_ssh(argv: list[str]) -> int:
        ran.append(argv)
        return 0

    cli.env = cli.env._replace(exec_ssh=fake_ssh)
    # This server runs the sim driver: nothing would answer ssh, and the command says so.
    sim = cli("instance", "ssh", "web1")
    assert sim.exit_code == 1 and ran == []
    assert sim.stderr == (
        "error: web1 is an instance of aiiro's simulator (`aiiro serve --driver sim`, the "
        f"default): no machine runs behind {web1['ip']}, so ssh cannot connect\n"
        "hint: to log in to instances, run the server with `aiiro serve --driver libvirt` "
        "(real VMs; docs/operating-a-host.md), or use the real Indigo service\n"
    )
    # An endpoint that is no aiiro server (the real service has no /_aiiro/health): ssh runs.
    inner = cli.env.transport
    assert inner is not None

    def without_health(h: Http) -> Reply:
        if h.url.endswith("/_aiiro/health"):
            return Reply(404, {}, b"")
        return inner(h)

    cli.env = cli.env._replace(transport=without_health)
    cli.ok("instance", "ssh", "web1", "-l", "root", "-i", "/k", "--", "uptime")
    assert ran == [["ssh", "-i", "/k", f"root@{web1['ip']}", "uptime"]]


def test_create_with_start_and_timeout(cli: Cli, pubkey: Path, rt: Runtime) -> None:
    cli.ok("sshkey", "create", "--name", "k", "--file", str(pubkey))
    cli.ok("profile", "list")  # works with no profile file
    made = cli.json(
        "instance",
        "create",
        "--name",
        "w2",
        "--os",
        "22",
        "--plan",
        "13",
        "--ssh-key",
        "k",
        "--start",
    )
    assert made["instancestatus"] in ("Stopped", "Running")
    waited = cli("instance", "wait", "w2", "--for", "READY", "--timeout", "3", "--poll", "1")
    assert waited.exit_code == 8 and "after 3 s" in waited.stderr


def test_sshkey_commands(cli: Cli, pubkey: Path) -> None:
    made = cli.json("sshkey", "create", "--name", "k1", "--file", str(pubkey))
    assert made["sshkey"] == " ".join(pubkey.read_text().split()[:2])  # comment left out
    assert [k["name"] for k in cli.json("sshkey", "list")] == ["k1"]
    assert cli.json("sshkey", "show", "k1")["id"] == made["id"]
    cli.ok("sshkey", "deactivate", "k1")
    assert cli.json("sshkey", "list", "--active") == []
    cli.ok("sshkey", "activate", str(made["id"]))
    cli.ok("sshkey", "update", "k1", "--name", "k2")
    assert cli.json("sshkey", "show", "k2")["status"] == "ACTIVE"
    assert "removed" in cli.ok("sshkey", "delete", "k2").stdout
    private = cli("sshkey", "create", "--name", "x", "--file", str(pubkey.with_suffix("")))
    assert private.exit_code == 3 and "private key" in private.stderr


def test_token_and_apikeys(cli: Cli) -> None:
    first = cli.ok("token").stdout.strip()
    assert len(first) == 28 and cli.ok("token").stdout.strip() == first  # cached
    assert cli.ok("token", "--refresh").stdout.strip() != first
    data = cli.json("token")
    assert data["endpoint"] == ENDPOINT and data["expiresIn"] == 3599
    new = cli.json("apikey", "create")
    assert new["api_key"] and new["api_secret"]
    keys = cli.json("apikey", "list")
    made = next(k for k in keys if k["api_key"] == new["api_key"])
    cli.ok("apikey", "delete", str(made["id"]))
    assert new["api_key"] not in [k["api_key"] for k in cli.json("apikey", "list")]


def test_catalog_commands(cli: Cli) -> None:
    assert [t["name"] for t in cli.json("catalog", "types")][:1] == ["instance"]
    assert [r["name"] for r in cli.json("catalog", "regions")] == ["Tokyo"]
    assert "Debian12" in [o["name"] for o in cli.json("catalog", "os")]
    plans = cli.json("catalog", "plans", "--os", "Debian12")
    assert "1CR768MB" in [p["resource"] for p in plans]
    windows = cli.json("catalog", "plans", "--os", "WindowsServer2022")
    assert all(p["ipaddress_type"] == "ipv4" for p in windows)
    assert "1CR768MB" in cli.ok("catalog", "plans").stdout


def test_firewall_commands(cli: Cli, web1: dict[str, Any], tmp_path: Path) -> None:
    out = cli.ok(
        "firewall",
        "create",
        "--name",
        "web",
        "--in",
        "tcp:22@203.0.113.5",
        "--in",
        "https",
        "--instance",
        "web1",
    ).stdout
    assert "created" in out
    [fw] = cli.json("firewall", "list")
    assert fw["name"] == "web"
    shown = cli.ok("firewall", "show", "web").stdout
    assert "203.0.113.5" in shown and "HTTPS" in shown
    spec = tmp_path / "fw.yaml"
    spec.write_text(
        "name: web\ninbound:\n  - udp:123\n  - {type: Custom, protocol: TCP, "
        "port: '22', source: 198.51.100.0/24}\noutbound:\n  - tcp:443\n"
    )
    cli.ok("firewall", "update", "web", "--file", str(spec))
    rules = cli.json("firewall", "show", str(fw["id"]))
    assert [r["port"] for r in rules["inbound"]] == ["123", "22"]
    assert [r["port"] for r in rules["outbound"]] == ["443"]
    as_json = tmp_path / "fw2.json"
    as_json.write_text(json.dumps({"name": "other", "inbound": ["icmp"]}))
    cli.ok("firewall", "create", "--file", str(as_json))
    cli.ok("firewall", "assign", "other", "web1")
    refused = cli("firewall", "delete", "other")
    assert refused.exit_code == 6 and "F60009" in refused.stderr
    bad = cli("firewall", "create", "--name", "x", "--in", "tcp")
    assert bad.exit_code == 3 and "bad rule" in bad.stderr


def test_snapshot_commands(cli: Cli, web1: dict[str, Any], client: TestClient) -> None:
    snap = cli.json("snapshot", "take", "web1", "--name", "s1", "--wait", "--poll", "1")
    assert snap["status"] == "created"
    assert [s["name"] for s in cli.json("snapshot", "list", "web1")] == ["s1"]
    r = client.post(
        "/_aiiro/faults",
        headers=ADMIN,
        json={"action": "snapshot_fails", "operation": "takesnapshot", "count": 1},
    )
    assert r.status_code == 201
    failed = cli.json("snapshot", "take", "web1", "--name", "s2", "--slot", "1")
    assert failed["name"] == "s2"
    assert (
        cli.json("snapshot", "retake", "web1", "s2", "--wait", "--poll", "1")["status"] == "created"
    )
    assert "deleted" in cli.ok("snapshot", "delete", "web1", "s2").stdout
    plan = cli.ok("snapshot", "restore", "web1", "--snapshot", "s1", "--start", "--dry-run")
    methods = [line for line in plan.stdout.splitlines() if line.startswith(("POST", "GET"))]
    assert [m.split()[1].rsplit("/", 1)[1] for m in methods] == [
        "statusupdate",
        "restoresnapshot",
        "statusupdate",
    ]


def test_restore_cures_a_hung_boot(cli: Cli, web1: dict[str, Any], client: TestClient) -> None:
    cli.ok("snapshot", "take", "web1", "--name", "s1", "--wait")
    r = client.post(
        "/_aiiro/faults",
        headers=ADMIN,
        json={"action": "boot_stuck", "operation": "restoresnapshot", "count": 1},
    )
    assert r.status_code == 201
    done = cli(
        "snapshot",
        "restore",
        "web1",
        "--snapshot",
        "s1",
        "--start",
        "--poll",
        "1",
        AIIRO_ADMIN_TOKEN="test-admin-token",
    )
    assert done.exit_code == 0, done.stderr
    assert "does not answer: forcestop, then start" in done.stderr
    stuck = cli(
        *RESTORE_NO_CURE,
        "--boot-check",
        "aiiro",
        AIIRO_ADMIN_TOKEN="test-admin-token",
    )
    assert stuck.exit_code == 0  # no fault this time: it boots
    client.post(
        "/_aiiro/faults",
        headers=ADMIN,
        json={"action": "boot_stuck", "operation": "restoresnapshot", "count": 1},
    )
    stuck = cli(
        *RESTORE_NO_CURE,
        AIIRO_ADMIN_TOKEN="test-admin-token",
    )
    assert stuck.exit_code == 10 and "hint:" in stuck.stderr
