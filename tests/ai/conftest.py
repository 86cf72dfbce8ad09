from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from openai import AsyncOpenAI

from content.ai import OpenAIGenerator
from tests.fakes.openai_server import FakeOpenAI


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
