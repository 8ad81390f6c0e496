"""Running the client commands in-process: typer's CliRunner with an `Environment` (the
variables, directories, HTTP transport and clock the commands see) against the in-process
aiiro of tests/conftest.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import Result
from starlette.testclient import TestClient
from typer.testing import CliRunner

from aiiro.cli.client.env import Environment
from aiiro.client_core.config import Places
from aiiro.client_core.transport import HttpxSend
from aiiro.runtime import Runtime

ENDPOINT = "http://aiiro.test"
# The README's first instance, with the SSH key registered as "mykey".
CREATE_WEB1 = ["instance", "create", "--name", "web1", "--os", "Debian12", "--plan", "1CR768MB"]
CREATE_WEB1 += ["--region", "Tokyo", "--ssh-key", "mykey"]


@dataclass
class Cli:
    env: Environment
    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        from aiiro.cli.app import app

        environment = self.env
        if env:
            variables = {**self.env.environ, **env}
            places = self.env.where()._replace(environ=variables)
            environment = self.env._replace(environ=variables, places=places)
        return self.runner.invoke(app, list(args), obj=environment, input=input)

    def ok(self, *args: str, **env: str) -> Result:
        result = self(*args, **env)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json", **env).stdout)


def make_cli(tmp_path: Path, client: TestClient, rt: Runtime, variables: dict[str, str]) -> Cli:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    places = Places(
        environ=variables,
        config_dir=str(tmp_path / "config"),
        cache_dir=str(tmp_path / "cache"),
        home=str(home),
    )
    env = Environment(
        environ=variables,
        places=places,
        transport=HttpxSend(client),
        sleep=rt.clock.advance,
        clock=rt.clock.time,
        interactive=False,
        exec_ssh=None,
    )
    return Cli(env, CliRunner())
