from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from bot.factory import App, create_app
from content.ai import OpenAIGenerator
from services.clock import ManualClock
from storage.db import upgrade_database
from tests.conftest import CHANNEL_ID, USER_ID, make_settings, polling
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def fake_ai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def ai_generator(fake_ai: FakeOpenAI) -> AsyncIterator[OpenAIGenerator]:
    client = AsyncOpenAI(
        api_key="sk-test-secret", base_url=fake_ai.base_url, timeout=0.5, max_retries=0
    )
    generator = OpenAIGenerator(client, "fake-model", secret="sk-test-secret")
    try:
        yield generator
    finally:
        await generator.close()


@dataclass
class RecordingNotifier:
    """An OwnerNotifier that remembers what the workers said, for assertions."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for call, args in self.calls if call == name]

    async def post_published(self, *args: Any) -> None:
        self.calls.append(("post_published", args))

    async def post_failed(self, *args: Any) -> None:
        self.calls.append(("post_failed", args))

    async def post_needs_decision(self, *args: Any) -> None:
        self.calls.append(("post_needs_decision", args))

    async def target_broken(self, *args: Any) -> None:
        self.calls.append(("target_broken", args))

    async def rule_failed(self, *args: Any) -> None:
        self.calls.append(("rule_failed", args))

    async def approval_requested(self, *args: Any) -> None:
        self.calls.append(("approval_requested", args))

    async def admin_alert(self, *args: Any) -> None:
        self.calls.append(("admin_alert", args))


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def ai_clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
async def running(
    fake_tg: FakeTelegram, fake_ai: FakeOpenAI, tmp_path: Path, ai_clock: ManualClock
) -> AsyncIterator[App]:
    """The whole bot, polling the fake Bot API, writing with the fake model, workers off."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    settings = make_settings(
        database_url=url,
        telegram_api_base=fake_tg.base_url,
        disable_workers=True,
        openai_base_url=fake_ai.base_url,
        openai_timeout=2,
        openai_max_retries=0,
    )
    app = create_app(settings, clock=ai_clock)
    async with polling(app):
        yield app
