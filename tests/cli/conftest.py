"""The client commands' fixtures: a CLI run in-process against the in-process aiiro with
alice's credentials, and an SSH public key (with a comment, as ssh-keygen leaves one)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.cli.client_env import ENDPOINT, Cli, make_cli
from tests.conftest import Account


@pytest.fixture
def cli(tmp_path: Path, client: TestClient, rt: Runtime, alice: Account) -> Cli:
    return make_cli(
        tmp_path,
        client,
        rt,
        {
            "IndigoApiKey": alice.api_key,
            "IndigoApiPrivateKey": alice.api_secret,
            "AIIRO_ENDPOINT": ENDPOINT,
        },
    )


@pytest.fixture(scope="module")
def pubkey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "id_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "me@host", "-f", str(path)],
        check=True,
    )
    return Path(f"{path}.pub")
