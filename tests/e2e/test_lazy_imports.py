"""What a started bot has imported: heavy optional libraries wait for their first use.

The bot is started as `python -m bot` starts it (`bot.__main__.main`), in a subprocess against
the fake Bot API; once aiogram's start-up hooks have run (workers, health server, commands)
and the process has idled a moment, it reports its `sys.modules`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import ensure_schema, upgrade_database
from tests.conftest import TEST_TOKEN
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]

# Loaded on first use only: the platforms' clients (and requests, which only tweepy needs),
# the model's client, Pillow for cards, dateparser for typed times, cryptography for stored
# secrets, and Alembic when the schema is already current.
LAZY = (
    "alembic",
    "dateparser",
    "PIL",
    "tweepy",
    "instagrapi",
    "openai",
    "requests",
    "cryptography",
    "matplotlib",  # the chat's pictures (content/charts.py): drawn on first /calendar, /stats
)

STARTED_BOT = """
import asyncio, json, os, signal, sys

import bot.factory
from bot.__main__ import main

LAZY = {lazy!r}
original = bot.factory.create_app


def create_app(settings, **kwargs):
    app = original(settings, **kwargs)

    async def report() -> None:
        await asyncio.sleep(1.5)  # anything started in the background has run by now
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(LAZY))
        print("LOADED=" + json.dumps(loaded), flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    async def started() -> None:  # registered last: runs after the bot's own start-up
        asyncio.get_running_loop().create_task(report())

    app.dispatcher.startup.register(started)
    return app


bot.factory.create_app = create_app
main(["--mode", "polling"])
"""


def _started_bot_modules(fake_tg: FakeTelegram, tmp_path: Path, url: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(
        {
            "BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_BASE": fake_tg.base_url,
            "DATABASE_URL": url,
            "LOG_FILE": "",
            "HEALTH_PORT": "0",
            "PYTHONPATH": str(ROOT),
            # Every optional feature configured: their libraries must still wait.
            "OPENAI_API_KEY": "sk-test",
            "X_CONSUMER_KEY": "key",
            "X_CONSUMER_SECRET": "secret",
            "SECRET_KEY": "a passphrase for the tests",
            # The Mini App's server and buttons (issue 13), on a port of its own.
            "MINIAPP_URL": "https://calendar.example.org/app/",
            "MINIAPP_PORT": "0",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", STARTED_BOT.format(lazy=LAZY)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LOADED=")]
    assert done.returncode == 0 and lines, done.stdout + done.stderr
    return list(json.loads(lines[-1].removeprefix("LOADED=")))


@pytest.mark.slow
async def test_a_started_bot_has_not_imported_optional_libraries(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)  # the schema is current: start-up must not need Alembic
    loaded = await _run(fake_tg, tmp_path, url)
    assert loaded == [], f"imported at start-up: {loaded}"
    assert fake_tg.calls_to("setMyCommands")  # the start-up hooks did run
    assert fake_tg.calls_to("setChatMenuButton")  # the Mini App started too


@pytest.mark.slow
async def test_a_new_database_is_migrated_at_start_with_alembic(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'new.db'}"
    loaded = await _run(fake_tg, tmp_path, url)
    assert loaded == ["alembic"]
    assert await ensure_schema(url) is False  # migrated to head by the start


async def _run(fake_tg: FakeTelegram, tmp_path: Path, url: str) -> list[str]:
    # The fake server lives in this event loop: wait for the subprocess in a thread.
    return await asyncio.to_thread(_started_bot_modules, fake_tg, tmp_path, url)
