"""Issue 11, "Rules are unbounded": a minimum interval (refused in the dialog with the reason
and by the service on save), a maximum of rules per user, a default daily cap changeable
within bounds, fixed texts that must vary from run to run, and the per-user daily AI quota."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.factory import App
from content.generator import UnavailableGenerator
from services.clock import ManualClock
from services.quota import AiQuota, AiQuotaExceeded
from services.rules import RuleBounds, RuleDraft, RuleError, RuleService, make_rule_posts
from storage.db import SessionFactory
from storage.models import Content
from storage.rule_config import (
    ContentConfig,
    CronSchedule,
    DailySchedule,
    IntervalSchedule,
)
from storage.uow import Database
from tests.ai.chat import Chat
from tests.ai.helpers import SEED_RULE, at, create_rule, seed_user_and_channel
from tests.conftest import USER_ID
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from workers.auto_posting import AutoPostingWorker

MSK = "Europe/Moscow"
ADMIN_ID = 999


@pytest.fixture
def chat_clock(ai_clock: ManualClock) -> ManualClock:
    return ai_clock


def service(session_factory: SessionFactory, clock: ManualClock, **bounds: Any) -> RuleService:
    db = Database(session_factory.kw["bind"])
    return RuleService(db, clock, bounds=RuleBounds(exempt=frozenset({ADMIN_ID}), **bounds))


def draft(target_id: int, **values: Any) -> RuleDraft:
    return SEED_RULE.model_copy(update={"target_ids": (target_id,), "timezone": MSK, **values})


# ---------- the dialog ----------


async def test_every_minute_cron_is_refused_in_the_dialog_with_the_reason(
    running: App, fake_tg: FakeTelegram
) -> None:
    await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    chat = Chat(fake_tg, USER_ID)
    listing = await chat.say("/rules", "No rules yet")
    step = await chat.tap(listing, "New rule", "Step 1 of 5")
    step = await chat.say("Spam", "Step 2 of 5")
    step = await chat.tap(step, "Cron", "cron expression")
    await chat.say("* * * * *", "runs more often than every 15 minutes")
    await chat.expect("cron expression")  # the same step again
    await chat.say("*/15 * * * *", "Step 3 of 5")


async def test_times_too_close_together_are_refused_in_the_dialog(
    running: App, fake_tg: FakeTelegram
) -> None:
    await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    chat = Chat(fake_tg, USER_ID)
    listing = await chat.say("/rules", "No rules yet")
    step = await chat.tap(listing, "New rule", "Step 1 of 5")
    step = await chat.say("Twice", "Step 2 of 5")
    step = await chat.tap(step, "Daily", "At what time?")
    await chat.say("09:00, 09:05", "runs more often than every 15 minutes")
    await chat.say("09:00, 18:00", "On which days?")


async def test_the_rule_limit_is_told_before_the_dialog_starts(
    running: App, fake_tg: FakeTelegram
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    rules = running.services.rules
    assert rules.bounds is not None and rules.bounds.max_rules_per_user == 20
    for number in range(20):
        await rules.create(USER_ID, draft(target, name=f"Rule {number}"))
    chat = Chat(fake_tg, USER_ID)
    listing = await chat.say("/rules", "Rule 0")
    alert = await chat.tap_data(listing, fake_tg.find_button(listing, "New rule"))
    assert "You already have 20 rules" in alert


# ---------- the service ----------


async def test_the_service_refuses_a_too_frequent_schedule_on_save(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    target = await seed_user_and_channel(session_factory)
    rules = service(session_factory, clock)
    for schedule in (
        CronSchedule(expression="* * * * *"),
        CronSchedule(expression="0,5 9 * * *"),
        IntervalSchedule(minutes=10),
        DailySchedule(times=("09:00", "09:10")),
    ):
        with pytest.raises(RuleError) as refused:
            await rules.create(USER_ID, draft(target, schedule=schedule))
        assert (refused.value.code, refused.value.detail) == ("too_frequent", "15")
    assert await rules.count(USER_ID) == 0
    # Every 15 minutes is allowed; an exempt admin may run a rule every minute.
    await rules.create(USER_ID, draft(target, schedule=CronSchedule(expression="*/15 * * * *")))
    admin_target = await seed_user_and_channel(session_factory, user_id=ADMIN_ID, channel_id=-5)
    every_minute = draft(admin_target, schedule=CronSchedule(expression="* * * * *"))
    await rules.create(ADMIN_ID, every_minute)


async def test_at_most_so_many_rules_per_user(session_factory: SessionFactory) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    target = await seed_user_and_channel(session_factory)
    rules = service(session_factory, clock, max_rules_per_user=2)
    await rules.create(USER_ID, draft(target))
    await rules.create(USER_ID, draft(target))
    with pytest.raises(RuleError) as refused:
        await rules.create(USER_ID, draft(target))
    assert (refused.value.code, refused.value.detail) == ("too_many_rules", "2")
    with pytest.raises(RuleError):
        await rules.check_room(USER_ID)
    assert await rules.count(USER_ID) == 2


async def test_a_new_rule_gets_the_default_daily_cap_changeable_within_bounds(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    target = await seed_user_and_channel(session_factory)
    rules = service(session_factory, clock, default_daily_cap=10, max_daily_cap=48)
    rule = await rules.create(USER_ID, draft(target))
    assert rule.daily_cap == 10
    assert rules.new_draft(USER_ID).daily_cap == 10
    changed = await rules.update(USER_ID, rule.id, draft(target, daily_cap=3))
    assert changed.daily_cap == 3
    with pytest.raises(RuleError) as refused:
        await rules.update(USER_ID, rule.id, draft(target, daily_cap=49))
    assert (refused.value.code, refused.value.detail) == ("bad_daily_cap", "48")


async def test_a_fixed_text_must_vary_from_run_to_run(session_factory: SessionFactory) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    target = await seed_user_and_channel(session_factory)
    rules = service(session_factory, clock)
    same_words = ContentConfig(kind="text", text="Good morning!")
    with pytest.raises(RuleError) as refused:
        await rules.create(USER_ID, draft(target, content=same_words))
    assert (refused.value.code, refused.value.detail) == ("fixed_text_repeats", "{date}")

    dated = ContentConfig(kind="text", text="Good morning! {date}")
    rule = await rules.create(USER_ID, draft(target, content=dated))
    assert rule.content_config.timezone == MSK
    # Twice a day: the date alone would repeat; the time is needed too.
    twice = DailySchedule(times=("09:00", "18:00"))
    with pytest.raises(RuleError) as refused:
        await rules.create(USER_ID, draft(target, content=dated, schedule=twice))
    assert refused.value.detail == "{time}"
    both = ContentConfig(kind="text", text="Good morning! {date} {time}")
    await rules.create(USER_ID, draft(target, content=both, schedule=twice))

    # Each run fills them in, in the rule's zone: two runs never post the same words.
    runs = [datetime(2026, 12, 1, 21, 30, tzinfo=UTC), datetime(2026, 12, 2, 21, 30, tzinfo=UTC)]
    texts = []
    for moment in runs:
        output = await make_rule_posts(
            UnavailableGenerator(), rule.content_config, ["telegram"], "en", moment=moment
        )
        texts.append(output.texts[0].generated.text)
    # 00:30 in Moscow is already the next day there.
    assert texts == ["Good morning! 2026-12-02", "Good morning! 2026-12-03"]


# ---------- the AI quota ----------


async def test_the_ai_quota_counts_before_the_call_and_resets_at_local_midnight(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 20, 59, tzinfo=UTC))  # 23:59 in Moscow
    await seed_user_and_channel(session_factory, timezone=MSK)
    db = Database(session_factory.kw["bind"])
    quota = AiQuota(db, clock, per_user=2, admin_ids=frozenset({ADMIN_ID}))
    await quota.spend(USER_ID)
    await quota.spend(USER_ID)
    with pytest.raises(AiQuotaExceeded) as refused:
        await quota.spend(USER_ID)
    assert refused.value.limit == 2 and refused.value.timezone == MSK
    assert refused.value.resets_at == datetime(2026, 12, 1, 21, tzinfo=UTC)  # Moscow midnight
    assert (await quota.usage(USER_ID)).used == 2
    clock.advance(minutes=1)
    await quota.spend(USER_ID)  # a new day in Moscow
    assert (await quota.usage(USER_ID)).used == 1
    for _ in range(5):
        await quota.spend(ADMIN_ID)  # admins are exempt
    await AiQuota(db, clock, per_user=0).spend(USER_ID)  # 0: unlimited


async def test_try_it_stops_at_the_quota_with_when_it_resets(
    running: App, fake_tg: FakeTelegram, fake_ai: FakeOpenAI
) -> None:
    await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    target_rule = await running.services.rules.create(
        USER_ID,
        draft(
            (await running.services.targets.list(USER_ID))[0].id,
        ),
    )
    quota = running.services.ai_quota
    assert quota.per_user == 30
    for _ in range(30):
        await quota.spend(USER_ID)
    chat = Chat(fake_tg, USER_ID)
    view = await chat.say("/rules", target_rule.name)
    view = await chat.tap(view, target_rule.name, "Next run")
    await chat.tap(view, "Try it", "You have used all 30 AI requests for today")
    last = fake_tg.last_bot_message(USER_ID)["text"]
    assert "More are available from 2026-12-02 00:00 (Europe/Moscow)" in last
    assert fake_ai.requests == []  # the model was not called


async def test_approval_regenerate_spends_the_quota_and_stops_at_it(
    running: App, fake_ai: FakeOpenAI, ai_clock: ManualClock
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    await create_rule(
        running.session_factory, ai_clock, [target], timezone=MSK, approval_required=True
    )
    rules = AutoPostingWorker(running.db, generator=running.generator, clock=ai_clock)
    ai_clock.set(at(MSK, 2026, 12, 1, 12, 5))
    fake_ai.reply_with("The rule's first draft.")
    await rules.run_once()  # a rule run: not counted in the owner's quota
    async with running.session_factory() as session:
        content = (await session.scalars(select(Content))).one()
    quota = running.services.ai_quota
    assert (await quota.usage(USER_ID)).used == 0
    fake_ai.reply_with("A new take.")
    await running.services.approvals.regenerate(USER_ID, content.id, running.generator)
    assert (await quota.usage(USER_ID)).used == 1
    for _ in range(29):
        await quota.spend(USER_ID)
    calls = len(fake_ai.requests)
    with pytest.raises(AiQuotaExceeded):
        await running.services.approvals.regenerate(USER_ID, content.id, running.generator)
    assert len(fake_ai.requests) == calls
