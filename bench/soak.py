"""Soak: does one process publishing for a long time stay flat in memory? (issue 14)

The bot's workers run as a workers-only process runs them (create_app + start_workers: the
posts worker, the rules worker and the notifications drainer on one scheduler, on a SQLite
file), in this process; the fake Bot API runs in a *child* process, so that what it records
(every call, every message) is not counted. Posts arrive in bursts of `burst` posts over
`channels` channels; the next burst is seeded once the previous one is published.

Reported: RSS after the first burst (1,000 posts), at the end, the ratio, and the slope over
the second half (least squares over the per-burst samples, in KiB per 1,000 posts). Goal: end
≤ 1.05 × RSS after the first 1,000, and flat over the second half.

`--trace` (or SOAK_TRACE=1) also compares tracemalloc snapshots and gc object counts between
the end of the second burst and the end, to name what grows (slower: tracemalloc costs)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import time
import tracemalloc
from collections import Counter, deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent

FIRST_CHANNEL = -1002000000000
OWNER = 111


def rss_kib() -> int:
    return _status("VmRSS")


def _arenas() -> str:
    """Python's small-object arenas in use (256 KiB each, from sys._debugmallocstats): many
    more arenas than live blocks need is fragmentation, not a leak."""
    import re
    import tempfile

    # It writes to the C stderr: catch file descriptor 2 for the moment.
    with tempfile.TemporaryFile("w+") as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read()
    match = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", text)
    return match.group(1) if match else "?"


def _sqlite_kib() -> float:
    """What the SQLite library holds (page caches, statements), from sqlite3_memory_used."""
    import ctypes

    try:
        library = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        return float("nan")
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return float(library.sqlite3_memory_used()) / 1024


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else float("nan")


# ---------- the fake Bot API, in a child process ----------

_CHILD = """
import asyncio, os, sys
sys.path.insert(0, {root!r})
from tests.conftest import TEST_TOKEN
from tests.fakes.telegram import FakeTelegram

async def main():
    fake = FakeTelegram(TEST_TOKEN)
    await fake.start()
    fake.add_user({owner}, "Anna")
    fake.add_user(999, "Admin")
    for i in range({channels}):
        fake.add_channel({first} - i, f"Channel {{i}}", owner={owner})
    print(fake.port, flush=True)
    parent = os.getppid()
    tick = 0
    while os.getppid() == parent:  # the parent is gone (killed): so is this server
        await asyncio.sleep(1)
        tick += 1
        if tick % 30 == 0:
            # What it recorded is not under test: keep the child small too.
            fake.calls.clear(); fake.messages.clear(); fake.channel_log.clear()

asyncio.run(main())
"""


@contextlib.contextmanager
def fake_in_child(channels: int) -> Any:
    code = _CHILD.format(root=str(ROOT), owner=OWNER, channels=channels, first=FIRST_CHANNEL)
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline().decode().strip())
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(5)
        if child.poll() is None:
            child.kill()
            child.wait()


# ---------- seeding ----------


async def seed_targets(factory: Any, channels: int) -> list[int]:
    from storage.models import Target, User

    async with factory() as session, session.begin():
        session.add(User(id=OWNER, first_name="Anna", language="en"))
        await session.flush()
        ids = []
        for i in range(channels):
            target = Target(
                owner_id=OWNER,
                platform="telegram",
                external_id=str(FIRST_CHANNEL - i),
                title=f"Channel {i}",
            )
            session.add(target)
            await session.flush()
            ids.append(target.id)
    return ids


async def seed_burst(factory: Any, targets: list[int], count: int, offset: int) -> None:
    from sqlalchemy import insert

    from storage.models import Content, PostStatus, ScheduledPost

    now = datetime.now(UTC)
    async with factory() as session, session.begin():
        content_ids = list(
            (
                await session.scalars(
                    insert(Content).returning(Content.id),
                    [
                        {"owner_id": OWNER, "text": f"soak post {offset + i}", "media": []}
                        for i in range(count)
                    ],
                )
            ).all()
        )
        await session.execute(
            insert(ScheduledPost),
            [
                {
                    "content_id": content_id,
                    "target_id": targets[(offset + i) % len(targets)],
                    "owner_id": OWNER,
                    "platform": "telegram",
                    "scheduled_time": now,
                    "due_at": now,
                    "status": PostStatus.SCHEDULED,
                    "attempts": 0,
                    "options": {},
                }
                for i, content_id in enumerate(content_ids)
            ],
        )


async def published(factory: Any) -> int:
    from storage.models import PostStatus, ScheduledPost

    async with factory() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(ScheduledPost)
                .where(ScheduledPost.status == PostStatus.PUBLISHED)
            )
            or 0
        )


# ---------- the run ----------


def _top_types(limit: int = 400_000) -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects()[:limit])


@contextlib.asynccontextmanager
async def workers_app(folder: Path, base_url: str, rate: float) -> AsyncIterator[Any]:
    from bot.factory import create_app, on_shutdown, start_workers
    from storage.db import upgrade_database
    from tests.conftest import make_settings

    url = f"sqlite+aiosqlite:///{folder / 'soak.db'}"
    await upgrade_database(url)
    settings = make_settings(
        database_url=url,
        telegram_api_base=base_url,
        scheduled_posts_interval=1,
        telegram_global_rate=rate,
        telegram_channel_per_minute=20,  # Telegram's own; its window is bounded by it
        telegram_hourly_cap=0,
        log_level="ERROR",
    )
    app = create_app(settings)
    cache_kib = os.environ.get("SOAK_SQLITE_CACHE_KIB")
    if cache_kib:  # an experiment: SQLite's page cache per connection
        from sqlalchemy import event

        @event.listens_for(app.engine.sync_engine, "connect")
        def _cache(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
            cursor.close()

    await start_workers(app)
    try:
        yield app
    finally:
        await on_shutdown(app)
        await app.bot.session.close()


async def soak(
    folder: Path,
    *,
    posts: int = 20_000,
    burst: int = 1_000,
    channels: int = 400,
    rate: float = 300.0,
    trace: bool = False,
    census: bool = False,
) -> dict[str, Any]:
    samples: list[tuple[int, int]] = []  # (posts published, RSS KiB)
    snapshots: dict[str, Any] = {}
    previous: Counter[str] = Counter()
    started = time.monotonic()
    with fake_in_child(channels) as base_url:
        async with workers_app(folder, base_url, rate) as app:
            factory = app.session_factory
            targets = await seed_targets(factory, channels)
            if trace:
                tracemalloc.start(int(os.environ.get("SOAK_TRACE_DEPTH", "6")))
            for index in range(posts // burst):
                await seed_burst(factory, targets, burst, index * burst)
                goal = (index + 1) * burst
                deadline = time.monotonic() + 600
                while (done := await published(factory)) < goal:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"burst {index + 1} stuck at {done}/{goal}")
                    await asyncio.sleep(0.25)
                # Let the finishing writes and the logging settle; collect what is garbage
                # so that RSS measures what is kept, not what the collector has not reached.
                await asyncio.sleep(0.5)
                gc.collect()
                if os.environ.get("SOAK_MALLOC_TRIM") == "1":
                    # An experiment: hand glibc's free memory back first. What RSS loses here
                    # was free (fragmentation), not kept.
                    import ctypes

                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                samples.append((done, rss_kib()))
                print(
                    f"soak: {done:>6} published, RSS {samples[-1][1] / 1024:.1f} MiB "
                    f"(anon {_status('RssAnon') / 1024:.1f}, file {_status('RssFile') / 1024:.1f},"
                    f" threads {_status('Threads')}, pymalloc arenas {_arenas()},"
                    f" SQLite {_sqlite_kib() / 1024:.1f})",
                    flush=True,
                )
                if census:
                    types = _top_types(10_000_000)
                    cache = getattr(app.engine.sync_engine, "_compiled_cache", None)
                    grown = (types - previous).most_common(8) if previous else []
                    print(
                        f"  objects {sum(types.values())}, compiled cache "
                        f"{len(cache) if cache is not None else '-'}; grew: {grown}",
                        flush=True,
                    )
                    previous = types
                    big = sorted(
                        (
                            (len(o), type(o).__name__, id(o))
                            for o in gc.get_objects()
                            if isinstance(o, list | dict | set | deque) and len(o) > 500
                        ),
                        reverse=True,
                    )[:6]
                    print(f"  blocks {sys.getallocatedblocks()}, big containers {big}", flush=True)
                if trace and index == 1:
                    snapshots["early"] = (tracemalloc.take_snapshot(), _top_types())
            if trace:
                snapshots["late"] = (tracemalloc.take_snapshot(), _top_types())
                tracemalloc.stop()
    elapsed = time.monotonic() - started
    first = samples[0][1]
    end = samples[-1][1]
    half = samples[len(samples) // 2 :]
    result: dict[str, Any] = {
        "posts": samples[-1][0],
        "first": first,
        "end": end,
        "ratio": end / first if first else float("nan"),
        "slope": slope([(p / 1000, kib) for p, kib in half]),  # KiB per 1,000 posts
        "samples": samples,
        "elapsed": elapsed,
    }
    if trace and "early" in snapshots:
        early_snap, early_types = snapshots["early"]
        late_snap, late_types = snapshots["late"]
        stats = late_snap.compare_to(early_snap, "traceback")
        result["growth"] = [
            (stat.size_diff, stat.count_diff, stat.traceback.format()[-6:]) for stat in stats[:12]
        ]
        result["types"] = (late_types - early_types).most_common(15)
    return result


async def bench_soak(folder: Path, quick: bool, report: list[str]) -> None:
    posts = 5_000 if quick else 20_000
    trace = os.environ.get("SOAK_TRACE") == "1"
    print(f"soak: {posts} posts in bursts of 1,000 through one process...", flush=True)
    r = await soak(folder, posts=posts, trace=trace)
    mib = 1024
    report += [
        f"### Soak: {r['posts']:,} posts through one workers process, bursts of 1,000",
        "",
        "create_app + start_workers (posts, rules, notifications) on SQLite; the fake Bot API",
        "in a child process (its records are not counted). RSS of this process after each",
        "burst, after a gc.collect(). Goal: end ≤ 1.05 × after the first 1,000; flat over",
        "the second half.",
        "",
        "| after 1,000 | end | end / first | slope, 2nd half | time |",
        "|---|---|---|---|---|",
        f"| {r['first'] / mib:.1f} MiB | {r['end'] / mib:.1f} MiB | {r['ratio']:.3f} "
        f"| {r['slope']:+.1f} KiB / 1,000 posts | {r['elapsed']:.0f} s |",
        "",
        "RSS per burst (MiB): " + ", ".join(f"{kib / mib:.1f}" for _p, kib in r["samples"]),
        "",
    ]
    if "growth" in r:
        report += ["tracemalloc, end vs. after 2,000 posts (top growth):", "", "```"]
        for size, count, frames in r["growth"]:
            report.append(f"{size / 1024:+.1f} KiB {count:+d} blocks")
            report += [f"    {line}" for line in frames]
        report += ["```", "", "gc objects that grew: " + str(r["types"]), ""]


def main() -> None:
    import argparse
    import logging
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--burst", type=int, default=1_000)
    parser.add_argument("--channels", type=int, default=400)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--census", action="store_true", help="gc object counts per burst")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="curator-soak-") as folder:
        r = asyncio.run(
            soak(
                Path(folder),
                posts=args.posts,
                burst=args.burst,
                channels=args.channels,
                rate=args.rate,
                trace=args.trace,
                census=args.census,
            )
        )
    print(
        f"first {r['first'] / 1024:.1f} MiB, end {r['end'] / 1024:.1f} MiB, "
        f"ratio {r['ratio']:.3f}, slope {r['slope']:+.1f} KiB/1000 posts, {r['elapsed']:.0f} s"
    )
    for size, count, frames in r.get("growth", []):
        print(f"{size / 1024:+.1f} KiB {count:+d} blocks")
        print("\n".join("    " + line for line in frames))
    if "types" in r:
        print(r["types"])


if __name__ == "__main__":
    main()
