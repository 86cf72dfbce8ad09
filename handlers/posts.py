"""New post → preview → targets → time → confirm; the scheduled list and post actions."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from content.fitting import (
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    FitResult,
    Problem,
    truncate_visible,
)
from handlers.callbacks import DraftCb, MenuCb, NavCb, PostCb, PostListCb, TargetPickCb, TimeCb
from handlers.keyboards import (
    cancel_only,
    confirm_keyboard,
    draft_actions,
    main_menu,
    post_actions,
    post_list_keyboard,
    target_picker,
    time_presets,
)
from handlers.render import platform_label, post_line, status_label, target_label, time_both
from handlers.states import NewPost, Reschedule
from platforms.telegram import render_post_html
from services.clock import Clock
from services.notify import Waker
from services.posts import Draft, PostRuleError, PostService, check_draft
from services.timeparse import parse_user_time
from storage.models import PostStatus, User
from storage.repositories import PostRepository, TargetRepository

router = Router(name="posts")

PAGE_SIZE = 8
STATUS_FILTERS: dict[str, list[str] | None] = {
    "all": None,
    "scheduled": [PostStatus.SCHEDULED, PostStatus.AWAITING_APPROVAL, PostStatus.PUBLISHING],
    "published": [PostStatus.PUBLISHED],
    "failed": [PostStatus.FAILED, PostStatus.UNKNOWN, PostStatus.MISSED],
}


# ---------- helpers ----------


def draft_from_state(data: dict[str, Any]) -> Draft:
    return Draft(
        text=data.get("text", ""),
        title=data.get("title"),
        media=tuple(data.get("media", [])),
        options=data.get("options") or {},
    )


def describe_problem(result: FitResult) -> str:
    lines = []
    for problem in result.problems:
        if problem == Problem.TOO_LONG:
            lines.append(
                _("{platform}: the text is too long — {length} of {limit} characters.").format(
                    platform=platform_label(result.platform),
                    length=result.length,
                    limit=result.limit,
                )
            )
        elif problem == Problem.EMPTY:
            lines.append(
                _("{platform}: the post is empty.").format(
                    platform=platform_label(result.platform)
                )
            )
        elif problem == Problem.NEEDS_PICTURE:
            lines.append(
                _("{platform}: a picture is required.").format(
                    platform=platform_label(result.platform)
                )
            )
        elif problem == Problem.TOO_MANY_HASHTAGS:
            lines.append(
                _("{platform}: too many hashtags.").format(
                    platform=platform_label(result.platform)
                )
            )
        elif problem == Problem.TOO_MANY_PICTURES:
            lines.append(
                _("{platform}: too many pictures.").format(
                    platform=platform_label(result.platform)
                )
            )
    return "\n".join(lines)


def rule_error_text(error: PostRuleError, timezone: str) -> str:
    if error.code == "time_in_past":
        return _("This time is already in the past: {when}. Send a time in the future.").format(
            when=time_both(error.details["when"], timezone)
        )
    if error.code == "time_too_far":
        return _("That is more than two years ahead. Send a nearer time.")
    if error.code == "no_targets":
        return _("Choose at least one of your channels first.")
    if error.code == "target_broken":
        return _(
            "The bot cannot post to {title} any more. Fix its rights in the channel, then "
            "link it again."
        ).format(title=error.details.get("title", ""))
    if error.code == "does_not_fit":
        return "\n".join(describe_problem(r) for r in error.details["results"])
    return _("That did not work. Try again.")


async def send_preview(message: Message, data: dict[str, Any]) -> None:
    """Show the post exactly as the channel will see it, then the actions."""
    draft = draft_from_state(data)
    html = render_post_html(draft.title, draft.text)
    photos = [m for m in draft.media if m.get("kind") == "photo"]
    if photos:
        await message.answer_photo(photos[0]["file_id"], caption=html or None)
    else:
        await message.answer(html)
    (result,) = check_draft(draft, ["telegram"])
    if result.ok:
        await message.answer(_("👆 This is how the post will look."), reply_markup=draft_actions())
    else:
        await message.answer(
            describe_problem(result) + "\n" + _("Edit it, or let me shorten it."),
            reply_markup=draft_actions(can_truncate=Problem.TOO_LONG in result.problems),
        )


def preset_time(preset: str, now: datetime, timezone: str) -> datetime | None:
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if preset == "now":
        return None
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "3h":
        return now + timedelta(hours=3)
    if preset == "evening":
        evening = local.replace(hour=19, minute=0, second=0, microsecond=0)
        return evening if evening > local else evening + timedelta(days=1)
    tomorrow = (local + timedelta(days=1)).replace(second=0, microsecond=0)
    if preset == "tomorrow_morning":
        return tomorrow.replace(hour=9, minute=0)
    if preset == "tomorrow_evening":
        return tomorrow.replace(hour=19, minute=0)
    raise ValueError(preset)


# ---------- new post ----------


async def start_new_post(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(NewPost.content)
    await message.answer(
        _(
            "Send the post: text (formatting is kept) or a photo with a caption.\n"
            "Limits: {text} characters for text, {caption} for a caption."
        ).format(text=TELEGRAM_TEXT_LIMIT, caption=TELEGRAM_CAPTION_LIMIT),
        reply_markup=cancel_only(),
    )


@router.message(Command("new"))
async def cmd_new(message: Message, state: FSMContext) -> None:
    await start_new_post(message, state)


@router.callback_query(MenuCb.filter(F.action == "new"))
async def on_menu_new(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_new_post(query.message, state)


@router.message(NewPost.content, F.photo)
async def on_post_photo(message: Message, state: FSMContext) -> None:
    assert message.photo is not None
    caption = message.html_text if message.caption else ""
    draft = Draft(text=caption, media=({"kind": "photo", "file_id": message.photo[-1].file_id},))
    (result,) = check_draft(draft, ["telegram"])
    if not result.ok:
        await message.answer(describe_problem(result) + "\n" + _("Send a shorter caption."))
        return
    await state.update_data(text=caption, media=list(draft.media))
    await state.set_state(NewPost.preview)
    await send_preview(message, await state.get_data())


@router.message(NewPost.content, F.text)
async def on_post_text(message: Message, state: FSMContext) -> None:
    draft = Draft(text=message.html_text)
    (result,) = check_draft(draft, ["telegram"])
    if not result.ok:
        await message.answer(describe_problem(result) + "\n" + _("Send a shorter text."))
        return
    await state.update_data(text=draft.text, media=[])
    await state.set_state(NewPost.preview)
    await send_preview(message, await state.get_data())


@router.message(NewPost.content)
async def on_post_unsupported(message: Message) -> None:
    await message.answer(_("Send text or a photo with a caption."), reply_markup=cancel_only())


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "fix_truncate"))
async def on_draft_truncate(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    limit = TELEGRAM_CAPTION_LIMIT if data.get("media") else TELEGRAM_TEXT_LIMIT
    await state.update_data(text=truncate_visible(data.get("text", ""), limit))
    await query.answer(_("Shortened"))
    if isinstance(query.message, Message):
        await send_preview(query.message, await state.get_data())


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "edit"))
async def on_draft_edit(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.content)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the new version of the post."), reply_markup=cancel_only()
        )


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "delete"))
async def on_draft_delete(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer(_("Deleted"))
    if isinstance(query.message, Message):
        await query.message.answer(_("The draft was deleted."), reply_markup=main_menu())


@router.callback_query(NewPost.preview, DraftCb.filter(F.action.in_({"schedule", "publish_now"})))
async def on_draft_choose_targets(
    query: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
) -> None:
    await state.update_data(mode=callback_data.action, chosen=[])
    await query.answer()
    if isinstance(query.message, Message):
        await show_target_picker(query.message, state, session, db_user)


async def show_target_picker(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    targets = await TargetRepository(session).list_for_owner(user.id)
    data = await state.get_data()
    await state.set_state(NewPost.targets)
    if not targets:
        await message.answer(
            _("You have no linked channels yet. Link one first: press the button below."),
            reply_markup=target_picker([], set()),
        )
        return
    await message.answer(
        _("Where shall I publish it? Tap to choose, then Done."),
        reply_markup=target_picker(targets, set(data.get("chosen", []))),
    )


@router.callback_query(NewPost.targets, TargetPickCb.filter(F.target_id > 0))
async def on_target_toggle(
    query: CallbackQuery,
    callback_data: TargetPickCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
) -> None:
    target = await TargetRepository(session).get_for_owner(db_user.id, callback_data.target_id)
    if target is None:
        await query.answer(_("That target is not yours or no longer exists."), show_alert=True)
        return
    chosen = set((await state.get_data()).get("chosen", []))
    chosen ^= {target.id}
    await state.update_data(chosen=sorted(chosen))
    await query.answer()
    targets = await TargetRepository(session).list_for_owner(db_user.id)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=target_picker(targets, chosen))


@router.callback_query(NewPost.targets, TargetPickCb.filter(F.target_id == 0))
async def on_targets_done(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    data = await state.get_data()
    if not data.get("chosen"):
        await query.answer(_("Choose at least one of your channels first."), show_alert=True)
        return
    problems = [
        r
        for r in check_draft(
            draft_from_state(data), await _platforms(session, db_user, data["chosen"])
        )
        if not r.ok
    ]
    if problems:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer("\n".join(describe_problem(r) for r in problems))
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if data.get("mode") == "publish_now":
        await state.update_data(when=None)
        await show_confirm(query.message, state, session, db_user, clock)
        return
    await state.set_state(NewPost.time)
    await query.message.answer(
        _(
            "When? Choose below or type a time, for example <code>2026-12-01 18:00</code>, "
            "<code>in 10 minutes</code>, <code>tomorrow 9:30</code>.\nYour time zone: {tz}."
        ).format(tz=db_user.timezone),
        reply_markup=time_presets(),
    )


async def _platforms(session: AsyncSession, user: User, ids: list[int]) -> list[str]:
    targets = await TargetRepository(session).get_many_for_owner(user.id, ids)
    return sorted({t.platform for t in targets})


@router.callback_query(NewPost.time, TimeCb.filter())
async def on_time_preset(
    query: CallbackQuery,
    callback_data: TimeCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    try:
        when = preset_time(callback_data.preset, clock.now(), db_user.timezone)
    except ValueError:
        await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)
        return
    await state.update_data(when=when.isoformat() if when else None)
    await query.answer()
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, session, db_user, clock)


@router.message(NewPost.time, F.text)
async def on_time_typed(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    when = parse_user_time(message.text or "", db_user.timezone, clock.now())
    if when is None:
        await message.answer(
            _(
                "I could not read this time. Try <code>2026-12-01 18:00</code>, "
                "<code>in 10 minutes</code> or <code>tomorrow 9:30</code>."
            ),
            reply_markup=time_presets(),
        )
        return
    service = PostService(session, clock)
    try:
        service.validate_time(when)
    except PostRuleError as exc:
        await message.answer(rule_error_text(exc, db_user.timezone), reply_markup=time_presets())
        return
    await state.update_data(when=when.isoformat())
    await show_confirm(message, state, session, db_user, clock)


@router.message(NewPost.time)
async def on_time_not_text(message: Message) -> None:
    await message.answer(
        _("Send the time as text, or choose a button."), reply_markup=time_presets()
    )


async def show_confirm(
    message: Message, state: FSMContext, session: AsyncSession, user: User, clock: Clock
) -> None:
    data = await state.get_data()
    targets = await TargetRepository(session).get_many_for_owner(user.id, data.get("chosen", []))
    when = datetime.fromisoformat(data["when"]) if data.get("when") else None
    await state.set_state(NewPost.confirm)
    where = "\n".join("• " + target_label(t) for t in targets)
    moment = time_both(when, user.timezone) if when else _("right now")
    await message.answer(
        _("Publish to:\n{targets}\n\nWhen: {when}").format(targets=where, when=moment),
        reply_markup=confirm_keyboard(),
    )


@router.callback_query(NewPost.confirm, DraftCb.filter(F.action == "confirm"))
async def on_confirm(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    waker: Waker,
) -> None:
    data = await state.get_data()
    when = datetime.fromisoformat(data["when"]) if data.get("when") else None
    service = PostService(session, clock, waker)
    try:
        _content, posts = await service.schedule(
            db_user.id, draft_from_state(data), data.get("chosen", []), when
        )
    except PostRuleError as exc:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(rule_error_text(exc, db_user.timezone))
            if exc.code == "time_in_past":
                await state.set_state(NewPost.time)
                await query.message.answer(_("When?"), reply_markup=time_presets())
        return
    await state.clear()
    await query.answer(_("Saved"))
    if isinstance(query.message, Message):
        ids = ", ".join(f"#{p.id}" for p in posts)
        text = (
            _("✅ Scheduled: {ids} for {when}.").format(
                ids=ids, when=time_both(posts[0].scheduled_time, db_user.timezone)
            )
            if when
            else _("🚀 Publishing now: {ids}. I will tell you if anything goes wrong.").format(
                ids=ids
            )
        )
        await query.message.answer(text, reply_markup=main_menu())


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.preview)
@router.callback_query(NavCb.filter(F.action == "back"), NewPost.content)
async def on_back_to_content(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_new_post(query.message, state)


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.targets)
async def on_back_to_preview(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.preview)
    await query.answer()
    if isinstance(query.message, Message):
        await send_preview(query.message, await state.get_data())


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.time)
@router.callback_query(NavCb.filter(F.action == "back"), NewPost.confirm)
async def on_back_to_targets(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_target_picker(query.message, state, session, db_user)


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
        await message.edit_text(text, reply_markup=markup)
    else:
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
    if post.external_url:
        text += "\n" + _("Link: {url}").format(url=post.external_url)
    if post.last_error and post.status != PostStatus.PUBLISHED:
        text += "\n" + _("Reason: {error}").format(error=post.last_error)
    if post.attempts:
        text += "\n" + _("Attempts: {n}").format(n=post.attempts)
    await message.answer(text, reply_markup=post_actions(post), disable_web_page_preview=True)
    return True


@router.callback_query(PostCb.filter(F.action == "view"))
async def on_post_view(
    query: CallbackQuery, callback_data: PostCb, session: AsyncSession, db_user: User
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if not await render_post(query.message, session, db_user, callback_data.post_id):
        await query.answer(_("That post is not yours or no longer exists."), show_alert=True)
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
        await query.answer(_("That post is not yours or no longer exists."), show_alert=True)
        return
    action = callback_data.action
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
        done = await service.reschedule(db_user.id, post.id, None)
        answer = (
            _("Post #{id} will be published now.")
            if done
            else _("Post #{id} cannot be published again from its state ({status}).")
        )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(answer.format(id=post.id, status=status_label(post.status)))


@router.callback_query(PostCb.filter(F.action == "duplicate"))
async def on_post_duplicate(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
) -> None:
    found = await PostRepository(session).get_with_content_for_owner(
        db_user.id, callback_data.post_id
    )
    if found is None:
        await query.answer(_("That post is not yours or no longer exists."), show_alert=True)
        return
    _post, content, _target = found
    await state.clear()
    await state.set_state(NewPost.preview)
    await state.update_data(text=content.text, title=content.title, media=list(content.media))
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("A copy of post #{id}:").format(id=callback_data.post_id))
        await send_preview(query.message, await state.get_data())


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
        await query.answer(_("That post is not yours or no longer exists."), show_alert=True)
        return
    await state.set_state(Reschedule.time)
    await state.update_data(post_id=post.id)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the new time for post #{id} (your time zone: {tz}).").format(
                id=post.id, tz=db_user.timezone
            ),
            reply_markup=cancel_only(),
        )


@router.message(Reschedule.time, F.text)
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
        await message.answer(
            _(
                "I could not read this time. Try <code>2026-12-01 18:00</code>, "
                "<code>in 10 minutes</code> or <code>tomorrow 9:30</code>."
            ),
            reply_markup=cancel_only(),
        )
        return
    post_id = int((await state.get_data()).get("post_id", 0))
    service = PostService(session, clock, waker)
    try:
        done = await service.reschedule(db_user.id, post_id, when)
    except PostRuleError as exc:
        await message.answer(rule_error_text(exc, db_user.timezone), reply_markup=cancel_only())
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
