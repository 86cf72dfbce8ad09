"""Issue 4 acceptance 2 (DST) and the guardrails: quiet hours, near-duplicates, daily cap,
monthly token budget."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from content.ai import OpenAIGenerator
from content.generator import UnavailableGenerator
from services.clock import ManualClock
from storage.db import SessionFactory
from storage.rule_config import (
    ALL_DAYS,
    ContentConfig,
    DailySchedule,
    IntervalSchedule,
    QuietHours,
)
from storage.uow import Database
from tests.ai.conftest import RecordingNotifier
from tests.ai.helpers import (
    all_contents,
    all_posts,
    at,
    create_rule,
    load_rule,
    seed_user_and_channel,
)
from tests.fakes.openai_server import FakeOpenAI
from workers.auto_posting import AutoPostingWorker

BERLIN = "Europe/Berlin"
MSK = "Europe/Moscow"


async def simulate(
    worker: AutoPostingWorker,
    session_factory: SessionFactory,
    clock: ManualClock,
    rule_id: int,
    end: datetime,
    step: timedelta = timedelta(minutes=30),
) -> None:
    """Drive the worker as the runner would: a poll every `step`, plus a wake-up at the
    rule's next execution time (a little late, as real wake-ups are)."""
    while clock.now() < end:
        due = (await load_rule(session_factory, rule_id)).next_execution_at
        tick = clock.now() + step
        clock.set(due + timedelta(seconds=20) if due and due < tick else tick)
        await worker.run_once()


@pytest.mark.parametrize(
    ("start", "end", "change_day", "fired_at"),
    [
        # Spring forward: 02:30 does not exist on 29 March; it fires once, shifted by the
        # jump (APScheduler's next valid moment).
        (
            datetime(2026, 3, 26, 12, tzinfo=UTC),
            datetime(2026, 4, 1, 6, tzinfo=UTC),
            "2026-03-29",
            "03:30",
        ),
        # Fall back: 02:30 happens twice on 25 October; it fires at the first one only.
        (
            datetime(2026, 10, 22, 12, tzinfo=UTC),
            datetime(2026, 10, 28, 6, tzinfo=UTC),
            "2026-10-25",
            "02:30",
        ),
    ],
)
async def test_daily_0230_in_berlin_fires_exactly_once_per_day_across_dst(
    uow: Database,
    session_factory: SessionFactory,
    start: datetime,
    end: datetime,
    change_day: str,
    fired_at: str,
) -> None:
    clock = ManualClock(start)
    target = await seed_user_and_channel(session_factory, timezone=BERLIN)
    rule_id = await create_rule(
        session_factory,
        clock,
        [target],
        timezone=BERLIN,
        schedule=DailySchedule(times=("02:30",), days_of_week=ALL_DAYS),
        content=ContentConfig(text="Guten Morgen"),
    )
    worker = AutoPostingWorker(uow, generator=UnavailableGenerator(), clock=clock)
    await simulate(worker, session_factory, clock, rule_id, end)

    zone = ZoneInfo(BERLIN)
    local = [p.scheduled_time.astimezone(zone) for p in await all_posts(session_factory)]
    per_day = Counter(moment.strftime("%Y-%m-%d") for moment in local)
    assert len(per_day) == 6 and set(per_day.values()) == {1}, per_day
    assert change_day in per_day
    (on_change,) = [m for m in local if m.strftime("%Y-%m-%d") == change_day]
    assert on_change.strftime("%H:%M") == fired_at
    other = {m.strftime("%H:%M") for m in local if m.strftime("%Y-%m-%d") != change_day}
    assert other == {"02:30"}
    rule = await load_rule(session_factory, rule_id)
    assert (rule.executions_count, rule.success_count, rule.failure_count) == (6, 6, 0)


async def test_quiet_hours_postpone_a_run_to_their_end(
    uow: Database, session_factory: SessionFactory
) -> None:
    clock = ManualClock(at(MSK, 2026, 12, 1, 20, 0))
    target = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(
        session_factory,
        clock,
        [target],
        timezone=MSK,
        schedule=DailySchedule(times=("23:00",)),
        content=ContentConfig(text="Night owl"),
        quiet_hours=QuietHours(start="22:00", end="08:00"),
    )
    worker = AutoPostingWorker(uow, clock=clock)
    clock.set(at(MSK, 2026, 12, 1, 23, 0))
    report = await worker.run_once()
    assert (report.postponed, report.executed) == (1, 0)
    assert await all_posts(session_factory) == []
    rule = await load_rule(session_factory, rule_id)
    assert rule.next_execution_at == at(MSK, 2026, 12, 2, 8, 0)
    assert rule.executions_count == 0

    clock.set(at(MSK, 2026, 12, 2, 8, 0))
    assert (await worker.run_once()).succeeded == 1
    (post,) = await all_posts(session_factory)
    assert post.scheduled_time == at(MSK, 2026, 12, 2, 8, 0)
    assert (await load_rule(session_factory, rule_id)).next_execution_at == at(
        MSK, 2026, 12, 2, 23, 0
    )


SAME = "<b>Rust 2.0</b> ships a new borrow checker with much better error messages for everyone."


async def test_near_duplicate_is_regenerated_once_then_flagged_and_not_published(
    uow: Database,
    session_factory: SessionFactory,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
    notifier: RecordingNotifier,
) -> None:
    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(session_factory, clock, [target], timezone=MSK)
    worker = AutoPostingWorker(uow, generator=ai_generator, clock=clock, notifier=notifier)
    fake_ai.reply_with(
        SAME,
        SAME.replace("everyone", "everybody"),
        SAME,
        SAME,
        "Gardens on Mars: what grows in regolith and why it matters.",
    )
    # Day 1: new text.
    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    assert (await worker.run_once()).succeeded == 1
    # Day 2: a repeat, then a repeat again: flagged, saved, not published.
    clock.set(at(MSK, 2026, 12, 2, 12, 5))
    report = await worker.run_once()
    assert (report.succeeded, report.failed) == (0, 1)
    assert "Write something clearly different" in fake_ai.user_prompts()[2]
    assert "Rust 2.0" in fake_ai.user_prompts()[2]
    contents = await all_contents(session_factory)
    assert contents[-1].variants["flag"] == "near_duplicate"
    assert (contents[-1].prompt_tokens, contents[-1].completion_tokens) == (80, 120)
    assert len(await all_posts(session_factory)) == 1
    rule = await load_rule(session_factory, rule_id)
    assert "repeats a recent post" in (rule.last_error or "")
    assert "repeats a recent one" in notifier.of("rule_failed")[0][2]
    # Day 3: a repeat, then something new: published, tokens of both counted.
    clock.set(at(MSK, 2026, 12, 3, 12, 5))
    assert (await worker.run_once()).succeeded == 1
    posts = await all_posts(session_factory)
    assert len(posts) == 2
    newest = (await all_contents(session_factory))[-1]
    assert "Gardens on Mars" in newest.text and newest.prompt_tokens == 80


async def test_daily_cap_limits_posts_per_local_day(
    uow: Database, session_factory: SessionFactory, ai_generator: OpenAIGenerator
) -> None:
    clock = ManualClock(at(MSK, 2026, 12, 1, 0, 0))
    target = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(
        session_factory,
        clock,
        [target],
        timezone=MSK,
        schedule=IntervalSchedule(hours=3),
        daily_cap=2,
    )
    worker = AutoPostingWorker(uow, generator=ai_generator, clock=clock)
    await simulate(worker, session_factory, clock, rule_id, at(MSK, 2026, 12, 2, 22, 0))
    zone = ZoneInfo(MSK)
    per_day = Counter(
        p.scheduled_time.astimezone(zone).strftime("%m-%d")
        for p in await all_posts(session_factory)
    )
    assert per_day == {"12-01": 2, "12-02": 2}
    local = sorted(p.scheduled_time.astimezone(zone) for p in await all_posts(session_factory))
    # Every 3 hours from the rule's creation at midnight; the rest of each day is capped.
    assert [t.strftime("%d %H:%M") for t in local] == [
        "01 03:00",
        "01 06:00",
        "02 00:00",
        "02 03:00",
    ]


async def test_monthly_token_budget_stops_generation_and_tells_the_owner_once(
    uow: Database,
    session_factory: SessionFactory,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
    notifier: RecordingNotifier,
) -> None:
    clock = ManualClock(at(MSK, 2026, 11, 28, 12, 0))
    target = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(
        session_factory, clock, [target], timezone=MSK, monthly_token_budget=150
    )
    worker = AutoPostingWorker(uow, generator=ai_generator, clock=clock, notifier=notifier)
    outcomes = []
    for day in (28, 29, 30):
        clock.set(at(MSK, 2026, 11, day, 12, 5))
        report = await worker.run_once()
        outcomes.append((report.succeeded, report.failed))
    assert outcomes == [(1, 0), (1, 0), (0, 1)]  # 100, 200 tokens used; then over budget
    assert len(fake_ai.requests) == 2
    clock.set(at(MSK, 2026, 12, 1, 12, 5))  # a new month in the rule's zone
    assert (await worker.run_once()).succeeded == 1
    rule = await load_rule(session_factory, rule_id)
    assert (rule.success_count, rule.failure_count) == (3, 1)
    (told,) = notifier.of("rule_failed")
    assert "monthly token budget used up (200 of 150 tokens)" in told[2]
