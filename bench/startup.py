"""Start-up time and idle memory of `python -m bot` beside a minimal aiogram echo bot
(bench/echo_bot.py), both polling the same fake Bot API in the same run; and what the bot
adds, package by package (`python -X importtime` of the real start, and RSS step by step).

Run alone with `python -m bench startup`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.db import upgrade_database
from tests.conftest import TEST_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import free_port

ROOT = Path(__file__).resolve().parent.parent
ECHO = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
BOT = [sys.executable, "-m", "bot", "--mode", "polling"]
IDLE_SECONDS = 3.0
# Loaded on first use only (tests/e2e/test_lazy_imports.py asserts it too).
LAZY = (
    "alembic",
    "dateparser",
    "PIL",
    "tweepy",
    "instagrapi",
    "openai",
    "requests",
    "cryptography",
    "matplotlib",
)
TICKS = os.sysconf("SC_CLK_TCK")


class CountingFakeTelegram(FakeTelegram):
    """Counts long polls, which the fake does not record as calls."""

    polls = 0

    async def m_getUpdates(self, params: dict, files: dict) -> Any:
        self.polls += 1
        return await super().m_getUpdates(params, files)


@dataclass
class Start:
    ready: float  # seconds from spawn to the first getUpdates
    cpu: float  # CPU seconds (user + system) the process had used by then
    rss: int  # KiB, IDLE_SECONDS later
    stderr: str = ""


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


async def start_and_measure(
    fake: CountingFakeTelegram,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    keep_stderr: bool = False,
) -> Start:
    """Spawn `command`, wait for its first long poll, let it idle, read its RSS, stop it."""
    with tempfile.TemporaryFile() as errors:
        polls = fake.polls
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: ASYNC220 - spawning is the thing measured
            command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors
        )

        def stderr() -> str:
            errors.seek(0)
            return errors.read().decode(errors="replace")

        try:
            ready = cpu = None
            while time.monotonic() - started < 120:
                if fake.polls > polls:
                    ready = time.monotonic() - started
                    cpu = _cpu_seconds(process.pid)
                    break
                if process.poll() is not None:
                    tail = stderr().strip().splitlines()[-5:]
                    raise RuntimeError(f"{command} exited with {process.returncode}: {tail}")
                await asyncio.sleep(0.005)
            if ready is None or cpu is None:
                raise RuntimeError(f"{command} did not start polling")
            await asyncio.sleep(IDLE_SECONDS)
            rss = _rss_kib(process.pid)
        finally:
            process.terminate()
            for _ in range(200):
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                process.kill()
        return Start(ready, cpu, rss, stderr() if keep_stderr else "")


# ---------------------------------------------------------------- what the bot adds

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")


def imported(stderr: str) -> list[tuple[str, int]]:
    """(module, self time in µs) from `-X importtime` output, in the order imports ended."""
    found = []
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            found.append((match.group(4), int(match.group(1))))
    return found


def _package(module: str) -> str:
    top = module.split(".")[0]
    own = {"bot", "handlers", "services", "storage", "workers", "platforms", "content"}
    return "the bot's own modules" if top in own else top


RSS_PROBE = """
import importlib, json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
steps = json.loads(sys.argv[1])
result = []
for name, modules in steps:
    for module in modules:
        try:
            importlib.import_module(module)
        except BaseException:
            pass
    result.append((name, rss()))
print(json.dumps(result))
"""


def _rss_steps(steps: list[tuple[str, list[str]]], env: dict[str, str], cwd: Path) -> list[int]:
    """RSS (KiB) after each step of imports, in one fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, json.dumps(steps)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return [kib for _name, kib in json.loads(done.stdout.strip().splitlines()[-1])]


def additions(
    echo_stderr: str, bot_stderr: str, env: dict[str, str], cwd: Path
) -> tuple[list[tuple[str, float, float]], set[str]]:
    """Per package: import time (ms) and RSS (MiB) that the bot adds over the echo bot, and
    the top-level packages the running bot had loaded."""
    echo_modules = {m for m, _us in imported(echo_stderr)}
    bot_imports = imported(bot_stderr)
    times: dict[str, int] = {}
    groups: dict[str, list[str]] = {}
    for module, micros in bot_imports:
        if module in echo_modules or module.startswith(("__", "_cython")):
            continue
        times[_package(module)] = times.get(_package(module), 0) + micros
        groups.setdefault(_package(module), []).append(module)
    # Memory: the echo bot's imports first, then each package in the order the bot loaded it
    # (shared dependencies count for the package that pulled them in first).
    own = "the bot's own modules"
    ordered = [(name, modules) for name, modules in groups.items() if name != own]
    steps = [("echo", sorted(echo_modules)), *ordered, (own, groups.get(own, []))]
    kib = _rss_steps(steps, env, cwd)
    growth = {
        name: (b - a) / 1024 for (name, _m), a, b in zip(steps[1:], kib[:-1], kib[1:], strict=True)
    }
    rows = [(name, times[name] / 1000, growth.get(name, 0.0)) for name in groups]
    rows.sort(key=lambda row: row[2] + row[1] / 20, reverse=True)
    return rows, {m.split(".")[0] for m, _us in bot_imports}


# ---------------------------------------------------------------- the section


async def bench_startup(folder: Path, quick: bool, report: list[str]) -> None:
    runs = 3 if quick else 5
    print("start-up and idle memory...", flush=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TEST_DATABASE"))}
    base.pop("PYTHONPROFILEIMPORTTIME", None)
    url = f"sqlite+aiosqlite:///{folder / 'startup.db'}"
    await upgrade_database(url)  # a restart: the schema is current
    fake = CountingFakeTelegram(TEST_TOKEN)
    await fake.start()
    results: dict[str, list[Start]] = {"echo": [], "bot": []}
    try:
        env = dict(base, BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_BASE=fake.base_url)
        bot_env = dict(
            env,
            PYTHONPATH=str(ROOT),
            DATABASE_URL=url,
            LOG_FILE="",
            LOG_LEVEL="WARNING",
            HEALTH_HOST="127.0.0.1",
            HEALTH_PORT=str(free_port()),
            # The Mini App enabled (issue 13): its routes on the health server, its buttons.
            MINIAPP_URL="https://calendar.example.org/app/",
        )
        for _ in range(runs):  # alternating, so that load on the machine hits both alike
            results["echo"].append(await start_and_measure(fake, ECHO, env, folder))
            results["bot"].append(await start_and_measure(fake, BOT, bot_env, folder))
        new_db = dict(bot_env, DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'new.db'}")
        first = await start_and_measure(fake, BOT, new_db, folder)
        traced = [sys.executable, "-X", "importtime", *ECHO[1:]]
        echo_trace = await start_and_measure(fake, traced, env, folder, keep_stderr=True)
        traced = [sys.executable, "-X", "importtime", *BOT[1:]]
        bot_trace = await start_and_measure(fake, traced, bot_env, folder, keep_stderr=True)
    finally:
        await fake.stop()
    rows, loaded = await asyncio.to_thread(
        additions, echo_trace.stderr, bot_trace.stderr, dict(base, PYTHONPATH=str(ROOT)), folder
    )

    def median(name: str, field: str) -> float:
        return statistics.median(getattr(start, field) for start in results[name])

    echo_t, bot_t = median("echo", "ready"), median("bot", "ready")
    echo_c, bot_c = median("echo", "cpu"), median("bot", "cpu")
    echo_m, bot_m = median("echo", "rss") / 1024, median("bot", "rss") / 1024
    lazy_loaded = sorted(set(LAZY) & loaded) or ["none"]
    report += [
        "### Start-up time and idle memory",
        "",
        f"Median of {runs} starts each, alternating. *Start-up* = process spawn until it",
        "starts long polling at the fake Bot API (our bot: schema checked, workers, health",
        "server and command menu first); *CPU* = the CPU time it had used by then (steadier",
        f"than wall time on a busy machine). *Idle RSS* = VmRSS {IDLE_SECONDS:.0f} s later.",
        "The bot's database is already migrated, as on every restart.",
        "",
        "| process | start-up | CPU | idle RSS |",
        "|---|---|---|---|",
        f"| minimal aiogram echo bot | {echo_t:.2f} s | {echo_c:.2f} s | {echo_m:.1f} MiB |",
        f"| Content Curator (`python -m bot --mode polling`) | {bot_t:.2f} s | {bot_c:.2f} s "
        f"| {bot_m:.1f} MiB |",
        f"| ratio (goal ≤ 1.3× start-up, ≤ 1.15× memory) | {bot_t / echo_t:.2f}× "
        f"| {bot_c / echo_c:.2f}× | {bot_m / echo_m:.2f}× |",
        f"| first start on a new database (migrations run) | {first.ready:.2f} s "
        f"| {first.cpu:.2f} s | {first.rss / 1024:.1f} MiB |",
        "",
        f"Optional libraries loaded by the running bot (of {', '.join(LAZY)}): "
        f"{', '.join(lazy_loaded)}.",
        "",
        "What the bot adds over the echo bot, by package: import time from one",
        "`python -X importtime -m bot` start (self time, so each module counts once), and RSS",
        "growth when the same modules are imported step by step after the echo bot's.",
        "",
        "| package | import time | RSS |",
        "|---|---|---|",
    ]
    shown = rows[:12]
    for name, millis, mib in shown:
        report.append(f"| {name} | {millis:.0f} ms | {mib:+.1f} MiB |")
    rest = rows[12:]
    if rest:
        report.append(
            f"| {len(rest)} others | {sum(r[1] for r in rest):.0f} ms "
            f"| {sum(r[2] for r in rest):+.1f} MiB |"
        )
    report.append(
        f"| total | {sum(r[1] for r in rows):.0f} ms | {sum(r[2] for r in rows):+.1f} MiB |"
    )
    report.append("")
