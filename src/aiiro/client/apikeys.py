"""API keys: /webarenaIndigo/v1/auth/..."""

from __future__ import annotations

from typing import Any

from aiiro.client.core import AsyncResource, Call, Request, Resource
from aiiro.client.models import ApiKey, NewApiKey, Outcome

BASE = "/webarenaIndigo/v1/auth"


def _keys(body: Any) -> list[ApiKey]:
    # The list key is `accesstokens`, not apikeys.
    items = (body.get("accesstokens") or []) if isinstance(body, dict) else []
    return [ApiKey.from_api(x) for x in items if isinstance(x, dict)]


def list_call() -> Call[list[ApiKey]]:
    return Call(Request("GET", f"{BASE}/apikey"), _keys)


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
