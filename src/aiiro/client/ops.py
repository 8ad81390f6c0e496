"""The typed pieces the resource modules (instances, sshkeys, ...) are built from.

An `Op[T]` is an API operation: a generator that yields effects (aiiro.client.core) and
returns a T. A `Call[T]` is one request and how to read its answer. `Resource` and
`AsyncResource` are the bases of `indigo.instances` and the others: they run ops with the
client's runner. (Kept apart from core.py, which the CLI's fast path loads without typing.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, Protocol, TypeVar

from aiiro.client.core import Effect, Engine, Request

T = TypeVar("T")

Op = Generator[Effect, Any, T]


class Call(Generic[T]):
    """A request and what to make of its decoded JSON answer."""

    __slots__ = ("parse", "request")

    def __init__(self, request: Request, parse: Callable[[Any], T]) -> None:
        self.request = request
        self.parse = parse

    def __repr__(self) -> str:
        return f"Call({self.request!r})"


class Runner(Protocol):
    def __call__(self, op: Op[T], /) -> T: ...


class AsyncRunner(Protocol):
    def __call__(self, op: Op[T], /) -> Awaitable[T]: ...


class Resource:
    """Base of the sync resource classes (`indigo.instances` ...)."""

    def __init__(self, engine: Engine, run: Runner) -> None:
        self._e = engine
        self._run = run


class AsyncResource:
    """Base of the async resource classes (`AsyncIndigo().instances` ...)."""

    def __init__(self, engine: Engine, run: AsyncRunner) -> None:
        self._e = engine
        self._run = run
