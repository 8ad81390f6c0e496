"""A real `aiiro serve`, driven with curl like the seed walkthrough's token and SSH-key steps,
killed with SIGKILL and started again."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.server import AiiroServer, aiiro_command, free_port, read_secret_file

pytestmark = pytest.mark.acceptance


def curl(*args: str) -> tuple[int, Any]:
    """curl -s ..., returning (status, parsed JSON body)."""
    done = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body) if body else None


def seed_token(base: str, key: str, secret: str) -> str:
    """The seed's "create API token" step, byte for byte apart from the base URL."""
    status, body = curl(
        "-X", "POST", f"{base}/oauth/v1/accesstokens",
        "-H", "Content-Type: application/json",
        "-d", '{\n    "grantType": "client_credentials",\n    "clientId": "' + key
        + '",\n    "clientSecret": "' + secret + '",\n    "code": ""\n}',
    )  # fmt: skip
    assert status == 201, body
    assert body["expiresIn"] == "3599" and body["tokenType"] == "BearerToken"
    token: str = body["accessToken"]
    return token


def seed_register(base: str, token: str, name: str, public_key: str) -> tuple[int, Any]:
    """The seed's "register ssh key" step: a JSON body sent with no Content-Type."""
    return curl(
        "-X", "POST", f"{base}/webarenaIndigo/v1/vm/sshkey",
        "-H", f"Authorization: Bearer {token}",
        "-d", '{\n   "sshName": "' + name + '",\n   "sshKey": "' + public_key + '"\n}',
    )  # fmt: skip


def get(base: str, path: str, token: str) -> tuple[int, Any]:
    return curl("-X", "GET", f"{base}{path}", "-H", f"Authorization: Bearer {token}")


def keygen(directory: Path, kind: str) -> str:
    """ssh-keygen as the seed runs it; the public key without its comment (`cut -f1,2`)."""
    path = directory / f"id_{kind}"
    extra = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", "", "-f", str(path)],
        check=True,
        timeout=60,
    )
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    return {kind: keygen(tmp_path, kind) for kind in ("rsa", "ed25519")}


def test_seed_steps_survive_a_kill_9(
    aiiro_server: AiiroServer, tmp_path: Path, keys: dict[str, str]
) -> None:
    secret_file = tmp_path / "home" / ".webarena_secret"
    aiiro_server.start("--write-secret", secret_file)
    base = aiiro_server.base_url
    key, secret = aiiro_server.credentials()

    token = seed_token(base, key, secret)
    status, body = seed_register(base, token, "testkey", keys["rsa"])
    assert status == 201
    assert body["success"] is True
    assert (body["sshKey"]["status"], body["sshKey"]["name"]) == ("ACTIVE", "testkey")
    key_id = body["sshKey"]["id"]

    status, body = seed_register(base, token, "edkey", keys["ed25519"])
    assert (status, body) == (
        400,
        {"success": False, "errorMessage": "Invalid SSH key.", "errorCode": "I10034"},
    )

    status, listed = get(base, "/webarenaIndigo/v1/vm/sshkey", token)
    assert status == 200
    assert [k["name"] for k in listed["sshkeys"]] == ["testkey"]

    aiiro_server.kill()
    # Started again on another port, this time set through the environment.
    new_port = str(free_port())
    aiiro_server.start(port=int(new_port), env={"AIIRO_PORT": new_port})
    assert aiiro_server.base_url.endswith(f":{new_port}")
    base = aiiro_server.base_url

    # The token issued before the crash still works, and the key is there.
    status, body = get(base, f"/webarenaIndigo/v1/vm/sshkey/{key_id}", token)
    assert status == 200
    assert body["sshKey"][0]["sshkey"] == keys["rsa"]
    assert body["sshKey"][0]["name"] == "testkey"
    fresh = seed_token(base, key, secret)
    assert get(base, "/webarenaIndigo/v1/vm/sshkey", fresh)[1] == listed
    # Tokens and secrets never reach the server's output (the first start announces its
    # new key on purpose; later starts do not).
    assert token not in aiiro_server.output() and fresh not in aiiro_server.output()
    assert secret not in aiiro_server.output()


def read_endpoint(path: Path) -> str:
    exported = dict(
        line.removeprefix("export ").split("=", 1) for line in path.read_text().splitlines()
    )
    return exported["AIIRO_ENDPOINT"]


def test_first_start_announces_itself_with_credentials_that_carry_the_endpoint(
    aiiro_server: AiiroServer, tmp_path: Path
) -> None:
    first_file = tmp_path / "first_secret"
    out = aiiro_server.start("--write-secret", first_file)
    base = aiiro_server.base_url
    assert base in out
    assert f"{base}/docs" in out
    printed_key = re.search(r"export IndigoApiKey=(\S+)", out)
    printed_secret = re.search(r"export IndigoApiPrivateKey=(\S+)", out)
    assert printed_key and printed_secret
    assert f"export AIIRO_ENDPOINT={base}\n" in out
    assert read_secret_file(first_file) == (printed_key[1], printed_secret[1])
    assert read_endpoint(first_file) == base
    assert first_file.stat().st_mode & 0o777 == 0o600
    assert f"credentials: source {first_file}" in out
    assert str(aiiro_server.data_dir) in out

    status, health = curl(f"{base}/_aiiro/health")
    assert (status, health["status"], health["profile"], health["quota"]) == (
        200,
        "ok",
        "fast",
        False,
    )
    # The data dir was made and used (the store is the test's --database-url).
    assert (aiiro_server.data_dir / "secret.key").exists()


def test_a_restart_keeps_working_credentials_and_renews_lost_ones(
    aiiro_server: AiiroServer, tmp_path: Path
) -> None:
    out = aiiro_server.start()
    # Without --write-secret the credentials are kept in the data directory.
    kept = aiiro_server.data_dir / "webarena_secret"
    assert f"credentials: source {kept}" in out
    first = read_secret_file(kept)
    assert kept.stat().st_mode & 0o777 == 0o600

    aiiro_server.stop()
    out = aiiro_server.start()  # another port
    assert "first account created" not in out  # the first secret is not shown again
    assert first[1] not in out
    assert read_secret_file(kept) == first  # still working: kept, no new key
    assert read_endpoint(kept) == aiiro_server.base_url  # the endpoint follows the port
    seed_token(aiiro_server.base_url, *first)

    aiiro_server.stop()
    elsewhere = tmp_path / "elsewhere_secret"
    out = aiiro_server.start("--write-secret", elsewhere)
    new_key, new_secret = read_secret_file(elsewhere)
    assert "a new key" in out and new_secret not in out  # written to the file only
    assert new_key != first[0]
    base = aiiro_server.base_url
    token = seed_token(base, new_key, new_secret)
    seed_token(base, *first)  # the earlier key keeps working
    # Both keys belong to the first account.
    status, body = get(base, "/webarenaIndigo/v1/auth/apikey", token)
    assert status == 200
    assert [k["apiKey"] for k in body["accesstokens"]] == [first[0], new_key]


def test_a_taken_port_is_one_line_and_makes_nothing(
    aiiro_server: AiiroServer, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*aiiro_command(), "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("AIIRO_")},
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"aiiro: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another aiiro serve? choose a port with --port or AIIRO_PORT)"
    ]
    assert not (tmp_path / "d").exists()  # no account, no key, no data directory


def test_the_admin_api_works_over_http(aiiro_server: AiiroServer) -> None:
    aiiro_server.start()
    base = aiiro_server.base_url
    status, body = curl(
        "-X", "POST", f"{base}/_aiiro/accounts",
        "-H", f"Authorization: Bearer {aiiro_server.admin_token}",
        "-d", '{"name": "Second user"}',
    )  # fmt: skip
    assert status == 201
    seed_token(base, body["apiKey"], body["apiSecret"])
    status, _ = curl("-X", "POST", f"{base}/_aiiro/reset")
    assert status == 401


def test_bound_beyond_loopback_it_says_so_and_keeps_secrets_off_the_screen(
    aiiro_server: AiiroServer,
) -> None:
    out = aiiro_server.start("--host", "0.0.0.0", env={"AIIRO_SHOW_SECRETS": "false"})
    lines = [line for line in out.splitlines() if "exposed:" in line]
    assert lines == [
        "  exposed: bound to 0.0.0.0 in plain HTTP; sign-up off, /_aiiro/ from loopback "
        "only; put TLS in front (docs/deployment.md)"
    ]
    key, secret = read_secret_file(aiiro_server.data_dir / "webarena_secret")
    assert secret not in out and "IndigoApiPrivateKey" not in out
    assert "credentials: source" in out
    seed_token(aiiro_server.base_url, key, secret)
