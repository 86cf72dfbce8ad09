"""Rule schedules: a rule's typed schedule (`storage.rule_config.ScheduleSpec`) turned into
APScheduler triggers, and next run times computed by those triggers in the rule's own zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from storage.rule_config import (
    DailySchedule,
    IntervalSchedule,
    QuietHours,
    ScheduleShapeError,
    ScheduleSpec,
    WeeklySchedule,
    parse_schedule,
    quiet_hours_of,
)

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """A schedule that cannot be built; the message says what is wrong."""


@dataclass(frozen=True)
class Schedule:
    """A schedule in its zone. `config` is the typed `ScheduleSpec` or, from older code and
    tests, a plain mapping of the same shape; `schedule_type` says which kind it is."""

    schedule_type: str
    config: ScheduleSpec | Mapping[str, Any]
    timezone: str

    @classmethod
    def of(cls, spec: ScheduleSpec, timezone: str) -> Schedule:
        return cls(spec.kind, spec, timezone)

    @property
    def spec(self) -> ScheduleSpec:
        try:
            return parse_schedule(self.schedule_type, self.config)
        except ScheduleShapeError as exc:
            raise ScheduleError(str(exc)) from None


def parse_hhmm(value: str) -> tuple[int, int]:
    match = _TIME_RE.match(value.strip())
    if not match:
        raise ScheduleError(f"time {value!r} is not HH:MM")
    return int(match.group(1)), int(match.group(2))


def _days_expr(days: Any) -> str:
    # The seed numbers days 1 (Monday) .. 7 (Sunday).
    if not days:
        return "*"
    try:
        numbers = sorted({int(d) for d in days})
    except (TypeError, ValueError) as exc:
        raise ScheduleError("days_of_week must be numbers 1..7") from exc
    if any(n < 1 or n > 7 for n in numbers):
        raise ScheduleError("days_of_week must be numbers 1..7")
    if len(numbers) == 7:
        return "*"
    return ",".join(_CRON_DAYS[n - 1] for n in numbers)


def build_trigger(schedule: Schedule, anchor: datetime | None = None) -> BaseTrigger:
    """The APScheduler trigger of `schedule` in its own zone. An interval without a start
    date counts from `anchor` (else APScheduler would count from the real time of the call,
    which a test clock or a restart would not reproduce)."""
    zone = _zone(schedule.timezone)
    spec = schedule.spec
    if isinstance(spec, DailySchedule | WeeklySchedule):
        if not spec.times:
            raise ScheduleError("a daily or weekly schedule needs at least one time")
        days = _days_expr(spec.days_of_week)
        if isinstance(spec, WeeklySchedule) and not spec.days_of_week:
            raise ScheduleError("a weekly schedule needs days_of_week")
        triggers: list[BaseTrigger] = []
        for value in spec.times:
            hour, minute = parse_hhmm(str(value))
            triggers.append(CronTrigger(day_of_week=days, hour=hour, minute=minute, timezone=zone))
        return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)
    if isinstance(spec, IntervalSchedule):
        if spec.hours * 60 + spec.minutes < 1:
            raise ScheduleError("an interval must be at least one minute")
        try:
            start_date = datetime.fromisoformat(spec.start_date) if spec.start_date else anchor
        except ValueError as exc:
            raise ScheduleError(f"bad start_date: {exc}") from exc
        return IntervalTrigger(
            hours=spec.hours, minutes=spec.minutes, timezone=zone, start_date=start_date
        )
    expression = spec.expression.strip()
    if len(expression.split()) != 5:
        raise ScheduleError("a cron expression has five fields: minute hour day month weekday")
    try:
        return CronTrigger.from_crontab(expression, timezone=zone)
    except ValueError as exc:
        raise ScheduleError(f"bad cron expression: {exc}") from exc


def _wall(value: datetime, zone: ZoneInfo) -> tuple[int, ...]:
    local = value.astimezone(zone)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def next_run(
    schedule: Schedule, after: datetime, previous: datetime | None = None
) -> datetime | None:
    """The first fire time strictly after `after`, in UTC.

    When clocks go back, a local time such as 02:30 happens twice; a rule fires at the first
    one only. `previous` is the last fire time, used to recognise the repeat. When clocks go
    forward, a skipped local time fires at the next valid moment as APScheduler defines it:
    the same wall time shifted by the jump (02:30 → 03:30), still exactly once that day.
    """
    trigger = build_trigger(schedule, anchor=previous or after)
    zone = _zone(schedule.timezone)
    moment = after + timedelta(microseconds=1)
    last = previous
    for _ in range(1000):
        fire = trigger.get_next_fire_time(last, moment)
        if fire is None:
            return None
        fire_utc = fire.astimezone(UTC)
        if fire_utc <= after:
            moment = after + timedelta(microseconds=1)
            last = fire
            continue
        if _repeats_wall_time(fire_utc, zone) and _is_second_of_fold(fire_utc, zone):
            last = fire
            moment = fire_utc + timedelta(seconds=1)
            continue
        return fire_utc
    return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name!r}") from exc


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def resolve_wall_time(wall: datetime, zone: ZoneInfo) -> datetime:
    """A local wall time as UTC: the first of a repeated time, and for a skipped time the
    moment the clocks jumped forward."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _exists(wall, zone):
        second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        return min(first, second)
    # Inside a gap: fold=1 maps to the earlier UTC instant, just before the jump... walk to it.
    probe = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while not _exists(probe.astimezone(zone).replace(tzinfo=None), zone) or (
        probe.astimezone(zone).replace(tzinfo=None) < wall
    ):
        probe += timedelta(minutes=1)
    return probe.replace(second=0, microsecond=0)


def _repeats_wall_time(value: datetime, zone: ZoneInfo) -> bool:
    local = value.astimezone(zone).replace(tzinfo=None)
    first = local.replace(fold=0).replace(tzinfo=zone).astimezone(UTC)
    second = local.replace(fold=1).replace(tzinfo=zone).astimezone(UTC)
    return first != second


def _is_second_of_fold(value: datetime, zone: ZoneInfo) -> bool:
    local = value.astimezone(zone).replace(tzinfo=None)
    first = local.replace(fold=0).replace(tzinfo=zone).astimezone(UTC)
    second = local.replace(fold=1).replace(tzinfo=zone).astimezone(UTC)
    return first != second and value == max(first, second)


def next_runs(schedule: Schedule, after: datetime, count: int = 5) -> list[datetime]:
    runs: list[datetime] = []
    previous: datetime | None = None
    moment = after
    for _ in range(count):
        fire = next_run(schedule, moment, previous)
        if fire is None:
            break
        runs.append(fire)
        previous = fire
        moment = fire
    return runs


class TooFrequentError(ScheduleError):
    """The schedule runs more often than the operator allows (RULE_MIN_INTERVAL_MINUTES)."""

    def __init__(self, minimum_minutes: int, gap: timedelta) -> None:
        super().__init__(f"runs more often than every {minimum_minutes} minutes")
        self.minimum_minutes = minimum_minutes
        self.gap = gap


# How many fire times are looked at for the shortest gap of a cron or a times list.
_GAP_SAMPLE = 200


def shortest_gap(schedule: Schedule, now: datetime) -> timedelta | None:
    """The shortest time between two consecutive runs: exact for an interval; for a cron or a
    list of times, over its next runs (enough to cover a day of a minutely cron and a year of
    a daily one). None when it runs once or never."""
    spec = schedule.spec
    if isinstance(spec, IntervalSchedule):
        return timedelta(hours=spec.hours, minutes=spec.minutes)
    trigger = build_trigger(schedule, anchor=now)
    previous: datetime | None = None
    moment = now
    shortest: timedelta | None = None
    for _ in range(_GAP_SAMPLE):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        if previous is not None:
            gap = fire - previous
            shortest = gap if shortest is None else min(shortest, gap)
        previous = fire
        moment = fire + timedelta(microseconds=1)
    return shortest


def check_min_interval(schedule: Schedule, minimum_minutes: int, now: datetime) -> None:
    """TooFrequentError when two runs of `schedule` can come closer than `minimum_minutes`."""
    if minimum_minutes <= 0:
        return
    gap = shortest_gap(schedule, now)
    if gap is not None and gap < timedelta(minutes=minimum_minutes):
        raise TooFrequentError(minimum_minutes, gap)


def validate_schedule(schedule: Schedule, now: datetime | None = None) -> None:
    build_trigger(schedule)
    if next_run(schedule, now or datetime.now(UTC)) is None:
        raise ScheduleError("this schedule never fires")


# ---------- quiet hours ----------


def parse_quiet_hours(
    quiet: QuietHours | Mapping[str, Any] | None,
) -> tuple[time, time] | None:
    """Quiet hours 22:00–08:00 → (22:00, 08:00); none, or start equal to end → None."""
    hours = quiet_hours_of(quiet)
    if not hours.start or not hours.end:
        return None
    start = time(*parse_hhmm(hours.start))
    end = time(*parse_hhmm(hours.end))
    return None if start == end else (start, end)


def quiet_hours_end(
    moment: datetime, quiet: QuietHours | Mapping[str, Any] | None, timezone_name: str
) -> datetime | None:
    """When `moment` falls inside the quiet hours (local to `timezone_name`, possibly across
    midnight), the UTC moment they end; otherwise None."""
    window = parse_quiet_hours(quiet)
    if window is None:
        return None
    start, end = window
    zone = _zone(timezone_name)
    local = moment.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    end_day: date = local.date()
    if start < end:
        inside = start <= now < end
    else:
        inside = now >= start or now < end
        if now >= start:
            end_day = local.date() + timedelta(days=1)
    if not inside:
        return None
    resolved = resolve_wall_time(datetime.combine(end_day, end), zone)
    return resolved if resolved > moment else None
