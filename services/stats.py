"""The figures behind the chat's pictures (issue 13): a user's week as it is planned, a
user's activity over the last days, and the same activity across all users for the admins.
One read unit each; plain data out (no ORM rows), for content/charts.py to draw and the
handlers to put in the caption.

Days are the user's own: the boundaries are the local midnights (computed here, so a DST
day is 23 or 25 hours long), and a post belongs to the day of its `scheduled_time` (the
moment it was planned for, which a retry does not move). The counts come from one GROUP BY
over day buckets (a CASE on those boundaries): they are exact whatever the number of posts;
only the week's blocks are limited (MAX_WEEK_ROWS)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func, literal, select

from services.clock import Clock
from services.schedule import Schedule, ScheduleError, next_run
from storage.models import AutoPostingRule, Content, PostStatus, ScheduledPost, Target, User
from storage.uow import Database

# What a post's status is drawn as (a key of content.charts.PALETTE); None: not drawn.
KINDS = ("scheduled", "queued", "awaiting_approval", "published", "failed", "unknown", "cancelled")
WEEK_KINDS = KINDS[:-1]  # a week shows what is planned or happened, not what was dropped
_KIND_OF_STATUS: dict[str, str] = {
    PostStatus.SCHEDULED: "scheduled",
    PostStatus.PUBLISHING: "scheduled",
    PostStatus.AWAITING_APPROVAL: "awaiting_approval",
    PostStatus.PUBLISHED: "published",
    PostStatus.FAILED: "failed",
    PostStatus.UNKNOWN: "unknown",
    PostStatus.MISSED: "unknown",  # both wait for the owner's answer
    PostStatus.CANCELLED: "cancelled",
    PostStatus.SKIPPED: "cancelled",
}
MAX_DAYS = 31
MAX_WEEK_ROWS = 2000  # blocks fetched for a week (counts are exact regardless)
MAX_GHOSTS_PER_RULE = 200
MAX_WEEK_OFFSET = 520  # ten years either way


def kind_of(status: str, queued: bool = False) -> str | None:
    kind = _KIND_OF_STATUS.get(status)
    if kind == "scheduled" and queued:
        return "queued"
    return kind


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first moment of a local day, in UTC (a midnight skipped by DST: the first hour)."""
    for hour in range(0, 4):
        local = datetime.combine(day, time(hour), tzinfo=zone)
        moment = local.astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            return moment
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _queued_column() -> Any:
    # The queue marker (issue 12, migration 0009_queues): a post with a place in its
    # target's queue. Older schemas have no such column: nothing is "queued" then.
    column = getattr(ScheduledPost, "queue_position", None)
    return column if column is not None else None


@dataclass(frozen=True)
class Days:
    """Consecutive local days and their boundaries (one more boundary than days)."""

    days: tuple[date, ...]
    bounds: tuple[datetime, ...]
    zone: ZoneInfo

    @classmethod
    def of(cls, first: date, count: int, zone: ZoneInfo) -> Days:
        days = tuple(first + timedelta(days=i) for i in range(count))
        bounds = tuple(local_midnight(first + timedelta(days=i), zone) for i in range(count + 1))
        return cls(days, bounds, zone)

    @property
    def start(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]

    def bucket(self, column: Any) -> Any:
        """Which day (0-based) a UTC column falls in, as SQL: a CASE on the boundaries."""
        return case(
            *((column < bound, index) for index, bound in enumerate(self.bounds[1:])),
            else_=len(self.days),
        )

    def index(self, moment: datetime) -> int | None:
        if not self.start <= moment < self.end:
            return None
        return next(i for i, bound in enumerate(self.bounds[1:]) if moment < bound)


# ---------------------------------------------------------------- the week


@dataclass(frozen=True)
class WeekEntry:
    """A post (or a rule run to come: `ghost`) at its local time."""

    day: int
    local: datetime
    kind: str
    target: str  # the target's title ("Tech news", "@anna"), or the rule's targets
    platform: str
    ghost: bool = False
    rule: str | None = None


@dataclass(frozen=True)
class WeekPlan:
    timezone: str
    days: tuple[date, ...]
    today: int | None
    entries: tuple[WeekEntry, ...]
    # day → kind → number of posts (ghosts not counted): exact, from the database.
    counts: tuple[dict[str, int], ...]
    ghosts: tuple[int, ...]
    offset: int

    def total(self, kind: str | None = None) -> int:
        return sum(count for day in self.counts for k, count in day.items() if kind in (None, k))

    def not_listed(self) -> tuple[int, ...]:
        """Per day, the posts counted but not among `entries` (past MAX_WEEK_ROWS)."""
        listed = [0] * len(self.days)
        for entry in self.entries:
            if not entry.ghost:
                listed[entry.day] += 1
        return tuple(
            max(0, sum(day.values()) - shown)
            for day, shown in zip(self.counts, listed, strict=True)
        )


# ---------------------------------------------------------------- activity


@dataclass(frozen=True)
class GroupActivity:
    """One target's (or, for the admins, one platform's) posts by kind over the days."""

    key: str
    platform: str
    title: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Activity:
    timezone: str
    days: tuple[date, ...]
    per_day: tuple[dict[str, int], ...]  # day → kind → posts
    groups: tuple[GroupActivity, ...]  # most posts first
    tokens: tuple[int, ...]  # AI tokens (prompt + completion) per day
    users: int | None = None  # the admins' view only
    totals: dict[str, int] = field(default_factory=dict)

    def series(self, kind: str) -> list[int]:
        return [day.get(kind, 0) for day in self.per_day]


class StatsService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # ---------- the week

    async def week(self, owner_id: int, timezone: str, offset: int = 0) -> WeekPlan:
        """The owner's posts in the local week (Monday to Sunday) `offset` weeks from this
        one, with their active rules' runs to come in it as ghosts."""
        offset = max(-MAX_WEEK_OFFSET, min(MAX_WEEK_OFFSET, offset))
        zone = zone_of(timezone)
        now = self.clock.now()
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
        days = Days.of(monday, 7, zone)
        shown = [s for s, kind in _KIND_OF_STATUS.items() if kind in WEEK_KINDS]
        where = (
            ScheduledPost.owner_id == owner_id,
            ScheduledPost.scheduled_time >= days.start,
            ScheduledPost.scheduled_time < days.end,
            ScheduledPost.status.in_(shown),
        )
        async with self.db.read() as session:
            count_rows = await _count_by(session, _day_columns(days), where)
            rows = (
                await session.execute(
                    select(
                        ScheduledPost.scheduled_time,
                        ScheduledPost.status,
                        _queued_expr(),
                        ScheduledPost.platform,
                        Target.title,
                        Target.handle,
                    )
                    .join(Target, Target.id == ScheduledPost.target_id)
                    .where(*where)
                    .order_by(ScheduledPost.scheduled_time, ScheduledPost.id)
                    .limit(MAX_WEEK_ROWS)
                )
            ).all()
            rules = (
                await session.scalars(
                    select(AutoPostingRule).where(
                        AutoPostingRule.owner_id == owner_id, AutoPostingRule.is_active
                    )
                )
            ).all()
            ghost_sources = [
                (
                    rule.name,
                    Schedule(rule.schedule_type, rule.schedule_config, rule.timezone),
                    [t for t in rule.targets if t.deleted_at is None],
                    rule.next_execution_at,
                )
                for rule in rules
            ]
        counts: list[dict[str, int]] = [{} for _ in days.days]
        for day, status, is_q, count in count_rows:
            kind = kind_of(status, bool(is_q))
            if kind is not None and 0 <= day < len(days.days):
                counts[day][kind] = counts[day].get(kind, 0) + int(count)
        entries: list[WeekEntry] = []
        for when, status, is_q, platform, title, handle in rows:
            kind, day = kind_of(status, bool(is_q)), days.index(when)
            if kind is None or day is None:
                continue
            entries.append(
                WeekEntry(
                    day, when.astimezone(zone), kind, _label(platform, title, handle), platform
                )
            )
        ghosts = [0] * 7
        for name, schedule, targets, next_at in ghost_sources:
            for when in _runs_within(schedule, max(now, days.start), days.end, next_at):
                day = days.index(when)
                if day is None:
                    continue
                ghosts[day] += 1
                label = ", ".join(_label(t.platform, t.title, t.handle) for t in targets) or name
                platform = targets[0].platform if targets else ""
                entries.append(
                    WeekEntry(day, when.astimezone(zone), "rule", label, platform, True, name)
                )
        today_index = (today - monday).days
        return WeekPlan(
            timezone=zone.key,
            days=days.days,
            today=today_index if 0 <= today_index < 7 else None,
            entries=tuple(sorted(entries, key=lambda e: (e.local, e.ghost))),
            counts=tuple(counts),
            ghosts=tuple(ghosts),
            offset=offset,
        )

    # ---------- activity

    async def activity(self, owner_id: int, timezone: str, days: int = 14) -> Activity:
        """The owner's posts per local day by kind, per target, and AI tokens per day, over
        the last `days` days (today included)."""
        zone = zone_of(timezone)
        span = _span(self.clock.now(), zone, days)
        where = (
            ScheduledPost.owner_id == owner_id,
            ScheduledPost.scheduled_time >= span.start,
            ScheduledPost.scheduled_time < span.end,
        )
        target_columns = [
            ScheduledPost.target_id.label("target"),
            ScheduledPost.status.label("status"),
            _queued_expr(),
        ]
        async with self.db.read() as session:
            per_day_rows = await _count_by(session, _day_columns(span), where)
            target_rows = await _count_by(session, target_columns, where)
            titles = {
                row[0]: (row[1], row[2], row[3])
                for row in await session.execute(
                    select(Target.id, Target.platform, Target.title, Target.handle).where(
                        Target.owner_id == owner_id
                    )
                )
            }
            tokens = await _tokens(session, span, Content.owner_id == owner_id)
        groups: dict[str, GroupActivity] = {}
        for target_id, status, is_q, count in target_rows:
            kind = kind_of(status, bool(is_q))
            if kind is None or target_id not in titles:
                continue
            platform, title, handle = titles[target_id]
            group = groups.setdefault(
                str(target_id),
                GroupActivity(str(target_id), platform, _label(platform, title, handle), {}),
            )
            group.counts[kind] = group.counts.get(kind, 0) + int(count)
        return _activity(zone, span, per_day_rows, groups, tokens)

    async def activity_all(self, days: int = 14) -> Activity:
        """Every user's posts per UTC day by kind, per platform, AI tokens per day, and the
        number of users: the admins' /stats."""
        zone = ZoneInfo("UTC")
        span = _span(self.clock.now(), zone, days)
        where = (
            ScheduledPost.scheduled_time >= span.start,
            ScheduledPost.scheduled_time < span.end,
        )
        platform_columns = [
            ScheduledPost.platform.label("platform"),
            ScheduledPost.status.label("status"),
            _queued_expr(),
        ]
        async with self.db.read() as session:
            per_day_rows = await _count_by(session, _day_columns(span), where)
            platform_rows = await _count_by(session, platform_columns, where)
            tokens = await _tokens(session, span, None)
            users = int(await session.scalar(select(func.count()).select_from(User)) or 0)
        groups: dict[str, GroupActivity] = {}
        for platform, status, is_q, count in platform_rows:
            kind = kind_of(status, bool(is_q))
            if kind is None:
                continue
            group = groups.setdefault(platform, GroupActivity(platform, platform, platform, {}))
            group.counts[kind] = group.counts.get(kind, 0) + int(count)
        activity = _activity(zone, span, per_day_rows, groups, tokens)
        return replace(activity, users=users)


def _label(platform: str, title: str, handle: str | None) -> str:
    """A target as a block names it: a channel by its title, an account by its handle."""
    return title if platform == "telegram" or not handle else f"@{handle}"


def _queued_expr() -> Any:
    queued = _queued_column()
    return (queued.is_not(None) if queued is not None else literal(False)).label("q")


def _span(now: datetime, zone: ZoneInfo, days: int) -> Days:
    days = max(1, min(MAX_DAYS, days))
    today = now.astimezone(zone).date()
    return Days.of(today - timedelta(days=days - 1), days, zone)


def _day_columns(span: Days) -> list[Any]:
    return [
        span.bucket(ScheduledPost.scheduled_time).label("bucket"),
        ScheduledPost.status.label("status"),
        _queued_expr(),
    ]


async def _count_by(session: Any, columns: Sequence[Any], where: Sequence[Any]) -> list[Any]:
    """Rows of `columns` and their count. The columns are computed in a subquery and grouped
    outside it: PostgreSQL would not match a CASE with parameters in GROUP BY to the same
    CASE in SELECT."""
    inner = select(*columns).where(*where).subquery()
    grouped = list(inner.c)
    return list((await session.execute(select(*grouped, func.count()).group_by(*grouped))).all())


async def _tokens(session: Any, span: Days, owner: Any) -> list[int]:
    where = [Content.created_at >= span.start, Content.created_at < span.end]
    if owner is not None:
        where.append(owner)
    inner = (
        select(
            span.bucket(Content.created_at).label("bucket"),
            (Content.prompt_tokens + Content.completion_tokens).label("tokens"),
        )
        .where(*where)
        .subquery()
    )
    rows = (
        await session.execute(
            select(inner.c.bucket, func.sum(inner.c.tokens)).group_by(inner.c.bucket)
        )
    ).all()
    tokens = [0] * len(span.days)
    for day, total in rows:
        if 0 <= day < len(span.days):
            tokens[day] += int(total or 0)
    return tokens


def _activity(
    zone: ZoneInfo,
    span: Days,
    per_day_rows: Sequence[Any],
    groups: dict[str, GroupActivity],
    tokens: list[int],
) -> Activity:
    per_day: list[dict[str, int]] = [{} for _ in span.days]
    totals: dict[str, int] = {}
    for day, status, is_q, count in per_day_rows:
        kind = kind_of(status, bool(is_q))
        if kind is None or not 0 <= day < len(span.days):
            continue
        per_day[day][kind] = per_day[day].get(kind, 0) + int(count)
        totals[kind] = totals.get(kind, 0) + int(count)
    return Activity(
        timezone=zone.key,
        days=span.days,
        per_day=tuple(per_day),
        groups=tuple(sorted(groups.values(), key=lambda g: (-g.total, g.title))),
        tokens=tuple(tokens),
        totals=totals,
    )


def _runs_within(
    schedule: Schedule, start: datetime, end: datetime, next_at: datetime | None
) -> list[datetime]:
    """A rule's runs in [start, end), by its own triggers in its own zone; the run it is
    armed for (`next_execution_at`, a retry included) first when it falls there."""
    runs: list[datetime] = []
    if next_at is not None and start <= next_at < end:
        runs.append(next_at)
    moment = start - timedelta(microseconds=1)
    previous: datetime | None = None
    try:
        while len(runs) < MAX_GHOSTS_PER_RULE:
            fire = next_run(schedule, moment, previous)
            if fire is None or fire >= end:
                break
            if fire not in runs:
                runs.append(fire)
            previous = moment = fire
    except (ScheduleError, KeyError, ValueError):
        pass  # a rule whose schedule no longer builds shows no ghosts (its own view says why)
    return sorted(runs)
