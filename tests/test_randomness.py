"""Generated values: the right alphabet and length, every symbol equally likely, and the
same sequence under the same seed."""

from __future__ import annotations

import string
from collections import Counter

from aiiro.randomness import ALNUM, Randomness


def test_alphabet_and_length() -> None:
    r = Randomness()
    for n in (0, 1, 28, 300):
        token = r.alnum(n)
        assert len(token) == n and set(token) <= set(ALNUM)
    assert r.digits(40).isdigit() and len(r.digits(40)) == 40


def test_every_symbol_is_about_equally_likely() -> None:
    # 62 symbols do not divide 256: without dropping bytes >= 248 the first eight
    # symbols would come up 5/4 as often as the rest.
    counts = Counter(Randomness(seed=1).alnum(124_000))
    assert set(counts) == set(ALNUM)
    expected = 124_000 / 62
    assert all(abs(c - expected) < 0.1 * expected for c in counts.values()), counts
    digits = Counter(Randomness(seed=2).digits(50_000))
    assert set(digits) == set(string.digits)
    assert all(abs(c - 5000) < 500 for c in digits.values()), digits


def test_the_same_seed_gives_the_same_values() -> None:
    a, b = Randomness(seed=9), Randomness(seed=9)
    assert [a.alnum(28) for _ in range(5)] == [b.alnum(28) for _ in range(5)]
    assert Randomness(seed=10).alnum(28) != Randomness(seed=9).alnum(28)


def test_without_a_seed_values_differ() -> None:
    r = Randomness()
    assert len({r.alnum(28) for _ in range(100)}) == 100
