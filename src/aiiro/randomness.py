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
        return "".join(self._rng.choice(ALNUM) for _ in range(length))

    def digits(self, length: int) -> str:
        return "".join(self._rng.choice(string.digits) for _ in range(length))

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
