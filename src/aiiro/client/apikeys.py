"""API keys: /webarenaIndigo/v1/auth/..."""

from __future__ import annotations

from typing import Any

from aiiro.client.core import Request
from aiiro.client.models import ApiKey, NewApiKey, Outcome
from aiiro.client.ops import AsyncResource, Call, Resource
from aiiro.client.shapes import APIKEYS

BASE = "/webarenaIndigo/v1/auth"


def _keys(body: Any) -> list[ApiKey]:
    return [ApiKey.from_api(x) for x in APIKEYS.elements(body)]


def list_call() -> Call[list[ApiKey]]:
    return Call(Request("GET", APIKEYS.path), _keys)


def create_call() -> Call[NewApiKey]:
    # A GET that creates a key, as on Indigo; the secret is in this answer only.
    # Not idempotent: never resent.
    return Call(Request("GET", f"{BASE}/create/apikey", idempotent=False), NewApiKey.from_api)


def delete_call(key_id: int) -> Call[Outcome]:
    return Call(Request("DELETE", f"{BASE}/apikey/{key_id}"), Outcome.from_api)


class ApiKeys(Resource):
    def list(self) -> list[ApiKey]:
        return self._run(self._e.run(list_call()))

    def create(self) -> NewApiKey:
        return self._run(self._e.run(create_call()))

    def delete(self, key_id: int) -> Outcome:
        return self._run(self._e.run(delete_call(key_id)))


class AsyncApiKeys(AsyncResource):
    async def list(self) -> list[ApiKey]:
        return await self._run(self._e.run(list_call()))

    async def create(self) -> NewApiKey:
        return await self._run(self._e.run(create_call()))

    async def delete(self, key_id: int) -> Outcome:
        return await self._run(self._e.run(delete_call(key_id)))
