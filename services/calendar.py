"""The content calendar (the Mini App): one owner's publications and rule runs to come in a
range of days of their own time zone. Reads only; changes go through PostService, so the
calendar refuses what the chat refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from content.fitting import plain_text
from services.clock import Clock
from services.rule_posts import rule_schedule
from services.schedule import Schedule, ScheduleError, next_run, resolve_wall_time
from storage.calendar import CalendarRepository
from storage.models import AutoPostingRule, Content, PostStatus, ScheduledPost, Target
from storage.repositories import RuleRepository, TargetRepository
from storage.uow import Database

# The longest range one request may cover (a month view with its spill-over weeks fits).
MAX_RANGE_DAYS = 62
# At most this many publications and rule runs in one answer: a calendar, not an export.
MAX_POSTS = 2000
MAX_GHOSTS_PER_RULE = 400
# Every run is computed by the rule's trigger on the event loop: bounded for all rules too.
MAX_GHOSTS = 1000
SNIPPET_LENGTH = 120


# What may be done to a post in each state: the chat's buttons (handlers/posts/keyboards.py).
ACTIONS: dict[str, tuple[str, ...]] = {
    PostStatus.SCHEDULED: ("publish-now", "reschedule", "cancel"),
    PostStatus.AWAITING_APPROVAL: ("reschedule", "cancel"),
    PostStatus.FAILED: ("retry", "cancel"),
    PostStatus.UNKNOWN: ("retry", "cancel"),
    PostStatus.MISSED: ("retry", "cancel"),
}
# Any post may be copied; dragging one is rescheduling it.
ALWAYS = ("duplicate",)
DRAGGABLE = frozenset(status for status, actions in ACTIONS.items() if "reschedule" in actions)


def actions_for(status: str) -> list[str]:
    return [*ACTIONS.get(status, ()), *ALWAYS]


def is_queued(post: ScheduledPost) -> bool:
    """Given its time by a target's queue (issue 12's queue_position), still to go out."""
    return (
        getattr(post, "queue_position", None) is not None and post.status == PostStatus.SCHEDULED
    )


def shows_error(post: ScheduledPost) -> bool:
    return post.status != PostStatus.PUBLISHED


class CalendarRangeError(ValueError):
    """A range the calendar refuses; `code` is the API's error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CalendarPost:
    id: int
    content_id: int
    target_id: int
    target_title: str
    platform: str
    status: str
    # In a target's queue (the queue gave it its time): shown with a marker.
    queued: bool
    at: datetime
    snippet: str
    rule_id: int | None


@dataclass(frozen=True)
class RuleRun:
    """A rule's run to come: a ghost on the calendar (nothing exists yet)."""

    rule_id: int
    rule_name: str
    at: datetime
    target_ids: tuple[int, ...]


@dataclass(frozen=True)
class CalendarView:
    start: datetime
    end: datetime
    posts: list[CalendarPost]
    ghosts: list[RuleRun]
    truncated: bool


def day_range(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """[first 00:00, last+1 00:00) of the zone, in UTC; refuses reversed or too long ranges."""
    if last < first:
        raise CalendarRangeError("range_reversed")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise CalendarRangeError("range_too_long")
    zone = ZoneInfo(timezone)
    start = resolve_wall_time(datetime.combine(first, time()), zone)
    end = resolve_wall_time(datetime.combine(last + timedelta(days=1), time()), zone)
    return start, end


def local_wall_time(value: datetime, timezone: str) -> datetime:
    """A naive wall time in the zone ("2026-12-02 10:00" as its owner reads it)."""
    return value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def from_wall_time(wall: datetime, timezone: str) -> datetime:
    """A wall time typed or dropped in the owner's zone, as UTC (DST gaps and folds resolved
    like rule schedules: the first of a repeated time, the jump for a skipped one)."""
    minute = wall.replace(tzinfo=None, second=0, microsecond=0)
    return resolve_wall_time(minute, ZoneInfo(timezone))


def calendar_post(post: ScheduledPost, content: Content, target: Target) -> CalendarPost:
    snippet = plain_text(content.title, content.text or "").replace("\n", " ").strip()
    if len(snippet) > SNIPPET_LENGTH:
        snippet = snippet[: SNIPPET_LENGTH - 1].rstrip() + "…"
    return CalendarPost(
        id=post.id,
        content_id=content.id,
        target_id=target.id,
        target_title=target.title,
        platform=post.platform,
        status=str(post.status),
        queued=is_queued(post),
        at=post.scheduled_time,
        snippet=snippet,
        rule_id=post.rule_id,
    )


class CalendarService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def view(
        self,
        owner_id: int,
        start: datetime,
        end: datetime,
        *,
        target_id: int | None = None,
    ) -> CalendarView:
        """Publications scheduled in [start, end) and, from now on, the runs of active rules
        (for one target: those publishing to it). One read unit; the runs are computed by
        the rules' own APScheduler triggers after it closed."""
        async with self.db.read() as session:
            target_ids = None if target_id is None else [target_id]
            rows = await CalendarRepository(session).posts_between(
                owner_id, start, end, target_ids=target_ids, limit=MAX_POSTS + 1
            )
            rules = [
                _RuleSchedule(rule.id, rule.name, rule_schedule(rule), _target_ids(rule))
                for rule in await RuleRepository(session).list_for_owner(owner_id)
                if rule.is_active
            ]
        posts = [calendar_post(*row) for row in rows[:MAX_POSTS]]
        if target_id is not None:
            rules = [rule for rule in rules if target_id in rule.target_ids]
        # Up to MAX_GHOSTS trigger computations: off the event loop.
        ghosts = await asyncio.to_thread(_ghosts, rules, max(start, self.clock.now()), end)
        truncated = len(rows) > MAX_POSTS or len(ghosts) >= MAX_GHOSTS
        return CalendarView(start, end, posts, ghosts, truncated=truncated)

    async def targets(self, owner_id: int) -> Sequence[Target]:
        async with self.db.read() as session:
            return await TargetRepository(session).list_for_owner(owner_id)


@dataclass(frozen=True)
class _RuleSchedule:
    id: int
    name: str
    schedule: Schedule
    target_ids: tuple[int, ...]


def _target_ids(rule: AutoPostingRule) -> tuple[int, ...]:
    return tuple(t.id for t in rule.targets if t.deleted_at is None)


def _ghosts(rules: Sequence[_RuleSchedule], after: datetime, end: datetime) -> list[RuleRun]:
    ghosts: list[RuleRun] = []
    for rule in rules:
        room = min(MAX_GHOSTS_PER_RULE, MAX_GHOSTS - len(ghosts))
        ghosts.extend(
            RuleRun(rule.id, rule.name, moment, rule.target_ids)
            for moment in _runs_between(rule.schedule, after, end, room)
        )
    ghosts.sort(key=lambda run: (run.at, run.rule_id))
    return ghosts


def _runs_between(
    schedule: Schedule, after: datetime, end: datetime, limit: int
) -> list[datetime]:
    runs: list[datetime] = []
    previous: datetime | None = None
    # The next run as the worker will see it: a run due now but not yet taken still shows.
    moment = after - timedelta(microseconds=1)
    for _ in range(max(0, limit)):
        try:
            fire = next_run(schedule, moment, previous)
        except ScheduleError:
            break
        if fire is None or fire >= end:
            break
        runs.append(fire.astimezone(UTC))
        previous = fire
        moment = fire
    return runs
