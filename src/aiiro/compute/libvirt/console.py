"""The guest's serial console as a ConsoleStream (libvirt virDomainOpenConsole).

A reader thread receives from the blocking libvirt stream into a queue, so `read` can wait
with a timeout; `write` sends keystrokes. What the console printed before it was opened is
in the serial log file (the domain XML's <log>): `history` returns its tail, so a control
panel shows the boot messages it missed."""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path
from typing import Any

HISTORY_BYTES = 64 * 1024


class LibvirtConsole:
    def __init__(self, conn: Any, domain: Any, serial_log: Path | None = None) -> None:
        import libvirt

        self._stream = conn.newStream(0)
        domain.openConsole(None, self._stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        self._queue: queue.Queue[bytes] = queue.Queue()
        self._closed = threading.Event()
        self._serial_log = serial_log
        self._reader = threading.Thread(target=self._pump, name="console-reader", daemon=True)
        self._reader.start()

    def history(self) -> bytes:
        if self._serial_log is None:
            return b""
        try:
            with self._serial_log.open("rb") as f:
                size = f.seek(0, 2)
                f.seek(max(0, size - HISTORY_BYTES))
                return f.read()
        except OSError:
            return b""

    def read(self, timeout: float = 0.0) -> bytes:
        chunks = []
        try:
            chunks.append(
                self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            )
            while True:
                chunks.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return b"".join(chunks)

    def write(self, data: bytes) -> None:
        if not self._closed.is_set():
            self._stream.send(data)

    def close(self) -> None:
        if self._closed.is_set():
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
