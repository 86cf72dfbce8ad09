from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.schedule import Schedule, ScheduleError, next_run, next_runs

BERLIN = ZoneInfo("Europe/Berlin")


def daily(
    times: list[str], zone: str = "Europe/Berlin", days: list[int] | None = None
) -> Schedule:
    return Schedule("daily", {"times": times, "days_of_week": days or [1, 2, 3, 4, 5, 6, 7]}, zone)


def test_seed_rule_fires_at_1205_local_every_day() -> None:
    schedule = daily(["12:05"], "Europe/Moscow")
    runs = next_runs(schedule, datetime(2026, 12, 1, 10, 0, tzinfo=UTC), 3)
    assert [r.astimezone(ZoneInfo("Europe/Moscow")).strftime("%d %H:%M") for r in runs] == [
        "02 12:05",
        "03 12:05",
        "04 12:05",
    ]


def test_weekdays_only() -> None:
    schedule = daily(["12:05"], "UTC", days=[1, 2, 3, 4, 5])
    runs = next_runs(schedule, datetime(2026, 11, 27, 13, 0, tzinfo=UTC), 2)  # a Friday
    assert [r.weekday() for r in runs] == [0, 1]


def test_spring_forward_skipped_time_fires_at_next_valid_moment() -> None:
    runs = next_runs(daily(["02:30"]), datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    local = [r.astimezone(BERLIN) for r in runs]
    assert [d.day for d in local] == [28, 29, 30, 31]  # once per day, none skipped
    assert local[1].strftime("%H:%M") == "03:30"


def test_fall_back_ambiguous_time_fires_once() -> None:
    runs = next_runs(daily(["02:30"]), datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    local = [r.astimezone(BERLIN) for r in runs]
    assert [d.day for d in local] == [24, 25, 26, 27]
    assert all(d.strftime("%H:%M") == "02:30" for d in local)


def test_next_run_after_the_first_of_two_identical_local_times_skips_the_repeat() -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    following = next_run(daily(["02:30"]), first, first)
    assert following is not None
    assert following.astimezone(BERLIN).day == 26


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("daily", {"times": []}, "at least one time"),
        ("daily", {"times": ["25:00"]}, "not HH:MM"),
        ("daily", {"times": ["10:00"], "days_of_week": [0]}, "1..7"),
        ("interval", {"hours": 0}, "at least one minute"),
        ("cron", {"expression": "* *"}, "five fields"),
        ("cron", {"expression": "61 * * * *"}, "bad cron"),
        ("monthly", {}, "unknown schedule type"),
    ],
)
def test_bad_schedules_are_explained(kind: str, config: dict, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        next_run(Schedule(kind, config, "UTC"), datetime(2026, 1, 1, tzinfo=UTC))


def test_interval_and_cron() -> None:
    start = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    every_six = Schedule("interval", {"hours": 6, "start_date": "2026-01-01T00:00:00"}, "UTC")
    assert [r.hour for r in next_runs(every_six, start, 3)] == [6, 12, 18]
    cron = Schedule("cron", {"expression": "15 9 * * mon"}, "UTC")
    (run,) = next_runs(cron, start, 1)
    assert (run.weekday(), run.hour, run.minute) == (0, 9, 15)
