"""API keys: /webarenaIndigo/v1/auth/..."""

from __future__ import annotations

from typing import Any

from aiiro.client.models import ApiKey, NewApiKey, Outcome
from aiiro.client.resource import M, Resource, operation
from aiiro.client_core.policy import Call, Op, Request
from aiiro.client_core.shapes import APIKEYS

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


class ApiKeys(Resource[M]):
    """API keys: `indigo.apikeys`."""

    @operation
    def list(self) -> Op[list[ApiKey]]:
        """Every API key of the account (secrets are never listed)."""
        return self._e.run(list_call())

    @operation
    def create(self) -> Op[NewApiKey]:
        """Create an API key; its secret is in this answer only."""
        return self._e.run(create_call())

    @operation
    def delete(self, key_id: int) -> Op[Outcome]:
        """Delete an API key."""
        return self._e.run(delete_call(key_id))
