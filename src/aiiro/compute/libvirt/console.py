"""The guest's serial console as a ConsoleStream (libvirt virDomainOpenConsole).

A reader thread receives from the blocking libvirt stream into a queue, so `read` can wait
with a timeout; `write` sends keystrokes. The first `read` also returns the tail of what
the console printed before it was opened (the serial log file of the domain XML's <log>),
so a control panel shows the boot messages it missed. A machine that is not running has
no live console: its stream gives that history and a note, then nothing."""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path
from typing import Any

HISTORY_BYTES = 16 * 1024
NOT_RUNNING = b"\r\n[aiiro: the instance is not running]\r\n"


class LibvirtConsole:
    def __init__(self, conn: Any, domain: Any, serial_log: Path | None = None) -> None:
        import libvirt

        self._queue: queue.Queue[bytes] = queue.Queue()
        self._closed = threading.Event()
        self._stream: Any = None
        history = _tail(serial_log) if serial_log is not None else b""
        if history:
            self._queue.put(history)
        if not domain.isActive():
            self._queue.put(NOT_RUNNING)
            self._closed.set()
            return
        self._stream = conn.newStream(0)
        domain.openConsole(None, self._stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        self._reader = threading.Thread(target=self._pump, name="console-reader", daemon=True)
        self._reader.start()

    def read(self, timeout: float = 0.0) -> bytes:
        chunks = []
        try:
            if timeout > 0:
                chunks.append(self._queue.get(timeout=timeout))
            while True:
                chunks.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return b"".join(chunks)

    def write(self, data: bytes) -> None:
        if self._stream is not None and not self._closed.is_set():
            self._stream.send(data)

    def close(self) -> None:
        if self._stream is None or self._closed.is_set():
            self._closed.set()
            return
        self._closed.set()
        with contextlib.suppress(Exception):  # already gone with its domain
            self._stream.abort()

    def _pump(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._stream.recv(4096)
            except Exception:
                break
            if not isinstance(data, bytes) or not data:
                break  # end of stream: the guest stopped
            self._queue.put(data)
        self._closed.set()


def _tail(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - HISTORY_BYTES))
            return f.read()
    except OSError:
        return b""
