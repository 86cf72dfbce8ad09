"""Many people at once (issue 9, acceptance 1), through real long polling with both workers
running: twenty people press buttons at the same moment as one owner confirms a post, another
regenerates an approval draft (the model takes its time, so other writes commit meanwhile)
and a third approves one. On a SQLite file and on PostgreSQL: every action succeeds, every
update gets its answer, and nothing "database is locked" is logged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.factory import App, create_app
from services.clock import ManualClock
from storage.models import Content, PostStatus, ScheduledPost
from storage.uow import Database
from tests.ai.helpers import at, create_rule, seed_user_and_channel
from tests.conftest import CHANNEL_ID, USER_ID, database, make_settings, polling
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram

MSK = "Europe/Moscow"
REGENERATOR, APPROVER = 222, 333
REGENERATOR_CHANNEL, APPROVER_CHANNEL = CHANNEL_ID - 1, CHANNEL_ID - 2
CROWD = [7000 + i for i in range(20)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def world(
    request: pytest.FixtureRequest, tmp_path: Any, fake_tg: FakeTelegram
) -> AsyncIterator[tuple[App, FakeTelegram, FakeOpenAI]]:
    ai = FakeOpenAI()
    await ai.start()
    async with database(request.param, tmp_path) as (url, engine):
        fake_tg.add_user(APPROVER, "Ada", "en", "ada")
        for user_id in CROWD:
            fake_tg.add_user(user_id, f"User {user_id}", "en")
        fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
        clock = ManualClock(at(MSK, 2026, 12, 1, 12, 0))
        settings = make_settings(
            database_url=url,
            telegram_api_base=fake_tg.base_url,
            openai_base_url=ai.base_url,
            openai_api_key="sk-test",
            openai_timeout=10,
            openai_max_retries=0,
            throttle_rate=2,  # the real fairness rules are on
        )
        app = create_app(settings, clock=clock, engine=engine)
        factory = app.session_factory
        for user_id, channel_id in (
            (REGENERATOR, REGENERATOR_CHANNEL),
            (APPROVER, APPROVER_CHANNEL),
        ):
            target = await seed_user_and_channel(
                factory, user_id=user_id, channel_id=channel_id, timezone=MSK, language="en"
            )
            await create_rule(
                factory, clock, [target], owner_id=user_id, timezone=MSK, approval_required=True
            )
        clock.set(at(MSK, 2026, 12, 1, 12, 5))  # both rules are due when the bot starts
        try:
            yield app, fake_tg, ai
        finally:
            await ai.stop()


def draft_for(fake: FakeTelegram, user_id: int) -> dict[str, Any]:
    return fake.last_message_with_button(user_id, "Regenerate")


async def test_twenty_people_press_while_others_confirm_regenerate_and_approve(
    world: tuple[App, FakeTelegram, FakeOpenAI], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app, fake, ai = world
    ai.reply_with("Robots learn to garden.", "Quantum chips ship.", "Mars gets a library.")
    async with polling(app):
        # The rules were due when the bot started: both drafts wait for their owners.
        await fake.wait_for(
            lambda: fake.sent_to(REGENERATOR) and fake.sent_to(APPROVER), 20, "both drafts"
        )
        await fake.wait_for(
            lambda: all(
                any("Regenerate" in str(m.get("reply_markup")) for m in fake.sent_to(u))
                for u in (REGENERATOR, APPROVER)
            ),
            20,
            "draft buttons",
        )
        # The owner gets to the confirmation of a post of their own.
        fake.user_message(USER_ID, "/link")
        await fake.wait_for_text(USER_ID, "Forward any post")
        fake.forward_from_channel(USER_ID, CHANNEL_ID)
        await fake.wait_for_text(USER_ID, "is linked")
        fake.user_message(USER_ID, "/new")
        await fake.wait_for_text(USER_ID, "Send the post")
        fake.user_message(USER_ID, "Launch day <3 & more")
        preview = await fake.wait_for_text(USER_ID, "how the post will look")
        fake.press(USER_ID, preview, fake.find_button(preview, "Schedule"))
        picker = await fake.wait_for_text(USER_ID, "Where shall I publish")
        edits = len(fake.calls_to("editMessageReplyMarkup"))
        fake.press(USER_ID, picker, fake.find_button(picker, "Tech news"))
        await fake.wait_for(lambda: len(fake.calls_to("editMessageReplyMarkup")) > edits)
        fake.press(USER_ID, picker, fake.find_button(picker, "Done"))
        await fake.wait_for_text(USER_ID, "When?")
        fake.user_message(USER_ID, "in 2 hours")
        confirm = await fake.wait_for_text(USER_ID, "Publish to")
        for user_id in CROWD:
            fake.user_message(user_id, "/start")
        await fake.wait_for(lambda: all(fake.sent_to(u) for u in CROWD), 30, "crowd menus")
        menus = {u: fake.last_message_with_button(u, "Scheduled") for u in CROWD}
        ai.latency = 0.5  # other writes commit while the regeneration waits for the model

        # The same moment: one batch of updates.
        before = {u: len(fake.sent_to(u)) for u in (USER_ID, REGENERATOR, APPROVER, *CROWD)}
        queries = [
            fake.press(USER_ID, confirm, fake.find_button(confirm, "Confirm")),
            fake.press(
                REGENERATOR,
                draft_for(fake, REGENERATOR),
                fake.find_button(draft_for(fake, REGENERATOR), "Regenerate"),
            ),
            fake.press(
                APPROVER,
                draft_for(fake, APPROVER),
                fake.find_button(draft_for(fake, APPROVER), "Approve"),
            ),
        ]
        for i, user_id in enumerate(CROWD):
            button = ("Scheduled", "Targets", "Help", "Settings")[i % 4]
            queries.append(
                fake.press(user_id, menus[user_id], fake.find_button(menus[user_id], button))
            )

        ids = {q["callback_query"]["id"] for q in queries}
        await fake.wait_for(
            lambda: (
                ids
                <= {
                    str(c.params.get("callback_query_id"))
                    for c in fake.calls_to("answerCallbackQuery")
                }
            ),
            30,
            "an answer to every press",
        )
        everyone = (USER_ID, REGENERATOR, APPROVER, *CROWD)
        await fake.wait_for(
            lambda: all(len(fake.sent_to(u)) > before[u] for u in everyone), 30, "every reply"
        )
        await fake.wait_for_text(USER_ID, "Scheduled")
        await fake.wait_for_text(APPROVER, "Approved")
        regenerated = await fake.wait_for_text(REGENERATOR, "Mars gets a library", timeout=30)
        assert "Regenerate" in str(regenerated.get("reply_markup"))

    db = Database(app.engine)
    async with db.read() as session:
        rows = (
            await session.execute(
                select(ScheduledPost.owner_id, ScheduledPost.status, Content.text).join(
                    Content, Content.id == ScheduledPost.content_id
                )
            )
        ).all()
    by_owner = {owner: (status, text) for owner, status, text in rows}
    assert by_owner[USER_ID] == (PostStatus.SCHEDULED, "Launch day &lt;3 &amp; more")
    assert by_owner[APPROVER][0] == PostStatus.SCHEDULED
    assert by_owner[REGENERATOR] == (PostStatus.AWAITING_APPROVAL, "Mars gets a library.")

    problems = [
        f"{r.levelname} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or "database is locked" in r.getMessage()
    ]
    assert problems == []
