"""Issue 4 acceptance 4: approval mode — approve, edit, regenerate, skip and no answer."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from bot.factory import App
from content.generator import Brief, Generated
from platforms.base import PublisherRegistry
from platforms.telegram import TelegramPublisher
from services.clock import ManualClock
from services.rules import RuleError
from storage.models import Content, PostStatus, ScheduledPost
from tests.ai.chat import Chat
from tests.ai.helpers import at, create_rule, load_rule, seed_user_and_channel
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from workers.auto_posting import AutoPostingWorker
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

MSK = "Europe/Moscow"


@pytest.fixture
def approval_clock(ai_clock: ManualClock) -> ManualClock:
    return ai_clock


def workers(app: App, clock: ManualClock) -> tuple[AutoPostingWorker, ScheduledPostsWorker]:
    registry = PublisherRegistry()
    registry.register(TelegramPublisher(app.bot))
    rules = AutoPostingWorker(app.db, generator=app.generator, clock=clock, notifier=app.notifier)
    posts = ScheduledPostsWorker(app.db, registry, clock=clock, limits=RateLimits(enabled=False))
    return rules, posts


async def post_and_content(app: App) -> tuple[ScheduledPost, Content]:
    async with app.session_factory() as session:
        post = (
            await session.scalars(select(ScheduledPost).order_by(ScheduledPost.id.desc()))
        ).first()
        assert post is not None
        content = await session.get(Content, post.content_id)
        assert content is not None
        return post, content


async def test_owner_edits_then_approves_the_draft_and_it_is_published_at_its_time(
    running: App, fake_tg: FakeTelegram, fake_ai: FakeOpenAI, approval_clock: ManualClock
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    rule_id = await create_rule(
        running.session_factory, approval_clock, [target], timezone=MSK, approval_required=True
    )
    fake_ai.reply_with("<b>Quantum</b> chips reach the market.")
    rules, posts = workers(running, approval_clock)
    approval_clock.set(at(MSK, 2026, 12, 1, 12, 5))
    await rules.run_once()

    chat = Chat(fake_tg, USER_ID)
    header = await chat.expect("prepared a post for Telegram: Tech news")
    assert "Approve it to publish at Tue 2026-12-01 13:05" in header["text"]
    assert "it is skipped" in header["text"]
    draft = await chat.expect("Quantum")
    assert draft["text"] == "<b>Quantum</b> chips reach the market."  # the exact draft
    for button in ("Approve", "Edit", "Regenerate", "Skip"):
        fake_tg.find_button(draft, button)
    post, _content = await post_and_content(running)
    assert post.status == PostStatus.AWAITING_APPROVAL

    await chat.tap(draft, "Edit", "Send the new text")
    chat._mark()
    fake_tg.user_message(
        USER_ID,
        "Quantum chips, checked by a human.",
        entities=[{"type": "italic", "offset": 15, "length": 18}],
    )
    edited = await chat.expect("checked by a human")
    assert edited["text"] == "Quantum chips, <i>checked by a human</i>."
    for button in ("Approve", "Edit", "Regenerate", "Skip"):
        fake_tg.find_button(edited, button)
    await chat.tap(edited, "Approve", "Approved. It will be published at Tue 2026-12-01 13:05")
    post, content = await post_and_content(running)
    assert post.status == PostStatus.SCHEDULED
    assert content.text == "Quantum chips, <i>checked by a human</i>."

    assert (await posts.run_once()).published == 0  # not before its time
    approval_clock.set(at(MSK, 2026, 12, 1, 13, 5))
    assert (await posts.run_once()).published == 1
    (sent,) = fake_tg.sent_to(CHANNEL_ID)
    assert sent["text"] == "Quantum chips, <i>checked by a human</i>."

    assert not edited.get("reply_markup")  # the buttons went away with the decision
    stale = await chat.tap_data(draft, fake_tg.find_button(draft, "Skip"))
    assert "already decided" in stale
    assert (await load_rule(running.session_factory, rule_id)).success_count == 1


async def test_owner_regenerates_then_skips_the_draft(
    running: App, fake_tg: FakeTelegram, fake_ai: FakeOpenAI, approval_clock: ManualClock
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    await create_rule(
        running.session_factory, approval_clock, [target], timezone=MSK, approval_required=True
    )
    fake_ai.reply_with("First take on robots.", "Second take: gardens on Mars.")
    rules, posts = workers(running, approval_clock)
    approval_clock.set(at(MSK, 2026, 12, 1, 12, 5))
    await rules.run_once()
    chat = Chat(fake_tg, USER_ID)
    draft = await chat.expect("First take on robots")
    second = await chat.tap(draft, "Regenerate", "gardens on Mars")
    _post, content = await post_and_content(running)
    assert content.text == "Second take: gardens on Mars."
    assert (content.prompt_tokens, content.completion_tokens) == (80, 120)  # both generations
    await chat.tap(second, "Skip", "Skipped. This post will not be published")
    post, _content = await post_and_content(running)
    assert post.status == PostStatus.SKIPPED
    approval_clock.set(at(MSK, 2026, 12, 1, 14, 0))
    assert (await posts.run_once()).published == 0
    assert fake_tg.sent_to(CHANNEL_ID) == []


@pytest.mark.parametrize(("policy", "published"), [("skip", 0), ("publish", 1)])
async def test_no_answer_by_publish_time_follows_the_rule_policy(
    running: App,
    fake_tg: FakeTelegram,
    approval_clock: ManualClock,
    policy: str,
    published: int,
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    await create_rule(
        running.session_factory,
        approval_clock,
        [target],
        timezone=MSK,
        approval_required=True,
        approval_policy=policy,
    )
    rules, posts = workers(running, approval_clock)
    approval_clock.set(at(MSK, 2026, 12, 1, 12, 5))
    await rules.run_once()
    chat = Chat(fake_tg, USER_ID)
    header = await chat.expect("prepared a post")
    if policy == "publish":
        assert "it is published as it is" in header["text"]
    approval_clock.set(at(MSK, 2026, 12, 1, 13, 4))
    assert (await posts.run_once()).published == 0
    approval_clock.set(at(MSK, 2026, 12, 1, 13, 5))
    assert (await posts.run_once()).published == published
    post, _content = await post_and_content(running)
    assert post.status == (PostStatus.PUBLISHED if published else PostStatus.SKIPPED)
    assert len(fake_tg.sent_to(CHANNEL_ID)) == published
    draft = fake_tg.last_message_with_button(USER_ID, "Approve")
    assert "already decided" in await chat.tap_data(draft, fake_tg.find_button(draft, "Approve"))


async def test_regenerate_while_another_user_writes_during_the_ai_call(
    running: App,
    fake_tg: FakeTelegram,
    fake_ai: FakeOpenAI,
    approval_clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The model call runs with no transaction open: other users' writes commit meanwhile,
    and the regenerated draft is still saved (issue 9: "database is locked")."""
    caplog.set_level(logging.WARNING)
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    await create_rule(
        running.session_factory, approval_clock, [target], timezone=MSK, approval_required=True
    )
    fake_ai.reply_with("First take on robots.", "Second take: gardens on Mars.")
    rules, _posts = workers(running, approval_clock)
    approval_clock.set(at(MSK, 2026, 12, 1, 12, 5))
    await rules.run_once()
    anna = Chat(fake_tg, USER_ID)
    draft = await anna.expect("First take on robots")

    fake_ai.latency = 1.0  # the model takes its time
    anna._mark()
    fake_tg.press(USER_ID, draft, fake_tg.find_button(draft, "Regenerate"))
    await fake_tg.wait_for(lambda: len(fake_ai.requests) == 2, what="the regeneration request")
    # While the model writes: another user registers, opens the rules and starts a dialog
    # (user and FSM writes), and the owner's own settings change (a write unit).
    boris = Chat(fake_tg, OTHER_USER_ID)
    listing = await boris.say("/rules", "автопостинга")
    await boris.tap(listing, "Новое правило", "Шаг 1 из 5")
    await boris.say("Правило Бориса", "Шаг 2 из 5")
    await running.services.users.set_timezone(OTHER_USER_ID, "Europe/Berlin")
    assert len(fake_ai.requests) == 2  # all of that happened during the model call

    await anna.expect("gardens on Mars")
    _post, content = await post_and_content(running)
    assert content.text == "Second take: gardens on Mars."
    assert "database is locked" not in caplog.text
    assert "failed" not in caplog.text


class _SlowGenerator:
    """A model that answers when the test lets it: what happens meanwhile is up to the test."""

    available = True

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.release = asyncio.Event()

    async def generate(self, brief: Brief) -> Generated:
        self.called.set()
        await self.release.wait()
        return Generated(text="A new take.", prompt_tokens=5, completion_tokens=7)


@pytest.mark.parametrize("meanwhile", ["edited", "skipped", "nothing"])
async def test_regenerate_rechecks_the_draft_after_the_model_call(
    running: App, approval_clock: ManualClock, meanwhile: str
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    await create_rule(
        running.session_factory, approval_clock, [target], timezone=MSK, approval_required=True
    )
    rules, _posts = workers(running, approval_clock)
    approval_clock.set(at(MSK, 2026, 12, 1, 12, 5))
    await rules.run_once()
    _post, content = await post_and_content(running)
    approvals = running.services.approvals
    model = _SlowGenerator()
    task = asyncio.create_task(approvals.regenerate(USER_ID, content.id, model))
    await model.called.wait()
    if meanwhile == "edited":
        await approvals.replace_text(USER_ID, content.id, "The owner's own words.")
    elif meanwhile == "skipped":
        await approvals.skip(USER_ID, content.id)
    model.release.set()
    if meanwhile == "nothing":
        draft = await task
        assert draft.content.text == "A new take." and draft.waiting
        return
    with pytest.raises(RuleError) as refused:
        await task
    assert refused.value.code == ("changed" if meanwhile == "edited" else "not_waiting")
    _post, after = await post_and_content(running)
    assert after.text == ("The owner's own words." if meanwhile == "edited" else content.text)
