"""Access tokens kept between runs: one file per endpoint and API key, mode 0600.

A token lives 3599 s on Indigo; every CLI run reusing it saves a token request (which the
real gateway may rate-limit too). The file name is a hash of endpoint and key, so the key
does not show in directory listings; the file holds the token, never the secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Protocol

from aiiro.client.models import Token


class TokenStore(Protocol):
    def get(self, endpoint: str, api_key: str) -> Token | None: ...

    def put(self, endpoint: str, api_key: str, token: Token) -> None: ...

    def forget(self, endpoint: str, api_key: str) -> None: ...


class MemoryTokens:
    """Tokens for this process only."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], Token] = {}

    def get(self, endpoint: str, api_key: str) -> Token | None:
        return self._tokens.get((endpoint, api_key))

    def put(self, endpoint: str, api_key: str, token: Token) -> None:
        self._tokens[(endpoint, api_key)] = token

    def forget(self, endpoint: str, api_key: str) -> None:
        self._tokens.pop((endpoint, api_key), None)


class DiskTokens:
    """Tokens in `directory` (created 0700), one 0600 JSON file per endpoint and key,
    with an in-memory copy in front."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._memory = MemoryTokens()

    @classmethod
    def in_cache(cls, cache_dir: str) -> DiskTokens:
        """The store under the user's cache dir (<cache>/aiiro/tokens)."""
        return cls(os.path.join(cache_dir, "tokens"))

    def path(self, endpoint: str, api_key: str) -> str:
        digest = hashlib.sha256(f"{endpoint}\0{api_key}".encode()).hexdigest()[:32]
        return os.path.join(self.directory, f"{digest}.json")

    def get(self, endpoint: str, api_key: str) -> Token | None:
        token = self._memory.get(endpoint, api_key)
        if token is not None:
            return token
        try:
            with open(self.path(endpoint, api_key), encoding="utf-8") as f:
                data = json.load(f)
            token = Token(
                access_token=str(data["access_token"]),
                expires_in=int(data["expires_in"]),
                issued_at_ms=data.get("issued_at_ms"),
                expires_at=float(data["expires_at"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self._memory.put(endpoint, api_key, token)
        return token

    def put(self, endpoint: str, api_key: str, token: Token) -> None:
        self._memory.put(endpoint, api_key, token)
        data = {
            "endpoint": endpoint,
            "access_token": token.access_token,
            "expires_in": token.expires_in,
            "issued_at_ms": token.issued_at_ms,
            "expires_at": token.expires_at,
        }
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            path = self.path(endpoint, api_key)
            tmp = f"{path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, path)
        except OSError:
            # A cache that cannot be written only costs a token request next time.
            pass

    def forget(self, endpoint: str, api_key: str) -> None:
        self._memory.forget(endpoint, api_key)
        with contextlib.suppress(OSError):
            os.unlink(self.path(endpoint, api_key))
