"""Webhook replicas (issue 14, acceptance 3): two full apps, each with its own Dispatcher,
bot session and engine, share one PostgreSQL database behind one webhook URL, and any
update may reach either. Nothing a dialog needs may live in one process's memory."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from services.clock import ManualClock
from storage.models import AlbumPart, DraftSave, PendingLogin, ScheduledPost, Target
from tests.conftest import CHANNEL_ID, USER_ID, database, make_settings
from tests.fakes.instagram_client import FakeInstagram
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import redis_url_or_skip
from tests.ux.harness import Chat, Harness, running_bot

pytestmark = pytest.mark.postgres


@pytest.fixture
async def replicas(
    fake_tg: FakeTelegram, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[Harness, Harness]]:
    async with database("postgres", tmp_path) as (url, _engine):
        settings = make_settings(database_url=url, telegram_api_base=fake_tg.base_url)
        async with (
            running_bot(settings, fake_tg, clock) as first,
            running_bot(settings, fake_tg, clock) as second,
        ):
            # Distinct update ids, as Telegram's would be.
            second._update_id = 500_000
            for harness in (first, second):
                # A quiet second ends an album: generous on a busy machine.
                harness.app.services.limits = dataclasses.replace(
                    harness.app.services.limits, album_wait_seconds=1.0
                )
            yield first, second


async def _link_channel(harness: Harness) -> Chat:
    harness.fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    return chat


async def _count(harness: Harness, model: type) -> int:
    async with harness.app.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_confirm_pressed_twice_on_two_processes_saves_one_post(
    replicas: tuple[Harness, Harness],
) -> None:
    first, second = replicas
    chat = await _link_channel(first)
    await chat.send("/new")
    await chat.send("Hello from two processes")
    await chat.tap("Schedule")
    await chat.tap("Tech news")
    await chat.tap("Done")
    await chat.tap("In 1 hour")
    confirmation = first.fake.last_message_with_button(USER_ID, "Confirm")
    data = first.fake.find_button(confirmation, "Confirm")

    # The two presses reach different processes at the same moment.
    await asyncio.gather(
        chat.press_data(data, confirmation),
        second.chat(USER_ID).press_data(data, confirmation),
    )

    assert await _count(first, ScheduledPost) == 1
    assert await _count(first, DraftSave) == 1
    assert sorted(chat.alerts()) == ["Already saved.", "Saved"]
    assert sum("Scheduled: #" in (m.get("text") or "") for m in chat.sent()) == 1

    # A third, late press on the other process still says it was saved.
    await second.chat(USER_ID).press_data(data, confirmation)
    assert chat.alerts()[-1] == "Already saved."
    assert await _count(first, ScheduledPost) == 1


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_album_split_across_processes_becomes_one_post(
    replicas: tuple[Harness, Harness], store: str
) -> None:
    first, second = replicas
    if store == "redis":
        # As with REDIS_URL (bot/factory.py), under a prefix of this test's own.
        url = await redis_url_or_skip()
        prefix = f"test:{uuid.uuid4().hex}:album:"
        for harness in (first, second):
            assert harness.app.services.albums is not None
            harness.app.services.albums.use_redis(url, prefix)
    chat = first.chat(USER_ID)
    await chat.send("/new")
    group = "album-split"
    messages = [
        await chat.photo("Three photos, two processes" if i == 0 else None, group=group)
        for i in range(3)
    ]
    # Parts 1 and 3 reach the first process, part 2 the second.
    await asyncio.gather(
        first.feed({"message": messages[0]}, None),
        second.feed({"message": messages[1]}, None),
        first.feed({"message": messages[2]}, None),
    )

    groups = first.fake.calls_to("sendMediaGroup", chat_id=USER_ID)
    assert len(groups) == 1, "one preview of the whole album, not one per process"
    media = groups[0].params["media"]
    assert len(media) == 3
    assert media[0]["caption"] == "Three photos, two processes"
    data = await chat.data()
    assert [m["file_id"] for m in data["media"]] == [m["photo"][-1]["file_id"] for m in messages]
    # The parts are not kept once the album is assembled.
    assert await _count(first, AlbumPart) == 0
    if store == "redis":
        for harness in (first, second):
            assert harness.app.services.albums is not None
            await harness.app.services.albums.close()


async def test_album_parts_stored_before_a_restart_still_count(
    replicas: tuple[Harness, Harness], fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    """The first part reached a process that stopped before the album was complete (its
    wait cut short); the rest reach the other process, which assembles all three."""
    first, second = replicas
    chat = first.chat(USER_ID)
    await chat.send("/new")
    messages = [await chat.photo(None, group="album-restart") for _ in range(3)]
    # The first process's part would wait long: it is stopped while it waits.
    first.app.services.limits = dataclasses.replace(
        first.app.services.limits, album_wait_seconds=60.0
    )
    feeding = asyncio.create_task(first.feed({"message": messages[0]}, None))
    for _ in range(200):
        if await _count(first, AlbumPart) == 1:
            break
        await asyncio.sleep(0.01)
    feeding.cancel()  # the process died while its part waited
    await asyncio.gather(
        second.feed({"message": messages[1]}, None),
        second.feed({"message": messages[2]}, None),
    )
    groups = first.fake.calls_to("sendMediaGroup", chat_id=USER_ID)
    assert len(groups) == 1, [
        (c.method, str(c.params)[:200]) for c in first.fake.calls if c.method.startswith("send")
    ]
    assert len(groups[0].params["media"]) == 3


# A Fernet key: Instagram sessions (and the pending login) are stored encrypted.
SECRET_KEY = "kfDn47uDMkpaLU3syODBPRmH1Q9scRAYD_G_ByGnohc="
IG_PASSWORD = "Sup3r-secret-pa55word"


@pytest.fixture
async def instagram_replicas(
    fake_tg: FakeTelegram, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[Harness, Harness, FakeInstagram]]:
    world = FakeInstagram()
    async with database("postgres", tmp_path) as (url, _engine):
        settings = make_settings(
            database_url=url, telegram_api_base=fake_tg.base_url, secret_key=SECRET_KEY
        )
        async with (
            running_bot(settings, fake_tg, clock) as first,
            running_bot(settings, fake_tg, clock) as second,
        ):
            second._update_id = 500_000
            for harness in (first, second):
                linkers = harness.app.services.linkers
                linkers.instagram_client_factory = world.client_factory
                linkers.instagram_delay_range = (0.0, 0.0)
            yield first, second, world


async def test_instagram_code_answered_to_the_other_process_completes_the_login(
    instagram_replicas: tuple[Harness, Harness, FakeInstagram],
) -> None:
    first, second, world = instagram_replicas
    world.add_account("anna.shop", IG_PASSWORD, full_name="Anna", two_factor_code="246810")
    chat = first.chat(USER_ID)
    await chat.send("/link_instagram")
    await chat.send("@anna.shop")
    await chat.send(IG_PASSWORD)
    await first.fake.wait_for_text(USER_ID, "two-factor code")
    async with first.app.session_factory() as session:
        (pending,) = (await session.scalars(select(PendingLogin))).all()
    # Recorded encrypted: neither the password nor anything readable.
    assert IG_PASSWORD not in pending.state and "two_factor" not in pending.state

    # The code reaches the other process, which never saw this login.
    await second.chat(USER_ID).send("246810")
    done = await first.fake.wait_for_text(USER_ID, "is linked")
    assert done["text"] == "✅ Instagram account @anna.shop is linked. I will publish there."
    async with first.app.session_factory() as session:
        targets = (await session.scalars(select(Target))).all()
        left = (await session.scalars(select(PendingLogin))).all()
    assert [(t.platform, t.handle) for t in targets] == [("instagram", "anna.shop")]
    assert left == []  # the pending login is gone once it ended


async def test_a_code_for_a_login_nobody_waits_for_any_more_says_so(
    instagram_replicas: tuple[Harness, Harness, FakeInstagram],
) -> None:
    """The process that held the login stopped (its beat ran out): the other process
    says the login is gone instead of keeping the code forever."""
    first, second, world = instagram_replicas
    world.add_account("anna.shop", IG_PASSWORD, two_factor_code="246810")
    chat = first.chat(USER_ID)
    await chat.send("/link_instagram")
    await chat.send("@anna.shop")
    await chat.send(IG_PASSWORD)
    await first.fake.wait_for_text(USER_ID, "two-factor code")
    first.app.services.linkers.close()  # the first process stops
    async with first.app.session_factory() as session, session.begin():
        await session.execute(
            update(PendingLogin).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    replies = await second.chat(USER_ID).send("246810")
    assert any("start again" in (m.get("text") or "").lower() for m in replies), replies
