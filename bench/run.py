"""All benchmarks of the publishing pipeline, in one run: `python -m bench [--quick]`.

Everything talks to the fake Bot API (tests/fakes/telegram.py) on 127.0.0.1, which enforces
Telegram's limits (30 messages/s per bot, 20/min per channel) and answers 429 past them.
Results are printed as Markdown and written to bench/results/latest.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.cards import bench_cards  # noqa: E402
from bench.charts import bench_charts  # noqa: E402
from bench.flood import bench_flood  # noqa: E402
from bench.multiprocess import bench_multiprocess  # noqa: E402
from bench.soak import bench_soak  # noqa: E402
from bench.startup import bench_startup  # noqa: E402
from platforms.base import PublisherRegistry, PublishRequest, PublishResult  # noqa: E402
from services.clock import SystemClock  # noqa: E402
from storage.db import (  # noqa: E402
    create_engine,
    create_session_factory,
    upgrade_database,
)
from storage.models import PostStatus, ScheduledPost  # noqa: E402
from storage.repositories import PostRepository  # noqa: E402
from storage.uow import Database  # noqa: E402
from tests.conftest import TEST_TOKEN  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.reliability.support import (  # noqa: E402
    make_bot,
    make_worker,
    seed_posts,
)
from workers.policy import RetryPolicy  # noqa: E402
from workers.runner import WorkerGroup, WorkerRunner  # noqa: E402
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker  # noqa: E402

Report = list[str]
_MIGRATING = asyncio.Lock()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextlib.asynccontextmanager
async def sqlite_db(folder: Path, name: str) -> AsyncIterator[tuple[Any, Database]]:
    """A migrated SQLite file: a plain session factory for seeding and checking, and the
    units of work the worker runs on."""
    url = f"sqlite+aiosqlite:///{folder / name}"
    # Alembic keeps its migration context in module globals: one migration at a time.
    async with _MIGRATING:
        await upgrade_database(url)
    engine = create_engine(url)
    try:
        yield create_session_factory(engine), Database(engine)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(TEST_TOKEN)
    await fake.start()
    fake.add_user(111, "Anna")
    fake.add_user(999, "Admin")
    fake.global_limit_per_second = 30
    fake.flood_limit_per_minute = 20
    try:
        yield fake
    finally:
        await fake.stop()


# ---------------------------------------------------------------- lateness


async def _lateness_run(
    folder: Path, name: str, precise: bool, posts: int, spread: float, channels: int
) -> dict[str, Any]:
    async with fake_telegram() as fake, sqlite_db(folder, f"{name}.db") as (factory, db):
        bot = make_bot(fake.base_url)
        clock = SystemClock()
        start = datetime.now(UTC) + timedelta(seconds=5)
        await seed_posts(
            factory,
            posts,
            channels=channels,
            due=start,
            spread=timedelta(seconds=spread),
            fake_tg=fake,
        )
        scheduler = AsyncIOScheduler(timezone="UTC")
        worker = make_worker(db, bot, clock, limits=RateLimits())
        group = WorkerGroup(
            scheduler, [WorkerRunner(worker, 60, scheduler, clock=clock, precise=precise)]
        )
        group.start()
        try:
            deadline = time.monotonic() + spread + 200
            while time.monotonic() < deadline:
                await asyncio.sleep(1)
                async with factory() as session:
                    done = await session.scalar(
                        select(text("count(*)"))
                        .select_from(ScheduledPost)
                        .where(ScheduledPost.status == PostStatus.PUBLISHED)
                    )
                if done == posts:
                    break
        finally:
            group.shutdown()
            await bot.session.close()
        async with factory() as session:
            rows = (
                await session.execute(
                    select(ScheduledPost.scheduled_time, ScheduledPost.published_at)
                )
            ).all()
    late = [(p - s).total_seconds() for s, p in rows if p is not None]
    return {
        "name": name,
        "published": len(late),
        "p50": pct(late, 50),
        "p99": pct(late, 99),
        "max": max(late) if late else float("nan"),
        "429": fake.too_many_requests,
    }


async def bench_lateness(folder: Path, quick: bool, report: Report) -> None:
    posts, spread, channels = (200, 30.0, 20) if quick else (1000, 120.0, 100)
    print(f"lateness: {posts} posts over {spread:.0f} s, {channels} channels...", flush=True)
    ours, seed = await asyncio.gather(
        _lateness_run(folder, "ours", True, posts, spread, channels),
        _lateness_run(folder, "seed", False, posts, spread, channels),
    )
    report += [
        f"### Lateness: {posts} posts spread over {spread:.0f} s across {channels} channels",
        "",
        "Real time, no scaling. Both pipelines run side by side in one process, each with its",
        "own fake Bot API (Telegram's limits enforced) and SQLite file. *Lateness* = the moment",
        "the publication's answer was stored minus the scheduled time.",
        "",
        "| design | published | p50 | p99 | max | 429s |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in (
        ("ours: 60 s poll + one-off wake-up at the next due time", ours),
        ("seed: 60 s poll, no wake-up", seed),
    ):
        report.append(
            f"| {label} | {r['published']} | {r['p50']:.3f} s | {r['p99']:.3f} s "
            f"| {r['max']:.3f} s | {r['429']} |"
        )
    report.append("")


# ---------------------------------------------------------------- burst


async def bench_burst(folder: Path, quick: bool, report: Report) -> None:
    posts, channels = (2000, 100) if quick else (10000, 500)
    print(f"burst: {posts} posts due at once over {channels} channels...", flush=True)
    async with fake_telegram() as fake, sqlite_db(folder, "burst.db") as (factory, db):
        bot = make_bot(fake.base_url)
        clock = SystemClock()
        await seed_posts(factory, posts, channels=channels, due=datetime.now(UTC), fake_tg=fake)
        scheduler = AsyncIOScheduler(timezone="UTC")
        worker = make_worker(db, bot, clock, limits=RateLimits())
        group = WorkerGroup(scheduler, [WorkerRunner(worker, 60, scheduler, clock=clock)])
        group.start()
        try:
            for _ in range(posts // 10):
                if len(fake.channel_log) >= posts:
                    break
                await asyncio.sleep(1)
        finally:
            group.shutdown()
            await bot.session.close()
        sends = sorted(t for t, _chat in fake.channel_log)
        async with factory() as session:
            published = await session.scalar(
                select(text("count(*)"))
                .select_from(ScheduledPost)
                .where(ScheduledPost.status == PostStatus.PUBLISHED)
            )
    span = sends[-1] - sends[0] if len(sends) > 1 else float("nan")
    rate = (len(sends) - 1) / span if span else float("nan")
    windows = _per_second(sends)
    report += [
        f"### Burst: {posts} posts due at once over {channels} channels, Telegram's limits",
        "",
        "The fake Bot API enforces 30 messages/s per bot (sliding 1 s window) and 20/min per",
        "channel and answers 429 past them. Default worker settings (TELEGRAM_GLOBAL_RATE=30).",
        "",
        "| posts published | first→last send | achieved rate | of 30/s | 429s | busiest 1 s |",
        "|---|---|---|---|---|---|",
        f"| {published} | {span:.1f} s | {rate:.2f}/s | {rate / 30 * 100:.1f} % "
        f"| {fake.too_many_requests} | {max(windows) if windows else 0} |",
        "",
    ]


def _per_second(times: list[float]) -> list[int]:
    counts: list[int] = []
    start = 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        counts.append(end - start + 1)
    return counts


# ---------------------------------------------------------------- pipeline


class NoOpPublisher:
    platform = "telegram"

    async def publish(self, request: PublishRequest) -> PublishResult:
        return PublishResult(external_id=str(request.post_id))


async def _pipeline(factory: Any, db: Database, posts: int) -> tuple[float, int]:
    await seed_posts(factory, posts, channels=50, due=datetime.now(UTC))
    registry = PublisherRegistry()
    registry.register(NoOpPublisher())
    worker = ScheduledPostsWorker(
        db,
        registry,
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(),
        batch_size=500,
        concurrency=64,
    )
    started = time.perf_counter()
    published = 0
    while published < posts:
        report = await worker.run_once()
        published += report.published
        if not report.claimed:
            break
    return time.perf_counter() - started, published


async def bench_pipeline(folder: Path, quick: bool, report: Report) -> None:
    posts = 2000 if quick else 10000
    print(f"pipeline: {posts} posts, no-op publisher...", flush=True)
    rows = []
    async with sqlite_db(folder, "pipeline.db") as (factory, db):
        elapsed, published = await _pipeline(factory, db, posts)
    rows.append(("SQLite (WAL, file)", elapsed, published))
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        from tests.conftest import _drop_pg_schema, _pg_schema_url, pg_url_with_schema

        schema, dsn = await _pg_schema_url(pg)
        url = pg_url_with_schema(pg, schema)
        try:
            await upgrade_database(url)
            engine = create_engine(url)
            try:
                elapsed, published = await _pipeline(
                    create_session_factory(engine), Database(engine), posts
                )
            finally:
                await engine.dispose()
            rows.append(("PostgreSQL (127.0.0.1)", elapsed, published))
        finally:
            await _drop_pg_schema(dsn, schema)
    report += [
        f"### Pipeline: {posts} due posts, no-op publisher, limits off",
        "",
        "Claim → publish → record (attempt row, status, message id) with the real worker and",
        "database; only the platform call is a no-op. One process, one event loop.",
        "",
        "| database | posts | time | rate |",
        "|---|---|---|---|",
    ]
    for name, elapsed, published in rows:
        report.append(f"| {name} | {published} | {elapsed:.2f} s | {published / elapsed:.0f}/s |")
    report.append("")


# ---------------------------------------------------------------- due query


def _fill(path: Path, rows: int, due_rows: int) -> None:
    now = datetime.now(UTC)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        "INSERT INTO users (id, language, timezone, role, created_at) "
        "VALUES (1, 'en', 'UTC', 'user', ?)",
        (now.isoformat(),),
    )
    conn.execute(
        "INSERT INTO targets (id, owner_id, platform, external_id, title, status, "
        "settings, created_at) VALUES (1, 1, 'telegram', '-1001', 'c', 'active', '{}', ?)",
        (now.isoformat(),),
    )
    conn.execute(
        "INSERT INTO contents (id, owner_id, text, media, source, prompt_tokens, "
        "completion_tokens, variants, created_at) VALUES "
        "(1, 1, 'x', '[]', 'manual', 0, 0, '{}', ?)",
        (now.isoformat(),),
    )

    def fmt(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def generate() -> Any:
        for i in range(rows):
            if i < due_rows:
                status, when = "scheduled", now - timedelta(seconds=i)
            elif i % 10 == 0:
                status, when = "scheduled", now + timedelta(minutes=1 + i % 100000)
            else:
                status, when = "published", now - timedelta(minutes=i % 500000)
            yield (1, 1, 1, "telegram", fmt(when), fmt(when), status, 0, "{}", fmt(now), fmt(now))

    conn.executemany(
        "INSERT INTO scheduled_posts (content_id, target_id, owner_id, platform, "
        "scheduled_time, due_at, status, attempts, options, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        generate(),
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def bench_due_query(folder: Path, quick: bool, report: Report) -> None:
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    report += [
        "### Due-post query time",
        "",
        "`scheduled_posts` filled with 90 % published history, 10 % scheduled in the future and",
        "100 rows due; SQLite file, WAL, through SQLAlchemy + aiosqlite as the worker runs it.",
        "Median and p99 of 200 runs each. *claim* is the whole claiming UPDATE ... RETURNING of",
        "up to 200 rows (rolled back after each run); *next due* is the wake-up query.",
        "",
        "| rows | due SELECT p50 | p99 | claim p50 | p99 | next due p50 | count due p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        print(f"due query: {size} rows...", flush=True)
        path = folder / f"due_{size}.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_database(url)
        await asyncio.to_thread(_fill, path, size, 100)
        engine = create_engine(url)
        factory = create_session_factory(engine)
        now = datetime.now(UTC) + timedelta(seconds=1)
        timings: dict[str, list[float]] = {"select": [], "claim": [], "next": [], "count": []}
        candidates = (
            select(ScheduledPost.id)
            .where(ScheduledPost.status == PostStatus.SCHEDULED, ScheduledPost.due_at <= now)
            .order_by(ScheduledPost.due_at, ScheduledPost.id)
            .limit(200)
        )
        try:
            for _ in range(200):
                async with factory() as session:
                    t0 = time.perf_counter()
                    found = (await session.execute(candidates)).all()
                    timings["select"].append(time.perf_counter() - t0)
                    assert len(found) == 100
                    t0 = time.perf_counter()
                    await PostRepository(session).next_due_at()
                    timings["next"].append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    await PostRepository(session).count_due(now)
                    timings["count"].append(time.perf_counter() - t0)
                async with factory() as session:
                    transaction = await session.begin()
                    t0 = time.perf_counter()
                    claimed = await PostRepository(session).claim_due(
                        now, "bench", timedelta(seconds=60), 200
                    )
                    timings["claim"].append(time.perf_counter() - t0)
                    assert len(claimed) == 100
                    await transaction.rollback()
        finally:
            await engine.dispose()
        ms = {k: [v * 1000 for v in vs] for k, vs in timings.items()}
        report.append(
            f"| {size:,} | {pct(ms['select'], 50):.2f} ms | {pct(ms['select'], 99):.2f} ms "
            f"| {pct(ms['claim'], 50):.2f} ms | {pct(ms['claim'], 99):.2f} ms "
            f"| {pct(ms['next'], 50):.2f} ms | {pct(ms['count'], 50):.2f} ms |"
        )
        path.unlink(missing_ok=True)
    report.append("")


# ---------------------------------------------------------------- main

SECTIONS = {
    "lateness": bench_lateness,
    "burst": bench_burst,
    "pipeline": bench_pipeline,
    "query": bench_due_query,
    "startup": bench_startup,
    "flood": bench_flood,
    "multiprocess": bench_multiprocess,
    "cards": bench_cards,
    "charts": bench_charts,
    "soak": bench_soak,
}


async def run(selected: list[str], quick: bool) -> str:
    report: Report = [
        f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC" + (" (--quick)" if quick else ""),
        "",
        f"- Machine: {platform.node()}, {os.cpu_count()} cores, {_cpu()}, "
        f"{_memory()}, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        "",
    ]
    folder = Path(tempfile.mkdtemp(prefix="curator-bench-"))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    try:
        for name in selected:
            done = len(report)
            try:
                await SECTIONS[name](folder, quick, report)
            except Exception as exc:  # one broken section must not lose the others
                report += [f"### {name}: failed ({type(exc).__name__}: {exc})", ""]
            print("\n".join(report[done:]), flush=True)
            (out / "latest.md").write_text("\n".join(report) + "\n")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return "\n".join(report)


def _cpu() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    return "unknown RAM"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], default=[])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    selected = args.sections or list(SECTIONS)
    import logging

    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(selected, args.quick))


if __name__ == "__main__":
    main()
