from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.logging_setup import setup_logging
from tests.fakes.x_server import FakeXServer

X_CONSUMER_KEY = "test-consumer-key-4f1b"
X_CONSUMER_SECRET = "test-consumer-secret-9a7e3c5d"


@pytest.fixture
async def x_server() -> AsyncIterator[FakeXServer]:
    server = FakeXServer(X_CONSUMER_KEY, X_CONSUMER_SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[Path]:
    """The application's own logging (as `python -m bot` sets it up), at DEBUG, into a file;
    put back as it was afterwards."""
    root = logging.getLogger()
    level = root.level
    path = tmp_path / "logs" / "app.log"
    setup_logging("DEBUG", path)
    try:
        yield path
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_curator", False):
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)


def assert_no_secrets(text: str, secrets: list[str]) -> None:
    assert text, "nothing was logged: the check would prove nothing"
    for secret in secrets:
        assert secret, "an empty secret cannot be checked"
        assert secret not in text, f"a secret ({secret[:3]}…) reached the logs"


def log_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""
