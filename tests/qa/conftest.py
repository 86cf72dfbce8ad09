"""A demanding user's regression tests: the same harness and fixtures as tests/ux, plus a
bot with X and Instagram configured (fake X server, fake instagrapi client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.accounts import AccountLinkers
from services.clock import ManualClock
from tests.conftest import make_settings
from tests.fakes.instagram_client import FakeInstagram
from tests.fakes.telegram import FakeTelegram
from tests.fakes.x_server import FakeXServer
from tests.social.conftest import X_CONSUMER_KEY, X_CONSUMER_SECRET, x_server  # noqa: F401
from tests.ux.conftest import (  # noqa: F401 (fixtures)
    generator,
    harness,
    migrated_sqlite,
    sqlite_copy,
    sqlite_harness,
)
from tests.ux.harness import Harness, ScriptedGenerator, running_bot

# A Fernet key: a passphrase would need a salt file in DATA_DIR.
SECRET_KEY = "kfDn47uDMkpaLU3syODBPRmH1Q9scRAYD_G_ByGnohc="


@pytest.fixture
def instagram() -> FakeInstagram:
    return FakeInstagram()


@pytest.fixture
async def social_harness(
    fake_tg: FakeTelegram,
    x_server: FakeXServer,  # noqa: F811
    instagram: FakeInstagram,
    migrated_sqlite: Path,  # noqa: F811
    tmp_path: Path,
    clock: ManualClock,
    generator: ScriptedGenerator,  # noqa: F811
) -> AsyncIterator[Harness]:
    """The bot with SECRET_KEY, X app keys and a fake Instagram: every linking path works."""
    values: dict[str, Any] = {
        "database_url": sqlite_copy(migrated_sqlite, tmp_path),
        "telegram_api_base": fake_tg.base_url,
        "secret_key": SECRET_KEY,
        "x_consumer_key": X_CONSUMER_KEY,
        "x_consumer_secret": X_CONSUMER_SECRET,
        "x_api_base": x_server.base_url,
    }
    async with running_bot(make_settings(**values), fake_tg, clock, generator=generator) as value:
        linkers: AccountLinkers = value.app.services.linkers
        linkers.instagram_client_factory = instagram.client_factory
        linkers.instagram_delay_range = (0.0, 0.0)
        yield value
