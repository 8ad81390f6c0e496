"""A real `aiiro serve` process for acceptance tests.

    with AiiroServer(tmp_path / "data") as server:
        server.start("--write-secret", secret)   # waits for GET /_aiiro/health == 200
        key, secret = server.credentials()       # from the --write-secret file
        subprocess.run(["bash", "seed-walkthrough.sh"], env=server.client_env())
        server.kill()                            # SIGKILL, as a crash would
        server.start()                           # same data dir, a new port

Each process binds 127.0.0.1 on a free port, keeps its output in <data_dir>/../serve-N.log
and is stopped when the `with` block ends. AIIRO_* variables of the calling environment
are not passed on (so a CI setting such as AIIRO_DATABASE_URL does not leak in); pass
settings through `env` or command-line arguments instead. `database_url` (the tests'
`database_url` fixture: SQLite or a PostgreSQL schema) is passed as --database-url.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ADMIN_TOKEN = "acceptance-admin-token"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def aiiro_command() -> list[str]:
    """The installed `aiiro` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("aiiro")
    if script.exists():
        return [str(script)]
    found = shutil.which("aiiro")
    if found:
        return [found]
    return [sys.executable, "-c", "from aiiro.cli.main import main; main()"]


def read_secret_file(path: Path) -> tuple[str, str]:
    """(IndigoApiKey, IndigoApiPrivateKey) from a file in the seed's export format."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name.strip()] = value.strip()
    return values["IndigoApiKey"], values["IndigoApiPrivateKey"]


class AiiroServer:
    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        admin_token: str = ADMIN_TOKEN,
        command: str = "serve",
        name: str = "serve",
        database_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.command = command  # "serve", or "worker" (no port, no health check)
        self.name = name  # of its log files: several processes may share a data dir
        self.database_url = database_url
        self.env = {"AIIRO_ADMIN_TOKEN": admin_token, **(env or {})}
        self.admin_token = admin_token
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.secret_file: Path | None = None
        self._starts = 0

    # --- lifecycle ------------------------------------------------------------------------
    def start(
        self,
        *args: str | Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> str:
        """Start `aiiro serve` (or the command given) and wait until it is healthy (a
        worker: until it says it runs operations); returns what it printed.

        Unless `args` name them, --host 127.0.0.1, --port (a free one), --data-dir and
        --database-url (if the server has one) are added. `env` adds variables for this start only.
        """
        if self.process is not None:
            raise RuntimeError("already running; stop() or kill() first")
        argv = [str(a) for a in args]
        serving = self.command == "serve"
        self.port = port or free_port()
        if serving and "--host" not in argv:
            argv += ["--host", "127.0.0.1"]
        if serving and "--port" not in argv and not (env or {}).get("AIIRO_PORT"):
            argv += ["--port", str(self.port)]
        if "--data-dir" not in argv:
            argv += ["--data-dir", str(self.data_dir)]
        if self.database_url and "--database-url" not in argv:
            argv += ["--database-url", self.database_url]
        if "--write-secret" in argv:
            self.secret_file = Path(argv[argv.index("--write-secret") + 1])
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AIIRO_")}
        full_env.update(self.env)
        full_env.update(env or {})
        self._starts += 1
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / f"{self.name}-{self._starts}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*aiiro_command(), self.command, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                start_new_session=True,
            )
        self.wait_healthy(timeout)
        return self.output()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"aiiro {self.command} exited early:\n{self.output()}")
            if self.command == "worker":
                if "running operations" in self.output():
                    return
                time.sleep(0.1)
                continue
            try:
                with urllib.request.urlopen(f"{self.base_url}/_aiiro/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"aiiro serve not healthy after {timeout}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up, as in a crash."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM, a graceful shutdown."""
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            # The whole process group: `--workers N` forks workers that must go too.
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def __enter__(self) -> AiiroServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    # --- talking to it ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def credentials(self) -> tuple[str, str]:
        """The API key and secret of the last --write-secret file."""
        if self.secret_file is None:
            raise RuntimeError("start the server with --write-secret PATH first")
        return read_secret_file(self.secret_file)

    def client_env(self) -> dict[str, str]:
        """Environment for the seed walkthrough: AIIRO_URL plus the seed's two variables."""
        key, secret = self.credentials()
        return {
            **os.environ,
            "AIIRO_URL": self.base_url,
            "IndigoApiKey": key,
            "IndigoApiPrivateKey": secret,
        }
