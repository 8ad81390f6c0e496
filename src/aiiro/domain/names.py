"""What a name may be (instances, SSH keys, firewall templates, snapshots): one rule.

Trimmed; not empty; at most 255 characters (the columns' width); and only characters that
show: no control characters, and none of the invisible ones that make one name look like
another in a list (bidi overrides such as U+202E, zero-width joiners and spaces, private
use, unassigned code points).
"""

from __future__ import annotations

import unicodedata

from aiiro.domain.errors import invalid, missing

MAX_NAME = 255
# Unicode categories of characters that do not show: control, format (bidi, zero-width),
# line and paragraph separators, surrogates, private use, unassigned.
HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def checked(field: str, value: str | None) -> str:
    if value is None:
        raise missing(field)
    text = value.strip()
    if not text:
        raise invalid(field, "must not be empty")
    if len(text) > MAX_NAME:
        raise invalid(field, f"must be at most {MAX_NAME} characters")
    if any(unicodedata.category(c) in HIDDEN for c in text):
        raise invalid(field, "must hold only characters that show (no control or bidi ones)")
    return text
