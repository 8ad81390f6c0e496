"""Lenient request parsing: JSON whatever the Content-Type, ids as numbers or strings.

Every failure becomes an Indigo-shaped 400 naming the field, never a 422 or a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from starlette.requests import Request

from aiiro.domain.errors import BAD_JSON, IndigoError, invalid, missing
from aiiro.inputs import MAX_STORED, BadInput, decimal, load_json, stored

M = TypeVar("M", bound=BaseModel)


MAX_ID = MAX_STORED  # an id beyond what the store's columns hold would fail the query (500)


def _coerce_id(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and (parsed := decimal(value)) is not None:
        number = parsed
    else:
        raise ValueError("must be a number")
    if not -MAX_ID <= number <= MAX_ID:
        raise ValueError("is out of range")
    return number


# An id sent as a JSON number (616513) or a string ("616513").
Id = Annotated[int, BeforeValidator(_coerce_id)]


class Body(BaseModel):
    """Base for request bodies: unknown keys are ignored, as a PHP backend would."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = load_json(raw)
    except BadInput as exc:
        raise IndigoError(400, BAD_JSON, str(exc)) from exc
    if not isinstance(data, dict):
        raise IndigoError(400, BAD_JSON, "The request body must be a JSON object.")
    return data


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        if first["type"] == "missing":
            raise missing(field) from exc
        raise invalid(field, _why(first)) from exc


def _why(err: Any) -> str:
    msg = str(err.get("msg", "is invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[0].lower() + msg[1:] if msg else "is invalid"


async def parse(request: Request, model: type[M]) -> M:
    return validate(model, await json_object(request))


def body_of(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency that reads and checks the body as `model` (any Content-Type), so that
    the endpoint itself can be a plain function run in a worker thread."""

    async def read(request: Request) -> M:
        return await parse(request, model)

    return read


def path_id(value: str) -> int | None:
    """A decimal path id, or None (callers answer as for an unknown id)."""
    return stored(decimal(value))


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    number = decimal(raw, negative=True)
    if number is None:
        raise invalid(name, "must be a number")
    if stored(number) is None:
        raise invalid(name, "is out of range")
    return number


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra for a route whose body is parsed by hand (any Content-Type)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
    }
