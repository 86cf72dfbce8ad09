"""The per-user daily AI quota (issue 11): /new AI, a rule's Try it and an approval's
Regenerate each spend one request of AI_DAILY_QUOTA_PER_USER (0 = unlimited).

A request is counted in its own write unit BEFORE the model is called, so that two presses
at once cannot both slip under the limit and a request the provider may have billed (a
timeout, a failure after sending) still counts. The count lives in a `key_values` row
"ai_usage:<user id>:<local date>" (no migration): the day is the user's own, so the quota
resets at their midnight; the user's rows of earlier days are deleted as the new day's row is
written. Rule runs are not counted here: they have their own daily cap and monthly budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.clock import Clock
from storage.models import KeyValue, User
from storage.uow import Database

KEY_PREFIX = "ai_usage"


class AiQuotaExceeded(ValueError):
    """Today's AI requests are used up; `resets_at` is the user's next local midnight (UTC)."""

    code = "ai_quota"

    def __init__(self, limit: int, resets_at: datetime, timezone: str) -> None:
        super().__init__(f"AI quota of {limit} requests used up until {resets_at.isoformat()}")
        self.limit = limit
        self.resets_at = resets_at
        self.timezone = timezone


@dataclass(frozen=True)
class AiUsage:
    used: int
    limit: int  # 0: unlimited


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def usage_key(user_id: int, day: date) -> str:
    return f"{KEY_PREFIX}:{user_id}:{day.isoformat()}"


class AiQuota:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        per_user: int = 0,
        admin_ids: frozenset[int] = frozenset(),
        admins_exempt: bool = True,
    ) -> None:
        self.db = db
        self.clock = clock
        self.per_user = per_user
        self.admin_ids = admin_ids
        self.admins_exempt = admins_exempt

    def applies_to(self, user_id: int) -> bool:
        if self.per_user <= 0:
            return False
        return not (self.admins_exempt and user_id in self.admin_ids)

    async def spend(self, user_id: int) -> None:
        """One request of today's quota, or AiQuotaExceeded (nothing counted then)."""
        if not self.applies_to(user_id):
            return
        now = self.clock.now()
        async with self.db.write() as session:
            user = await session.get(User, user_id)
            timezone = user.timezone if user is not None else "UTC"
            zone = _zone(timezone)
            today = now.astimezone(zone).date()
            key = usage_key(user_id, today)
            prefix = f"{KEY_PREFIX}:{user_id}:"
            await session.execute(
                delete(KeyValue).where(KeyValue.key.startswith(prefix), KeyValue.key != key)
            )
            row = await session.scalar(
                select(KeyValue).where(KeyValue.key == key).with_for_update()
            )
            if row is None:
                try:
                    async with session.begin_nested():
                        session.add(KeyValue(key=key, value={"count": 0}))
                except IntegrityError:  # another process wrote today's row first
                    pass
                row = await session.scalar(
                    select(KeyValue)
                    .where(KeyValue.key == key)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
                assert row is not None
            used = int((row.value or {}).get("count", 0))
            if used >= self.per_user:
                midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
                raise AiQuotaExceeded(self.per_user, midnight, timezone)
            row.value = {"count": used + 1}

    async def usage(self, user_id: int) -> AiUsage:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
            zone = _zone(user.timezone if user is not None else None)
            key = usage_key(user_id, self.clock.now().astimezone(zone).date())
            row = await session.scalar(select(KeyValue).where(KeyValue.key == key))
        used = int((row.value or {}).get("count", 0)) if row is not None else 0
        return AiUsage(used, self.per_user if self.applies_to(user_id) else 0)


__all__ = ["AiQuota", "AiQuotaExceeded", "AiUsage", "usage_key"]
