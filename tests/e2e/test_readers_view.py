"""What readers see is what the preview showed and what the user meant (issue 10).

Every source of a post's text × every platform × both languages, against the strict fake Bot
API (it parses HTML as Telegram does and refuses what Telegram refuses):
- Telegram: the text and the formatting (entities) a channel reader gets, as parsed by the
  fake, equal what the user typed (or the AI meant) and what the preview showed;
- X and Instagram: plain text: no tags, no HTML entities, no Markdown asterisks, links kept
  as URLs; asserted on what the fake X server and the fake instagrapi client recorded."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Message
from PIL import Image
from sqlalchemy import select

from content.ai import finish_text
from content.generator import Brief, Generated
from handlers.render import message_html
from platforms.base import MediaItem, PublisherRegistry
from platforms.instagram import InstagramLogin, InstagramPublisher, Linked
from platforms.telegram import TelegramPublisher
from platforms.x import XAccount, XPublisher
from services.accounts import AccountService
from services.clock import ManualClock
from storage.db import upgrade_database
from storage.models import PostStatus, ScheduledPost
from storage.repositories import TargetRepository
from storage.rule_config import ContentConfig
from tests.ai.helpers import create_rule
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, TEST_TOKEN, USER_ID, make_settings
from tests.fakes.instagram_client import FakeInstagram
from tests.fakes.telegram import FakeTelegram, reader_entities, reader_text
from tests.fakes.x_server import FakeXServer
from tests.ux.harness import Harness, running_bot
from workers.auto_posting import AutoPostingWorker
from workers.policy import RetryPolicy
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

X_KEY, X_SECRET = "readers-consumer-key", "readers-consumer-secret"
IG_PASSWORD = "readers-Pa55word"
LANGUAGES = {"en": USER_ID, "ru": OTHER_USER_ID}
TRICKY = {
    "en": "Tom & Jerry <3 say \"hi\" & 'bye': a<b>c, x > y, &amp; stays text",
    "ru": "Том & Джерри <3 говорят \"привет\" & 'пока': a<b>c, x > y, &amp; — это текст",
}


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Formatted:
    """A text with Telegram entities, built piece by piece (offsets in UTF-16 units)."""

    text: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    plain: str = ""  # what X and Instagram must get

    def add(self, piece: str, kind: str | None = None, plain: str | None = None, **extra: Any):
        if kind is not None:
            entity = {"type": kind, "offset": utf16(self.text), "length": utf16(piece), **extra}
            self.entities.append(entity)
        self.text += piece
        self.plain += piece if plain is None else plain
        return self


def formatted(language: str) -> Formatted:
    words = (
        ["Bold", "italic", "underline", "strike", "secret", "code", "docs"]
        if language == "en"
        else ["Жирный", "курсив", "подчёркнутый", "зачёркнутый", "секрет", "код", "справка"]
    )
    url = "https://example.org/a?b=1&c=<2>"
    return (
        Formatted()
        .add(words[0], "bold")
        .add(" ")
        .add(words[1], "italic")
        .add(" ")
        .add(words[2], "underline")
        .add(" ")
        .add(words[3], "strikethrough")
        .add(" ")
        .add(words[4], "spoiler")
        .add(" ")
        .add(f"{words[5]} a<b & c", "code")
        .add("\n")
        .add("if a < b and c > \"d\":\n    print('&amp;')", "pre", language="python")
        .add("\n")
        .add(words[6], "text_link", plain=f"{words[6]} (https://example.org/a?b=1&c=<2>)", url=url)
        .add(" ")
        .add("👍", "custom_emoji", custom_emoji_id="5368324170671202286")
        .add(" 😀 & <3")
    )


def normalized(entities: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            e["type"],
            e["offset"],
            e["length"],
            e.get("url"),
            e.get("language"),
            e.get("custom_emoji_id"),
        )
        for e in entities
    )


def jpeg(color: str = "gray") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), color).save(buffer, format="JPEG")
    return buffer.getvalue()


async def load_media(item: MediaItem) -> bytes:
    return jpeg()


class ModelLikeGenerator:
    """Answers as a chat model does (Markdown, stray `<` and `&`), finished by the real
    generator's code path (`content.ai.finish_text`) for the brief's platform."""

    available = True

    def __init__(self, answers: dict[str, list[str]], *, alternate: bool = True) -> None:
        self.answers = answers
        self.alternate = alternate  # /new: a regeneration gets the second answer
        self.briefs: list[Brief] = []

    async def generate(self, brief: Brief) -> Generated:
        self.briefs.append(brief)
        index = (len(self.briefs) - 1) % 2 if self.alternate else 0
        raw = self.answers[brief.language][index]
        return Generated(text=finish_text(brief, raw), model="model-like")


AI_ANSWERS = {
    "en": [
        "**Weekly digest**\n\nTom & Jerry: a < b && c > d, see [the docs](https://example.org/?a=1&b=2).",
        '**Second take**\n\nIt\'s *really* 5 < 6 & "fine".',
    ],
    "ru": [
        "**Дайджест недели**\n\nТом & Джерри: a < b && c > d, см. [справку](https://example.org/?a=1&b=2).",
        "**Второй вариант**\n\nЭто *правда* 5 < 6 & «хорошо».",
    ],
}
AI_READER = {
    "en": [
        ("Weekly digest\n\nTom & Jerry: a < b && c > d, see the docs.", "the docs"),
        ('Second take\n\nIt\'s really 5 < 6 & "fine".', None),
    ],
    "ru": [
        ("Дайджест недели\n\nТом & Джерри: a < b && c > d, см. справку.", "справку"),
        ("Второй вариант\n\nЭто правда 5 < 6 & «хорошо».", None),
    ],
}


def ai_expected(language: str, index: int) -> Formatted:
    text, link = AI_READER[language][index]
    head, body = text.split("\n\n", 1)
    out = Formatted().add(head, "bold").add("\n\n")
    if link is None:
        italic = "really" if language == "en" else "правда"
        before, after = body.split(italic, 1)
        return out.add(before).add(italic, "italic").add(after)
    before, after = body.split(link, 1)
    url = "https://example.org/?a=1&b=2"
    return out.add(before).add(link, "text_link", plain=f"{link} ({url})", url=url).add(after)


@dataclass
class World:
    harness: Harness
    fake: FakeTelegram
    x_server: FakeXServer
    instagram: FakeInstagram
    user_id: int
    language: str
    worker: ScheduledPostsWorker
    target_ids: dict[str, int]

    @property
    def chat(self) -> Any:
        return self.harness.chat(self.user_id)

    def with_data(self, data: str) -> dict[str, Any]:
        """The newest message to the user with a button of this callback data: buttons are
        pressed by their data, since their labels are in the user's language."""
        for message in reversed(self.fake.sent_to(self.user_id)):
            markup = message.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                if any(b.get("callback_data") == data for b in row):
                    return message
        raise AssertionError(f"no message with a {data!r} button")

    def press(self, data: str) -> Any:
        return self.chat.press_data(data, self.with_data(data))

    async def publish_now(self) -> None:
        await self.press("draft:publish_now")
        for target_id in self.target_ids.values():
            picker = self.with_data("tpick:0")
            label = next(
                b["text"]
                for row in picker["reply_markup"]["inline_keyboard"]
                for b in row
                if b.get("callback_data") == f"tpick:{target_id}"
            )
            if not label.startswith("✅"):
                await self.chat.press_data(f"tpick:{target_id}", picker)
        await self.press("tpick:0")
        await self.press("draft:confirm")
        report = await self.worker.run_once()
        assert report.published == 3, report


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    """The strict fake, whatever FAKE_TG_STRICT says: the matrix is about what readers see."""
    server = FakeTelegram(TEST_TOKEN, strict=True)
    await server.start()
    server.add_user(USER_ID, "Anna", "en", "anna")
    server.add_user(OTHER_USER_ID, "Борис", "ru", "boris")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def x_server() -> AsyncIterator[FakeXServer]:
    server = FakeXServer(X_KEY, X_SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture(params=sorted(LANGUAGES))
async def world(
    request: pytest.FixtureRequest,
    fake_tg: FakeTelegram,
    x_server: FakeXServer,
    tmp_path: Path,
    clock: ManualClock,
) -> AsyncIterator[World]:
    language = str(request.param)
    user_id = LANGUAGES[language]
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    settings = make_settings(
        database_url=url,
        telegram_api_base=fake_tg.base_url,
        secret_key="vWTprDwNm05Nr81Rtco9G8csmiC7aSaZsJEZlM0ZMoI=",
    )
    generator = ModelLikeGenerator(AI_ANSWERS)
    async with running_bot(settings, fake_tg, clock, generator=generator) as harness:
        app = harness.app
        fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=user_id)
        chat = harness.chat(user_id)
        await chat.send("/start")
        await chat.send("/link")
        await chat.forward_from(CHANNEL_ID)
        async with app.session_factory() as session:
            (channel,) = await TargetRepository(session).list_for_owner(user_id)
        token, token_secret = x_server.add_account("42", "anna_codes", "Anna")
        instagram = FakeInstagram()
        instagram.add_account("anna.shop", IG_PASSWORD)
        event = await InstagramLogin(instagram.client_factory).start("anna.shop", IG_PASSWORD)
        assert isinstance(event, Linked)
        accounts = AccountService(app.db, app.services.secrets)
        x = await accounts.save_x(
            user_id, XAccount("42", "anna_codes", "Anna", token, token_secret)
        )
        ig = await accounts.save_instagram(user_id, event.account)
        registry = PublisherRegistry()
        registry.register(TelegramPublisher(app.bot))
        registry.register(XPublisher(X_KEY, X_SECRET, api_base=x_server.base_url, timeout=5))
        registry.register(InstagramPublisher(instagram.client_factory, delay_range=(0.0, 0.0)))
        worker = ScheduledPostsWorker(
            app.db,
            registry,
            clock=clock,
            retry=RetryPolicy(max_attempts=1, base_delay=30),
            limits=RateLimits(enabled=False),
            secrets=app.services.secrets,
            media_loader=load_media,
        )
        yield World(
            harness,
            fake_tg,
            x_server,
            instagram,
            user_id,
            language,
            worker,
            {"telegram": channel.id, "x": x.id, "instagram": ig.id},
        )


def assert_readers_see(world: World, meant: Formatted, *, preview_from: int | None) -> None:
    """The channel's reader, the preview (when there is one) and X/Instagram, against what
    was meant."""
    (channel_post, *rest) = world.fake.sent_to(CHANNEL_ID)
    assert all(not reader_text(m) for m in rest)  # an album's other photos have no caption
    assert reader_text(channel_post) == meant.text
    assert normalized(reader_entities(channel_post)) == normalized(meant.entities)
    if preview_from is not None:
        previews = [
            m
            for m in world.fake.sent_to(world.user_id)[preview_from:]
            if reader_text(m) == meant.text
            and normalized(reader_entities(m)) == normalized(meant.entities)
        ]
        assert previews, "the preview did not show what the channel got"
    (tweet,) = world.x_server.tweets_by("42")
    (ig_post,) = world.instagram.published
    for plain in (tweet.text, ig_post.caption):
        assert plain == meant.plain.strip()
        for leftover in ("<b>", "</", "&lt;", "&gt;", "&amp;amp;", "**", 'href="'):
            assert leftover not in (plain or "").replace(meant.plain, "")


async def test_typed_plain_text_full_of_markup_characters(world: World) -> None:
    meant = Formatted().add(TRICKY[world.language])
    chat = world.chat
    await chat.send("/new")
    start = len(world.fake.sent_to(world.user_id))
    await chat.send(meant.text)
    await world.publish_now()
    assert_readers_see(world, meant, preview_from=start)


async def test_typed_text_with_telegram_formatting(world: World) -> None:
    meant = formatted(world.language)
    chat = world.chat
    await chat.send("/new")
    start = len(world.fake.sent_to(world.user_id))
    await chat.send(meant.text, entities=meant.entities)
    await world.publish_now()
    assert_readers_see(world, meant, preview_from=start)


async def test_photo_caption_with_formatting(world: World) -> None:
    meant = formatted(world.language)
    chat = world.chat
    await chat.send("/new")
    start = len(world.fake.sent_to(world.user_id))
    photo = await chat.photo(meant.text)
    photo["caption_entities"] = meant.entities
    await world.harness.feed({"message": photo}, world.user_id)
    await world.publish_now()
    assert_readers_see(world, meant, preview_from=start)
    assert world.fake.calls_to("sendPhoto", chat_id=CHANNEL_ID)


async def test_album_caption_with_formatting(world: World) -> None:
    meant = formatted(world.language)
    chat = world.chat
    await chat.send("/new")
    start = len(world.fake.sent_to(world.user_id))
    first = await chat.photo(meant.text, group="readers-album")
    first["caption_entities"] = meant.entities
    second = await chat.photo(None, group="readers-album")
    await asyncio.gather(*(world.harness.feed({"message": m}, None) for m in (first, second)))
    await world.publish_now()
    assert_readers_see(world, meant, preview_from=start)
    assert world.fake.calls_to("sendMediaGroup", chat_id=CHANNEL_ID)


async def test_ai_in_new_post(world: World) -> None:
    chat = world.chat
    await chat.send("/new")
    await world.press("draft:ai")
    start = len(world.fake.sent_to(world.user_id))
    await chat.send("a weekly digest")
    await world.publish_now()
    assert_readers_see(world, ai_expected(world.language, 0), preview_from=start)


async def test_ai_regenerated(world: World) -> None:
    chat = world.chat
    await chat.send("/new")
    await world.press("draft:ai")
    await chat.send("a weekly digest")
    start = len(world.fake.sent_to(world.user_id))
    await world.press("draft:regenerate")
    await world.publish_now()
    assert_readers_see(world, ai_expected(world.language, 1), preview_from=start)


async def test_edited_text(world: World) -> None:
    chat = world.chat
    await chat.send("/new")
    await chat.send("first version")
    await world.press("draft:edit")
    meant = formatted(world.language)
    start = len(world.fake.sent_to(world.user_id))
    await chat.send(meant.text, entities=meant.entities)
    await world.publish_now()
    assert_readers_see(world, meant, preview_from=start)


async def test_title(world: World) -> None:
    title = 'Tom & Jerry <3 "q"' if world.language == "en" else 'Том & Джерри <3 "к"'
    body = TRICKY[world.language]
    meant = Formatted().add(title, "bold").add("\n\n").add(body)
    chat = world.chat
    await chat.send("/new")
    await world.press("draft:title")
    await chat.send(title)
    start = len(world.fake.sent_to(world.user_id))
    await chat.send(body)
    await world.publish_now()
    assert_readers_see(world, meant, preview_from=start)
    async with world.harness.app.session_factory() as session:
        statuses = {p.status for p in (await session.scalars(_posts())).all()}
    assert statuses == {PostStatus.PUBLISHED}


def _posts() -> Any:
    return select(ScheduledPost)


# ---------- auto-posting rules: an AI post, a fixed text, an approval Edit ----------


def html_of(meant: Formatted) -> str:
    """What the rule wizard stores for a text typed with this formatting."""
    message = Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "text": meant.text,
            "entities": meant.entities,
        }
    )
    return message_html(message)


async def run_rule(world: World, clock: ManualClock, **overrides: Any) -> None:
    app = world.harness.app
    content = overrides.pop("content")
    await create_rule(
        app.session_factory,
        clock,
        list(world.target_ids.values()),
        owner_id=world.user_id,
        timezone="UTC",
        content=ContentConfig.model_validate(content),
        **overrides,
    )
    clock.set(clock.now().replace(hour=12, minute=5))
    generator = ModelLikeGenerator(AI_ANSWERS, alternate=False)  # one text per platform
    rules = AutoPostingWorker(app.db, generator=generator, clock=clock, notifier=app.notifier)
    report = await rules.run_once()
    assert report.succeeded == 1, report


async def publish_due(world: World, clock: ManualClock) -> None:
    async with world.harness.app.session_factory() as session:
        due = max(p.due_at for p in (await session.scalars(_posts())).all())
    clock.set(max(clock.now(), due))
    report = await world.worker.run_once()
    assert report.published == 3, report


async def test_rule_fixed_text(world: World, clock: ManualClock) -> None:
    meant = formatted(world.language)
    await run_rule(world, clock, content={"kind": "text", "text": html_of(meant)})
    await publish_due(world, clock)
    # No preview for a rule without approval: the channel shows what the wizard stored.
    assert_readers_see(world, meant, preview_from=None)


async def test_rule_ai_post(world: World, clock: ManualClock) -> None:
    await run_rule(world, clock, content={"kind": "ai", "description": "a weekly digest"})
    await publish_due(world, clock)
    assert_readers_see(world, ai_expected(world.language, 0), preview_from=None)


async def test_rule_ai_draft_shown_for_approval(world: World, clock: ManualClock) -> None:
    start = len(world.fake.sent_to(world.user_id))
    await run_rule(
        world,
        clock,
        content={"kind": "ai", "description": "a weekly digest"},
        approval_required=True,
    )
    for data in _approval_buttons(world, "approve"):
        await world.press(data)
    await publish_due(world, clock)
    assert_readers_see(world, ai_expected(world.language, 0), preview_from=start)
    plain = ai_expected(world.language, 0).plain
    assert any(
        m.get("text") == plain or reader_text(m) == plain
        for m in world.fake.sent_to(world.user_id)[start:]
    ), "the X draft was not plain"


async def test_approval_edit(world: World, clock: ManualClock) -> None:
    await run_rule(
        world,
        clock,
        content={"kind": "ai", "description": "a weekly digest"},
        approval_required=True,
    )
    meant = formatted(world.language)
    start = len(world.fake.sent_to(world.user_id))
    for data in _approval_buttons(world, "edit"):
        await world.press(data)
        await world.chat.send(meant.text, entities=meant.entities)
    for data in _approval_buttons(world, "approve"):
        await world.press(data)
    await publish_due(world, clock)
    assert_readers_see(world, meant, preview_from=start)


def _approval_buttons(world: World, action: str) -> list[str]:
    """The newest `ap:<action>:<content>` button of each draft."""
    found: dict[str, None] = {}
    for message in world.fake.sent_to(world.user_id):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data") or "")
                if data.startswith(f"ap:{action}:"):
                    found[data] = None
    return list(found)
