"""The server's clock: real time plus an offset that the emulator controls advance.

Everything time-dependent (token expiry, quota windows, operation due times, timestamps
shown by the API) reads this clock, so a test can move an hour ahead instead of waiting.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def time(self) -> float:
        """Seconds since the epoch, on the server's clock."""
        return time.time() + self._offset

    def now(self) -> datetime:
        """Naive UTC datetime, on the server's clock."""
        return datetime.fromtimestamp(self.time(), UTC).replace(tzinfo=None)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def set_offset(self, offset: float) -> None:
        with self._lock:
            self._offset = offset


def epoch_ms(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


def after(dt: datetime, seconds: float) -> datetime:
    return dt + timedelta(seconds=seconds)
