"""Shared set-up for the reliability tests: seeded databases, workers wired to the fake
Bot API, and workers-only bot processes."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import func, insert, select

from bot.notifier import TelegramNotifier
from handlers.i18n import create_i18n
from platforms.base import PublisherRegistry
from platforms.telegram import TelegramPublisher
from services.clock import Clock
from storage.db import SessionFactory
from storage.models import (
    Content,
    PostStatus,
    PublishAttempt,
    ScheduledPost,
    Target,
    User,
)
from storage.uow import Database
from tests.conftest import TEST_TOKEN, USER_ID
from tests.fakes.telegram import FakeTelegram
from workers.policy import RetryPolicy
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRST_CHANNEL = -1001000000000


def channel_id(index: int) -> int:
    return FIRST_CHANNEL - index


@dataclass
class Seeded:
    target_ids: list[int]
    post_ids: list[int]
    texts: dict[int, str]  # post id -> text


async def seed_posts(
    session_factory: SessionFactory,
    count: int,
    *,
    channels: int = 10,
    due: datetime,
    spread: timedelta = timedelta(0),
    owner_id: int = USER_ID,
    fake_tg: FakeTelegram | None = None,
    hourly_cap: int | None = None,
    prefix: str = "post",
    channel_offset: int = 0,
) -> Seeded:
    """`count` posts, round-robin over `channels` Telegram channels, due from `due` evenly
    over `spread`. Channels are also created at the fake server when one is given."""
    async with session_factory() as session:
        known = await session.get(User, owner_id) is not None
    # The writing transaction starts with a write (SQLite: see storage/db.py).
    async with session_factory() as session, session.begin():
        if not known:
            session.add(User(id=owner_id, first_name="Anna", language="en"))
            await session.flush()
        target_ids = []
        for index in range(channel_offset, channel_offset + channels):
            target = Target(
                owner_id=owner_id,
                platform="telegram",
                external_id=str(channel_id(index)),
                title=f"Channel {index}",
                hourly_cap=hourly_cap,
            )
            session.add(target)
            await session.flush()
            target_ids.append(target.id)
            if fake_tg is not None:
                fake_tg.add_channel(channel_id(index), f"Channel {index}", owner=owner_id)
        texts = [f"{prefix}-{i}" for i in range(count)]
        if not texts:
            return Seeded(target_ids, [], {})
        content_ids = list(
            (
                await session.scalars(
                    insert(Content).returning(Content.id),
                    [{"owner_id": owner_id, "text": t, "media": []} for t in texts],
                )
            ).all()
        )
        step = spread / count if count else timedelta(0)
        rows = []
        for i, content_id in enumerate(content_ids):
            when = due + step * i
            rows.append(
                {
                    "content_id": content_id,
                    "target_id": target_ids[i % channels],
                    "owner_id": owner_id,
                    "platform": "telegram",
                    "scheduled_time": when,
                    "due_at": when,
                    "status": PostStatus.SCHEDULED,
                    "attempts": 0,
                    "options": {},
                }
            )
        post_ids = list(
            (await session.scalars(insert(ScheduledPost).returning(ScheduledPost.id), rows)).all()
        )
    # RETURNING with executemany keeps the order of the parameters.
    return Seeded(target_ids, post_ids, dict(zip(post_ids, texts, strict=True)))


async def statuses(session_factory: SessionFactory) -> dict[int, str]:
    async with session_factory() as session:
        rows = await session.execute(select(ScheduledPost.id, ScheduledPost.status))
        return {row[0]: row[1] for row in rows.all()}


async def status_counts(session_factory: SessionFactory) -> dict[str, int]:
    async with session_factory() as session:
        rows = await session.execute(
            select(ScheduledPost.status, func.count()).group_by(ScheduledPost.status)
        )
        return {row[0]: int(row[1]) for row in rows.all()}


async def attempts(session_factory: SessionFactory, post_id: int) -> list[PublishAttempt]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(PublishAttempt)
            .where(PublishAttempt.post_id == post_id)
            .order_by(PublishAttempt.id)
        )
        return list(rows.all())


def delivered_texts(fake_tg: FakeTelegram) -> collections.Counter[str]:
    """How many times each text reached a channel at the fake Bot API."""
    counter: collections.Counter[str] = collections.Counter()
    for chat_id, messages in fake_tg.messages.items():
        if chat_id in fake_tg.channels:
            counter.update(m.get("text", "") for m in messages)
    return counter


def make_bot(base_url: str, timeout: float = 30.0) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url), timeout=timeout)
    return Bot(TEST_TOKEN, session=session)


def make_worker(
    db: Database,
    bot: Bot,
    clock: Clock,
    *,
    limits: RateLimits | None = None,
    retry: RetryPolicy | None = None,
    publish_timeout: float = 30.0,
    admin_ids: Iterable[int] = (999,),
    **kwargs: Any,
) -> ScheduledPostsWorker:
    """The production worker, publishing through the real TelegramPublisher and telling
    owners through the real TelegramNotifier, both over HTTP to the fake Bot API."""
    registry = PublisherRegistry()
    registry.register(TelegramPublisher(bot, timeout=publish_timeout))
    notifier = TelegramNotifier(bot, db, create_i18n("en"), admin_ids, clock=clock)
    return ScheduledPostsWorker(
        db,
        registry,
        clock=clock,
        notifier=notifier,
        retry=retry or RetryPolicy(max_attempts=3, base_delay=30.0, jitter=0.0),
        limits=limits or RateLimits(enabled=False),
        **kwargs,
    )


def posts_in_questions(fake_tg: FakeTelegram, owner_id: int = USER_ID) -> set[int]:
    """The posts the owner was asked about: a decision message names its post; a grouped
    notice (a burst sent as one message by the notification outbox, with a button to the
    list) names each of its posts, or says how many more there are."""
    import re

    asked: set[int] = set()
    for message in decision_messages(fake_tg, owner_id):
        asked.add(int(message["text"].split("#", 1)[1].split(" ", 1)[0]))
    for message in fake_tg.sent_to(owner_id):
        text = str(message.get("text", ""))
        if "need your attention" in text:
            asked |= {int(found) for found in re.findall(r"#(\d+)", text)}
    return asked


def decision_messages(fake_tg: FakeTelegram, owner_id: int = USER_ID) -> list[dict[str, Any]]:
    """Messages to the owner that carry the Retry / Mark published / Cancel buttons."""
    found = []
    for message in fake_tg.sent_to(owner_id):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        labels = " ".join(b.get("text", "") for row in rows for b in row)
        if "Retry" in labels and "Mark published" in labels and "Cancel" in labels:
            found.append(message)
    return found


# ---------- workers-only bot processes ----------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    process: subprocess.Popen[bytes]
    health_port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_worker_process(
    database_url: str, fake_tg: FakeTelegram, workdir: Path, name: str, **env: str
) -> BotProcess:
    """`python -m bot --mode workers`, configured only through its environment."""
    port = free_port()
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TEST_DATABASE"))
    }
    environment.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "BOT_TOKEN": TEST_TOKEN,
            "DATABASE_URL": database_url,
            "TELEGRAM_API_BASE": fake_tg.base_url,
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(port),
            "LOG_FILE": "",
            "LOG_LEVEL": os.environ.get("RELIABILITY_LOG_LEVEL", "WARNING"),
            "ADMIN_IDS": "999",
            "SCHEDULED_POSTS_INTERVAL": "1",
            # Limits off: this is about exactly-once, not pacing.
            "TELEGRAM_GLOBAL_RATE": "100000",
            "TELEGRAM_CHANNEL_PER_MINUTE": "100000",
            "TELEGRAM_HOURLY_CAP": "0",
        }
    )
    environment.update(env)
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--mode", "workers"],
            cwd=workdir,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return BotProcess(process, port, log_path)


async def wait_healthy(processes: list[BotProcess], within: float = 180.0) -> None:
    # Generous: on a busy machine one start (imports, migrations) takes tens of seconds.
    import aiohttp

    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as client:
        for proc in processes:
            while True:
                if proc.process.poll() is not None:
                    raise AssertionError(f"worker process exited early:\n{proc.log()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with client.get(
                        f"http://127.0.0.1:{proc.health_port}/health/workers"
                    ) as response:
                        body = await response.json()
                        stats = body.get("scheduled_posts_worker", {})
                        if stats.get("last_success"):
                            break
                if time.monotonic() > deadline:
                    raise AssertionError(f"worker process not ready:\n{proc.log()}")
                await asyncio.sleep(0.2)


async def stop_processes(processes: list[BotProcess]) -> None:
    for proc in processes:
        if proc.process.poll() is None:
            proc.process.send_signal(signal.SIGTERM)
    for proc in processes:
        for _ in range(100):
            if proc.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait()


@contextlib.asynccontextmanager
async def worker_processes(
    database_url: str, fake_tg: FakeTelegram, workdir: Path, count: int, **env: str
) -> AsyncIterator[list[BotProcess]]:
    processes = [
        start_worker_process(database_url, fake_tg, workdir, f"worker{i}", **env)
        for i in range(count)
    ]
    try:
        await wait_healthy(processes)
        yield processes
    finally:
        await stop_processes(processes)


async def wait_until_settled(
    session_factory: SessionFactory, total: int, within: float = 60.0
) -> dict[str, int]:
    """Until no post is scheduled or publishing any more."""
    deadline = time.monotonic() + within
    while True:
        counts = await status_counts(session_factory)
        open_posts = counts.get(PostStatus.SCHEDULED, 0) + counts.get(PostStatus.PUBLISHING, 0)
        if open_posts == 0 and sum(counts.values()) == total:
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"posts did not settle: {counts}")
        await asyncio.sleep(0.2)


def enforced_limits_env(
    fake_tg: FakeTelegram, *, per_second: int = 30, per_channel_per_minute: int = 20
) -> dict[str, str]:
    """The fake enforces Telegram's limits (429 with retry_after past them) and the worker
    processes are configured with the same ones: the bot's shared limiter must keep every
    process under them together."""
    fake_tg.global_limit_per_second = per_second
    fake_tg.flood_limit_per_minute = per_channel_per_minute
    return {
        "TELEGRAM_GLOBAL_RATE": str(per_second),
        "TELEGRAM_CHANNEL_PER_MINUTE": str(per_channel_per_minute),
        "TELEGRAM_HOURLY_CAP": "0",
        # Every test its own keys in a shared Redis (or database).
        "RATE_LIMIT_NAMESPACE": f"t{uuid.uuid4().hex[:12]}",
    }


async def redis_url_or_skip() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.ping()
    except Exception:
        import pytest

        pytest.skip(f"Redis is not reachable at {url}")
    finally:
        await client.aclose()
    return url


def utcnow() -> datetime:
    return datetime.now(UTC)
