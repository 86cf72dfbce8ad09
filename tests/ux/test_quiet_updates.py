"""An update that changes nothing writes nothing: a returning user pressing Help or reading
their list costs reads only (on SQLite every write takes the process's one writer turn, so
writes that change nothing would queue everybody behind them)."""

from __future__ import annotations

from tests.conftest import USER_ID
from tests.ux.harness import Harness


async def test_reading_costs_no_write(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/start")  # registers the user: one write
    db = sqlite_harness.app.db
    before = db.stats.units
    await chat.send("/help")
    await chat.send("/scheduled")
    await chat.send("/help")
    assert "/new" in chat.last()["text"]
    assert db.stats.units == before
