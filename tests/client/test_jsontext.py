"""aiiro.client.jsontext writes and reads exactly what the json package does, for the
values the client handles."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiiro.client import jsontext

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


@given(values)
def test_written_like_json_dumps(value: Any) -> None:
    for indent in (None, 2):
        for ascii_only in (True, False):
            expected = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
            assert jsontext.dumps(value, indent=indent, ensure_ascii=ascii_only) == expected


@given(values)
def test_read_like_json_loads(value: Any) -> None:
    text = json.dumps(value, indent=1)
    assert jsontext.loads(text) == json.loads(text)
    assert jsontext.loads(f"  {text}\n".encode()) == json.loads(text)


def test_special_floats_and_tuples() -> None:
    value = {"nan": math.nan, "inf": math.inf, "neg": -math.inf, "t": (1, "ü")}
    assert jsontext.dumps(value) == json.dumps(value)
    assert jsontext.dumps(value, indent=2, ensure_ascii=False) == json.dumps(
        value, indent=2, ensure_ascii=False
    )
    assert math.isinf(jsontext.loads("[Infinity]")[0])


@pytest.mark.parametrize("bad", ["", "  ", "{", "[1,]", "{} x", "nul", '{"a" 1}'])
def test_bad_text_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        jsontext.loads(bad)


def test_unserialisable_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"x": object()})
