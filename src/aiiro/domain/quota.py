"""The gateway quota: N requests per calendar minute (server clock) per API key.

Counted in the store, so several API processes share one window. Each window also counts
the requests it refused (429), and the last KEEP_MINUTES windows of every key are kept,
so that `GET /_aiiro/quota` can show how a client spends its calls (`recent`); older
ones are dropped as new minutes begin, which keeps the table small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aiiro.domain.errors import GatewayError
from aiiro.runtime import Runtime
from aiiro.store.models import ApiKey, QuotaWindow

MINUTE_MS = 60_000
# How many calendar minutes (the current one included) each key's counts are kept for.
KEEP_MINUTES = 10


@dataclass(frozen=True)
class QuotaState:
    allowed: int
    available: int
    reset_ms: int
    # This request was refused (429).
    refused: bool = False

    def headers(self) -> dict[str, str]:
        return {
            "X-Quota-Allowed": str(self.allowed),
            "X-Quota-Available": str(self.available),
            "X-Quota-Reset": str(self.reset_ms),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "available": self.available,
            "reset_ms": self.reset_ms,
            "refused": self.refused,
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


def _table() -> Table:
    table: Table = QuotaWindow.__table__  # type: ignore[assignment]
    return table


def consume(rt: Runtime, api_key_id: int) -> QuotaState:
    allowed = rt.settings.quota_per_minute
    now_ms = int(rt.clock.time() * 1000)
    window = now_ms - now_ms % MINUTE_MS
    reset = window + MINUTE_MS
    table = _table()
    insert = sqlite_insert if rt.db.is_sqlite else pg_insert
    stmt = (
        insert(table)
        .values(api_key_id=api_key_id, window_start=window, count=1, refused=0)
        .on_conflict_do_update(
            index_elements=["api_key_id", "window_start"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    this_window = (table.c.api_key_id == api_key_id) & (table.c.window_start == window)
    # Quiet: no cache depends on a count, so other processes need not hear of it.
    with rt.db.write(quiet=True) as s:
        count = int(s.execute(stmt).scalar_one())
        if count == 1:
            # A new minute of this key: forget the minutes no one is shown any more.
            s.execute(
                table.delete().where(table.c.window_start <= window - KEEP_MINUTES * MINUTE_MS)
            )
        if count > allowed:
            # A refused request does not use up quota; it is counted as refused.
            s.execute(
                table.update().where(this_window).values(count=allowed, refused=table.c.refused + 1)
            )
    if count > allowed:
        raise QuotaExceeded(QuotaState(allowed, 0, reset, True), _identifier(rt, api_key_id))
    return QuotaState(allowed, allowed - count, reset)


def spend_minute(rt: Runtime, api_key_ids: list[int]) -> None:
    """Use up the current minute of these keys, as a burst of other calls would (the
    quota-storm scenario): their next requests this minute are refused."""
    allowed = rt.settings.quota_per_minute
    now_ms = int(rt.clock.time() * 1000)
    window = now_ms - now_ms % MINUTE_MS
    table = _table()
    insert = sqlite_insert if rt.db.is_sqlite else pg_insert
    with rt.db.write() as s:
        for key_id in api_key_ids:
            s.execute(
                insert(table)
                .values(api_key_id=key_id, window_start=window, count=allowed, refused=0)
                .on_conflict_do_update(
                    index_elements=["api_key_id", "window_start"], set_={"count": allowed}
                )
            )


def recent(
    rt: Runtime, s: Session, api_key_id: int | None = None, account_id: int | None = None
) -> list[dict[str, Any]]:
    """Each API key's recent minutes (of one key, or one account's keys, when given):
    requests the quota let through and refused, newest minute first; keys in id order.
    A key with no request in the kept minutes is left out."""
    now_ms = int(rt.clock.time() * 1000)
    window = now_ms - now_ms % MINUTE_MS
    table = _table()
    q = (
        select(
            table.c.api_key_id,
            table.c.window_start,
            table.c.count.label("used"),  # Row.count is a tuple method
            table.c.refused,
            ApiKey.api_key,
            ApiKey.account_id,
        )
        .join(ApiKey, ApiKey.id == table.c.api_key_id)
        .where(table.c.window_start > window - KEEP_MINUTES * MINUTE_MS)
        .order_by(table.c.api_key_id, table.c.window_start.desc())
    )
    if api_key_id is not None:
        q = q.where(table.c.api_key_id == api_key_id)
    if account_id is not None:
        q = q.where(ApiKey.account_id == account_id)
    allowed = rt.settings.quota_per_minute
    keys: dict[int, dict[str, Any]] = {}
    for row in s.execute(q):
        if row.api_key_id not in keys:
            keys[row.api_key_id] = _key(row.api_key_id, row.api_key, row.account_id)
        keys[row.api_key_id]["minutes"].append(
            {
                "start_ms": row.window_start,
                "current": row.window_start == window,
                "requests": row.used + row.refused,
                "refused": row.refused,
                # What the quota had left for the key (at the end of a past minute).
                "available": max(allowed - row.used, 0),
            }
        )
    return list(keys.values())


def no_minutes(key: ApiKey) -> dict[str, Any]:
    """A key as `recent` shows it, with no request in the kept minutes."""
    return _key(key.id, key.api_key, key.account_id)


def _key(api_key_id: int, api_key: str, account_id: int) -> dict[str, Any]:
    return {"api_key_id": api_key_id, "api_key": api_key, "account_id": account_id, "minutes": []}


def _identifier(rt: Runtime, api_key_id: int) -> str:
    # A stable opaque id per API key, in the uuid form the real gateway shows.
    digest = rt.hasher.hash(f"quota:{api_key_id}")
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{digest[16:20]}-{digest[20:32]}"
