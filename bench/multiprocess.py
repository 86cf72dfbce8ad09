"""Multi-process section of the benchmarks (issue 14): the same burst published by one
workers-only process, and by three of which one is SIGKILLed mid-burst and started again,
on PostgreSQL, against the fake Bot API enforcing Telegram's limits (30 messages/s per bot,
20 per minute per channel, 429 with retry_after past them).

`python -m bench multiprocess` (TEST_DATABASE_URL must point at PostgreSQL; REDIS_URL adds a
third run with the limiter in Redis). BENCH_MP_POSTS / BENCH_MP_CHANNELS set the size
(default 2,000 posts over 40 channels, --quick 600 over 40)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from storage.db import create_engine, create_session_factory, upgrade_database
from storage.models import PostStatus, ScheduledPost
from tests.conftest import TEST_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import (
    BotProcess,
    delivered_texts,
    enforced_limits_env,
    seed_posts,
    start_worker_process,
    stop_processes,
    wait_healthy,
)

Report = list[str]


def minimum_time(posts: int, channels: int, per_second: float, per_minute: int) -> float:
    """The least time Telegram's limits allow between the first and the last send: sends
    paced at `per_second`, each channel at most `per_minute` in any 60 s, greedily."""
    left = collections.Counter(
        {c: posts // channels + (c < posts % channels) for c in range(channels)}
    )
    history: dict[int, list[float]] = {c: [] for c in range(channels)}
    now, last = 0.0, 0.0
    pace = 1.0 / per_second
    while left:
        ready = [
            c
            for c in left
            if len(history[c]) < per_minute or history[c][-per_minute] + 60.0 <= now + 1e-9
        ]
        if not ready:
            now = min(history[c][-per_minute] + 60.0 for c in left)
            continue
        channel = min(ready, key=lambda c: (len(history[c]), c))
        history[channel].append(now)
        last = now
        left[channel] -= 1
        if not left[channel]:
            del left[channel]
        now += pace
    return last


@contextlib.asynccontextmanager
async def pg_schema(base: str) -> AsyncIterator[str]:
    from tests.conftest import _drop_pg_schema, _pg_schema_url, pg_url_with_schema

    schema, dsn = await _pg_schema_url(base)
    url = pg_url_with_schema(base, schema)
    try:
        await upgrade_database(url)
        yield url
    finally:
        await _drop_pg_schema(dsn, schema)


async def _run(
    base: str,
    folder: Path,
    name: str,
    *,
    posts: int,
    channels: int,
    processes: int,
    kill: bool,
    extra_env: dict[str, str],
) -> dict[str, Any]:
    fake = FakeTelegram(TEST_TOKEN)
    await fake.start()
    fake.add_user(999, "Admin")
    env = {
        **enforced_limits_env(fake, per_second=30, per_channel_per_minute=20),
        "TELEGRAM_HOURLY_CAP": "0",
        # A killed process's claimed posts that were never sent come back at lease expiry.
        "PUBLISH_LEASE_SECONDS": "15",
        "LOG_LEVEL": "ERROR",
        **extra_env,
    }
    workdir = folder / name
    running: list[BotProcess] = []
    try:
        async with pg_schema(base) as url:
            engine = create_engine(url)
            factory = create_session_factory(engine)
            try:
                running = [
                    start_worker_process(url, fake, workdir, f"w{i}", **env)
                    for i in range(processes)
                ]
                await wait_healthy(running, within=300)
                seeded = await seed_posts(
                    factory, posts, channels=channels, due=datetime.now(UTC), fake_tg=fake
                )
                killed = False
                deadline = time.monotonic() + posts / 10 + 300
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    if kill and not killed and len(fake.send_log) >= posts // 4:
                        os.kill(running[0].process.pid, signal.SIGKILL)
                        running[0].process.wait()
                        running[0] = start_worker_process(url, fake, workdir, "restarted", **env)
                        killed = True
                    async with factory() as session:
                        open_posts = await session.scalar(
                            select(func.count())
                            .select_from(ScheduledPost)
                            .where(
                                ScheduledPost.status.in_(
                                    [PostStatus.SCHEDULED, PostStatus.PUBLISHING]
                                )
                            )
                        )
                    if open_posts == 0:
                        break
                async with factory() as session:
                    rows = (
                        await session.execute(
                            select(ScheduledPost.status, func.count()).group_by(
                                ScheduledPost.status
                            )
                        )
                    ).all()
                counts = {str(status): int(n) for status, n in rows}
            finally:
                await stop_processes(running)
                await engine.dispose()
    finally:
        await fake.stop()
    delivered = delivered_texts(fake)
    sends = sorted(t for t, _chat in fake.channel_log)
    return {
        "name": name,
        "published": counts.get(PostStatus.PUBLISHED, 0),
        "failed": counts.get(PostStatus.FAILED, 0),
        "unknown": counts.get(PostStatus.UNKNOWN, 0),
        "open": counts.get(PostStatus.SCHEDULED, 0) + counts.get(PostStatus.PUBLISHING, 0),
        "duplicates": sum(n - 1 for n in delivered.values() if n > 1),
        "lost": sum(1 for text in seeded.texts.values() if text not in delivered),
        "429": fake.too_many_requests,
        "sends": len(sends),
        "span": sends[-1] - sends[0] if len(sends) > 1 else float("nan"),
        "busiest_second": fake.busiest(1.0),
        "busiest_channel_minute": max(
            (fake.busiest(60.0, chat) for chat in fake.channels), default=0
        ),
    }


async def bench_multiprocess(folder: Path, quick: bool, report: Report) -> None:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        report += ["### Multi-process: skipped (TEST_DATABASE_URL is not set)", ""]
        return
    posts = int(os.environ.get("BENCH_MP_POSTS", 600 if quick else 2000))
    channels = int(os.environ.get("BENCH_MP_CHANNELS", 40))
    floor = minimum_time(posts, channels, 30.0, 20)
    runs: list[tuple[str, dict[str, Any]]] = []
    plans: list[tuple[str, int, bool, dict[str, str]]] = [
        ("1 process", 1, False, {"RATE_LIMIT_BACKEND": "database"}),
        (
            "3 processes, one SIGKILLed and restarted (limits in PostgreSQL)",
            3,
            True,
            {"RATE_LIMIT_BACKEND": "database"},
        ),
    ]
    redis = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    if redis:
        plans.append(
            (
                "3 processes, one SIGKILLed and restarted (limits in Redis)",
                3,
                True,
                {"RATE_LIMIT_BACKEND": "redis", "REDIS_URL": redis},
            )
        )
    for index, (label, count, kill, extra) in enumerate(plans):
        print(f"multiprocess: {label}, {posts} posts over {channels} channels...", flush=True)
        result = await _run(
            base,
            folder,
            f"mp{index}",
            posts=posts,
            channels=channels,
            processes=count,
            kill=kill,
            extra_env=extra,
        )
        runs.append((label, result))
    single_rate = runs[0][1]["sends"] / runs[0][1]["span"] if runs[0][1]["span"] else 0.0
    report += [
        f"### Multi-process: {posts} posts due at once over {channels} channels, PostgreSQL",
        "",
        "Workers-only processes (`python -m bot --mode workers`) against the fake Bot API",
        "enforcing 30 messages/s per bot and 20/min per channel (429 with retry_after past",
        "them); defaults otherwise, PUBLISH_LEASE_SECONDS=15. The kill comes after a quarter",
        f"of the sends. Telegram's limits allow no less than {floor:.1f} s first→last.",
        "",
        "| run | published | failed | unknown | duplicates / lost | 429s | first→last send "
        "| vs minimum | rate vs 1 process | busiest 1 s | busiest channel minute |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in runs:
        rate = r["sends"] / r["span"] if r["span"] else 0.0
        share = f"{r['429'] / max(1, r['sends'] + r['429']) * 100:.2f} %"
        report.append(
            f"| {label} | {r['published']} | {r['failed']} | {r['unknown']} "
            f"| {r['duplicates']} / {r['lost']} | {r['429']} ({share}) | {r['span']:.1f} s "
            f"| {r['span'] / floor * 100 - 100:+.1f} % | {rate / single_rate:.2f}× "
            f"| {r['busiest_second']} | {r['busiest_channel_minute']} |"
        )
    report.append("")
