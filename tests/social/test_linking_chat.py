"""Linking X and Instagram accounts from the chat: real polling against the fake Bot API, the
fake X API and the fake Instagram; then what the database keeps and what the logs show."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Start
from aiogram_dialog.widgets.text import Const, Format
from sqlalchemy import text

from bot.factory import App, create_app
from handlers.accounts import LinkChannel
from platforms.credentials import SecretBox
from services.accounts import AccountLinkers
from storage.db import upgrade_database
from tests.conftest import CHANNEL_ID, USER_ID, make_settings, polling
from tests.fakes.instagram_client import FakeInstagram
from tests.fakes.telegram import FakeTelegram
from tests.fakes.x_server import FakeXServer, XUser
from tests.social.conftest import (
    X_CONSUMER_KEY,
    X_CONSUMER_SECRET,
    assert_no_secrets,
    log_text,
)

# A Fernet key: a passphrase would need a salt file in DATA_DIR.
SECRET_KEY = "kfDn47uDMkpaLU3syODBPRmH1Q9scRAYD_G_ByGnohc="
IG_PASSWORD = "Sup3r-secret-pa55word"


@pytest.fixture
async def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    return url


def build_app(url: str, fake_tg: FakeTelegram, x_server: FakeXServer | None, **extra: Any) -> App:
    values: dict[str, Any] = {
        "database_url": url,
        "telegram_api_base": fake_tg.base_url,
        "disable_workers": True,
        "secret_key": SECRET_KEY,
    }
    if x_server is not None:
        values.update(
            x_consumer_key=X_CONSUMER_KEY,
            x_consumer_secret=X_CONSUMER_SECRET,
            x_api_base=x_server.base_url,
        )
    values.update(extra)
    return create_app(make_settings(**values))


@pytest.fixture
def instagram() -> FakeInstagram:
    return FakeInstagram()


def use_fake_instagram(app: App, world: FakeInstagram) -> None:
    linkers: AccountLinkers = app.services.linkers
    linkers.instagram_client_factory = world.client_factory
    linkers.instagram_delay_range = (0.0, 0.0)


def message_with_button(fake_tg: FakeTelegram, text_part: str) -> dict[str, Any] | None:
    try:
        return fake_tg.last_message_with_button(USER_ID, text_part)
    except AssertionError:
        return None


async def raw_rows(app: App, table: str) -> str:
    async with app.engine.connect() as conn:
        rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
    return "\n".join(repr(tuple(row)) for row in rows)


async def link_x(fake_tg: FakeTelegram, x_server: FakeXServer) -> str:
    fake_tg.user_message(USER_ID, "/link_x")
    return await complete_x_link(fake_tg, x_server)


async def complete_x_link(fake_tg: FakeTelegram, x_server: FakeXServer) -> str:
    invitation = await fake_tg.wait_for_text(USER_ID, "Authorize app")
    match = re.search(r"oauth_token=([\w-]+)", invitation["text"])
    assert match, invitation["text"]
    assert invitation["text"].count("https://api.twitter.com/oauth/authorize") == 1
    pin = x_server.approve(match.group(1), "42")
    fake_tg.user_message(USER_ID, pin)
    await fake_tg.wait_for_text(USER_ID, "is linked")
    return pin


def seen(fake_tg: FakeTelegram, chat_id: int = USER_ID) -> int:
    """How many messages the chat has so far: `next_reply` looks only at those after."""
    return len(fake_tg.sent_to(chat_id))


async def next_reply(
    fake_tg: FakeTelegram, before: int, text_part: str = "", chat_id: int = USER_ID
) -> dict[str, Any]:
    """The first message sent after the first `before` ones that contains `text_part`: an
    older message with the same words cannot satisfy the wait."""

    def find() -> dict[str, Any] | None:
        return next(
            (m for m in fake_tg.sent_to(chat_id)[before:] if text_part in (m.get("text") or "")),
            None,
        )

    return await fake_tg.wait_for(find, what=f"a new message with {text_part!r}")  # type: ignore[no-any-return]


def button_texts(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_x_account_is_linked_by_pin_and_stored_encrypted(
    fake_tg: FakeTelegram,
    x_server: FakeXServer,
    database_url: str,
    app_log: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    x_server.users["42"] = XUser("42", "anna_codes", "Anna")
    app = build_app(database_url, fake_tg, x_server)

    async with polling(app):
        fake_tg.user_message(USER_ID, "/start")
        await fake_tg.wait_for_text(USER_ID, "Content Curator")
        fake_tg.user_message(USER_ID, "/link_x")
        invitation = await fake_tg.wait_for_text(USER_ID, "Authorize app")
        request_token = re.search(r"oauth_token=([\w-]+)", invitation["text"]).group(1)  # type: ignore[union-attr]
        request_secret = x_server.request_tokens[request_token]["secret"]
        pin = x_server.approve(request_token, "42")

        fake_tg.user_message(USER_ID, "12")
        await fake_tg.wait_for_text(USER_ID, "digits only")
        fake_tg.user_message(USER_ID, "7654321" if pin != "7654321" else "1234567")
        await fake_tg.wait_for_text(USER_ID, "did not accept this PIN")
        fake_tg.user_message(USER_ID, pin)
        done = await fake_tg.wait_for_text(USER_ID, "is linked")
        assert "X account @anna_codes is linked" in done["text"]

    ((token, (token_secret, _user)),) = x_server.access_tokens.items()
    targets = await raw_rows(app, "targets")
    assert "'x', '42', '@anna_codes'" in targets
    credentials = await raw_rows(app, "credentials")
    fsm = await raw_rows(app, "fsm_records")
    for secret in (token, token_secret, request_secret, pin):
        assert secret not in credentials + targets + fsm
    async with app.engine.connect() as conn:
        ciphertext = (await conn.execute(text("SELECT ciphertext FROM credentials"))).scalar_one()
    stored = SecretBox(SECRET_KEY).decrypt(ciphertext)
    assert stored == {
        "access_token": token,
        "access_token_secret": token_secret,
        "user_id": "42",
        "username": "anna_codes",
    }
    await app.engine.dispose()

    assert_no_secrets(
        log_text(app_log) + caplog.text,
        [token, token_secret, request_secret, X_CONSUMER_SECRET, SECRET_KEY],
    )


async def test_instagram_is_linked_with_two_factor_code_and_the_password_is_deleted(
    fake_tg: FakeTelegram,
    instagram: FakeInstagram,
    database_url: str,
    app_log: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    instagram.add_account("anna.shop", IG_PASSWORD, full_name="Anna", two_factor_code="246810")
    app = build_app(database_url, fake_tg, None)
    use_fake_instagram(app, instagram)

    async with polling(app):
        fake_tg.user_message(USER_ID, "/link_instagram")
        asking = await next_reply(fake_tg, 0, "Send its username")
        assert button_texts(asking) == ["✖️ Cancel"]
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "@anna.shop")
        asking = await next_reply(fake_tg, before, "send the password")
        assert asking["text"].startswith("Now send the password of @anna.shop.")
        assert button_texts(asking) == ["✖️ Cancel"]
        before = seen(fake_tg)
        password_message = fake_tg.user_message(USER_ID, IG_PASSWORD)
        logging_in = await next_reply(fake_tg, before, "Logging in")
        assert logging_in["text"] == "Logging in to Instagram as @anna.shop…"
        asking = await next_reply(fake_tg, before, "two-factor code")
        assert asking["text"] == (
            "Instagram asks for the two-factor code: from your authenticator app or the "
            "SMS Instagram sent. Send it here."
        )
        assert button_texts(asking) == ["✖️ Cancel"]
        deleted = fake_tg.calls_to("deleteMessage", chat_id=USER_ID)
        assert [int(c.params["message_id"]) for c in deleted] == [password_message["message_id"]]

        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "111111")
        retry = await next_reply(fake_tg, before, "did not work")
        assert retry["text"] == "That code did not work. Check it and send it again."
        assert button_texts(retry) == ["✖️ Cancel"]
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "246810")
        done = await next_reply(fake_tg, before, "is linked")
        assert done["text"] == "✅ Instagram account @anna.shop is linked. I will publish there."
        menu = await next_reply(fake_tg, before, "What next?")
        assert "✍️ New post" in button_texts(menu)

    account = instagram.accounts["anna.shop"]
    rows = "\n".join(
        [await raw_rows(app, t) for t in ("credentials", "targets", "fsm_records", "users")]
    )
    for secret in (IG_PASSWORD, account.session_id, account.auth_token):
        assert secret and secret not in rows
    async with app.engine.connect() as conn:
        ciphertext = (await conn.execute(text("SELECT ciphertext FROM credentials"))).scalar_one()
    stored = SecretBox(SECRET_KEY).decrypt(ciphertext)
    assert stored["settings"]["authorization_data"]["sessionid"] == account.session_id
    assert IG_PASSWORD not in repr(stored)
    await app.engine.dispose()
    assert_no_secrets(
        log_text(app_log) + caplog.text,
        [IG_PASSWORD, account.session_id or "", account.auth_token or "", SECRET_KEY],
    )


async def test_instagram_challenge_code_is_asked_in_the_chat(
    fake_tg: FakeTelegram, instagram: FakeInstagram, database_url: str
) -> None:
    instagram.add_account("anna.shop", IG_PASSWORD, challenge_code="135790")
    app = build_app(database_url, fake_tg, None)
    use_fake_instagram(app, instagram)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/link_instagram")
        await fake_tg.wait_for_text(USER_ID, "Send its username")
        fake_tg.user_message(USER_ID, "anna.shop")
        await fake_tg.wait_for_text(USER_ID, "send the password")
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, IG_PASSWORD)
        asking = await next_reply(fake_tg, before, "security code")
        assert "sent a security code to your e-mail or phone" in asking["text"]
        assert button_texts(asking) == ["✖️ Cancel"]
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "135790")
        done = await next_reply(fake_tg, before, "is linked")
        assert done["text"] == "✅ Instagram account @anna.shop is linked. I will publish there."
    assert "'instagram'" in await raw_rows(app, "targets")
    assert "@anna.shop" in await raw_rows(app, "targets")
    assert await raw_rows(app, "credentials") != ""
    await app.engine.dispose()


async def test_instagram_challenge_needing_a_person_is_explained(
    fake_tg: FakeTelegram, instagram: FakeInstagram, database_url: str
) -> None:
    instagram.add_account("anna.shop", IG_PASSWORD, manual_challenge=True)
    app = build_app(database_url, fake_tg, None)
    use_fake_instagram(app, instagram)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/link_instagram")
        await fake_tg.wait_for_text(USER_ID, "Send its username")
        fake_tg.user_message(USER_ID, "anna.shop")
        await fake_tg.wait_for_text(USER_ID, "send the password")
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, IG_PASSWORD)
        refusal = await next_reply(fake_tg, before, "Open the Instagram app")
        assert refusal["text"] == (
            "Instagram wants to confirm it's you in a way only you can do. Open the Instagram "
            "app, confirm it's you, then link the account again with /link_instagram."
        )
    assert await raw_rows(app, "targets") == ""
    assert await raw_rows(app, "credentials") == ""
    await app.engine.dispose()


async def test_linking_refuses_without_secret_key(
    fake_tg: FakeTelegram, x_server: FakeXServer, database_url: str
) -> None:
    app = build_app(database_url, fake_tg, x_server, secret_key=None)
    refusal = (
        "I cannot link X or Instagram accounts yet: their credentials are stored encrypted, "
        "and the bot's owner has not set SECRET_KEY. Ask them to set it and restart the bot."
    )
    async with polling(app):
        fake_tg.user_message(USER_ID, "/link_x")
        assert (await next_reply(fake_tg, 0, "SECRET_KEY"))["text"] == refusal
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "/link_instagram")
        assert (await next_reply(fake_tg, before, "SECRET_KEY"))["text"] == refusal
        # No dialog was started: a username now is just an unknown message.
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "anna.shop")
        reply = await next_reply(fake_tg, before)
        assert reply["text"] == "I did not understand that. Choose an action or send /help."
    assert x_server.calls == []
    await app.engine.dispose()


async def test_x_without_app_keys_explains_it_is_not_configured(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    app = build_app(database_url, fake_tg, None)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/link_x")
        reply = await next_reply(fake_tg, 0, "X is not configured")
        assert reply["text"] == (
            "X is not configured on this bot. Its owner needs an X developer app and must "
            "set X_CONSUMER_KEY and X_CONSUMER_SECRET, then restart the bot."
        )
        assert len(fake_tg.sent_to(USER_ID)) == 1
    await app.engine.dispose()


async def test_link_buttons_start_the_dialogs_and_cancel_leaves_them(
    fake_tg: FakeTelegram, x_server: FakeXServer, database_url: str
) -> None:
    app = build_app(database_url, fake_tg, x_server)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/channels")
        listing = await next_reply(fake_tg, 0, "No targets yet")
        before = seen(fake_tg)
        fake_tg.press(USER_ID, listing, fake_tg.find_button(listing, "Link Instagram account"))
        asking = await next_reply(fake_tg, before, "Send its username")
        assert button_texts(asking) == ["✖️ Cancel"]
        before = seen(fake_tg)
        fake_tg.press(USER_ID, asking, fake_tg.find_button(asking, "Cancel"))
        cancelled = await next_reply(fake_tg, before, "Linking cancelled")
        assert cancelled["text"] == "Linking cancelled."
        assert "✍️ New post" in button_texts(cancelled)
        # The dialog is over: a username now is not taken for one.
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "anna.shop")
        reply = await next_reply(fake_tg, before)
        assert reply["text"] == "I did not understand that. Choose an action or send /help."
        before = seen(fake_tg)
        fake_tg.press(USER_ID, listing, fake_tg.find_button(listing, "Link X account"))
        invitation = await next_reply(fake_tg, before, "Authorize app")
        assert "https://api.twitter.com/oauth/authorize?oauth_token=" in invitation["text"]
        assert button_texts(invitation) == ["✖️ Cancel"]
    assert await raw_rows(app, "targets") == ""
    await app.engine.dispose()


async def test_unlinking_an_account_deletes_its_credentials(
    fake_tg: FakeTelegram, x_server: FakeXServer, database_url: str
) -> None:
    x_server.users["42"] = XUser("42", "anna_codes", "Anna")
    app = build_app(database_url, fake_tg, x_server)
    async with polling(app):
        await link_x(fake_tg, x_server)
        assert await raw_rows(app, "credentials") != ""
        fake_tg.user_message(USER_ID, "/targets")
        listing = await fake_tg.wait_for_text(USER_ID, "Your targets")
        fake_tg.press(USER_ID, listing, fake_tg.find_button(listing, "X: @anna_codes"))
        view = await fake_tg.wait_for(lambda: message_with_button(fake_tg, "Unlink"))
        fake_tg.press(USER_ID, view, fake_tg.find_button(view, "Unlink"))
        confirm = await fake_tg.wait_for_text(USER_ID, "Unlink X: @anna_codes?")
        fake_tg.press(USER_ID, confirm, fake_tg.find_button(confirm, "Yes, unlink"))
        await fake_tg.wait_for_text(USER_ID, "Unlinked.")
    assert await raw_rows(app, "credentials") == ""
    # The target row stays, soft-deleted, so that its posts keep their history.
    async with app.engine.connect() as conn:
        deleted = (await conn.execute(text("SELECT deleted_at FROM targets"))).scalars().all()
    assert len(deleted) == 1 and deleted[0] is not None
    await app.engine.dispose()


async def test_the_dialog_speaks_russian_to_a_russian_user(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    from tests.conftest import OTHER_USER_ID

    app = build_app(database_url, fake_tg, None)
    async with polling(app):
        fake_tg.user_message(OTHER_USER_ID, "/link_instagram")
        asking = await next_reply(fake_tg, 0, "Instagram", chat_id=OTHER_USER_ID)
        assert asking["text"] == (
            "Подключение аккаунта Instagram. Пришлите имя пользователя (например, @my_shop)."
        )
        assert button_texts(asking) == ["✖️ Отмена"]
        before = seen(fake_tg, OTHER_USER_ID)
        fake_tg.user_message(OTHER_USER_ID, "/link_x")
        refusal = await next_reply(fake_tg, before, "X", chat_id=OTHER_USER_ID)
        assert refusal["text"].startswith("X в этом боте не настроен.")
    await app.engine.dispose()


async def test_messages_sent_while_instagram_answers_are_not_taken_for_codes(
    fake_tg: FakeTelegram, instagram: FakeInstagram, database_url: str
) -> None:
    instagram.add_account("anna.shop", IG_PASSWORD, two_factor_code="246810")
    instagram.login_seconds = 1.0
    app = build_app(database_url, fake_tg, None)
    use_fake_instagram(app, instagram)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/link_instagram")
        await next_reply(fake_tg, 0, "Send its username")
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "anna.shop")
        await next_reply(fake_tg, before, "send the password")
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, IG_PASSWORD)
        logging_in = await next_reply(fake_tg, before, "Logging in to Instagram")
        assert button_texts(logging_in) == []
        before = seen(fake_tg)
        # Answered at once, while Instagram is still answering the password.
        fake_tg.user_message(USER_ID, "123456")
        busy = await next_reply(fake_tg, before, "Still logging in")
        assert busy["text"] == "Still logging in to Instagram, one moment…"
        assert not any("two-factor" in (m.get("text") or "") for m in fake_tg.sent_to(USER_ID))
        asking = await next_reply(fake_tg, before, "two-factor code")
        assert button_texts(asking) == ["✖️ Cancel"]
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, "246810")
        done = await next_reply(fake_tg, before, "is linked")
        assert done["text"] == "✅ Instagram account @anna.shop is linked. I will publish there."
    codes = [c.args["verification_code"] for c in instagram.calls_to("login")]
    assert codes == ["", "246810"]
    await app.engine.dispose()


async def test_linking_from_the_target_picker_returns_to_it_with_the_account_chosen(
    fake_tg: FakeTelegram, x_server: FakeXServer, database_url: str
) -> None:
    x_server.users["42"] = XUser("42", "anna_codes", "Anna")
    app = build_app(database_url, fake_tg, x_server)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/new")
        await fake_tg.wait_for_text(USER_ID, "Send the post")
        fake_tg.user_message(USER_ID, "A post for X")
        preview = await fake_tg.wait_for_text(USER_ID, "how the post will look")
        fake_tg.press(USER_ID, preview, fake_tg.find_button(preview, "Schedule"))
        picker = await fake_tg.wait_for_text(USER_ID, "Link one first")
        # The picker's own "link an X account" button (the linking feature's link_buttons).
        fake_tg.press(USER_ID, picker, fake_tg.find_button(picker, "Link X account"))
        await complete_x_link(fake_tg, x_server)
        picker = await fake_tg.wait_for_text(USER_ID, "Where shall I publish")
        assert "✅ X: @anna_codes" in button_texts(picker)
    await app.engine.dispose()


async def test_x_linking_from_the_picker_survives_a_restart(
    fake_tg: FakeTelegram, x_server: FakeXServer, database_url: str
) -> None:
    """The linking draft (encrypted request token, "return to the picker") is typed data in
    the stored FSM state: a restart between the invitation and the PIN loses nothing."""
    x_server.users["42"] = XUser("42", "anna_codes", "Anna")
    app = build_app(database_url, fake_tg, x_server)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/new")
        await fake_tg.wait_for_text(USER_ID, "Send the post")
        fake_tg.user_message(USER_ID, "A post for X")
        preview = await fake_tg.wait_for_text(USER_ID, "how the post will look")
        fake_tg.press(USER_ID, preview, fake_tg.find_button(preview, "Schedule"))
        picker = await fake_tg.wait_for_text(USER_ID, "Link one first")
        before = seen(fake_tg)
        fake_tg.press(USER_ID, picker, fake_tg.find_button(picker, "Link X account"))
        invitation = await next_reply(fake_tg, before, "Authorize app")
    await app.engine.dispose()

    match = re.search(r"oauth_token=([\w-]+)", invitation["text"])
    assert match, invitation["text"]
    pin = x_server.approve(match.group(1), "42")
    restarted = build_app(database_url, fake_tg, x_server)
    async with polling(restarted):
        before = seen(fake_tg)
        fake_tg.user_message(USER_ID, pin)
        done = await next_reply(fake_tg, before, "is linked")
        assert done["text"] == "✅ X account @anna_codes is linked. I will publish there."
        picker = await next_reply(fake_tg, before, "Where shall I publish")
        assert "✅ X: @anna_codes" in button_texts(picker)
    # Nothing of the linking dialog is left in the state, only the post's draft.
    fsm = await raw_rows(restarted, "fsm_records")
    assert "A post for X" in fsm and "x_request" not in fsm
    await restarted.engine.dispose()


async def test_forged_linking_buttons_are_refused(
    fake_tg: FakeTelegram, x_server: FakeXServer, database_url: str
) -> None:
    app = build_app(database_url, fake_tg, x_server)
    forged = [
        "acct:link:facebook",
        "acct:nosuch:x",
        "target:view:99999999999999999999",
        "target:unlink:-1",
        "adm:nosuch",
        "set:lang:" + "x" * 60,
    ]
    async with polling(app):
        fake_tg.user_message(USER_ID, "/start")
        menu = await next_reply(fake_tg, 0, "Content Curator")
        for data in forged:
            fake_tg.press(USER_ID, menu, data)
        await fake_tg.wait_for(
            lambda: len(fake_tg.calls_to("answerCallbackQuery")) == len(forged),
            what="an answer to every press",
        )
    answers = [c.params.get("text") for c in fake_tg.calls_to("answerCallbackQuery")]
    assert answers == ["This button is no longer active. Open /menu."] * len(forged)
    assert x_server.calls == []
    await app.engine.dispose()


class ParentWizard(StatesGroup):
    main = State()


def with_parent_dialog(app: App) -> None:
    """A stand-in for the rules wizard: a dialog whose button starts channel linking as a
    subdialog (the public first state) and shows what came back."""

    async def on_result(_start_data: Any, result: Any, manager: DialogManager) -> None:
        manager.dialog_data["got"] = repr(result)

    async def open_parent(_message: Message, dialog_manager: DialogManager) -> None:
        await dialog_manager.start(ParentWizard.main, mode=StartMode.RESET_STACK)

    parent = Dialog(
        Window(
            Format("Parent wizard, got {dialog_data[got]}"),
            Start(Const("Link a channel"), id="link", state=LinkChannel.waiting),
            state=ParentWizard.main,
        ),
        on_start=lambda _data, manager: _set_nothing(manager),
        on_process_result=on_result,
    )
    router = Router(name="parent-wizard")
    router.message.register(open_parent, Command("parent"))
    router.include_router(parent)
    chat = next(r for r in app.dispatcher.chain_tail if r.name == "chat")
    # Before the fallback, which answers whatever nobody else understood.
    chat.sub_routers.insert(0, router)
    router._parent_router = chat


async def _set_nothing(manager: DialogManager) -> None:
    manager.dialog_data["got"] = "nothing yet"


async def test_a_linking_dialog_started_by_another_dialog_returns_the_target_to_it(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    app = build_app(database_url, fake_tg, None)
    with_parent_dialog(app)
    async with polling(app):
        fake_tg.user_message(USER_ID, "/parent")
        parent = await next_reply(fake_tg, 0, "Parent wizard")
        assert parent["text"] == "Parent wizard, got nothing yet"
        # Cancelled: back to the parent, which gets None.
        before = seen(fake_tg)
        fake_tg.press(USER_ID, parent, fake_tg.find_button(parent, "Link a channel"))
        asking = await next_reply(fake_tg, before, "Forward any post")
        assert button_texts(asking) == ["⬅️ Back", "✖️ Cancel"]
        before = seen(fake_tg)
        fake_tg.press(USER_ID, asking, fake_tg.find_button(asking, "Cancel"))
        parent = await next_reply(fake_tg, before, "Parent wizard")
        assert parent["text"] == "Parent wizard, got None"
        # Linked: the parent gets the new target's id.
        before = seen(fake_tg)
        fake_tg.press(USER_ID, parent, fake_tg.find_button(parent, "Link a channel"))
        await next_reply(fake_tg, before, "Forward any post")
        before = seen(fake_tg)
        fake_tg.forward_from_channel(USER_ID, CHANNEL_ID)
        done = await next_reply(fake_tg, before, "is linked")
        assert done["text"] == "✅ Channel Tech news (@technews) is linked. I will publish there."
        parent = await next_reply(fake_tg, before, "Parent wizard")
        assert parent["text"] == "Parent wizard, got 1"
        # Nothing else: no targets list, no main menu in between.
        assert [m["text"] for m in fake_tg.sent_to(USER_ID)[before:]] == [
            done["text"],
            parent["text"],
        ]
    assert "Tech news" in await raw_rows(app, "targets")
    await app.engine.dispose()
