"""The post list (pages, status filter) and what can be done to one post."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, Field, ValidationError

from handlers.callbacks import MenuCb, NavCb
from handlers.compose import open_post_copy, post_error_text, unreadable_time_text
from handlers.keyboards import back_cancel, main_menu
from handlers.posts.callbacks import PostCb, PostListCb, StatusFilter
from handlers.posts.keyboards import post_actions, post_list_keyboard
from handlers.posts.states import Reschedule
from handlers.posts.texts import list_text, post_text, refusal
from handlers.render import status_label, time_both, zone_label
from services.container import Services
from services.posts import PostRuleError
from services.timeparse import parse_user_time
from storage.models import PostStatus, User

PAGE_SIZE = 8
STATUS_FILTERS: dict[StatusFilter, list[str] | None] = {
    "all": None,
    "scheduled": [PostStatus.SCHEDULED, PostStatus.AWAITING_APPROVAL, PostStatus.PUBLISHING],
    "published": [PostStatus.PUBLISHED],
    "failed": [PostStatus.FAILED, PostStatus.UNKNOWN, PostStatus.MISSED],
}


class RescheduleDraft(BaseModel):
    """The reschedule dialog's FSM data."""

    post_id: int = Field(default=0, ge=0, le=2_147_483_647)


async def reschedule_draft(state: FSMContext) -> RescheduleDraft:
    try:
        return RescheduleDraft.model_validate(await state.get_data())
    except ValidationError:
        return RescheduleDraft()


# ---------- the list ----------


async def render_list(
    message: Message,
    services: Services,
    user: User,
    status: StatusFilter,
    page: int,
    *,
    edit: bool,
) -> None:
    rows, total = await services.posts.page(
        user.id, STATUS_FILTERS[status], offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    text = list_text(rows, total, page, pages, user.timezone)
    markup = post_list_keyboard([r[0] for r in rows], status, page, pages)
    if edit:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
    await message.answer(text, reply_markup=markup)


async def cmd_scheduled(message: Message, services: Services, db_user: User) -> None:
    await render_list(message, services, db_user, "all", 0, edit=False)


async def on_menu_scheduled(query: CallbackQuery, services: Services, db_user: User) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await render_list(query.message, services, db_user, "all", 0, edit=False)


async def on_post_list_page(
    query: CallbackQuery, callback_data: PostListCb, services: Services, db_user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await render_list(
            query.message, services, db_user, callback_data.status, callback_data.page, edit=True
        )


# ---------- one post ----------


async def render_post(message: Message, services: Services, user: User, post_id: int) -> bool:
    found = await services.posts.get_with_content(user.id, post_id)
    if found is None:
        return False
    post, content, target = found
    text = post_text(post, content, target, user.timezone)
    if post.status == PostStatus.PUBLISHED:
        # Issue 12: deleted, pinned, auto-delete planned (handlers/post_life).
        from handlers.post_life import life_lines

        text += await life_lines(services.post_life, user.id, post.id, user.timezone)
    await message.answer(text, reply_markup=post_actions(post), disable_web_page_preview=True)
    return True


async def on_post_view(
    query: CallbackQuery, callback_data: PostCb, services: Services, db_user: User
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if not await render_post(query.message, services, db_user, callback_data.post_id):
        await query.answer(refusal(), show_alert=True)
        return
    await query.answer()


async def on_post_action(
    query: CallbackQuery, callback_data: PostCb, services: Services, db_user: User
) -> None:
    post = await services.posts.get(db_user.id, callback_data.post_id)
    if post is None:
        await query.answer(refusal(), show_alert=True)
        return
    action, status = callback_data.action, post.status
    if action == "cancel":
        done = await services.posts.cancel(db_user.id, post.id)
        answer = (
            _("Post #{id} cancelled.") if done else _("Post #{id} can no longer be cancelled.")
        )
    elif action == "published":
        done = await services.posts.mark_published(db_user.id, post.id)
        answer = (
            _("Post #{id} marked as published.")
            if done
            else _("Post #{id} is not waiting for a decision.")
        )
    else:
        try:
            done = await services.posts.reschedule(db_user.id, post.id, None)
        except PostRuleError as exc:
            await query.answer()
            if isinstance(query.message, Message):
                await query.message.answer(post_error_text(exc, db_user.timezone))
            return
        answer = (
            _("Post #{id} will be published now.")
            if done
            else _("Post #{id} cannot be published again from its state ({status}).")
        )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            answer.format(id=post.id, status=status_label(status)), reply_markup=main_menu()
        )


async def on_post_duplicate(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    copy = await services.posts.copy_of(db_user.id, callback_data.post_id)
    if copy is None:
        await query.answer(refusal(), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("A copy of post #{id}:").format(id=callback_data.post_id))
        await open_post_copy(query.message, state, services, db_user, copy)


# ---------- reschedule ----------


async def on_post_reschedule(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    post = await services.posts.get(db_user.id, callback_data.post_id)
    if post is None:
        await query.answer(refusal(), show_alert=True)
        return
    await state.set_state(Reschedule.time)
    await state.set_data(RescheduleDraft(post_id=post.id).model_dump(mode="json"))
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the new time for post #{id} (your time zone: {tz}).").format(
                id=post.id, tz=zone_label(db_user.timezone)
            ),
            reply_markup=back_cancel(),
        )


async def on_reschedule_time(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    when = parse_user_time(message.text or "", db_user.timezone, services.clock.now())
    if when is None:
        await message.answer(unreadable_time_text(), reply_markup=back_cancel())
        return
    post_id = (await reschedule_draft(state)).post_id
    try:
        done = await services.posts.reschedule(db_user.id, post_id, when)
    except PostRuleError as exc:
        await message.answer(post_error_text(exc, db_user.timezone), reply_markup=back_cancel())
        return
    await state.clear()
    if done:
        text = _("Post #{id} moved to {when}.").format(
            id=post_id, when=time_both(when, db_user.timezone)
        )
    else:
        text = _("Post #{id} can no longer be rescheduled.").format(id=post_id)
    await message.answer(text, reply_markup=main_menu())


async def on_reschedule_not_text(message: Message) -> None:
    await message.answer(
        _("Send the new time as text, for example <code>tomorrow 18:00</code>."),
        reply_markup=back_cancel(),
    )


async def on_back_from_reschedule(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    post_id = (await reschedule_draft(state)).post_id
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message) and not await render_post(
        query.message, services, db_user, post_id
    ):
        await render_list(query.message, services, db_user, "all", 0, edit=False)


def build_router() -> Router:
    router = Router(name="posts")
    router.message.register(cmd_scheduled, Command("scheduled"))
    router.callback_query.register(on_menu_scheduled, MenuCb.filter(F.action == "scheduled"))
    router.callback_query.register(on_post_list_page, PostListCb.filter())
    router.callback_query.register(on_post_view, PostCb.filter(F.action == "view"))
    router.callback_query.register(
        on_post_action,
        PostCb.filter(F.action.in_({"cancel", "retry", "published", "publish_now"})),
    )
    router.callback_query.register(on_post_duplicate, PostCb.filter(F.action == "duplicate"))
    router.callback_query.register(on_post_reschedule, PostCb.filter(F.action == "reschedule"))
    router.message.register(on_reschedule_time, Reschedule.time, F.text & ~F.text.startswith("/"))
    router.message.register(on_reschedule_not_text, Reschedule.time, ~F.text.startswith("/"))
    router.callback_query.register(
        on_back_from_reschedule, NavCb.filter(F.action == "back"), StateFilter(Reschedule.time)
    )
    return router
