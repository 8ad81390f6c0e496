"""Generated values (tokens, keys, passwords, MACs, UUIDs).

Unpredictable by default. With a seed (an emulator control, for tests) every value is
reproducible, which is exactly what must never happen on a real deployment.
"""

from __future__ import annotations

import random
import secrets
import string
import uuid

ALNUM = string.ascii_letters + string.digits


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
        """`length` uniform picks from `alphabet` (at most 256 symbols): random bytes,
        those past the largest multiple of the alphabet's size dropped so that none is
        favoured. One draw of bytes instead of a call per character: a token costs a
        few microseconds, not thirty."""
        n = len(alphabet)
        limit = 256 - 256 % n
        out: list[str] = []
        while len(out) < length:
            want = length - len(out) + 8
            for b in self._rng.getrandbits(8 * want).to_bytes(want, "little"):
                if b < limit:
                    out.append(alphabet[b % n])
        return "".join(out[:length])

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
