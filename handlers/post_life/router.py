"""After publishing: edit, delete (confirmed), auto-delete, timed pin, history. Every screen
has Back (to the post) and Cancel; every change goes through services.post_life, which
records it beside the post."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, Field, ValidationError

from handlers.callbacks import NavCb
from handlers.compose.confirm import parse_url_buttons
from handlers.post_life.callbacks import LifeCb
from handlers.post_life.keyboards import (
    after_keyboard,
    back_to_post,
    buttons_keyboard,
    confirm_delete_keyboard,
    delays_keyboard,
    edit_keyboard,
    x_edit_keyboard,
)
from handlers.post_life.states import EditPublished
from handlers.post_life.texts import (
    autodel_text,
    buttons_prompt,
    confirm_delete_text,
    edit_prompt,
    history_text,
    pin_text,
    refused_text,
    result_text,
    state_lines,
    x_cannot_edit,
)
from handlers.posts.router import render_list, render_post
from handlers.posts.texts import refusal
from handlers.render import message_html
from platforms.errors import ErrorCode
from services.container import Services
from services.post_life import (
    AUTO_DELETE_CHOICES,
    PIN_CHOICES,
    Capability,
    PostLife,
    PostLifeService,
    delete_deadline,
)
from services.posts import UrlButton
from storage.models import User


class EditData(BaseModel):
    """The edit dialog's FSM data."""

    post_id: int = Field(default=0, ge=0, le=2_147_483_647)


async def _post_id(state: FSMContext) -> int:
    try:
        return EditData.model_validate(await state.get_data()).post_id
    except ValidationError:
        return 0


def _service(services: Services) -> PostLifeService | None:
    return services.post_life


async def _life(
    query: CallbackQuery, services: Services, user: User, post_id: int
) -> tuple[PostLifeService, PostLife] | None:
    """The post for this user, or an alert and None."""
    service = _service(services)
    life = await service.view(user.id, post_id) if service is not None else None
    if service is None or life is None:
        await query.answer(refusal(), show_alert=True)
        return None
    return service, life


async def _say(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup, disable_web_page_preview=True)


def _header(life: PostLife, text: str, timezone: str) -> str:
    lines = state_lines(life, timezone)
    return f"{text}\n\n{lines}" if lines else text


# ---------- edit ----------


async def on_edit(
    query: CallbackQuery,
    callback_data: LifeCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    _svc, life = found
    post_id = life.post.id
    if not life.live:
        await _say(query, refused_text(ErrorCode.MESSAGE_GONE), after_keyboard(post_id))
        return
    if life.post.platform == "x":
        await _say(query, x_cannot_edit(post_id), x_edit_keyboard(post_id))
        return
    if Capability.EDIT not in life.capabilities:
        await _say(query, refused_text(ErrorCode.NOT_SUPPORTED), after_keyboard(post_id))
        return
    await state.set_state(EditPublished.text)
    await state.set_data(EditData(post_id=post_id).model_dump())
    buttons = life.post.platform == "telegram" and len(life.message_ids) == 1
    await _say(query, edit_prompt(post_id, life), edit_keyboard(post_id, buttons=buttons))


async def on_edit_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    post_id = await _post_id(state)
    service = _service(services)
    if service is None or not post_id:
        await state.clear()
        await message.answer(refusal())
        return
    result = await service.edit_text(db_user.id, post_id, message_html(message))
    if not result.ok and result.code == ErrorCode.MESSAGE_TOO_LONG:
        # Still editing: a shorter text is welcome.
        await message.answer(refused_text(result.code), reply_markup=back_to_post(post_id))
        return
    await state.clear()
    await message.answer(
        result_text("edit", post_id, result, db_user.timezone),
        reply_markup=after_keyboard(post_id),
    )


async def on_edit_not_text(message: Message, state: FSMContext) -> None:
    await message.answer(
        _("Send the new text as a message."), reply_markup=back_to_post(await _post_id(state))
    )


async def on_buttons(
    query: CallbackQuery,
    callback_data: LifeCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    await state.set_state(EditPublished.buttons)
    await state.set_data(EditData(post_id=callback_data.post_id).model_dump())
    await _say(
        query, buttons_prompt(callback_data.post_id), buttons_keyboard(callback_data.post_id)
    )


async def on_buttons_typed(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    post_id = await _post_id(state)
    buttons = parse_url_buttons(message.text or "")
    if buttons is None:
        await message.answer(
            _("Each line must be <code>Text - https://example.com</code> (at most 8)."),
            reply_markup=buttons_keyboard(post_id),
        )
        return
    await _apply_buttons(message, state, services, db_user, post_id, buttons)


async def on_buttons_clear(
    query: CallbackQuery,
    callback_data: LifeCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _apply_buttons(query.message, state, services, db_user, callback_data.post_id, [])


async def _apply_buttons(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    post_id: int,
    buttons: list[UrlButton],
) -> None:
    service = _service(services)
    await state.clear()
    if service is None:
        await message.answer(refusal())
        return
    result = await service.edit_buttons(user.id, post_id, buttons)
    await message.answer(
        result_text("buttons", post_id, result, user.timezone),
        reply_markup=after_keyboard(post_id),
    )


# ---------- delete ----------


async def on_delete(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    service, life = found
    post_id = life.post.id
    if service.delete_refusal(life) is not None:
        # Said before asking (too old, or the platform cannot), and recorded.
        result = await service.delete(db_user.id, post_id)
        await _say(query, refused_text(result.code), after_keyboard(post_id))
        return
    deadline = delete_deadline(life.post.platform, life.post.published_at)
    await _say(
        query,
        confirm_delete_text(life, deadline, db_user.timezone),
        confirm_delete_keyboard(post_id),
    )


async def on_delete_yes(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    service, life = found
    result = await service.delete(db_user.id, life.post.id)
    if isinstance(query.message, Message) and result.ok:
        # The confirmation has done its work: it cannot delete twice.
        await _drop_keyboard(query.message)
    await _say(
        query,
        result_text("delete", life.post.id, result, db_user.timezone),
        after_keyboard(life.post.id),
    )


async def _drop_keyboard(message: Message) -> None:
    from contextlib import suppress

    from aiogram.exceptions import TelegramBadRequest

    with suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)


# ---------- auto-delete ----------


async def on_autodel(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    service, life = found
    post_id = life.post.id
    refusal_code = service.delete_refusal(life)
    if refusal_code is not None:
        await _say(query, refused_text(refusal_code), after_keyboard(post_id))
        return
    deadline = delete_deadline(life.post.platform, life.post.published_at)
    now = services.clock.now()
    choices = [
        s
        for s in AUTO_DELETE_CHOICES
        if deadline is None or now.timestamp() + s < deadline.timestamp()
    ]
    await _say(
        query,
        autodel_text(life, deadline, choices, db_user.timezone),
        delays_keyboard(
            post_id,
            "autodel_set",
            choices,
            zero_label=_("🚫 Off") if life.auto_delete_at is not None else None,
        ),
    )


async def on_autodel_set(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    service, life = found
    seconds = callback_data.seconds or None
    result = await service.set_auto_delete(db_user.id, life.post.id, seconds)
    await _say(
        query,
        result_text("autodel", life.post.id, result, db_user.timezone),
        after_keyboard(life.post.id),
    )


# ---------- pin ----------


async def on_pin(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    _svc, life = found
    post_id = life.post.id
    if not life.live:
        await _say(query, refused_text(ErrorCode.MESSAGE_GONE), after_keyboard(post_id))
        return
    if Capability.PIN not in life.capabilities:
        await _say(query, refused_text(ErrorCode.NOT_SUPPORTED), after_keyboard(post_id))
        return
    await _say(
        query,
        pin_text(life, db_user.timezone),
        delays_keyboard(
            post_id, "pin_set", PIN_CHOICES, zero_label=_("♾ Until I unpin"), unpin=life.pinned
        ),
    )


async def on_pin_set(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    service, life = found
    result = await service.pin(db_user.id, life.post.id, callback_data.seconds or None)
    await _say(
        query,
        result_text("pin", life.post.id, result, db_user.timezone),
        after_keyboard(life.post.id),
    )


async def on_unpin(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    service, life = found
    result = await service.unpin(db_user.id, life.post.id)
    await _say(
        query,
        result_text("unpin", life.post.id, result, db_user.timezone),
        after_keyboard(life.post.id),
    )


# ---------- history, back ----------


async def on_history(
    query: CallbackQuery, callback_data: LifeCb, services: Services, db_user: User
) -> None:
    found = await _life(query, services, db_user, callback_data.post_id)
    if found is None:
        return
    service, life = found
    events = await service.events(db_user.id, life.post.id)
    text = _header(life, history_text(life.post.id, events, db_user.timezone), db_user.timezone)
    await _say(query, text, after_keyboard(life.post.id))


async def on_back(
    query: CallbackQuery,
    callback_data: LifeCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    await _back(query, state, services, db_user, callback_data.post_id)


async def on_nav_back(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await _back(query, state, services, db_user, await _post_id(state))


async def _back(
    query: CallbackQuery, state: FSMContext, services: Services, user: User, post_id: int
) -> None:
    if await state.get_state() in (EditPublished.text.state, EditPublished.buttons.state):
        await state.clear()
    await query.answer()
    if isinstance(query.message, Message) and not await render_post(
        query.message, services, user, post_id
    ):
        await render_list(query.message, services, user, "all", 0, edit=False)


def build_router() -> Router:
    router = Router(name="post_life")
    callback = router.callback_query.register
    callback(on_edit, LifeCb.filter(F.action == "edit"))
    callback(on_buttons, LifeCb.filter(F.action == "buttons"))
    callback(on_buttons_clear, LifeCb.filter(F.action == "buttons_clear"))
    callback(on_delete, LifeCb.filter(F.action == "delete"))
    callback(on_delete_yes, LifeCb.filter(F.action == "delete_yes"))
    callback(on_autodel, LifeCb.filter(F.action == "autodel"))
    callback(on_autodel_set, LifeCb.filter(F.action == "autodel_set"))
    callback(on_pin, LifeCb.filter(F.action == "pin"))
    callback(on_pin_set, LifeCb.filter(F.action == "pin_set"))
    callback(on_unpin, LifeCb.filter(F.action == "unpin"))
    callback(on_history, LifeCb.filter(F.action == "history"))
    callback(on_back, LifeCb.filter(F.action == "back"))
    callback(
        on_nav_back,
        NavCb.filter(F.action == "back"),
        StateFilter(EditPublished.text, EditPublished.buttons),
    )
    typed = F.text & ~F.text.startswith("/")
    router.message.register(on_edit_text, EditPublished.text, typed | F.caption)
    router.message.register(on_edit_not_text, EditPublished.text, ~F.text.startswith("/"))
    router.message.register(on_buttons_typed, EditPublished.buttons, typed)
    router.message.register(on_edit_not_text, EditPublished.buttons, ~F.text.startswith("/"))
    return router
