"""The command line's basics for a new user: version, -h, options before or after the
command, completion; waits that show what they wait for (the quota included) in a log;
messages that say "requested" for what was only requested; columns by their headers; the
lowest free snapshot slot; what a firewall is assigned to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aiiro.cli.client.fast import run_fast
from aiiro.runtime import Runtime
from tests.cli.client_env import ENDPOINT, Cli

ADMIN_TOKEN = "test-admin-token"


CREATE = ["instance", "create", "--os", "Debian12", "--plan", "1CR768MB", "--ssh-key", "k"]


@pytest.fixture
def web1(cli: Cli, pubkey: Path) -> dict[str, Any]:
    cli.ok("sshkey", "create", "--name", "k", "--file", str(pubkey))
    made: dict[str, Any] = cli.json(*CREATE, "--name", "web1", "--start", "--wait")
    return made


# --- version, help, options anywhere, completion ------------------------------------------


def test_version_and_short_help(cli: Cli) -> None:
    assert cli.ok("--version").stdout == "aiiro 0.1.0\n"
    assert cli.ok("version").stdout == "aiiro 0.1.0\n"
    assert cli.ok("-h").stdout.startswith("Usage: aiiro [OPTIONS] COMMAND [ARGS]...")
    assert cli.ok("instance", "list", "-h").stdout.startswith("Usage: aiiro instance list")
    assert cli.ok("snapshot", "-h").stdout.startswith("Usage: aiiro snapshot [OPTIONS]")


def test_client_options_before_the_command(cli: Cli, web1: dict[str, Any]) -> None:
    [listed] = json.loads(cli.ok("-o", "json", "instance", "list").stdout)
    assert listed["instance_name"] == "web1"
    bare = cli.ok("--no-header", "--columns", "name", "instance", "list").stdout
    assert bare == "web1\n"
    # After the command wins.
    assert cli.ok("-o", "yaml", "instance", "list", "-o", "json").stdout.startswith("[")
    cli.ok(
        "--profile", "alias", "--endpoint", ENDPOINT, "configure", "--api-key", "k",
        "--api-secret", "s",
    )  # fmt: skip
    assert cli.json("--context", "alias", "profile", "list")[0]["name"] == "alias"
    # The server's own --profile (its timing profile) goes after `serve`.
    wrong = cli("--profile", "faithful", "serve")
    assert wrong.exit_code == 2
    assert "--profile given before `serve`: options before a command are the client" in (
        wrong.stderr
    )


def test_the_fast_path_takes_options_before_the_command_too(
    cli: Cli, web1: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    full = cli.ok("-o", "json", "instance", "list").stdout
    assert run_fast(["-o", "json", "instance", "list"], cli.env) == 0
    assert capsys.readouterr().out == full


@pytest.mark.parametrize(
    ("shell", "start"),
    [
        ("bash", "_aiiro_completion() {"),
        ("zsh", "#compdef aiiro"),
        ("fish", "complete --command aiiro"),
    ],
)
def test_completion_prints_the_script(cli: Cli, shell: str, start: str) -> None:
    script = cli.ok("completion", shell).stdout
    assert script.startswith(start) and "_AIIRO_COMPLETE" in script


# --- what a wait shows ------------------------------------------------------------------------


class TestWaitInALog:
    @pytest.fixture
    def settings(self, settings: Any) -> Any:
        settings.profile = "fast"  # each step takes a while (on the virtual clock)
        return settings

    def test_each_change_of_state_is_a_line(self, cli: Cli, pubkey: Path) -> None:
        """stderr is not a terminal here (a CI log): one line per phase and state."""
        cli.ok("sshkey", "create", "--name", "k", "--file", str(pubkey))
        made = cli(*CREATE, "--name", "web1", "--start", "--wait", "--poll", "1")
        assert made.exit_code == 0
        assert made.stderr.splitlines() == [
            "installing web1: OS installation In Progress",
            "installing web1: Stopped",
            "starting web1",
            "starting web1: Running",
        ]
        stopped = cli("instance", "stop", "web1", "--wait", "--poll", "1")
        assert stopped.stderr.splitlines() == [
            "stopping web1: Running (stopping)",
            "stopping web1: Stopped",
        ]


class TestQuota:
    @pytest.fixture
    def settings(self, settings: Any) -> Any:
        settings.quota = True  # 6 requests a minute per key, as on Indigo
        return settings

    def test_a_quota_wait_is_said(
        self, cli: Cli, rt: Runtime, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # The calendar minute of the server clock just begun: the seven requests share it,
        # however slowly they are made (a loaded machine).
        rt.clock.advance(60 - rt.clock.time() % 60 + 0.001)
        for _ in range(6):
            assert cli.ok("instance", "list").stderr == ""
        waited = cli.ok("instance", "list")
        assert waited.stderr.startswith("waiting ")
        assert waited.stderr.endswith(" s for the API quota (6 requests a minute)\n")
        # The list commands' dispatcher says it the same way.
        for _ in range(5):
            assert run_fast(["instance", "list"], cli.env) == 0
        assert capsys.readouterr().err == ""
        assert run_fast(["instance", "list"], cli.env) == 0
        assert capsys.readouterr().err.endswith(" s for the API quota (6 requests a minute)\n")

    def test_inside_a_wait_too(self, cli: Cli, pubkey: Path) -> None:
        cli.ok("sshkey", "create", "--name", "k", "--file", str(pubkey))
        made = cli(*CREATE, "--name", "web1", "--start", "--wait", "--poll", "1")
        assert made.exit_code == 0
        lines = made.stderr.splitlines()
        assert any(line.endswith(" s for the API quota (6 requests a minute)") for line in lines)
        assert lines[-1] == "starting web1: Running"


# --- requested, not done ----------------------------------------------------------------------


def test_actions_without_wait_say_requested(cli: Cli, pubkey: Path) -> None:
    cli.ok("sshkey", "create", "--name", "k", "--file", str(pubkey))
    made = cli.ok(*CREATE, "--name", "app1")
    assert made.stdout == (
        "app1: created (id 1); it installs its OS, then stays Stopped. Use --wait to wait "
        "for that (with --start: until Running).\n"
    )
    cli.ok("instance", "wait", "app1", "--for", "Stopped")
    assert cli.ok("instance", "start", "app1").stdout == (
        "app1: start requested (I20008 Instance has started successfully). Use --wait to "
        "wait until it is Running.\n"
    )
    cli.ok("instance", "wait", "app1", "--for", "Running")
    cli.ok("instance", "forcestop", "app1", "--wait")
    assert cli.ok("instance", "destroy", "app1", "--yes").stdout.startswith(
        "app1: destroy requested (I20010 "
    )


def test_start_wait_on_a_running_instance_succeeds(cli: Cli, web1: dict[str, Any]) -> None:
    again = cli("instance", "start", "web1", "--wait")
    assert again.exit_code == 0 and again.stdout.startswith("web1: already running\nID ")
    refused = cli("instance", "start", "web1")  # without --wait the refusal stays
    assert refused.exit_code == 6 and "I10016" in refused.stderr
    cli.ok("instance", "stop", "web1", "--wait")
    stopped = cli.json("instance", "stop", "web1", "--wait")
    assert stopped["instancestatus"] == "Stopped"


def test_a_name_in_use_is_warned_about(cli: Cli, web1: dict[str, Any]) -> None:
    again = cli(*CREATE, "--name", "web1")
    assert again.exit_code == 0
    assert again.stderr == (
        f"warning: an instance named 'web1' already exists (id {web1['id']}); the API "
        "allows another, but then 'web1' names more than one: use ids, or another name\n"
    )


# --- columns ------------------------------------------------------------------------------


def test_columns_by_header_or_field_in_any_case(cli: Cli, web1: dict[str, Any]) -> None:
    table = cli.ok("instance", "list", "--columns", "id,name,Status,os.name").stdout
    assert table.splitlines() == [
        "ID   NAME   STATUS    OS.NAME",
        f"{web1['id']}    web1   Running   Debian12",
    ]
    assert cli.ok("instance", "list", "--columns", "INSTANCE_NAME", "--no-header").stdout == (
        "web1\n"
    )
    unknown = cli("instance", "list", "--columns", "name,nope")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith(
        "error: --columns: no column 'nope' in instance output\n"
        "hint: use the table's headers (ID, NAME, STATUS, IP, PLAN, OS, REGION) or the "
        "fields of `-o json` (id, instance_name, status, instancestatus, ip, "
    )


# --- snapshots, firewalls, ssh, restore -----------------------------------------------------------


def test_snapshots_take_the_lowest_free_slot(cli: Cli, web1: dict[str, Any]) -> None:
    cli.ok("snapshot", "take", "web1", "--name", "first", "--wait")
    cli.ok("snapshot", "take", "web1", "--name", "second", "--wait")
    listed = cli.ok("snapshot", "list", "web1", "--columns", "name,slot").stdout
    assert listed.splitlines() == ["NAME     SLOT", "first    0", "second   1"]
    taken = cli("snapshot", "take", "web1", "--name", "third", "--slot", "0")
    assert taken.exit_code == 1
    assert taken.stderr.splitlines()[1] == (
        "hint: leave --slot out to take the lowest free slot, or delete the snapshot in that "
        "slot first (`aiiro snapshot list` shows the slots)"
    )


def test_firewall_shorthand_and_assignments(cli: Cli, web1: dict[str, Any]) -> None:
    cli.ok("firewall", "create", "--name", "web", "--in", "ssh@203.0.113.5", "--in", "rdp")
    rules = cli.json("firewall", "show", "web")["inbound"]
    assert [(r["protocol"], r["port"], r["source"]) for r in rules] == [
        ("TCP", "22", "203.0.113.5"),
        ("TCP", "3389", "0.0.0.0"),
    ]
    # Without the server's admin token nothing says which instances carry a template.
    assert cli.ok("firewall", "list", "--columns", "name").stdout == "NAME\nweb\n"
    shown = cli.ok("instance", "show", "web1").stdout.splitlines()
    assert shown[-1] == (
        "firewall          unknown: the Indigo API does not say (an aiiro server does, to "
        "its admin token)"
    )
    cli.ok("firewall", "assign", "web", "web1")
    header = cli.ok("firewall", "list", AIIRO_ADMIN_TOKEN=ADMIN_TOKEN).stdout.split("\n")[0]
    assert header.split() == ["ID", "NAME", "INSTANCES", "CREATED"]
    [row] = cli.json("firewall", "list", AIIRO_ADMIN_TOKEN=ADMIN_TOKEN)
    assert row["instances"] == [web1["id"]]
    table = cli.ok("firewall", "list", "--columns", "name,instances", AIIRO_ADMIN_TOKEN=ADMIN_TOKEN)
    assert table.stdout == "NAME   INSTANCES\nweb    web1\n"
    shown = cli.ok("instance", "show", "web1", AIIRO_ADMIN_TOKEN=ADMIN_TOKEN).stdout
    assert shown.splitlines()[-1] == f"firewall          web (id {row['id']})"


def test_restore_says_when_it_cannot_check_the_boot(cli: Cli, web1: dict[str, Any]) -> None:
    cli.ok("snapshot", "take", "web1", "--name", "s", "--wait")
    done = cli("snapshot", "restore", "web1", "--snapshot", "s", "--start")
    assert done.exit_code == 0
    assert done.stderr.splitlines()[-1] == (
        "• not checking that web1 answers: an aiiro server needs its admin token for that "
        "(`aiiro configure --admin-token`, or AIIRO_ADMIN_TOKEN)"
    )
