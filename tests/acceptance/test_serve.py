"""A real `aiiro serve`, driven with curl like the seed walkthrough's token and SSH-key steps,
killed with SIGKILL and started again."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.server import AiiroServer, free_port, read_secret_file

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


def test_first_start_announces_itself_and_restarts_write_a_new_key(
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
    assert read_secret_file(first_file) == (printed_key[1], printed_secret[1])
    assert first_file.stat().st_mode & 0o777 == 0o600
    assert str(aiiro_server.data_dir) in out

    status, health = curl(f"{base}/_aiiro/health")
    assert (status, health["status"], health["profile"], health["quota"]) == (
        200,
        "ok",
        "fast",
        False,
    )
    assert (aiiro_server.data_dir / "aiiro.db").exists()

    aiiro_server.stop()
    second_file = tmp_path / "second_secret"
    out = aiiro_server.start("--write-secret", second_file)
    assert "first account created" not in out  # the first secret is not shown again
    new_key, new_secret = read_secret_file(second_file)
    assert new_secret not in out  # written to the file only
    old_key, old_secret = read_secret_file(first_file)
    assert new_key != old_key
    assert second_file.stat().st_mode & 0o777 == 0o600
    base = aiiro_server.base_url
    token = seed_token(base, new_key, new_secret)
    seed_token(base, old_key, old_secret)  # the earlier key keeps working

    # Both keys belong to the first account.
    status, body = get(base, "/webarenaIndigo/v1/auth/apikey", token)
    assert status == 200
    assert [k["apiKey"] for k in body["accesstokens"]] == [old_key, new_key]


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
