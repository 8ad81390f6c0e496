"""Generated values (tokens, keys, passwords, MACs, UUIDs).

Unpredictable by default. With a seed (an emulator control, for tests) every value is
reproducible, which is exactly what must never happen on a real deployment.
"""

from __future__ import annotations

import functools
import hashlib
import random
import secrets
import string
import uuid

ALNUM = string.ascii_letters + string.digits


@functools.cache
def _tables(alphabet: str) -> tuple[bytes, bytes]:
    """For bytes.translate: byte b -> alphabet[b % n], and the bytes >= the largest
    multiple of n (dropped, so that every symbol is equally likely)."""
    n = len(alphabet)
    limit = 256 - 256 % n
    table = bytes(ord(alphabet[b % n]) for b in range(256))
    return table, bytes(range(limit, 256))


class Randomness:
    def __init__(self, seed: int | None = None) -> None:
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self._rng: random.Random = (
            random.Random(seed) if seed is not None else secrets.SystemRandom()
        )

    def alnum(self, length: int) -> str:
        return self._pick(ALNUM, length)

    def digits(self, length: int) -> str:
        return self._pick(string.digits, length)

    def _pick(self, alphabet: str, length: int) -> str:
        """`length` uniform picks from `alphabet` (at most 256 ASCII symbols): random
        bytes mapped onto the alphabet, those past the largest multiple of its size
        dropped so that no symbol is favoured. One draw and one C-level translate instead
        of a call per character: a token costs a microsecond or two, not thirty."""
        table, drop = _tables(alphabet)
        out = b""
        while len(out) < length:
            want = length - len(out) + 8
            raw = self._rng.getrandbits(8 * want).to_bytes(want, "little")
            out += raw.translate(table, drop)
        return out[:length].decode("ascii")

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def randint(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)

    def random(self) -> float:
        return self._rng.random()

    def mac(self) -> str:
        # 00:13:5D is the prefix every observed Indigo MAC address carries.
        tail = [self._rng.randint(0, 255) for _ in range(3)]
        return "00:13:5D:" + ":".join(f"{b:02X}" for b in tail)


def derived(seed: int, epoch: int, stream: str = "") -> int:
    """The seed of the values drawn after `seed` was applied for the `epoch`-th time, by
    the process that applied it (`stream` ""), or by another process of the server (its
    identity): one seed, many streams that never meet."""
    suffix = f":{stream}" if stream else ""
    digest = hashlib.sha256(f"aiiro:{seed}:{epoch}{suffix}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
