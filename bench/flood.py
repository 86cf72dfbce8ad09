"""A flooding user must not starve the others or the workers (issue "Many people at once").

The whole bot runs as `python -m bot` runs it (create_app, both workers in its event loop,
real long polling) on a SQLite file, against the fake Bot API on 127.0.0.1. Two runs, one
after the other, measured the same way:

- baseline: another user sends /help every 0.25 s while a post is due every second;
- flood: the same, and one user presses a button 300 times at once at the start.

Reported: the other user's reply time (injection → the bot's answer reaching the fake),
p50/p99/max, the lateness of the due posts (p50/p99), and how many presses were dropped.
Goal: reply p99 ≤ 1 s during the flood, lateness p99 unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.factory import App, create_app
from bot.settings import Settings
from services.clock import SystemClock
from storage.db import create_engine, create_session_factory, upgrade_database
from storage.models import PostStatus, ScheduledPost
from tests.conftest import TEST_TOKEN, make_settings, polling
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import seed_posts

FLOODER = 301
OTHER = 302
OWNER = 111
HELP_ROUNDS = 24
PRESSES = 300


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@contextlib.asynccontextmanager
async def running_bot(folder: Path, name: str) -> AsyncIterator[tuple[App, FakeTelegram, Any]]:
    fake = FakeTelegram(TEST_TOKEN)
    await fake.start()
    fake.add_user(OWNER, "Anna")
    fake.add_user(FLOODER, "Flood")
    fake.add_user(OTHER, "Other")
    url = f"sqlite+aiosqlite:///{folder / name}"
    await upgrade_database(url)
    engine = create_engine(url)
    settings = make_settings(
        database_url=url,
        telegram_api_base=fake.base_url,
        scheduled_posts_interval=60,
        auto_posting_interval=60,
        # The production fairness settings (the test suite's settings turn the throttle off).
        throttle_rate=Settings.model_fields["throttle_rate"].default,
        throttle_burst=Settings.model_fields["throttle_burst"].default,
    )
    app = create_app(settings, clock=SystemClock(), engine=engine)
    try:
        async with polling(app):
            yield app, fake, create_session_factory(engine)
    finally:
        await engine.dispose()
        await fake.stop()


async def _reply_times(fake: FakeTelegram, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        before = len(fake.sent_to(OTHER))
        started = time.monotonic()
        fake.user_message(OTHER, "/help")
        await fake.wait_for(
            lambda before=before: len(fake.sent_to(OTHER)) > before, 30, "an answer to /help"
        )
        times.append(time.monotonic() - started)
        await asyncio.sleep(0.25)
    return times


async def one_run(folder: Path, name: str, flood: bool) -> dict[str, Any]:
    async with running_bot(folder, f"{name}.db") as (app, fake, factory):
        # Warm up: both users known, the flooder holds a real button to press.
        fake.user_message(FLOODER, "/start")
        fake.user_message(OTHER, "/start")
        await fake.wait_for(lambda: fake.sent_to(FLOODER) and fake.sent_to(OTHER), 30, "/start")
        menu = fake.last_bot_message(FLOODER)
        button = fake.find_button(menu, "")
        start = datetime.now(UTC) + timedelta(seconds=2)
        posts = HELP_ROUNDS // 3
        await seed_posts(
            factory,
            posts,
            channels=posts,
            due=start,
            spread=timedelta(seconds=posts - 1),
            owner_id=OWNER,
            fake_tg=fake,
        )
        app.waker.wake_posts()
        await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() - 0.5))
        if flood:
            for _ in range(PRESSES):
                fake.press(FLOODER, menu, button)
        replies = await _reply_times(fake, HELP_ROUNDS)
        deadline = time.monotonic() + 60
        rows: list[Any] = []
        while time.monotonic() < deadline:
            async with factory() as session:
                rows = list(
                    (
                        await session.execute(
                            select(ScheduledPost.scheduled_time, ScheduledPost.published_at).where(
                                ScheduledPost.status == PostStatus.PUBLISHED
                            )
                        )
                    ).all()
                )
            if len(rows) == posts:
                break
            await asyncio.sleep(0.5)
        late = [(p - s).total_seconds() for s, p in rows]
        answered_presses = len(fake.calls_to("answerCallbackQuery"))
    return {
        "name": name,
        "reply_p50": pct(replies, 50),
        "reply_p99": pct(replies, 99),
        "reply_max": max(replies),
        "published": len(late),
        "posts": posts,
        "late_p50": pct(late, 50),
        "late_p99": pct(late, 99),
        "answered_presses": answered_presses,
    }


async def bench_flood(folder: Path, quick: bool, report: list[str]) -> None:
    print("a flooding user beside another user and due posts...", flush=True)
    baseline = await one_run(folder, "flood-baseline", flood=False)
    flooded = await one_run(folder, "flood-300", flood=True)
    report += [
        "### One user floods 300 presses: another user's /help and due posts",
        "",
        "Whole bot (both workers, real polling) on SQLite; the other user sends /help every "
        "0.25 s; a post is due every second. Same run, same measurements.",
        "",
        "| run | /help reply p50 | p99 | max | posts published | lateness p50 | p99 | "
        "presses answered |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in (baseline, flooded):
        report.append(
            f"| {r['name']} | {r['reply_p50'] * 1000:.0f} ms | {r['reply_p99'] * 1000:.0f} ms | "
            f"{r['reply_max'] * 1000:.0f} ms | {r['published']}/{r['posts']} | "
            f"{r['late_p50'] * 1000:.0f} ms | {r['late_p99'] * 1000:.0f} ms | "
            f"{r['answered_presses']} |"
        )
    verdict = "met" if flooded["reply_p99"] <= 1.0 else "NOT met"
    report += [
        "",
        f"Goal (reply p99 ≤ 1 s during the flood): {verdict}. Lateness p99 "
        f"{baseline['late_p99'] * 1000:.0f} ms without the flood, "
        f"{flooded['late_p99'] * 1000:.0f} ms with it.",
        "",
    ]
