"""Hashing of secrets. API secrets and access tokens are high-entropy, so a keyed fast
hash (HMAC-SHA256 with a server key) is enough and keeps token checks cheap; passwords
(control panel) use argon2id."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from pathlib import Path
from typing import Any


class SecretHasher:
    def __init__(self, key: bytes) -> None:
        # Keyed once: a copy of it costs two thirds of a new HMAC (OpenSSL 3 sets up a
        # new one from the key each time), and a token request makes two.
        self._keyed = hmac.new(key, digestmod="sha256")

    def hash(self, value: str) -> str:
        return self.digest(value.encode()).hex()

    def digest(self, value: bytes) -> bytes:
        h = self._keyed.copy()
        h.update(value)
        return h.digest()

    def verify(self, value: str, digest: str) -> bool:
        return hmac.compare_digest(self.hash(value), digest)


def load_or_create_key(configured: str | None, data_dir: Path) -> bytes:
    """The server key: configured, or kept in <data_dir>/secret.key (mode 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


# argon2id takes ~0.1 s of a core and 64 MiB a hash, by design. Hashes are made with one
# lane (argon2's parallelism 1: one thread; same memory and passes as argon2-cffi's
# defaults), and at most one per core but one runs at a time: a burst of sign-ins (forty,
# a thousand) queues here instead of taking the machine's memory and every core from the
# requests that need them.
_PASSWORD_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 1) - 1))


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(parallelism=1)


def hash_password(password: str) -> str:
    with _PASSWORD_SLOTS:
        return str(_hasher().hash(password))


def verify_password(password: str, digest: str) -> bool:
    from argon2.exceptions import VerificationError

    with _PASSWORD_SLOTS:
        try:
            return bool(_hasher().verify(digest, password))
        except VerificationError:
            return False
