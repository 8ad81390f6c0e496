"""Form bodies (application/x-www-form-urlencoded, what every panel form posts)."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

from aiiro.inputs import decimal, stored

MAX_BODY = 256 * 1024


class FormTooLarge(Exception):
    pass


class Form:
    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self._fields.get(name)
        return values[0] if values else default

    def getall(self, name: str) -> list[str]:
        return list(self._fields.get(name, []))

    def id(self, name: str) -> int | None:
        """A decimal id field, or None when absent or not a number."""
        return as_id(self.get(name))

    def ids(self, name: str) -> list[int]:
        """Every decimal id sent under `name` (checkboxes), others ignored."""
        return [i for i in (as_id(v) for v in self.getall(name)) if i is not None]


def as_id(value: str) -> int | None:
    return stored(decimal(value))


def _no_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd")


async def read_form(request: Request) -> Form:
    cached: Form | None = getattr(request.state, "panel_form", None)
    if cached is not None:
        return cached
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise FormTooLarge()
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    # A NUL (%00) becomes U+FFFD, as undecodable bytes do: PostgreSQL's text cannot hold it.
    form = Form({_no_nul(k): [_no_nul(v) for v in vs] for k, vs in fields.items()})
    request.state.panel_form = form
    return form
