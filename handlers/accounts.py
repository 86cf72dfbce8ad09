"""Linking X (OAuth PIN) and Instagram (password, then a code if Instagram asks) accounts."""

from __future__ import annotations

import contextlib
import re
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import AccountCb
from handlers.keyboards import main_menu
from handlers.render import target_name
from handlers.states import NewPost
from platforms.credentials import SecretBox, SecretsUnavailableError
from platforms.instagram import InstagramLogin, Linked, LinkFailed, LoginEvent, NeedCode
from platforms.x import XLinkError
from services.accounts import AccountLinkers, AccountService
from storage.models import Target, User

router = Router(name="accounts")

_PIN_RE = re.compile(r"^\d{4,10}$")
_CODE_RE = re.compile(r"^\d{4,8}$")
_IG_USERNAME_RE = re.compile(r"^@?([A-Za-z0-9._]{1,30})$")


class LinkX(StatesGroup):
    pin = State()


# Commands are not answers: a command sent in the middle of linking (/link_instagram while
# X waits for its PIN, /rules, /help) goes to its own handler instead of being read as a PIN,
# a username or a code. The password step takes anything: a password may start with "/".


class LinkInstagram(StatesGroup):
    username = State()
    password = State()
    code = State()
    logging_in = State()  # Instagram is answering; what the user sends now is not a code


def cancel_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✖️ Cancel"), callback_data=AccountCb(action="cancel"))
    return kb.as_markup()


def no_secrets_text() -> str:
    return _(
        "I cannot link X or Instagram accounts yet: their credentials are stored encrypted, "
        "and the bot's owner has not set SECRET_KEY. Ask them to set it and restart the bot."
    )


async def _remember_new_post(state: FSMContext) -> None:
    # Linking from the target picker returns there afterwards.
    if await state.get_state() == NewPost.targets.state:
        await state.update_data(resume_new_post=True)


async def _finish_linking(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    target: Target,
    text: str,
) -> None:
    await message.answer(text)
    data = await state.get_data()
    if data.get("resume_new_post"):
        chosen = sorted(set(data.get("chosen", [])) | {target.id})
        await state.update_data(chosen=chosen, resume_new_post=False)
        await state.set_state(NewPost.targets)
        from handlers.compose import show_target_picker

        await show_target_picker(message, state, session, user)
        return
    await state.clear()
    await message.answer(_("What next?"), reply_markup=main_menu())


async def _leave_linking(state: FSMContext) -> bool:
    """Back to where the user was: the target picker (True), or nowhere."""
    data = await state.get_data()
    if data.get("resume_new_post"):
        await state.update_data(resume_new_post=False, x_request=None, ig_username=None)
        await state.set_state(NewPost.targets)
        return True
    await state.clear()
    return False


async def _back_to_picker(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    """The unfinished post's target picker, shown again: the draft is not lost behind the
    main menu."""
    from handlers.compose import show_target_picker

    await show_target_picker(message, state, session, user)


# ---------- X ----------


@router.message(Command("link_x"))
async def cmd_link_x(
    message: Message, state: FSMContext, secrets: SecretBox, account_linkers: AccountLinkers
) -> None:
    await start_x_linking(message, state, secrets, account_linkers)


@router.callback_query(AccountCb.filter((F.action == "link") & (F.platform == "x")))
async def on_link_x_pressed(
    query: CallbackQuery, state: FSMContext, secrets: SecretBox, account_linkers: AccountLinkers
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _remember_new_post(state)
        await start_x_linking(query.message, state, secrets, account_linkers)


async def start_x_linking(
    message: Message, state: FSMContext, secrets: SecretBox, linkers: AccountLinkers
) -> None:
    if not secrets.available:
        await message.answer(no_secrets_text())
        return
    if not linkers.x.configured:
        await message.answer(
            _(
                "X is not configured on this bot. Its owner needs an X developer app and must "
                "set X_CONSUMER_KEY and X_CONSUMER_SECRET, then restart the bot."
            )
        )
        return
    try:
        authorization = await linkers.x.start()
    except XLinkError:
        await message.answer(_("I could not reach X just now. Please try again in a minute."))
        return
    # The request token's secret is a secret too: it waits for the PIN encrypted.
    await state.update_data(x_request=secrets.encrypt(authorization.request_token))
    await state.set_state(LinkX.pin)
    await message.answer(
        _(
            "Linking an X account:\n"
            '1. Open <a href="{url}">this link</a> and press "Authorize app".\n'
            "2. X shows a PIN code. Send it to me here."
        ).format(url=escape(authorization.url, quote=True)),
        reply_markup=cancel_keyboard(),
        disable_web_page_preview=True,
    )


@router.message(LinkX.pin, ~F.text.startswith("/"))
async def on_x_pin(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    secrets: SecretBox,
    account_linkers: AccountLinkers,
) -> None:
    pin = (message.text or "").strip().replace(" ", "")
    if not _PIN_RE.match(pin):
        await message.answer(
            _("Send the PIN code X showed you: digits only, for example 1234567."),
            reply_markup=cancel_keyboard(),
        )
        return
    data = await state.get_data()
    try:
        request_token = secrets.decrypt(str(data.get("x_request") or ""))
    except SecretsUnavailableError:
        await _leave_linking(state)
        await message.answer(_("This linking attempt expired. Start again with /link_x."))
        return
    try:
        account = await account_linkers.x.finish(request_token, pin)
    except XLinkError as exc:
        if exc.code == "rejected":
            await message.answer(
                _(
                    "X did not accept this PIN. Check it and send it again, or start over "
                    "with /link_x."
                ),
                reply_markup=cancel_keyboard(),
            )
        else:
            await message.answer(_("I could not reach X just now. Please try again in a minute."))
        return
    # End the read snapshot taken before the wait on X: on SQLite a write from a stale
    # snapshot fails once anyone else has written meanwhile.
    await session.commit()
    target = await AccountService(session, secrets).save_x(db_user.id, account)
    await state.update_data(x_request=None)
    await _finish_linking(
        message,
        state,
        session,
        db_user,
        target,
        _("✅ X account {title} is linked. I will publish there.").format(
            title=target_name(target)
        ),
    )


# ---------- Instagram ----------


@router.message(Command("link_instagram"))
async def cmd_link_instagram(message: Message, state: FSMContext, secrets: SecretBox) -> None:
    await start_instagram_linking(message, state, secrets)


@router.callback_query(AccountCb.filter((F.action == "link") & (F.platform == "instagram")))
async def on_link_instagram_pressed(
    query: CallbackQuery, state: FSMContext, secrets: SecretBox
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _remember_new_post(state)
        await start_instagram_linking(query.message, state, secrets)


async def start_instagram_linking(message: Message, state: FSMContext, secrets: SecretBox) -> None:
    if not secrets.available:
        await message.answer(no_secrets_text())
        return
    await state.set_state(LinkInstagram.username)
    await message.answer(
        _("Linking an Instagram account. Send its username (for example @my_shop)."),
        reply_markup=cancel_keyboard(),
    )


@router.message(LinkInstagram.username, ~F.text.startswith("/"))
async def on_instagram_username(message: Message, state: FSMContext) -> None:
    match = _IG_USERNAME_RE.match((message.text or "").strip())
    if not match:
        await message.answer(
            _("That does not look like an Instagram username. Send it like @my_shop."),
            reply_markup=cancel_keyboard(),
        )
        return
    username = match.group(1)
    await state.update_data(ig_username=username)
    await state.set_state(LinkInstagram.password)
    await message.answer(
        _(
            "Now send the password of @{username}.\n"
            "I use it once to log in and delete your message right away; the password is "
            "never stored, only the login session, encrypted."
        ).format(username=escape(username)),
        reply_markup=cancel_keyboard(),
    )


@router.message(LinkInstagram.password)
async def on_instagram_password(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    secrets: SecretBox,
    account_linkers: AccountLinkers,
) -> None:
    password = message.text or ""
    # The password must not stay in the chat history.
    with contextlib.suppress(TelegramAPIError):
        await message.delete()
    if not password.strip():
        await message.answer(_("Send the password as a text message."))
        return
    data = await state.get_data()
    username = str(data.get("ig_username") or "")
    service = AccountService(session, secrets)
    previous = await service.previous_instagram_settings(db_user.id, username)
    await session.commit()  # no transaction stays open while Instagram answers
    login = account_linkers.start_instagram(db_user.id, previous)
    await state.set_state(LinkInstagram.logging_in)
    await message.answer(
        _("Logging in to Instagram as @{username}…").format(username=escape(username))
    )
    event = await login.start(username, password)
    del password
    await _on_login_event(message, state, session, db_user, secrets, account_linkers, login, event)


@router.message(LinkInstagram.code, ~F.text.startswith("/"))
async def on_instagram_code(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    secrets: SecretBox,
    account_linkers: AccountLinkers,
) -> None:
    code = (message.text or "").strip().replace(" ", "")
    if not _CODE_RE.match(code):
        await message.answer(
            _("Send the code: digits only, for example 123456."), reply_markup=cancel_keyboard()
        )
        return
    login = account_linkers.instagram_login(db_user.id)
    if login is not None and not login.waiting_for_code:
        await message.answer(_("Still logging in to Instagram, one moment…"))
        return
    if login is None:
        await _leave_linking(state)
        await message.answer(_("This login attempt expired. Start again with /link_instagram."))
        return
    await session.commit()
    await state.set_state(LinkInstagram.logging_in)
    event = await login.submit_code(code)
    await _on_login_event(message, state, session, db_user, secrets, account_linkers, login, event)


@router.message(LinkInstagram.logging_in, ~F.text.startswith("/"))
async def on_message_while_logging_in(
    message: Message, state: FSMContext, db_user: User, account_linkers: AccountLinkers
) -> None:
    if account_linkers.instagram_login(db_user.id) is None:
        # The bot restarted in the middle: that login is gone.
        await _leave_linking(state)
        await message.answer(_("This login attempt expired. Start again with /link_instagram."))
        return
    await message.answer(_("Still logging in to Instagram, one moment…"))


async def _on_login_event(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    secrets: SecretBox,
    linkers: AccountLinkers,
    login: InstagramLogin,
    event: LoginEvent,
) -> None:
    if isinstance(event, NeedCode):
        await state.set_state(LinkInstagram.code)
        if event.retry:
            text = _("That code did not work. Check it and send it again.")
        elif event.kind == "two_factor":
            text = _(
                "Instagram asks for the two-factor code: from your authenticator app or the "
                "SMS Instagram sent. Send it here."
            )
        else:
            text = _(
                "Instagram wants to confirm it's you and sent a security code to your e-mail "
                "or phone. Send the code here."
            )
        await message.answer(text, reply_markup=cancel_keyboard())
        return
    linkers.drop_instagram(user.id)
    if isinstance(event, Linked):
        await session.commit()  # a fresh snapshot for the write (see on_x_pin)
        target = await AccountService(session, secrets).save_instagram(user.id, event.account)
        await state.update_data(ig_username=None)
        await _finish_linking(
            message,
            state,
            session,
            user,
            target,
            _("✅ Instagram account {title} is linked. I will publish there.").format(
                title=target_name(target)
            ),
        )
        return
    assert isinstance(event, LinkFailed)
    resumed = await _leave_linking(state)
    await message.answer(instagram_failure_text(event.code))
    if resumed:
        await _back_to_picker(message, state, session, user)


def instagram_failure_text(code: str) -> str:
    texts = {
        "bad_password": _(
            "Instagram did not accept this username or password. Start again with /link_instagram."
        ),
        "challenge_manual": _(
            "Instagram wants to confirm it's you in a way only you can do. Open the Instagram "
            "app, confirm it's you, then link the account again with /link_instagram."
        ),
        "bad_code": _("The code did not work several times. Start again with /link_instagram."),
        "timeout": _("The code did not arrive in time. Start again with /link_instagram."),
        "rate_limited": _(
            "Instagram asks to wait before trying again. Please try again in 15 minutes."
        ),
        "unreachable": _("I could not reach Instagram just now. Please try again in a minute."),
        "cancelled": _("Linking cancelled."),
    }
    return texts.get(code, _("Instagram did not let me log in. Start again with /link_instagram."))


# ---------- leaving the dialogs ----------


@router.callback_query(AccountCb.filter(F.action == "cancel"))
async def on_linking_cancelled(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    account_linkers: AccountLinkers,
) -> None:
    account_linkers.drop_instagram(db_user.id)
    resumed = await _leave_linking(state)
    await query.answer(_("Cancelled"))
    if not isinstance(query.message, Message):
        return
    if resumed:
        await query.message.answer(_("Linking cancelled."))
        await _back_to_picker(query.message, state, session, db_user)
        return
    await query.message.answer(_("Linking cancelled."), reply_markup=main_menu())
