"""Every kind of media a channel post has (issue 12): videos, GIFs (animations) and files
(documents) beside photos, written to /new or forwarded, previewed exactly as the channel's
readers get them and published so; albums Telegram would not send and platforms that cannot
take a kind are refused clearly before anything is scheduled. Through the dispatcher against
the strict fake Bot API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.types import Message
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.factory import create_workers
from content.fitting import Problem, fit_for_platform
from handlers.compose.media import media_ref, piece_file_id, ref_of_piece
from handlers.compose.states import NewPost
from handlers.compose.texts import describe_problem
from handlers.i18n import create_i18n
from services.posts import Draft, MediaRef, check_draft
from storage.models import Content
from storage.repositories import TargetRepository
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID
from tests.fakes.telegram import reader_entities, reader_media, reader_post, reader_text
from tests.fakes.telegram_html import reader_view
from tests.ux.conftest import texts
from tests.ux.harness import Chat, Harness

OTHER_CHANNEL_ID = -1009876543210
CAPTION_HTML = (
    "🎬 <b>Launch</b> video: <i>watch</i> it <u>now</u> — "
    '<a href="https://example.com/launch">notes</a> <tg-spoiler>and a surprise</tg-spoiler>'
)


def caption() -> tuple[str, list[dict[str, Any]]]:
    """A caption and its formatting as Telegram delivers them (UTF-16 offsets)."""
    view = reader_view(CAPTION_HTML, "HTML", None, allow_empty=False)
    return view.text, view.entities_json()


async def link_channel(harness: Harness) -> Chat:
    harness.fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    return chat


async def publish_now(harness: Harness, chat: Chat, *titles: str) -> None:
    await chat.tap("Publish now")
    for title in titles:
        await chat.tap(title)
    await chat.tap("Done")
    await chat.tap("Confirm")
    group = create_workers(harness.app, AsyncIOScheduler(timezone="UTC"))
    await group.runners[0].worker.run_once()


def media_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if reader_media(m) is not None]


# ---------- written to /new ----------


async def test_a_video_with_a_formatted_caption_previews_as_the_channel_shows_it(
    harness: Harness,
) -> None:
    chat = await link_channel(harness)
    fake = harness.fake
    text, entities = caption()
    await chat.send("/new")
    message = fake.user_media(USER_ID, "video", "VID1", text, caption_entities=entities)
    reply = await harness.feed({"message": message}, USER_ID)

    (preview,) = media_messages(reply)
    assert reader_post(preview) == (("video", "VID1"), text, entities)
    assert "This is how the post will look" in texts(reply)
    assert [c.method for c in fake.calls if c.method.startswith("send")][-2:] == [
        "sendVideo",
        "sendMessage",
    ]
    # What Telegram told about the file is kept with the draft.
    (kept,) = (await chat.data())["media"]
    assert kept == {
        "kind": "video",
        "file_id": "VID1",
        "file_unique_id": "u-VID1",
        "mime": "video/mp4",
        "size": 4096,
        "width": 640,
        "height": 360,
        "duration": 7,
    }

    await publish_now(harness, chat, "Tech news")
    (published,) = fake.sent_to(CHANNEL_ID)
    assert reader_post(published) == reader_post(preview)
    assert fake.calls_to("sendVideo")[-1].params["chat_id"] == str(CHANNEL_ID)


async def test_a_caption_over_1024_after_parsing_is_caught_for_a_file_too(
    sqlite_harness: Harness,
) -> None:
    """Markup does not count, the visible text does: 1,025 visible characters are too many
    for a video's, a GIF's or a file's caption, and the preview says so before scheduling."""
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    message = sqlite_harness.fake.user_media(USER_ID, "document", "DOC9")
    message_reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert media_messages(message_reply)
    bold = [{"type": "bold", "offset": 0, "length": 1025}]
    reply = await chat.send("x" * 1025, entities=bold)
    assert "1025 of 1024" in texts(reply)
    # The preview shows the file bare and the words clipped: nothing Telegram refuses.
    (bare,) = media_messages(reply)
    assert reader_media(bare) == ("document", "DOC9") and not reader_text(bare)
    for kind in ("video", "animation", "document"):
        result = fit_for_platform("telegram", "x" * 1025, media_kinds=(kind,))
        assert Problem.TOO_LONG in result.problems and result.limit == 1024


async def test_a_photo_and_video_album_goes_out_as_one_mixed_album(
    sqlite_harness: Harness,
) -> None:
    chat = await link_channel(sqlite_harness)
    fake = sqlite_harness.fake
    text, entities = caption()
    await chat.send("/new")
    parts = [
        fake.user_media(
            USER_ID, "photo", "PH1", text, caption_entities=entities, media_group_id="mix"
        ),
        fake.user_media(USER_ID, "video", "VI2", media_group_id="mix"),
        fake.user_media(USER_ID, "photo", "PH3", media_group_id="mix"),
    ]
    before = len(chat.sent())
    await asyncio.gather(*(sqlite_harness.feed({"message": m}, None) for m in parts))
    shown = media_messages(chat.sent()[before:])
    expected = [("photo", "PH1"), ("video", "VI2"), ("photo", "PH3")]
    assert [reader_media(m) for m in shown] == expected
    assert len({m["media_group_id"] for m in shown}) == 1
    assert (reader_text(shown[0]), reader_entities(shown[0])) == (text, entities)

    await publish_now(sqlite_harness, chat, "Tech news")
    published = fake.sent_to(CHANNEL_ID)
    assert [reader_post(m) for m in published] == [reader_post(m) for m in shown]
    (call,) = fake.calls_to("sendMediaGroup", chat_id=str(CHANNEL_ID))
    assert [item["type"] for item in call.params["media"]] == ["photo", "video", "photo"]


async def test_files_do_not_share_an_album_with_photos(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    fake = sqlite_harness.fake
    await chat.send("/new")
    parts = [
        fake.user_media(USER_ID, "document", "DOC1", "Report", media_group_id="bad"),
        fake.user_media(USER_ID, "photo", "PH1", media_group_id="bad"),
    ]
    before = len(chat.sent())
    await asyncio.gather(*(sqlite_harness.feed({"message": m}, None) for m in parts))
    reply = chat.sent()[before:]
    assert "Telegram groups files only with files" in texts(reply)
    assert not media_messages(reply)
    assert await chat.state() == NewPost.content.state

    # A file as the post, then a photo sent at its preview: refused the same way, the file
    # stays the post.
    await sqlite_harness.feed({"message": fake.user_media(USER_ID, "document", "DOC2")}, USER_ID)
    reply = await chat.send(photo=fake.known_media("photo", "PH2")["photo"])
    assert "Telegram groups files only with files" in texts(reply)
    assert [m["file_id"] for m in (await chat.data())["media"]] == ["DOC2"]
    assert await chat.state() == NewPost.preview.state

    # Files with files are an album.
    await sqlite_harness.feed({"message": fake.user_media(USER_ID, "document", "DOC3")}, USER_ID)
    assert [m["kind"] for m in (await chat.data())["media"]] == ["document", "document"]


async def test_a_gif_is_never_put_in_an_album(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    fake = sqlite_harness.fake
    await chat.send("/new")
    reply = await sqlite_harness.feed(
        {"message": fake.user_media(USER_ID, "animation", "GIF1", "Fun")}, USER_ID
    )
    assert [reader_media(m) for m in media_messages(reply)] == [("animation", "GIF1")]
    reply = await chat.send(photo=fake.known_media("photo", "PH5")["photo"])
    assert "Telegram sends a GIF as a message of its own" in texts(reply)


# ---------- forwarded ----------


@pytest.mark.parametrize("kind", ["animation", "document"])
async def test_a_forwarded_gif_or_file_becomes_a_draft_published_as_such(
    sqlite_harness: Harness, kind: str
) -> None:
    chat = await link_channel(sqlite_harness)
    fake = sqlite_harness.fake
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    text, entities = caption()
    file_id = f"F-{kind}"
    message = fake.forward_from_channel(
        USER_ID,
        OTHER_CHANNEL_ID,
        None,
        caption=text,
        caption_entities=entities,
        **fake.known_media(kind, file_id),
    )
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "not carried over" not in texts(reply)
    (preview,) = media_messages(reply)
    assert reader_post(preview) == ((kind, file_id), text, entities)
    assert await chat.state() == NewPost.preview.state

    await publish_now(sqlite_harness, chat, "Tech news")
    (published,) = fake.sent_to(CHANNEL_ID)
    assert reader_post(published) == reader_post(preview)
    method = {"animation": "sendAnimation", "document": "sendDocument"}[kind]
    assert fake.calls_to(method, chat_id=str(CHANNEL_ID))
    async with sqlite_harness.app.session_factory() as session:
        content = await session.get(Content, 1)
        assert content is not None
        assert [m["kind"] for m in content.media] == [kind]


async def test_media_a_post_cannot_hold_is_still_said(sqlite_harness: Harness) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    voice = {"file_id": "VO1", "file_unique_id": "vo1", "duration": 3}
    message = fake.forward_from_channel(USER_ID, OTHER_CHANNEL_ID, None, voice=voice)
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "has none of them" in texts(reply)
    message = fake.forward_from_channel(
        USER_ID, OTHER_CHANNEL_ID, None, voice=voice, caption="Listen"
    )
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "Music, voice messages, round videos and stickers are not carried over" in texts(reply)
    assert reader_text(reply[-2]) == "Listen"


# ---------- X and Instagram ----------


async def test_x_and_instagram_refuse_a_file_before_scheduling(sqlite_harness: Harness) -> None:
    chat = await link_channel(sqlite_harness)
    async with sqlite_harness.app.session_factory() as session:
        repo = TargetRepository(session)
        await repo.link(USER_ID, "x", "x-1", "My x", "me")
        await repo.link(USER_ID, "instagram", "ig-1", "My instagram", "me")
        await session.commit()
    await chat.send("/new")
    await sqlite_harness.feed(
        {"message": sqlite_harness.fake.user_media(USER_ID, "document", "DOC7", "Slides")},
        USER_ID,
    )
    await chat.tap("Publish now")
    await chat.tap("My x")
    await chat.tap("My instagram")
    reply = await chat.tap("Done")
    shown = texts(reply)
    assert "X: I can publish only photos there, not videos, GIFs or files" in shown
    assert "Instagram: I can publish only photos there" in shown
    assert await chat.state() == NewPost.preview.state
    # Nothing was saved; Telegram alone takes it.
    async with sqlite_harness.app.session_factory() as session:
        assert await session.get(Content, 1) is None


def test_every_platform_says_what_it_cannot_take_in_both_languages() -> None:
    results = check_draft(
        Draft(text="Slides", media=(MediaRef(kind="video", file_id="V"),)),
        ["telegram", "x", "instagram"],
    )
    assert [r.ok for r in results] == [True, False, False]
    assert all(r.problems == (Problem.MEDIA_NOT_SUPPORTED,) for r in results[1:])
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("ru"):
        said = describe_problem(results[1])
    assert said.startswith("X: туда я могу публиковать только фото")


# ---------- the model ----------


def test_old_rows_load_unchanged_and_new_fields_are_bounded() -> None:
    old = {"kind": "photo", "file_id": "AgAC-old"}
    ref = MediaRef.model_validate(old)
    assert ref.stored() == old
    assert MediaRef.model_validate({"path": "/tmp/card.png"}).kind == "photo"
    with pytest.raises(ValueError):
        MediaRef.model_validate({"kind": "sticker", "file_id": "S"})
    with pytest.raises(ValueError):
        MediaRef.model_validate({"kind": "video", "file_id": "V", "duration": -1})


def test_an_album_part_keeps_its_kind() -> None:
    video = Message.model_validate(
        {
            "message_id": 5,
            "date": 0,
            "chat": {"id": USER_ID, "type": "private"},
            "animation": {
                "file_id": "GIFX",
                "file_unique_id": "g",
                "width": 1,
                "height": 1,
                "duration": 2,
            },
            "document": {"file_id": "GIFX", "file_unique_id": "g"},
        }
    )
    ref = media_ref(video)
    assert ref is not None and ref.kind == "animation"
    assert piece_file_id(video) == "animation:GIFX"
    assert ref_of_piece("animation:GIFX") == MediaRef(kind="animation", file_id="GIFX")
    assert ref_of_piece("AgACphoto") == MediaRef(kind="photo", file_id="AgACphoto")
