"""The gateway quota: N requests per calendar minute (server clock) per API key.

Counted in the store, so several API processes share one window.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aiiro.domain.errors import GatewayError
from aiiro.runtime import Runtime
from aiiro.store.models import QuotaWindow


@dataclass(frozen=True)
class QuotaState:
    allowed: int
    available: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Quota-Allowed": str(self.allowed),
            "X-Quota-Available": str(self.available),
            "X-Quota-Reset": str(self.reset_ms),
        }


class QuotaExceeded(GatewayError):
    def __init__(self, state: QuotaState, identifier: str) -> None:
        # The double space in "limit  exceeded" is the real gateway's.
        super().__init__(
            429,
            "Too Many Request.",
            f"Rate limit quota violation. Quota limit  exceeded. Identifier : {identifier}",
        )
        self.state = state


def consume(rt: Runtime, api_key_id: int) -> QuotaState:
    allowed = rt.settings.quota_per_minute
    now_ms = int(rt.clock.time() * 1000)
    window = now_ms - now_ms % 60_000
    reset = window + 60_000
    table: Table = QuotaWindow.__table__  # type: ignore[assignment]
    insert = sqlite_insert if rt.db.is_sqlite else pg_insert
    stmt = (
        insert(table)
        .values(api_key_id=api_key_id, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=["api_key_id", "window_start"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    # Quiet: no cache depends on a count, so other processes need not hear of it.
    with rt.db.write(quiet=True) as s:
        count = int(s.execute(stmt).scalar_one())
        if count > allowed:
            # A refused request does not use up quota.
            s.execute(
                table.update()
                .where(table.c.api_key_id == api_key_id, table.c.window_start == window)
                .values(count=allowed)
            )
    state = QuotaState(allowed, max(allowed - count, 0), reset)
    if count > allowed:
        raise QuotaExceeded(state, _identifier(rt, api_key_id))
    return state


def _identifier(rt: Runtime, api_key_id: int) -> str:
    # A stable opaque id per API key, in the uuid form the real gateway shows.
    digest = rt.hasher.hash(f"quota:{api_key_id}")
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{digest[16:20]}-{digest[20:32]}"
