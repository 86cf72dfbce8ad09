"""The scheduled list (pages, status filter) and what can be done to one post."""

from __future__ import annotations

import math
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import MenuCb, NavCb, PostCb, PostListCb
from handlers.compose import (
    LimitSettings,
    rule_error_text,
    send_preview,
    unreadable_time_text,
)
from handlers.keyboards import back_cancel, main_menu, post_actions, post_list_keyboard
from handlers.render import post_line, status_label, time_both, zone_label
from handlers.states import Reschedule
from services.clock import Clock
from services.notify import Waker
from services.posts import PostRuleError, PostService
from services.timeparse import parse_user_time
from storage.models import PostStatus, User
from storage.repositories import PostRepository

router = Router(name="posts")

PAGE_SIZE = 8
STATUS_FILTERS: dict[str, list[str] | None] = {
    "all": None,
    "scheduled": [PostStatus.SCHEDULED, PostStatus.AWAITING_APPROVAL, PostStatus.PUBLISHING],
    "published": [PostStatus.PUBLISHED],
    "failed": [PostStatus.FAILED, PostStatus.UNKNOWN, PostStatus.MISSED],
}


# ---------- the scheduled list ----------


async def render_list(
    message: Message, session: AsyncSession, user: User, status: str, page: int, edit: bool
) -> None:
    statuses = STATUS_FILTERS.get(status)
    rows, total = await PostRepository(session).list_for_owner(
        user.id, statuses, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if not rows:
        text = _("No posts here yet. Create one with /new.")
    else:
        header = _("Your posts ({total}), page {page} of {pages}:").format(
            total=total, page=page + 1, pages=pages
        )
        text = header + "\n\n" + "\n\n".join(post_line(p, c, t, user.timezone) for p, c, t in rows)
    markup = post_list_keyboard([r[0] for r in rows], status, page, pages)
    if edit:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
    await message.answer(text, reply_markup=markup)


@router.message(Command("scheduled"))
async def cmd_scheduled(message: Message, session: AsyncSession, db_user: User) -> None:
    await render_list(message, session, db_user, "all", 0, edit=False)


@router.callback_query(MenuCb.filter(F.action == "scheduled"))
async def on_menu_scheduled(query: CallbackQuery, session: AsyncSession, db_user: User) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await render_list(query.message, session, db_user, "all", 0, edit=False)


@router.callback_query(PostListCb.filter())
async def on_post_list_page(
    query: CallbackQuery, callback_data: PostListCb, session: AsyncSession, db_user: User
) -> None:
    await query.answer()
    status = callback_data.status if callback_data.status in STATUS_FILTERS else "all"
    if isinstance(query.message, Message):
        await render_list(
            query.message, session, db_user, status, max(0, callback_data.page), edit=True
        )


# ---------- one post ----------


async def render_post(message: Message, session: AsyncSession, user: User, post_id: int) -> bool:
    found = await PostRepository(session).get_with_content_for_owner(user.id, post_id)
    if found is None:
        return False
    post, content, target = found
    text = post_line(post, content, target, user.timezone)
    options = post.options or {}
    flags = [
        label for key, label in (("silent", _("silent")), ("pin", _("pinned"))) if options.get(key)
    ]
    if options.get("buttons"):
        flags.append(_("{n} URL buttons").format(n=len(options["buttons"])))
    if flags:
        text += "\n" + _("Telegram: {flags}").format(flags=", ".join(flags))
    if post.external_url:
        text += "\n" + _("Link: {url}").format(url=post.external_url)
    if post.last_error and post.status != PostStatus.PUBLISHED:
        text += "\n" + _("Reason: {error}").format(error=escape(post.last_error))
    if post.attempts:
        text += "\n" + _("Attempts: {n}").format(n=post.attempts)
    await message.answer(text, reply_markup=post_actions(post), disable_web_page_preview=True)
    return True


def refusal() -> str:
    return _("That post is not yours or no longer exists.")


@router.callback_query(PostCb.filter(F.action == "view"))
async def on_post_view(
    query: CallbackQuery, callback_data: PostCb, session: AsyncSession, db_user: User
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if not await render_post(query.message, session, db_user, callback_data.post_id):
        await query.answer(refusal(), show_alert=True)
        return
    await query.answer()


@router.callback_query(
    PostCb.filter(F.action.in_({"cancel", "retry", "published", "publish_now"}))
)
async def on_post_action(
    query: CallbackQuery,
    callback_data: PostCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    waker: Waker,
) -> None:
    service = PostService(session, clock, waker)
    post = await service.posts.get_for_owner(db_user.id, callback_data.post_id)
    if post is None:
        await query.answer(refusal(), show_alert=True)
        return
    action = callback_data.action
    status = post.status
    if action == "cancel":
        done = await service.cancel(db_user.id, post.id)
        answer = (
            _("Post #{id} cancelled.") if done else _("Post #{id} can no longer be cancelled.")
        )
    elif action == "published":
        done = await service.mark_published(db_user.id, post.id)
        answer = (
            _("Post #{id} marked as published.")
            if done
            else _("Post #{id} is not waiting for a decision.")
        )
    else:
        try:
            done = await service.reschedule(db_user.id, post.id, None)
        except PostRuleError as exc:
            await query.answer()
            if isinstance(query.message, Message):
                await query.message.answer(rule_error_text(exc, db_user.timezone))
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


@router.callback_query(PostCb.filter(F.action == "duplicate"))
async def on_post_duplicate(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    found = await PostRepository(session).get_with_content_for_owner(
        db_user.id, callback_data.post_id
    )
    if found is None:
        await query.answer(refusal(), show_alert=True)
        return
    post, content, target = found
    await state.clear()
    await state.update_data(
        text=content.text,
        title=content.title,
        media=list(content.media),
        options=dict(post.options or {}),
        chosen=[target.id],
        source=content.source,
        prompt=content.prompt,
    )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("A copy of post #{id}:").format(id=callback_data.post_id))
        await send_preview(query.message, state, session, db_user, app_settings)


@router.callback_query(PostCb.filter(F.action == "reschedule"))
async def on_post_reschedule(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
) -> None:
    post = await PostRepository(session).get_for_owner(db_user.id, callback_data.post_id)
    if post is None:
        await query.answer(refusal(), show_alert=True)
        return
    await state.set_state(Reschedule.time)
    await state.update_data(post_id=post.id)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the new time for post #{id} (your time zone: {tz}).").format(
                id=post.id, tz=zone_label(db_user.timezone)
            ),
            reply_markup=back_cancel(),
        )


@router.message(Reschedule.time, F.text & ~F.text.startswith("/"))
async def on_reschedule_time(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    waker: Waker,
) -> None:
    when = parse_user_time(message.text or "", db_user.timezone, clock.now())
    if when is None:
        await message.answer(unreadable_time_text(), reply_markup=back_cancel())
        return
    post_id = int((await state.get_data()).get("post_id", 0))
    service = PostService(session, clock, waker)
    try:
        done = await service.reschedule(db_user.id, post_id, when)
    except PostRuleError as exc:
        await message.answer(rule_error_text(exc, db_user.timezone), reply_markup=back_cancel())
        return
    await state.clear()
    if done:
        await message.answer(
            _("Post #{id} moved to {when}.").format(
                id=post_id, when=time_both(when, db_user.timezone)
            ),
            reply_markup=main_menu(),
        )
    else:
        await message.answer(
            _("Post #{id} can no longer be rescheduled.").format(id=post_id),
            reply_markup=main_menu(),
        )


@router.message(Reschedule.time, ~F.text.startswith("/"))
async def on_reschedule_not_text(message: Message) -> None:
    await message.answer(
        _("Send the new time as text, for example <code>tomorrow 18:00</code>."),
        reply_markup=back_cancel(),
    )


@router.callback_query(NavCb.filter(F.action == "back"), StateFilter(Reschedule.time))
async def on_back_from_reschedule(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    post_id = int((await state.get_data()).get("post_id", 0))
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message) and not await render_post(
        query.message, session, db_user, post_id
    ):
        await render_list(query.message, session, db_user, "all", 0, edit=False)
