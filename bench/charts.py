"""The chat's pictures (issue 13): render time of /calendar's week and /stats' charts, and
the memory the first one adds (matplotlib's import and its first figure).

Measured in a fresh subprocess, so that nothing this benchmark run imported before counts:
it imports what the bot imports at start (`bot.factory`: aiogram, SQLAlchemy, the handlers)
and reads its VmRSS — the baseline, in the same run — then draws: the first week (import +
render), more weeks, the first activity chart, more of those, and the worst week the caps
allow (every day full: 7 × 400 posts, long titles). Times are wall seconds of
`content.charts.render_week` / `render_stats` as the handlers run them in their thread."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import content.charts as charts  # matplotlib itself is not imported here

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, random, sys, time


def rss_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


import bot.factory  # noqa: F401  what a started bot has imported
import content.charts as charts

assert "matplotlib" not in sys.modules, "imported before the first picture"
runs = int(sys.argv[1])
report = {"baseline": rss_kib()}
random.seed(7)
kinds = ["scheduled", "queued", "awaiting_approval", "published", "failed", "unknown"]
legend = {k: k.replace("_", " ") for k in [*kinds, "rule"]}


def week(per_day: int, label: str) -> charts.WeekPicture:
    blocks = [
        charts.Block(
            day, random.randrange(7 * 60, 23 * 60), random.choice(kinds), f"{label} {i}"
        )
        for day in range(7)
        for i in range(per_day)
    ]
    blocks += [charts.Block(d, 18 * 60, "rule", "Вечерний дайджест", ghost=True) for d in range(7)]
    days = [f"Пн {d:02d}.12" for d in range(7)]
    return charts.WeekPicture("Неделя 7 – 13 дек. 2026 (Europe/Moscow)", days, blocks, legend, 2)


def stats(days: int, groups: int) -> charts.StatsPicture:
    per_day = {k: [random.randrange(0, 12) for _ in range(days)] for k in kinds}
    return charts.StatsPicture(
        "Последние 14 дн. (Europe/Moscow)",
        [f"{d:02d}.11" for d in range(days)],
        per_day,
        legend,
        "Посты по дням",
        "По каналам",
        [(f"Telegram: Канал {g}", {k: random.randrange(0, 30) for k in kinds}) for g in range(groups)],
        "Токены ИИ по дням",
        [random.randrange(0, 50_000) for _ in range(days)],
    )


CPU = {}


def timed(render, picture, name=None) -> tuple[float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    png = render(picture)
    if name:
        CPU.setdefault(name, []).append(time.process_time() - cpu)
    return time.perf_counter() - started, len(png)


typical = week(4, "Tech news")
report["week_first"], report["week_bytes"] = timed(charts.render_week, typical)
report["after_first_week"] = rss_kib()
report["week"] = [timed(charts.render_week, typical, "week")[0] for _ in range(runs)]
report["stats_first"], report["stats_bytes"] = timed(charts.render_stats, stats(14, 5))
report["stats"] = [timed(charts.render_stats, stats(14, 5), "stats")[0] for _ in range(runs)]
crowded = week(400, "A channel with a very long title indeed, longer than any block")
report["worst_week"] = [timed(charts.render_week, crowded, "worst_week")[0] for _ in range(max(1, runs // 2))]
report["worst_stats"] = [timed(charts.render_stats, stats(31, 200), "worst_stats")[0] for _ in range(max(1, runs // 2))]
report["after_all"] = rss_kib()
report["cpu"] = CPU
print("REPORT=" + json.dumps(report))
"""


def _probe(runs: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MPLCONFIGDIR": os.environ.get("MPLCONFIGDIR", ""),
    }
    if not env["MPLCONFIGDIR"]:
        env.pop("MPLCONFIGDIR")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(runs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT=")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(lines[-1].removeprefix("REPORT=")))


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


async def bench_charts(folder: Path, quick: bool, report: list[str]) -> None:
    runs = 3 if quick else 10
    print(f"charts: {runs} renders of each picture in a fresh process...", flush=True)
    r = await asyncio.to_thread(_probe, runs)
    base = r["baseline"]

    def cpu(name: str) -> str:
        return f"{statistics.median(r['cpu'][name]):.3f} s"

    report += [
        "### Chat pictures: /calendar's week and /stats' charts",
        "",
        "A fresh process imports what the bot imports at start (`bot.factory`), then draws. "
        "Times are wall seconds of one render (the handlers run it in a thread, one at a "
        f"time, under a {charts.RENDER_TIMEOUT:.0f} s timeout). *Week*: 7 days × 4 posts + "
        "a rule's runs, 1200×800 PNG; *stats*: 14 days, 5 targets, 1200×1100 PNG; *worst*: "
        f"7 × 400 posts with long titles (capped at {charts.MAX_BLOCKS_PER_DAY} blocks a "
        'day, the rest as "+N"), and 31 days × 200 targets (capped at '
        f"{charts.MAX_GROUPS} bars). Load average when measured: {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores.",
        "",
        "| picture | first (import + render) | median | worst of runs | median CPU | PNG |",
        "|---|---:|---:|---:|---:|---:|",
        f"| week | {r['week_first']:.3f} s | {statistics.median(r['week']):.3f} s "
        f"| {max(r['week']):.3f} s | {cpu('week')} | {r['week_bytes'] / 1024:.0f} KiB |",
        f"| stats | {r['stats_first']:.3f} s (matplotlib already loaded) "
        f"| {statistics.median(r['stats']):.3f} s | {max(r['stats']):.3f} s "
        f"| {cpu('stats')} | {r['stats_bytes'] / 1024:.0f} KiB |",
        f"| worst week (2,800 posts) | — | {statistics.median(r['worst_week']):.3f} s "
        f"| {max(r['worst_week']):.3f} s | {cpu('worst_week')} | — |",
        f"| worst stats (31 days, 200 targets) | — | {statistics.median(r['worst_stats']):.3f} s "
        f"| {max(r['worst_stats']):.3f} s | {cpu('worst_stats')} | — |",
        "",
        "| RSS | VmRSS | added |",
        "|---|---:|---:|",
        f"| baseline: the bot's modules imported, nothing drawn | {_mib(base)} | — |",
        f"| after the first week (matplotlib imported + one render) | "
        f"{_mib(r['after_first_week'])} | +{_mib(r['after_first_week'] - base)} |",
        f"| after every render above | {_mib(r['after_all'])} | +{_mib(r['after_all'] - base)} |",
        "",
    ]
