"""/health, /health/workers and /metrics over HTTP, as Docker and Prometheus see them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.health import create_health_app, start_health_server
from services.clock import ManualClock
from storage.db import SessionFactory
from storage.uow import Database
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import free_port, make_worker, seed_posts
from workers.runner import WorkerGroup, WorkerRunner


@pytest.fixture
async def served(
    uow: Database, bot: Bot, clock: ManualClock
) -> AsyncIterator[tuple[str, WorkerGroup]]:
    scheduler = AsyncIOScheduler(timezone="UTC")
    runner = WorkerRunner(make_worker(uow, bot, clock), 60, scheduler, clock=clock)
    group = WorkerGroup(scheduler, [runner])
    runner.stats.is_running = True
    runner.stats.started_at = datetime.now(UTC)
    port = free_port()
    server = await start_health_server(create_health_app(group.stats), "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}", group
    finally:
        await server.cleanup()


async def _get(url: str) -> tuple[int, str, dict | None]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        text = await response.text()
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, text, body


async def test_health_workers_reports_each_worker_and_turns_503_after_three_intervals(
    served: tuple[str, WorkerGroup],
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    clock: ManualClock,
) -> None:
    base, group = served
    runner = group.runners[0]
    await seed_posts(session_factory, 2, channels=1, due=clock.now(), fake_tg=fake_tg)
    await runner.run()

    status, _text, body = await _get(f"{base}/health/workers")
    assert status == 200
    assert body is not None
    stats = body["scheduled_posts_worker"]
    assert stats["is_running"] is True
    assert stats["processed"] == 2
    assert stats["failed"] == 0
    assert stats["last_run"] and stats["last_success"]
    assert stats["last_duration_seconds"] is not None
    assert "next_run" in stats
    assert (await _get(f"{base}/health"))[0] == 200

    # No success for more than three intervals (60 s each): unhealthy.
    runner.stats.last_success = datetime.now(UTC) - timedelta(seconds=3 * 60 + 10)
    status, _text, body = await _get(f"{base}/health/workers")
    assert status == 503
    assert body is not None and body["scheduled_posts_worker"]["healthy"] is False
    assert (await _get(f"{base}/health"))[0] == 503

    runner.stats.last_success = datetime.now(UTC) - timedelta(seconds=2 * 60)
    assert (await _get(f"{base}/health/workers"))[0] == 200


async def test_metrics_in_prometheus_format(
    served: tuple[str, WorkerGroup],
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    clock: ManualClock,
) -> None:
    base, group = served
    await seed_posts(session_factory, 1, channels=1, due=clock.now(), fake_tg=fake_tg)
    await group.runners[0].run()

    status, text, _body = await _get(f"{base}/metrics")
    assert status == 200
    assert 'curator_posts_total{outcome="published",platform="telegram"}' in text
    assert 'curator_worker_run_seconds_bucket{le="0.005",worker="ScheduledPostsWorker"}' in text
    assert "curator_queue_depth 0.0" in text
    assert 'curator_publish_lateness_seconds_bucket{le="1.0",platform="telegram"}' in text
