"""Import URL downloads: fetched in a background thread into the instance's directory, with
the progress kept in a small JSON file next to it, so that any aiiro process (and the same
one after a restart) can read it and take over a download whose process died.

Only http and https, to public addresses (compute/import_url.py), each redirect checked
again; no more than the plan's disk, within a total time. The status file and its error
never hold the URL's credentials."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import httpx

from aiiro.compute import import_url
from aiiro.compute.import_url import Refused
from aiiro.inputs import Network, redacted

# A status file not touched for this long belongs to a dead download (physical seconds:
# this is about a thread's liveness, not about the server's possibly virtual clock).
STALE_S = 60.0
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # each read and write; connecting

_live: dict[Path, threading.Thread] = {}
_lock = threading.Lock()


class DownloadError(Exception):
    pass


@dataclass(frozen=True)
class Limits:
    """What one download may do: its size (the plan's disk), its time in all, and the
    networks it may reach although they are not public (the operator's setting)."""

    max_bytes: int
    total_s: float = 3600.0
    allowed: tuple[Network, ...] = ()


def status(status_file: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(status_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def is_stale(state: dict[str, Any]) -> bool:
    return state.get("state") == "running" and time.time() - state.get("heartbeat", 0) > STALE_S


Finish = Callable[[Path], None]


def start(
    url: str, target: Path, status_file: Path, limits: Limits, finish: Finish | None = None
) -> None:
    """Begin (or begin again, after a crash) downloading `url` to `target`, then run
    `finish(target)` (e.g. a format check and conversion) before saying "done"; idempotent
    while a download of this target runs in this process."""
    with _lock:
        thread = _live.get(target)
        if thread is not None and thread.is_alive():
            return
        _write(status_file, {"state": "running", "progress": 0, "url": redacted(url)})
        thread = threading.Thread(
            target=_run,
            args=(url, target, status_file, limits, finish),
            name=f"download-{target.parent.name}",
        )
        thread.daemon = True
        _live[target] = thread
        thread.start()


def wait(target: Path, timeout: float | None = None) -> None:
    """For tests: wait for this process's download of `target` to end."""
    thread = _live.get(target)
    if thread is not None:
        thread.join(timeout)


def _run(url: str, target: Path, status_file: Path, limits: Limits, finish: Finish | None) -> None:
    partial = target.with_name(target.name + ".partial")
    shown = redacted(url)  # the status file and errors never hold credentials
    try:
        written = (0, time.monotonic())
        with partial.open("wb") as out:
            for done, total in _fetch(url, out, limits):
                progress = min(99, done * 100 // total) if total else 0
                # Blocks come as the network gives them: the file is written when the
                # figure changes, and often enough to stay fresh (STALE_S).
                if progress != written[0] or time.monotonic() - written[1] > STALE_S / 4:
                    _write(status_file, {"state": "running", "progress": progress, "url": shown})
                    written = (progress, time.monotonic())
        partial.replace(target)
        if finish is not None:
            _write(status_file, {"state": "running", "progress": 99, "url": shown})
            finish(target)
        _write(status_file, {"state": "done", "progress": 100, "url": shown})
    except Exception as exc:
        partial.unlink(missing_ok=True)
        error = redacted(str(exc) or type(exc).__name__)
        _write(status_file, {"state": "failed", "progress": 0, "url": shown, "error": error})


def _fetch(url: str, out: IO[bytes], limits: Limits) -> Iterator[tuple[int, int]]:
    """Copy the URL's body to `out`, yielding (bytes so far, total or 0) as it goes.
    Redirects are followed here, each new URL checked like the first."""
    deadline = time.monotonic() + limits.total_s
    # trust_env off: no proxy from the environment, which would make the connection (and
    # the name lookup) somewhere other than where the check looked.
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _, addresses = import_url.destination(url, limits.allowed)
            with _get(client, url, addresses) as resp:
                if resp.has_redirect_location:
                    url = urljoin(url, resp.headers["location"])
                    continue
                if resp.status_code != 200:
                    raise DownloadError(f"HTTP {resp.status_code} from {url}")
                total = int(resp.headers.get("content-length") or 0)
                too_big = f"more than the plan's disk ({limits.max_bytes} bytes)"
                if total > limits.max_bytes:
                    raise Refused(f"{url} would send {total} bytes, {too_big}")
                done = 0
                # No chunk size: each block as it arrives, so that a server sending a
                # byte at a time meets the deadline too.
                for block in resp.iter_bytes():
                    done += len(block)
                    if done > limits.max_bytes:
                        raise Refused(f"{url} sends {too_big}")
                    if time.monotonic() > deadline:
                        raise Refused(f"{url} takes longer than {limits.total_s:g} s")
                    out.write(block)
                    yield done, total
                return
    raise Refused(f"{url} redirects more than {MAX_REDIRECTS} times")


@contextmanager
def _get(
    client: httpx.Client, url: str, addresses: list[import_url.Address]
) -> Iterator[httpx.Response]:
    """GET the URL from the first of its checked addresses that takes the connection: it
    goes to that address (no second name lookup, which could answer otherwise), while the
    Host header and TLS (SNI, certificate) name the URL's host."""
    target = httpx.URL(url)
    named = not import_url.is_address(target.host)
    for i, addr in enumerate(addresses):
        request = client.build_request(
            "GET",
            target.copy_with(host=str(addr)),
            # identity: a compressed answer could grow in memory before it is counted
            headers={"Host": target.netloc.decode("ascii"), "Accept-Encoding": "identity"},
            extensions={"sni_hostname": target.raw_host.decode("ascii")} if named else None,
        )
        try:
            resp = client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            if i == len(addresses) - 1:
                raise
            continue
        try:
            yield resp
        finally:
            resp.close()
        return


def _write(status_file: Path, data: dict[str, Any]) -> None:
    data["heartbeat"] = time.time()
    tmp = status_file.with_name(status_file.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data))
        tmp.replace(status_file)
    except FileNotFoundError:
        pass  # the instance was destroyed while downloading: nobody is listening


def remove(target: Path, status_file: Path) -> None:
    for path in (target, target.with_name(target.name + ".partial"), status_file):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
