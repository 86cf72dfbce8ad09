"""Alerts reach ADMIN_IDS in Telegram: a worker failing runs in a row, publishing late,
a target that starts failing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.notifier import TelegramNotifier
from handlers.i18n import create_i18n
from services.clock import ManualClock
from storage.db import SessionFactory, create_engine
from storage.models import PostStatus
from storage.uow import Database
from tests.fakes.telegram import FakeTelegram, Fault
from tests.reliability.support import make_worker, seed_posts, statuses
from workers.runner import WorkerRunner

ADMIN = 999


def admin_texts(fake_tg: FakeTelegram) -> list[str]:
    return [m.get("text", "") for m in fake_tg.sent_to(ADMIN)]


async def test_worker_failing_three_runs_in_a_row_alerts_admins_once(
    fake_tg: FakeTelegram, bot: Bot, clock: ManualClock, tmp_path: Path
) -> None:
    # A database without its tables: every run fails.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    notifier = TelegramNotifier(bot, Database(engine), create_i18n("en"), [ADMIN], clock=clock)
    runner = WorkerRunner(
        make_worker(Database(engine), bot, clock),
        60,
        AsyncIOScheduler(timezone="UTC"),
        clock=clock,
        notifier=notifier,
        alert_after_failures=3,
    )
    try:
        for _ in range(2):
            await runner.run()
        assert admin_texts(fake_tg) == []
        await runner.run()
        await runner.run()
    finally:
        await engine.dispose()

    (alert,) = admin_texts(fake_tg)
    assert "ScheduledPostsWorker: 3 failed runs in a row" in alert
    assert "no such table" in alert
    assert runner.stats.consecutive_failures == 4


async def test_lateness_over_the_threshold_alerts_admins_with_a_cooldown(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    worker = make_worker(uow, bot, clock, lateness_alert_seconds=60)
    await seed_posts(
        session_factory, 1, channels=1, due=clock.now() - timedelta(seconds=30), fake_tg=fake_tg
    )
    await worker.run_once()
    assert admin_texts(fake_tg) == []  # 30 s late: under the threshold

    await seed_posts(
        session_factory,
        2,
        channels=1,
        due=clock.now() - timedelta(seconds=90),
        fake_tg=fake_tg,
        channel_offset=1,
        prefix="late",
    )
    await worker.run_once()
    (alert,) = admin_texts(fake_tg)
    assert "publishing is late" in alert
    assert "2 post(s)" in alert and "90 s after they were due" in alert

    clock.advance(60)
    await seed_posts(
        session_factory,
        1,
        channels=1,
        due=clock.now() - timedelta(seconds=120),
        fake_tg=fake_tg,
        channel_offset=2,
        prefix="later",
    )
    await worker.run_once()
    assert len(admin_texts(fake_tg)) == 1  # one alert per cooldown (15 min), not per post


async def test_target_that_starts_failing_alerts_admins_once(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    seeded = await seed_posts(session_factory, 2, channels=1, due=clock.now(), fake_tg=fake_tg)
    fake_tg.fail_next(
        "sendMessage",
        Fault(403, "Forbidden: bot was kicked from the channel chat"),
        Fault(403, "Forbidden: bot was kicked from the channel chat"),
    )
    worker = make_worker(uow, bot, clock)
    await worker.run_once()

    assert set((await statuses(session_factory)).values()) == {PostStatus.FAILED}
    alerts = [t for t in admin_texts(fake_tg) if "fails" in t]
    assert len(alerts) == 1
    assert "Target 1 (Channel 0)" in alerts[0] and "kicked" in alerts[0]
    assert len(seeded.post_ids) == 2
