"""The import download on its own (compute/libvirt/download.py), against a loopback web
server: limits that the driver's tests cannot reach cheaply (a plan's disk is 20 GB)."""

from __future__ import annotations

import functools
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from aiiro.compute.libvirt import download
from aiiro.inputs import parse_networks

from .conftest import Web, certificates

LOOPBACK = parse_networks("127.0.0.1/32")


def fetch(url: str, tmp_path: Path, limits: download.Limits) -> dict[str, object]:
    tmp_path.mkdir(exist_ok=True)
    target, status_file = tmp_path / "import.img", tmp_path / "import.json"
    download.start(url, target, status_file, limits)
    download.wait(target, timeout=30)
    state: dict[str, object] = json.loads(status_file.read_text())
    return state


def test_an_answer_without_a_length_stops_at_the_cap(web: Web, tmp_path: Path) -> None:
    state = fetch(
        f"{web.base}/endless", tmp_path, download.Limits(max_bytes=1 << 20, allowed=LOOPBACK)
    )
    assert state["state"] == "failed"
    assert state["error"] == f"{web.base}/endless sends more than the plan's disk (1048576 bytes)"
    assert not (tmp_path / "import.img.partial").exists()
    assert not (tmp_path / "import.img").exists()


def test_an_answer_within_the_cap_is_kept(web: Web, tmp_path: Path) -> None:
    (web.root / "disk.raw").write_bytes(b"\1" * 4096)
    state = fetch(
        f"{web.base}/disk.raw", tmp_path, download.Limits(max_bytes=4096, allowed=LOOPBACK)
    )
    assert state["state"] == "done"
    assert (tmp_path / "import.img").read_bytes() == b"\1" * 4096


def test_loopback_is_refused_unless_allowed(web: Web, tmp_path: Path) -> None:
    (web.root / "disk.raw").write_bytes(b"\1" * 4096)
    state = fetch(f"{web.base}/disk.raw", tmp_path, download.Limits(max_bytes=1 << 20))
    assert state["state"] == "failed"
    assert state["error"] == "127.0.0.1 is a loopback address"
    assert web.hosts == []


@pytest.mark.parametrize(("certified", "error"), [("images.test", None), ("other.test", True)])
def test_https_checks_the_certificate_of_the_name_not_of_the_address(
    tmp_path: Path, monkeypatch: Any, certified: str, error: bool | None
) -> None:
    """The connection goes to the checked address, but TLS says and verifies the name."""
    server_tls, client_tls = certificates(tmp_path, certified)
    site = Web(tmp_path / "www", tls=server_tls)
    (site.root / "disk.raw").write_bytes(b"\1" * 4096)
    real = socket.getaddrinfo

    def lookup(host: str, port: int, *args: Any, **kw: Any) -> list[Any]:
        if host != "images.test":
            return real(host, port, *args, **kw)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    # Only the test's made-up authority is trusted.
    monkeypatch.setattr(httpx, "Client", functools.partial(httpx.Client, verify=client_tls))
    try:
        url = f"https://images.test:{site.port}/disk.raw"
        state = fetch(url, tmp_path / "dl", download.Limits(max_bytes=1 << 20, allowed=LOOPBACK))
    finally:
        site.close()
    if error:
        assert state["state"] == "failed"
        assert "Hostname mismatch, certificate is not valid for 'images.test'" in str(
            state["error"]
        )
    else:
        assert state["state"] == "done", state
        assert site.hosts == [f"images.test:{site.port}"]
