"""Import URL downloads: fetched in a background thread into the instance's directory, with
the progress kept in a small JSON file next to it, so that any aiiro process (and the same
one after a restart) can read it and take over a download whose process died."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

CHUNK = 1 << 20
# A status file not touched for this long belongs to a dead download (physical seconds:
# this is about a thread's liveness, not about the server's possibly virtual clock).
STALE_S = 60.0
SCHEMES = ("http", "https", "file")

_live: dict[Path, threading.Thread] = {}
_lock = threading.Lock()


class DownloadError(Exception):
    pass


def status(status_file: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(status_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def is_stale(state: dict[str, Any]) -> bool:
    return state.get("state") == "running" and time.time() - state.get("heartbeat", 0) > STALE_S


def check_url(url: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise DownloadError(f"unsupported URL scheme {scheme or '(none)'!r}")


Finish = Callable[[Path], None]


def start(url: str, target: Path, status_file: Path, finish: Finish | None = None) -> None:
    """Begin (or begin again, after a crash) downloading `url` to `target`, then run
    `finish(target)` (e.g. a format check and conversion) before saying "done"; idempotent
    while a download of this target runs in this process."""
    with _lock:
        thread = _live.get(target)
        if thread is not None and thread.is_alive():
            return
        _write(status_file, {"state": "running", "progress": 0, "url": url})
        thread = threading.Thread(
            target=_run,
            args=(url, target, status_file, finish),
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


def _run(url: str, target: Path, status_file: Path, finish: Finish | None) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        check_url(url)
        with partial.open("wb") as out:
            for done, total in _chunks(url, out):
                progress = min(99, done * 100 // total) if total else 0
                _write(status_file, {"state": "running", "progress": progress, "url": url})
        partial.replace(target)
        if finish is not None:
            _write(status_file, {"state": "running", "progress": 99, "url": url})
            finish(target)
        _write(status_file, {"state": "done", "progress": 100, "url": url})
    except Exception as exc:
        partial.unlink(missing_ok=True)
        _write(status_file, {"state": "failed", "progress": 0, "url": url, "error": str(exc)})


def _chunks(url: str, out: Any) -> Any:
    """Copy the URL's body to `out`, yielding (bytes so far, total or 0) as it goes."""
    if url.lower().startswith("file:"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
        if not path.is_file():
            raise DownloadError(f"no such file: {path}")
        total = path.stat().st_size
        done = 0
        with path.open("rb") as src:
            while block := src.read(CHUNK):
                out.write(block)
                done += len(block)
                yield done, total
        return
    with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as resp:
        if resp.status_code != 200:
            raise DownloadError(f"HTTP {resp.status_code} from {url}")
        total = int(resp.headers.get("content-length") or 0)
        done = 0
        for block in resp.iter_bytes(CHUNK):
            out.write(block)
            done += len(block)
            yield done, total


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
