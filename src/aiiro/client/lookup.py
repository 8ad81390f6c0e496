"""Name-or-id lookups: 616513, "616513" and "web1" all name an instance.

A reference made only of digits is an id; anything else is matched against names, exactly
first, then ignoring case, spaces, dots and dashes ("Debian12" = "Debian 12" = "debian-12").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from aiiro.client_core.errors import LookupFailed

T = TypeVar("T")
Ref = int | str


def as_id(ref: Ref) -> int | None:
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref
    text = ref.strip()
    return int(text) if text.isdigit() else None


def fold(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch not in " .-_")


def pick(
    items: Sequence[T],
    ref: Ref,
    kind: str,
    id_of: Callable[[T], int],
    names_of: Callable[[T], Iterable[str | None]],
) -> T:
    """The one item `ref` names; LookupFailed when none or several do."""
    wanted = as_id(ref)
    if wanted is not None:
        for item in items:
            if id_of(item) == wanted:
                return item
        raise LookupFailed(f"no {kind} with id {wanted}")
    text = str(ref).strip()
    for match in (lambda n: n == text, lambda n: fold(n) == fold(text)):
        found = [i for i in items if any(n is not None and match(n) for n in names_of(i))]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            ids = ", ".join(str(id_of(i)) for i in found)
            raise LookupFailed(
                f"{len(found)} {kind}s are named {text!r} (ids {ids})", hint="use the id"
            )
    raise LookupFailed(f"no {kind} named {text!r}")
