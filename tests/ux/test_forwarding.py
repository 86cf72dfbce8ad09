"""Forward any post to the bot → a draft equal to it; link a channel in one tap (Telegram's
chat picker, and the bot added to a channel). Through the dispatcher against the fake Bot
API; the linking paths refuse exactly as /link does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.factory import create_app, create_workers
from handlers.accounts import LINK_CHANNEL_REQUEST
from handlers.compose.states import NewPost
from storage.db import upgrade_database
from storage.models import Target
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram, reader_entities, reader_text
from tests.fakes.telegram_html import reader_view
from tests.ux.conftest import texts
from tests.ux.harness import Harness

OTHER_CHANNEL_ID = -1009876543210
# A channel post as its readers see it: formatting of every kind a post carries, an emoji
# outside the BMP before it (UTF-16 offsets), a link, a spoiler, a quote, a code block.
ORIGINAL_HTML = (
    "🔥 <b>Big release</b> of <i>Curator</i> — <u>today</u>, <s>not tomorrow</s>!\n"
    '<a href="https://example.com/notes">Release notes</a> · <tg-spoiler>a surprise</tg-spoiler>'
    "\n<blockquote>Quoted from the team</blockquote>\n"
    '<pre><code class="language-python">print("hi")</code></pre>\n'
    "<b><i>Both</i> bold</b> and <code>inline</code> #news"
)


def original_post() -> tuple[str, list[dict[str, Any]]]:
    """The post's text and entities exactly as Telegram delivers them when forwarded."""
    view = reader_view(ORIGINAL_HTML, "HTML", None, allow_empty=False)
    return view.text, view.entities_json()


async def forward(
    harness: Harness, chat_id: int, text: str | None, **extra: Any
) -> list[dict[str, Any]]:
    message = harness.fake.forward_from_channel(USER_ID, chat_id, text, **extra)
    return await harness.feed({"message": message}, USER_ID)


async def targets_of(harness: Harness, user_id: int = USER_ID) -> list[Target]:
    return list(await harness.app.services.targets.list(user_id))


def with_entities(messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(reader_text(m), reader_entities(m)) for m in messages]


# ---------- forward → draft ----------


async def test_a_forwarded_post_with_formatting_and_a_photo_becomes_an_equal_draft(
    harness: Harness,
) -> None:
    fake = harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    text, entities = original_post()
    assert {e["type"] for e in entities} >= {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "text_link",
        "spoiler",
        "blockquote",
        "pre",
        "code",
    }

    reply = await forward(harness, OTHER_CHANNEL_ID, text, entities=entities, photo="P1")

    # Not the user's channel: no offer, straight to the preview; what its reader sees is
    # the original post, photo and formatting.
    (preview, actions) = reply
    assert preview["photo"][0]["file_id"] == "P1"
    assert (reader_text(preview), reader_entities(preview)) == (text, entities)
    assert "This is how the post will look" in actions["text"]
    assert await chat.state() == NewPost.preview.state

    # The normal flow goes on, and the channel's readers get the same post.
    await chat.tap("Publish now")
    await chat.tap("Tech news")
    await chat.tap("Done")
    await chat.tap("Confirm")
    group = create_workers(harness.app, AsyncIOScheduler(timezone="UTC"))
    await group.runners[0].worker.run_once()
    (published,) = fake.sent_to(CHANNEL_ID)
    assert published["photo"][0]["file_id"] == "P1"
    assert (reader_text(published), reader_entities(published)) == (text, entities)


async def test_a_forwarded_album_keeps_every_photo_and_its_caption(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    text, entities = original_post()
    messages = [
        fake.forward_from_channel(
            USER_ID,
            OTHER_CHANNEL_ID,
            text if i == 0 else None,
            entities=entities if i == 0 else None,
            photo=f"A{i}",
            media_group_id="album-1",
            post_id=10 + i,
        )
        for i in range(3)
    ]
    before = len(fake.sent_to(USER_ID))
    await asyncio.gather(*(sqlite_harness.feed({"message": m}, None) for m in messages))
    shown = fake.sent_to(USER_ID)[before:]
    album = [m for m in shown if m.get("media_group_id")]
    assert [m["photo"][0]["file_id"] for m in album] == ["A0", "A1", "A2"]
    assert (reader_text(album[0]), reader_entities(album[0])) == (text, entities)
    assert sum("This is how the post will look" in (m.get("text") or "") for m in shown) == 1


async def test_a_plain_text_forward_keeps_its_formatting(sqlite_harness: Harness) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    text, entities = original_post()
    (preview, _actions) = await forward(sqlite_harness, OTHER_CHANNEL_ID, text, entities=entities)
    assert (reader_text(preview), reader_entities(preview)) == (text, entities)
    # A post forwarded from a person (not a channel) is a draft too.
    origin = {"type": "hidden_user", "date": 0, "sender_user_name": "Someone"}
    message = fake.user_message(USER_ID, "Hello from someone", forward_origin=origin)
    (preview, _actions) = await sqlite_harness.feed({"message": message}, USER_ID)
    assert reader_text(preview) == "Hello from someone"


async def test_media_the_post_cannot_carry_is_said_and_nothing_is_lost_silently(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    # Videos, GIFs and files are kept (tests/ux/test_media_kinds.py); a voice message is not.
    voice = {"file_id": "V1", "file_unique_id": "v1", "duration": 3}
    reply = await forward(sqlite_harness, OTHER_CHANNEL_ID, None, voice=voice)
    assert "has none of them" in texts(reply)
    chat = sqlite_harness.chat(USER_ID)
    assert await chat.state() is None
    reply = await forward(sqlite_harness, OTHER_CHANNEL_ID, None, voice=voice, caption="Watch")
    assert "voice messages" in reply[0]["text"]
    assert reader_text(reply[1]) == "Watch"
    assert await chat.state() == NewPost.preview.state


async def test_a_forward_while_a_question_waits_stays_an_answer(sqlite_harness: Harness) -> None:
    """Inside /link's dialog a forwarded post still names the channel to link."""
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/link")
    reply = await chat.forward_from(CHANNEL_ID)
    assert "Channel Tech news (@technews) is linked" in texts(reply)
    assert "This is how the post will look" not in texts(reply)


# ---------- a forward from the user's own channel, not linked yet ----------


async def test_a_forward_from_an_unlinked_own_channel_offers_linking_first(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = sqlite_harness.chat(USER_ID)
    text, entities = original_post()
    (offer,) = await forward(sqlite_harness, CHANNEL_ID, text, entities=entities, photo="P2")
    assert "This post is from Tech news" in offer["text"]
    labels = [b["text"] for row in offer["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["🔗 Link this channel", "📝 Just make a draft", "⬅️ Back", "✖️ Cancel"]

    reply = await chat.tap("Link this channel")
    assert "✅ Channel Tech news (@technews) is linked" in reply[0]["text"]
    (target,) = await targets_of(sqlite_harness)
    preview = reply[1]
    assert (reader_text(preview), reader_entities(preview)) == (text, entities)
    assert (await chat.data())["chosen"] == [target.id]
    # One tap more than any draft, and the post goes to the channel it came from.
    await chat.tap("Publish now")
    picker = chat.last()
    assert "✅ Telegram: Tech news (@technews)" in str(picker["reply_markup"])

    # Linked now: the next forward from it is a draft at once, the channel chosen.
    await chat.send("/cancel")
    reply = await forward(sqlite_harness, CHANNEL_ID, "Again")
    assert reader_text(reply[0]) == "Again"
    assert (await chat.data())["chosen"] == [target.id]


async def test_just_make_a_draft_leaves_the_channel_unlinked(sqlite_harness: Harness) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = sqlite_harness.chat(USER_ID)
    await forward(sqlite_harness, CHANNEL_ID, "Draft me")
    reply = await chat.tap("Just make a draft")
    assert reader_text(reply[0]) == "Draft me"
    assert await targets_of(sqlite_harness) == []
    assert await chat.state() == NewPost.preview.state
    # Cancel from the offer: nothing kept.
    await chat.send("/cancel")
    await forward(sqlite_harness, CHANNEL_ID, "Not this")
    reply = await chat.tap("Cancel")
    assert "Nothing was saved" in texts(reply)
    assert await chat.state() is None


async def test_the_offer_is_made_only_where_both_checks_pass(sqlite_harness: Harness) -> None:
    """A channel where the bot may not post (or the user may not) gets no offer: a draft."""
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID, bot_status="left")
    reply = await forward(sqlite_harness, CHANNEL_ID, "Straight to a draft")
    assert reader_text(reply[0]) == "Straight to a draft"


async def test_linking_from_the_offer_refused_still_keeps_the_draft(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = sqlite_harness.chat(USER_ID)
    await forward(sqlite_harness, CHANNEL_ID, "Keep me")
    fake.set_member(CHANNEL_ID, USER_ID, "administrator", can_post_messages=False)
    reply = await chat.tap("Link this channel")
    assert "without the right to post messages" in reply[0]["text"]
    assert reader_text(reply[1]) == "Keep me"
    assert await targets_of(sqlite_harness) == []


# ---------- the chat picker ----------


def picker_button(fake: FakeTelegram) -> dict[str, Any]:
    keyboard = fake.reply_keyboards.get(USER_ID)
    assert keyboard is not None, "no reply keyboard shown"
    ((button,),) = keyboard["keyboard"]
    return button  # type: ignore[no-any-return]


async def test_link_shows_the_chat_picker_and_a_picked_channel_is_linked(
    harness: Harness,
) -> None:
    fake = harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    button = picker_button(fake)
    request = button["request_chat"]
    assert button["text"] == "📢 Choose a channel"
    assert request["request_id"] == LINK_CHANNEL_REQUEST
    assert request["chat_is_channel"] is True
    assert request["user_administrator_rights"]["can_post_messages"] is True
    assert request["bot_administrator_rights"]["can_post_messages"] is True
    assert request["request_title"] is True and request["request_username"] is True

    # One tap on the button, one on the channel in Telegram's list: linked.
    fake.updates.clear()
    message = fake.share_chat(USER_ID, CHANNEL_ID, LINK_CHANNEL_REQUEST)
    reply = await harness.feed({"message": message}, USER_ID)
    assert "✅ Channel Tech news (@technews) is linked" in texts(reply)
    assert [t.external_id for t in await targets_of(harness)] == [str(CHANNEL_ID)]
    assert fake.reply_keyboards[USER_ID] is None  # the picker's keyboard is gone
    assert "Your targets" in texts(reply) or "Targets" in texts(reply)


async def test_the_picker_refuses_as_link_does_and_cancel_removes_it(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID, bot_status="left")
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    third = -1005555555555
    fake.add_channel(third, "Quiet news", None, owner=OTHER_USER_ID, admins=(USER_ID,))
    fake.set_member(third, USER_ID, "administrator", can_post_messages=False)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/link")
    cases = (
        (CHANNEL_ID, "I am not an administrator of Tech news"),
        (OTHER_CHANNEL_ID, "You are not the creator or an administrator of Their news"),
        (third, "You are an administrator of Quiet news but without the right to post"),
    )
    for chat_id, refusal in cases:
        message = fake.share_chat(USER_ID, chat_id, LINK_CHANNEL_REQUEST)
        reply = await sqlite_harness.feed({"message": message}, USER_ID)
        assert refusal in texts(reply)
        # Still in the dialog, the picker still there to pick another.
        assert picker_button(fake)
    assert await targets_of(sqlite_harness) == []
    await chat.tap("Cancel")
    assert fake.reply_keyboards[USER_ID] is None
    assert "Linking cancelled" in texts(chat.sent()[-2:])


async def test_a_channel_picked_after_the_dialog_closed_is_linked_the_same_way(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", "theirnews", owner=OTHER_USER_ID)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/link")
    await chat.send("/start")  # the dialog is gone; the keyboard may outlive it
    message = fake.share_chat(USER_ID, OTHER_CHANNEL_ID, LINK_CHANNEL_REQUEST)
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "You are not the creator or an administrator of Their news" in texts(reply)
    assert fake.reply_keyboards[USER_ID] is None
    message = fake.share_chat(USER_ID, CHANNEL_ID, LINK_CHANNEL_REQUEST)
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "✅ Channel Tech news (@technews) is linked" in texts(reply)
    # Another request's answer (a stale or forged picker) links nothing.
    message = fake.share_chat(USER_ID, OTHER_CHANNEL_ID, 99)
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "no longer active" in texts(reply)
    assert len(await targets_of(sqlite_harness)) == 1


async def test_the_fake_refuses_a_picker_telegram_would_refuse(fake_tg: FakeTelegram) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramBadRequest

    from tests.conftest import TEST_TOKEN

    session = AiohttpSession(api=TelegramAPIServer.from_base(fake_tg.base_url))
    bot = Bot(TEST_TOKEN, session=session)
    try:
        bad = {"keyboard": [[{"text": "Pick", "request_chat": {"request_id": 2**31}}]]}
        for markup, words in (
            (bad, '"request_id" must be a valid Number'),
            (
                {"keyboard": [[{"text": "Pick", "request_chat": {"request_id": 1}}]]},
                '"chat_is_channel" must be of type Boolean',
            ),
            ({"keyboard": [[{"text": ""}]]}, "Text must be non-empty"),
        ):
            try:
                await bot.send_message(USER_ID, "pick", reply_markup=markup)  # type: ignore[arg-type]
            except TelegramBadRequest as exc:
                assert words in str(exc)
            else:
                raise AssertionError(f"accepted {markup}")
    finally:
        await session.close()


# ---------- the bot added to a channel ----------


async def added(harness: Harness, chat_id: int, by: int, **kw: Any) -> list[dict[str, Any]]:
    update = harness.fake.bot_added_to_channel(chat_id, by, **kw)
    return await harness.feed({"my_chat_member": update["my_chat_member"]}, by)


async def test_the_person_who_adds_the_bot_is_offered_to_link_in_one_tap(
    harness: Harness,
) -> None:
    fake = harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID, bot_status="left")
    chat = harness.chat(USER_ID)
    (offer,) = await added(harness, CHANNEL_ID, USER_ID)
    assert "You added me to Tech news as an administrator" in offer["text"]
    assert fake.sent_to(CHANNEL_ID) == []  # nothing is ever said in the channel
    reply = await chat.tap("Link")
    assert "✅ Channel Tech news (@technews) is linked" in texts(reply)
    assert [t.external_id for t in await targets_of(harness)] == [str(CHANNEL_ID)]
    # Added again (removed and re-added) while linked: no second offer.
    assert await added(harness, CHANNEL_ID, USER_ID) == []


async def test_linking_after_being_added_refuses_as_link_does(sqlite_harness: Harness) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID, bot_status="left")
    chat = sqlite_harness.chat(USER_ID)
    (offer,) = await added(sqlite_harness, CHANNEL_ID, USER_ID, can_post=False)
    assert "I may not post messages there yet" in offer["text"]
    reply = await chat.tap("Link")
    assert "I am an administrator of Tech news but may not post messages" in texts(reply)

    # An administrator without the right to post added the bot.
    fake.add_channel(OTHER_CHANNEL_ID, "Their news", None, owner=OTHER_USER_ID, bot_status="left")
    fake.set_member(OTHER_CHANNEL_ID, USER_ID, "administrator", can_post_messages=False)
    await added(sqlite_harness, OTHER_CHANNEL_ID, USER_ID)
    reply = await chat.tap("Link")
    assert "without the right to post messages" in texts(reply)

    # The bot was removed again before the tap.
    fake.add_channel(-1007777777777, "Gone news", None, owner=USER_ID, bot_status="left")
    await added(sqlite_harness, -1007777777777, USER_ID)
    fake.set_member(-1007777777777, 7000000001, "left")
    reply = await chat.tap("Link")
    assert "I am not an administrator of Gone news" in texts(reply)
    assert await targets_of(sqlite_harness) == []

    # "Not now": nothing linked, and how to do it later.
    await added(sqlite_harness, -1007777777777, USER_ID)
    reply = await chat.tap("Not now")
    assert "/link" in texts(reply)


async def test_someone_who_never_started_the_bot_is_left_alone(sqlite_harness: Harness) -> None:
    fake = sqlite_harness.fake
    stranger = 333
    fake.add_user(stranger, "Vera")
    fake.not_started.add(stranger)
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=stranger, bot_status="left")
    assert await added(sqlite_harness, CHANNEL_ID, stranger) == []
    (attempt,) = fake.calls_to("sendMessage", chat_id=stranger)
    assert "You added me" in attempt.params["text"]
    assert fake.sent_to(CHANNEL_ID) == []


async def test_other_membership_updates_in_channels_are_ignored(sqlite_harness: Harness) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    update = fake.bot_added_to_channel(CHANNEL_ID, USER_ID)
    body = {"chat_member": update["my_chat_member"]}
    assert await sqlite_harness.feed(body, USER_ID) == []
    sends = [c for c in fake.calls if c.method.startswith("send")]
    assert sends == []


# ---------- real polling ----------


async def quiet(fake: FakeTelegram, calm: float = 0.3, bound: float = 10.0) -> None:
    """Waits until the bot made no request for `calm` seconds (at most `bound`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    seen = len(fake.calls)
    while loop.time() < deadline:
        await asyncio.sleep(calm)
        if len(fake.calls) == seen:
            return
        seen = len(fake.calls)


async def test_by_real_polling_the_added_bot_and_the_picker_link_channels(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    """aiogram's own polling asks for my_chat_member (the fake, as Telegram, delivers only
    the update types asked for), and both one-tap paths link."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    app = create_app(
        make_settings(database_url=url, telegram_api_base=fake_tg.base_url, disable_workers=True)
    )
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID, bot_status="left")
    fake_tg.add_channel(OTHER_CHANNEL_ID, "Their news", None, owner=USER_ID)

    def listed_targets() -> int:
        return sum("Your targets:" in text for text in fake_tg.reader_texts(USER_ID))

    async with polling(app):
        fake_tg.bot_added_to_channel(CHANNEL_ID, USER_ID)
        offer = await fake_tg.wait_for_text(USER_ID, "You added me to Tech news")
        fake_tg.press(USER_ID, offer, fake_tg.find_button(offer, "Link"))
        await fake_tg.wait_for_text(USER_ID, "Channel Tech news (@technews) is linked")

        fake_tg.user_message(USER_ID, "/link")
        await fake_tg.wait_for(lambda: fake_tg.reply_keyboards.get(USER_ID), what="the picker")
        lists_before = listed_targets()
        fake_tg.share_chat(USER_ID, OTHER_CHANNEL_ID, LINK_CHANNEL_REQUEST)
        await fake_tg.wait_for_text(USER_ID, "Channel Their news is linked")
        await fake_tg.wait_for(
            lambda: USER_ID in fake_tg.reply_keyboards and not fake_tg.reply_keyboards[USER_ID],
            what="the picker removed",
        )
        # The dialog ends by showing the targets and tidying its old keyboard: wait for the
        # chat to go quiet, or polling would stop (and close the bot's session) while those
        # answers are still being sent.
        await fake_tg.wait_for(lambda: listed_targets() > lists_before, what="the targets")
        await quiet(fake_tg)
    assert fake_tg.allowed_updates is not None and "my_chat_member" in fake_tg.allowed_updates
    targets = await app.services.targets.list(USER_ID)
    assert sorted(t.external_id for t in targets) == sorted(
        [str(CHANNEL_ID), str(OTHER_CHANNEL_ID)]
    )
    await app.engine.dispose()


async def test_back_from_the_channel_dialog_removes_the_picker(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/channels")
    await chat.tap("Link a channel")
    assert picker_button(sqlite_harness.fake)
    reply = await chat.tap("Back")
    assert reply[0]["text"] == "Closed the channel picker."
    assert sqlite_harness.fake.reply_keyboards[USER_ID] is None
    assert "Link a channel" in str(reply[-1]["reply_markup"])


async def test_the_picker_adding_the_bot_gets_no_second_offer(sqlite_harness: Harness) -> None:
    """Picking a channel the bot is not in: Telegram adds the bot (my_chat_member) and then
    sends the pick (chat_shared). One answer: linked."""
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID, bot_status="left")
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/link")
    assert await added(sqlite_harness, CHANNEL_ID, USER_ID) == []
    message = fake.share_chat(USER_ID, CHANNEL_ID, LINK_CHANNEL_REQUEST)
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "✅ Channel Tech news (@technews) is linked" in texts(reply)
    assert "You added me" not in texts(chat.sent())


async def test_a_channel_picked_from_a_posts_target_picker_comes_back_chosen(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.send("Hello, readers")
    await chat.tap("Publish now")
    await chat.tap("Link a channel")
    assert picker_button(fake)
    message = fake.share_chat(USER_ID, CHANNEL_ID, LINK_CHANNEL_REQUEST)
    reply = await sqlite_harness.feed({"message": message}, USER_ID)
    assert "✅ Channel Tech news (@technews) is linked" in reply[0]["text"]
    assert fake.reply_keyboards[USER_ID] is None
    assert "✅ Telegram: Tech news (@technews)" in str(reply[-1]["reply_markup"])
    assert await chat.state() == NewPost.targets.state
    await chat.tap("Done")
    await chat.tap("Confirm")
    assert "Publishing now" in chat.last()["text"]
