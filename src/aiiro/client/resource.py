"""One class per resource, for the sync and the async client alike.

Every public method of a resource (`indigo.instances.get`, ...) is written once, as a
method that returns an op (aiiro.client_core.policy), and marked `@operation`. The client
the resource belongs to carries the op out with its runner: `Indigo` returns the result,
`AsyncIndigo` an awaitable. The mode is a type parameter, so the types follow:

    Indigo().instances            # Instances[Sync]:  .get(ref) -> Instance
    AsyncIndigo().instances       # Instances[Async]: .get(ref) -> Awaitable[Instance]

and the signature and docstring of each method are the same on both faces, being one.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from types import MethodType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from aiiro.client_core.policy import Engine, Op

P = ParamSpec("P")
T = TypeVar("T")


class Sync:
    """The mode of `Indigo`'s resources: methods return their results."""


class Async:
    """The mode of `AsyncIndigo`'s resources: methods return awaitables."""


M = TypeVar("M", Sync, Async)

# Carries an op out: `Indigo.run` (returns its result) or `AsyncIndigo.run` (a coroutine).
Runner = Callable[[Op[Any]], Any]


class Resource(Generic[M]):
    """Base of the resource classes: the engine the ops are made with, and the runner."""

    def __init__(self, engine: Engine, run: Runner) -> None:
        self._e = engine
        self._run = run
        self._awaits = inspect.iscoroutinefunction(run)


class operation(Generic[P, T]):
    """Makes `fn(self, ...) -> Op[T]` a method of the resource that runs the op: on a
    `Resource[Sync]` it returns the T, on a `Resource[Async]` it is a coroutine function."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Op[T]]) -> None:
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

        @functools.wraps(fn)
        def run(resource: Resource[Any], *args: Any, **kwargs: Any) -> Any:
            return resource._run(fn(resource, *args, **kwargs))

        @functools.wraps(fn)
        async def run_async(resource: Resource[Any], *args: Any, **kwargs: Any) -> Any:
            return await resource._run(fn(resource, *args, **kwargs))

        self._run = run
        self._run_async = run_async

    @overload
    def __get__(self, resource: None, owner: type) -> operation[P, T]: ...

    @overload
    def __get__(self, resource: Resource[Sync], owner: type) -> Callable[P, T]: ...

    @overload
    def __get__(self, resource: Resource[Async], owner: type) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, resource: Resource[Any] | None, owner: type) -> Any:
        if resource is None:
            return self
        return MethodType(self._run_async if resource._awaits else self._run, resource)
