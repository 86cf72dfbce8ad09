from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

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
