"""pytest plugin: a running aiiro, credentials and the emulator controls in your tests.

Installed with aiiro (entry point `pytest11`), so its fixtures are available in any suite:

    def test_my_automation(aiiro):
        token = aiiro.token()                      # a fresh access token
        my_tool.run(base_url=aiiro.base_url, key=aiiro.api_key, secret=aiiro.api_secret)
        aiiro.controls.add_fault("out_of_stock", count=1)
        aiiro.controls.advance(120)                # the server clock, not yours
        assert aiiro.controls.requests()[-1]["status"] == 200

Fixtures
- `aiiro_session` (session): one `aiiro serve` process for the whole run, on a free
  127.0.0.1 port with a temporary data directory, and an account made for the run.
- `aiiro` (function): the same server, reset before the test (instances, SSH keys,
  firewalls, snapshots, fault rules and the request log are gone; the account, its
  credentials and the clock stay; the seed, if configured, is applied again).
- `aiiro_credentials` (function): the account's API key and secret.

Marker: `@pytest.mark.aiiro_scenario("quota-storm")` sets up a named race scenario after
the reset (`aiiro.scenario(name, instance_id=...)` for those about one instance); the
profile and quota a scenario switches are switched back after the test.

Settings (an environment variable wins over the ini option of the same meaning):
    ini option              environment                   default
    aiiro_profile           AIIRO_TESTING_PROFILE         instant
    aiiro_quota             AIIRO_TESTING_QUOTA           false
    aiiro_seed              AIIRO_TESTING_SEED            (none: unpredictable values)
    aiiro_database_url      AIIRO_TESTING_DATABASE_URL    (SQLite in the data directory)
    aiiro_worker            AIIRO_TESTING_WORKER          false for instant, else true
    aiiro_startup_timeout   AIIRO_TESTING_STARTUP_TIMEOUT 60
    aiiro_url               AIIRO_TESTING_URL             (start a server)
    aiiro_admin_token       AIIRO_TESTING_ADMIN_TOKEN     (generated)
With `aiiro_url` the plugin starts nothing and uses that server; `aiiro_admin_token` must
then be its admin token. Without a worker thread the server runs due lifecycle steps
before it answers each request, so what a test sees does not depend on thread timing.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

SETTINGS: dict[str, tuple[str, str]] = {
    # ini name: (environment variable, help)
    "aiiro_profile": ("AIIRO_TESTING_PROFILE", "timing profile: instant, fast or faithful"),
    "aiiro_quota": ("AIIRO_TESTING_QUOTA", "enforce the 6 requests/minute quota (true/false)"),
    "aiiro_seed": ("AIIRO_TESTING_SEED", "seed for generated values, applied on every reset"),
    "aiiro_database_url": ("AIIRO_TESTING_DATABASE_URL", "SQLAlchemy URL of the server's store"),
    "aiiro_worker": ("AIIRO_TESTING_WORKER", "run the engine worker thread (true/false)"),
    "aiiro_startup_timeout": ("AIIRO_TESTING_STARTUP_TIMEOUT", "seconds to wait for the server"),
    "aiiro_url": ("AIIRO_TESTING_URL", "use this running aiiro instead of starting one"),
    "aiiro_admin_token": ("AIIRO_TESTING_ADMIN_TOKEN", "admin token of the server"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, (env, text) in SETTINGS.items():
        parser.addini(name, f"aiiro: {text} [env {env}]", default=None)


def setting(config: pytest.Config, name: str) -> str | None:
    env = os.environ.get(SETTINGS[name][0])
    if env:
        return env
    value = str(config.getini(name) or "").strip()
    return value or None


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Credentials:
    account_id: int
    api_key: str
    api_secret: str

    def env(self) -> dict[str, str]:
        """The variables the seed walkthrough's ~/.webarena_secret exports."""
        return {"IndigoApiKey": self.api_key, "IndigoApiPrivateKey": self.api_secret}


def _client(base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    import httpx

    return httpx.Client(base_url=base_url, headers=headers, timeout=60)


class Controls:
    """The emulator controls under /_aiiro/ (docs/emulator.md), through the admin token."""

    def __init__(self, base_url: str, admin_token: str) -> None:
        self.http = _client(base_url, {"Authorization": f"Bearer {admin_token}"})

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        r = self.http.request(method, f"/_aiiro{path}", json=body, params=query)
        if r.status_code >= 400:
            raise AssertionError(f"{method} /_aiiro{path}: {r.status_code} {r.text}")
        return r.json()

    def health(self) -> dict[str, Any]:
        return dict(self.call("GET", "/health"))

    def reset(self) -> None:
        """Forget every resource, fault rule and logged request (accounts stay)."""
        self.call("POST", "/reset")

    def clock(self) -> dict[str, Any]:
        return dict(self.call("GET", "/clock"))

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the server clock forward; what fell due has run when this returns."""
        return dict(self.call("POST", "/clock/advance", {"seconds": seconds}))

    def seed(self, seed: int | None) -> None:
        self.call("POST", "/seed", {"seed": seed})

    def profile(self, name: str | None = None, quota: bool | None = None) -> dict[str, Any]:
        """The timing profile; switch it (or the quota) when given."""
        if name is None and quota is None:
            return dict(self.call("GET", "/profile"))
        return dict(self.call("PUT", "/profile", {"profile": name, "quota": quota}))

    def add_fault(
        self,
        action: str,
        operation: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        probability: float | None = None,
        count: int | None = None,
        account_id: int | None = None,
    ) -> dict[str, Any]:
        body = {
            "action": action,
            "operation": operation,
            "params": params or {},
            "probability": probability,
            "count": count,
            "account_id": account_id,
        }
        return dict(self.call("POST", "/faults", body))

    def faults(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/faults")["faults"])

    def delete_fault(self, fault_id: int) -> None:
        self.call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def requests(
        self,
        account_id: int | None = None,
        limit: int | None = None,
        api_key_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Logged Indigo requests, oldest first, secrets redacted; each says its API key
        and what the quota made of it."""
        found = self.call(
            "GET", "/requests", account_id=account_id, limit=limit, api_key_id=api_key_id
        )
        return list(found["requests"])

    def quota(self, api_key_id: int | None = None, account_id: int | None = None) -> dict[str, Any]:
        """Each API key's requests and 429s in the current and recent minutes (one key's
        when `api_key_id` is given)."""
        if api_key_id is not None:
            return dict(self.call("GET", f"/quota/{api_key_id}"))
        return dict(self.call("GET", "/quota", account_id=account_id))

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    def scenarios(self) -> list[dict[str, Any]]:
        """The named race scenarios: name, what each sets up, the race, what a robust
        client does."""
        return list(self.call("GET", "/scenarios")["scenarios"])

    def scenario(self, name: str, **params: Any) -> dict[str, Any]:
        """Set up the race scenario `name` (`instance_id`, `account_id`, `count`, `limit`
        as it takes them); a profile or quota it switches stays until switched back."""
        return dict(self.call("POST", f"/scenarios/{name}", params))

    def close(self) -> None:
        self.http.close()


class Aiiro:
    """A running aiiro: where it is, an account's credentials, and the controls."""

    def __init__(
        self,
        base_url: str,
        admin_token: str,
        process: subprocess.Popen[bytes] | None = None,
        data_dir: Path | None = None,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url
        self.admin_token = admin_token
        self.process = process
        self.data_dir = data_dir
        self.seed = seed
        self.controls = Controls(base_url, admin_token)
        self._switched: tuple[str, bool] | None = None
        self.http = _client(base_url)
        made = self.controls.call("POST", "/accounts", {"name": "pytest"})
        self.credentials = Credentials(made["account"]["id"], made["apiKey"], made["apiSecret"])

    @property
    def api_key(self) -> str:
        return self.credentials.api_key

    @property
    def api_secret(self) -> str:
        return self.credentials.api_secret

    @property
    def account_id(self) -> int:
        return self.credentials.account_id

    def token(self) -> str:
        """A fresh access token for the account (valid 3599 s of server clock)."""
        r = self.http.post(
            "/oauth/v1/accesstokens",
            json={
                "grantType": "client_credentials",
                "clientId": self.api_key,
                "clientSecret": self.api_secret,
                "code": "",
            },
        )
        if r.status_code != 201:
            raise AssertionError(f"token request failed: {r.status_code} {r.text}")
        return str(r.json()["accessToken"])

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def client(self) -> httpx.Client:
        """An httpx client on the Indigo API with a fresh token (close it when done)."""
        return _client(self.base_url, self.headers())

    def env(self) -> dict[str, str]:
        return self.credentials.env()

    def scenario(self, name: str, **params: Any) -> dict[str, Any]:
        """Set up a race scenario (docs/emulator.md, "Scenarios"); with the `aiiro`
        fixture, the profile and quota it switches are switched back after the test."""
        if self._switched is None:
            found = self.controls.profile()
            self._switched = (found["profile"], found["quota"])
        return self.controls.scenario(name, **params)

    def reset(self) -> None:
        self.controls.reset()
        if self.seed is not None:
            self.controls.seed(self.seed)

    def undo_scenarios(self) -> None:
        """Switch the profile and quota back to what they were before the first scenario."""
        if self._switched is not None:
            profile, quota = self._switched
            self._switched = None
            self.controls.profile(profile, quota)

    def stop(self) -> None:
        self.controls.close()
        self.http.close()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


# --- starting a server --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    data_dir: Path,
    profile: str = "instant",
    quota: bool = False,
    seed: int | None = None,
    database_url: str | None = None,
    worker: bool | None = None,
    startup_timeout: float = 60.0,
    attempts: int = 3,
) -> Aiiro:
    """Start `aiiro serve` on a free 127.0.0.1 port and wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    admin_token = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIIRO_")}
    env.update(
        AIIRO_ADMIN_TOKEN=admin_token,
        AIIRO_WORKER=str(profile != "instant" if worker is None else worker).lower(),
        AIIRO_LOG_LEVEL="warning",
    )
    if seed is not None:
        env["AIIRO_SEED"] = str(seed)
    if database_url:
        env["AIIRO_DATABASE_URL"] = database_url
    failure = ""
    for attempt in range(1, attempts + 1):
        port = free_port()
        log = data_dir.parent / f"{data_dir.name}-serve-{attempt}.log"
        argv = [
            sys.executable,
            "-c",
            "from aiiro.cli.main import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--profile",
            profile,
            "--quota" if quota else "--no-quota",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        base_url = f"http://127.0.0.1:{port}"
        if _wait_healthy(base_url, process, startup_timeout):
            return Aiiro(base_url, admin_token, process, data_dir, seed)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        failure = log.read_text(errors="replace")[-4000:]
    raise RuntimeError(f"aiiro serve did not start; its output:\n{failure}")


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{base_url}/_aiiro/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def aiiro_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Aiiro]:
    config = request.config
    raw_seed = setting(config, "aiiro_seed")
    seed = int(raw_seed) if raw_seed is not None else None
    url = setting(config, "aiiro_url")
    if url is not None:
        token = setting(config, "aiiro_admin_token")
        if token is None:
            raise pytest.UsageError("aiiro_url needs aiiro_admin_token (the server's admin token)")
        server = Aiiro(url.rstrip("/"), token, seed=seed)
        if seed is not None:
            server.controls.seed(seed)
    else:
        worker = setting(config, "aiiro_worker")
        server = start_server(
            tmp_path_factory.mktemp("aiiro") / "data",
            profile=setting(config, "aiiro_profile") or "instant",
            quota=_flag(setting(config, "aiiro_quota"), False),
            seed=seed,
            database_url=setting(config, "aiiro_database_url"),
            worker=None if worker is None else _flag(worker, False),
            startup_timeout=float(setting(config, "aiiro_startup_timeout") or 60),
        )
    try:
        yield server
    finally:
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aiiro_scenario(name, **params): set up the aiiro race scenario `name` after the "
        "`aiiro` fixture's reset (GET /_aiiro/scenarios lists them)",
    )


@pytest.fixture
def aiiro(aiiro_session: Aiiro, request: pytest.FixtureRequest) -> Iterator[Aiiro]:
    aiiro_session.reset()
    try:
        for marker in request.node.iter_markers("aiiro_scenario"):
            aiiro_session.scenario(*marker.args, **marker.kwargs)
        yield aiiro_session
    finally:
        aiiro_session.undo_scenarios()


@pytest.fixture
def aiiro_credentials(aiiro: Aiiro) -> Credentials:
    return aiiro.credentials
