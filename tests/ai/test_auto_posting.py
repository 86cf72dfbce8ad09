"""Issue 4 acceptance: rules that run themselves, on a ManualClock, against the fake model."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.factory import create_bot
from content.ai import OpenAIGenerator
from platforms.base import PublisherRegistry
from platforms.telegram import TelegramPublisher
from services.clock import ManualClock
from storage.db import SessionFactory
from storage.models import PostStatus
from storage.rule_config import ContentConfig
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
from tests.conftest import CHANNEL_ID, USER_ID, make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from workers.auto_posting import AutoPostingWorker
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

MSK = "Europe/Moscow"


def rules_worker(
    db: Database, clock: ManualClock, generator: Any, **kwargs: Any
) -> AutoPostingWorker:
    return AutoPostingWorker(db, generator=generator, clock=clock, **kwargs)


async def test_seed_flow_2_rule_fires_at_1205_generates_and_publishes(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
    notifier: RecordingNotifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    fake_ai.reply_with(
        "**Технологии недели**\n\nКвантовые чипы и <script>alert(1)</script>новые ИИ-модели."
    )
    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target_id = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(session_factory, clock, [target_id], timezone=MSK)
    rule = await load_rule(session_factory, rule_id)
    assert rule.next_execution_at == at(MSK, 2026, 12, 1, 12, 5)

    worker = rules_worker(uow, clock, ai_generator, notifier=notifier)
    clock.set(at(MSK, 2026, 12, 1, 12, 4, 59))
    assert (await worker.run_once()).due == 0
    assert fake_ai.requests == []

    clock.set(at(MSK, 2026, 12, 1, 12, 5, 0))
    report = await worker.run_once()
    assert (report.due, report.succeeded, report.failed) == (1, 1, 0)
    assert "Создай пост о технологиях" in fake_ai.user_prompts()[0]
    assert "Russian" in fake_ai.system_prompts()[0]  # the owner's language

    (post,) = await all_posts(session_factory)
    assert (post.status, post.platform, post.scheduled_time) == (
        PostStatus.SCHEDULED,
        "telegram",
        clock.now(),
    )
    (content,) = await all_contents(session_factory)
    assert (content.prompt_tokens, content.completion_tokens) == (40, 60)
    assert content.ai_model == "fake-model"

    bot = create_bot(make_settings(telegram_api_base=fake_tg.base_url))
    try:
        registry = PublisherRegistry()
        registry.register(TelegramPublisher(bot))
        posts_worker = ScheduledPostsWorker(
            uow, registry, clock=clock, limits=RateLimits(enabled=False)
        )
        published = await posts_worker.run_once()
    finally:
        await bot.session.close()
    assert published.published == 1
    (sent,) = fake_tg.sent_to(CHANNEL_ID)
    assert sent["text"] == "<b>Технологии недели</b>\n\nКвантовые чипы и новые ИИ-модели."
    assert sent["_parse_mode"] == "HTML"

    rule = await load_rule(session_factory, rule_id)
    assert (rule.executions_count, rule.success_count, rule.failure_count) == (1, 1, 0)
    assert rule.last_error is None
    assert rule.last_executed_at == at(MSK, 2026, 12, 1, 12, 5)
    assert rule.next_execution_at == at(MSK, 2026, 12, 2, 12, 5)
    for line in (
        "Найдено 1 правил для выполнения",
        "Выполнение правила 1 'Тестовое правило'",
        "Создан контент 1 для правила 1",
        "Правило 1 успешно выполнено",
    ):
        assert line in caplog.text
    assert notifier.of("rule_failed") == []


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("timeout", 500, "did not answer in time"),
        ("status", 500, "failed (HTTP 500)"),
        ("malformed", 500, "malformed answer"),
        ("empty", 500, "empty answer"),
    ],
)
async def test_transient_generation_failure_is_recorded_and_retried_next_run(
    uow: Database,
    session_factory: SessionFactory,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
    notifier: RecordingNotifier,
    kind: str,
    status: int,
    reason: str,
) -> None:
    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target_id = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(session_factory, clock, [target_id], timezone=MSK)
    worker = rules_worker(
        uow,
        clock,
        ai_generator,
        notifier=notifier,
        retry_delay=timedelta(minutes=5),
    )
    fake_ai.fail_next(kind, status=status, delay=2.0)

    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    report = await worker.run_once()  # returns: the worker keeps running
    assert (report.failed, report.retries_armed) == (1, 1)
    rule = await load_rule(session_factory, rule_id)
    assert reason in (rule.last_error or "")
    assert (rule.executions_count, rule.failure_count, rule.success_count) == (1, 1, 0)
    assert rule.next_execution_at == at(MSK, 2026, 12, 1, 12, 10)  # the retry of 12:05
    assert rule.retry_slot_at == at(MSK, 2026, 12, 1, 12, 5)
    assert await all_posts(session_factory) == []
    ((owner, told_rule, error),) = notifier.of("rule_failed")
    assert (owner, told_rule) == (USER_ID, rule_id) and reason in error

    clock.set(at(MSK, 2026, 12, 1, 12, 10))
    report = await worker.run_once()
    assert report.succeeded == 1
    rule = await load_rule(session_factory, rule_id)
    assert (rule.executions_count, rule.failure_count, rule.success_count) == (2, 1, 1)
    assert rule.last_error is None
    assert (rule.retry_slot_at, rule.retry_attempts) == (None, 0)
    assert rule.next_execution_at == at(MSK, 2026, 12, 2, 12, 5)  # the schedule is kept
    (post,) = await all_posts(session_factory)
    assert post.status == PostStatus.SCHEDULED
    assert len(notifier.of("rule_failed")) == 1


async def test_retries_are_bounded_and_never_double_the_next_slot(
    uow: Database,
    session_factory: SessionFactory,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
    notifier: RecordingNotifier,
) -> None:
    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target_id = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(session_factory, clock, [target_id], timezone=MSK)
    worker = rules_worker(
        uow,
        clock,
        ai_generator,
        notifier=notifier,
        retry_delay=timedelta(minutes=5),
        max_retries=2,
    )
    fake_ai.fail_next("status", status=503, times=10)
    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    await worker.run_once()
    retry_times = []
    for _ in range(5):
        rule = await load_rule(session_factory, rule_id)
        assert rule.next_execution_at is not None
        if rule.next_execution_at >= at(MSK, 2026, 12, 2, 0, 0):
            break
        retry_times.append(rule.next_execution_at)
        clock.set(rule.next_execution_at)
        await worker.run_once()
    # 5 then 10 minutes later (doubling), then the regular schedule.
    assert retry_times == [at(MSK, 2026, 12, 1, 12, 10), at(MSK, 2026, 12, 1, 12, 20)]
    rule = await load_rule(session_factory, rule_id)
    assert rule.next_execution_at == at(MSK, 2026, 12, 2, 12, 5)
    assert (rule.failure_count, rule.executions_count, rule.retry_attempts) == (3, 3, 0)
    # Told of the first failure and of giving up, not of every retry.
    assert len(notifier.of("rule_failed")) == 2


@pytest.mark.parametrize("status", [401, 400])
async def test_permanent_generation_failure_keeps_schedule_without_retry(
    uow: Database,
    session_factory: SessionFactory,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
    notifier: RecordingNotifier,
    status: int,
) -> None:
    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target_id = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(session_factory, clock, [target_id], timezone=MSK)
    worker = rules_worker(uow, clock, ai_generator, notifier=notifier)
    fake_ai.fail_next("status", status=status)
    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    report = await worker.run_once()
    assert (report.failed, report.retries_armed) == (1, 0)
    rule = await load_rule(session_factory, rule_id)
    assert rule.next_execution_at == at(MSK, 2026, 12, 2, 12, 5)
    assert f"HTTP {status}" in (rule.last_error or "")
    assert "sk-test-secret" not in (rule.last_error or "")
    assert len(notifier.of("rule_failed")) == 1


async def test_two_workers_run_a_due_rule_once(
    uow: Database,
    session_factory: SessionFactory,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
) -> None:
    import asyncio

    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target_id = await seed_user_and_channel(session_factory, timezone=MSK)
    rule_id = await create_rule(session_factory, clock, [target_id], timezone=MSK)
    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    first = rules_worker(uow, clock, ai_generator)
    second = rules_worker(uow, clock, ai_generator)
    reports = await asyncio.gather(first.run_once(), second.run_once())
    assert sum(r.executed for r in reports) == 1
    assert len(await all_posts(session_factory)) == 1
    assert (await load_rule(session_factory, rule_id)).executions_count == 1


async def test_no_ai_configured_fails_with_a_clear_reason_and_fixed_text_still_works(
    uow: Database, session_factory: SessionFactory, notifier: RecordingNotifier
) -> None:
    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target_id = await seed_user_and_channel(session_factory, timezone=MSK)
    ai_rule = await create_rule(session_factory, clock, [target_id], timezone=MSK)
    text_rule = await create_rule(
        session_factory,
        clock,
        [target_id],
        timezone=MSK,
        name="Plain",
        content=ContentConfig(text="<b>Good morning</b>"),
    )
    worker = AutoPostingWorker(uow, clock=clock, notifier=notifier)
    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    report = await worker.run_once()
    assert (report.succeeded, report.failed, report.retries_armed) == (1, 1, 0)
    assert "AI is not configured" in ((await load_rule(session_factory, ai_rule)).last_error or "")
    (post,) = await all_posts(session_factory)
    assert post.rule_id == text_rule
    (content,) = await all_contents(session_factory)
    assert content.text == "<b>Good morning</b>"


async def test_worker_survives_a_rule_with_a_broken_schedule(
    uow: Database, session_factory: SessionFactory, ai_generator: OpenAIGenerator
) -> None:
    from sqlalchemy import update

    from storage.models import AutoPostingRule

    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    target_id = await seed_user_and_channel(session_factory, timezone=MSK)
    broken = await create_rule(session_factory, clock, [target_id], timezone=MSK)
    good = await create_rule(session_factory, clock, [target_id], timezone=MSK, name="Good")
    async with session_factory() as session, session.begin():
        await session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == broken)
            .values(schedule_config={"times": ["25:99"]})
        )
    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    report = await rules_worker(uow, clock, ai_generator).run_once()
    assert report.succeeded == 1
    assert (await load_rule(session_factory, good)).success_count == 1
    assert "schedule error" in ((await load_rule(session_factory, broken)).last_error or "")


def test_clock_helper_is_aware() -> None:
    assert at(MSK, 2026, 1, 1).utcoffset() == timedelta(hours=3)
    assert datetime(2026, 1, 1, tzinfo=UTC) == at("UTC", 2026, 1, 1)


async def test_one_text_per_platform_each_fitted_to_its_platform(
    uow: Database,
    session_factory: SessionFactory,
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
) -> None:
    from storage.repositories import TargetRepository

    clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
    telegram = await seed_user_and_channel(session_factory, timezone=MSK)
    async with session_factory() as session, session.begin():
        x = await TargetRepository(session).link(USER_ID, "x", "42", "Anna on X", "anna")
        x_id = x.id
    await create_rule(
        session_factory,
        clock,
        [telegram, x_id],
        timezone=MSK,
        content=ContentConfig(description="Технологии", x_thread=True),
    )
    long_answer = "<b>Заголовок</b> " + "Квантовые компьютеры становятся ближе. " * 20
    fake_ai.reply_with(long_answer, long_answer)
    clock.set(at(MSK, 2026, 12, 1, 12, 5))
    report = await rules_worker(uow, clock, ai_generator).run_once()
    assert report.succeeded == 1
    tg_content, x_content = await all_contents(session_factory)
    assert tg_content.text.startswith("<b>Заголовок</b>")
    assert "<b>" not in x_content.text and x_content.text.startswith("Заголовок")
    posts = await all_posts(session_factory)
    assert [(p.platform, p.content_id, p.options) for p in posts] == [
        ("telegram", tg_content.id, {}),
        ("x", x_content.id, {"x_thread": True}),
    ]
    systems = fake_ai.system_prompts()
    assert "Telegram" in systems[0] and "thread for X" in systems[1]
