"""New post: title → text, photos or an album, or AI → preview per platform with fix-its →
targets → time → Telegram options → confirm."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InputMediaPhoto, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from content.fitting import (
    INSTAGRAM_HASHTAG_LIMIT,
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    FitResult,
    Problem,
    plain_text,
    telegram_visible_length,
    truncate_visible,
)
from content.generator import Brief, ContentGenerator, GenerationError
from handlers.callbacks import DraftCb, MenuCb, NavCb, OptionCb, TargetPickCb, TimeCb
from handlers.keyboards import (
    back_cancel,
    confirm_keyboard,
    content_keyboard,
    draft_actions,
    main_menu,
    target_picker,
    time_presets,
)
from handlers.render import platform_label, target_label, time_both, zone_label
from handlers.states import NewPost
from platforms.telegram import render_post_html, url_buttons_markup
from services.clock import Clock
from services.notify import Waker
from services.posts import Draft, PostRuleError, PostService, check_draft
from services.timeparse import parse_user_time
from storage.models import User
from storage.repositories import TargetRepository

router = Router(name="compose")

ALBUM_LIMIT = 10
# Previews of other platforms and of over-long posts are clipped so that the preview
# message itself stays within Telegram's 4096 characters.
PREVIEW_CLIP = 3500
PREVIEW_THREAD_PARTS = 12
TITLE_LIMIT = 256
MAX_URL_BUTTONS = 8
_BUTTON_LINE_RE = re.compile(r"^(?P<text>.+?)\s+[-—–|]\s+(?P<url>(?:https?|tg)://\S+)$")


# ---------- albums ----------


class AlbumCollector:
    """Telegram sends an album as separate messages sharing a media_group_id. The first
    one waits briefly for its siblings and handles the whole group; the others stop."""

    def __init__(self, latency: float = 0.6) -> None:
        self.latency = latency
        self._groups: dict[str, list[Message]] = {}

    async def collect(self, message: Message) -> list[Message] | None:
        if not message.media_group_id:
            return [message]
        key = f"{message.chat.id}:{message.media_group_id}"
        group = self._groups.get(key)
        if group is not None:
            group.append(message)
            return None
        self._groups[key] = group = [message]
        # Wait until the album stops growing: siblings that queue behind a slow database
        # must still join their album, not start a second one.
        seen = 0
        for _round in range(20):
            if len(group) == seen:
                break
            seen = len(group)
            await asyncio.sleep(self.latency)
        return sorted(self._groups.pop(key), key=lambda m: m.message_id)


ALBUMS = AlbumCollector()


class UserLocks:
    """One lock per user, dropped when nobody holds or waits for it. Two quick presses of
    Confirm arrive as two updates handled at the same time: the second must find the dialog
    finished by the first, not save the post a second time."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users <= 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)


CONFIRM_LOCKS = UserLocks()


# ---------- helpers ----------


class LimitSettings(Protocol):
    """The part of the bot's settings the preview checks against (dispatcher data
    `app_settings`)."""

    instagram_hashtag_limit: int


def limits(app_settings: LimitSettings) -> dict[str, int]:
    return {"hashtag_limit": app_settings.instagram_hashtag_limit}


def draft_from_state(data: dict[str, Any]) -> Draft:
    return Draft(
        text=data.get("text", ""),
        title=data.get("title"),
        media=tuple(data.get("media", [])),
        options=data.get("options") or {},
    )


def describe_problem(result: FitResult, hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT) -> str:
    platform = platform_label(result.platform)
    lines = []
    for problem in result.problems:
        if problem == Problem.TOO_LONG:
            lines.append(
                _("{platform}: the text is too long — {length} of {limit} characters.").format(
                    platform=platform, length=result.length, limit=result.limit
                )
            )
        elif problem == Problem.EMPTY:
            lines.append(_("{platform}: the post is empty.").format(platform=platform))
        elif problem == Problem.NEEDS_PICTURE:
            lines.append(_("{platform}: a picture is required.").format(platform=platform))
        elif problem == Problem.TOO_MANY_HASHTAGS:
            lines.append(
                _("{platform}: too many hashtags — at most {limit} are allowed.").format(
                    platform=platform, limit=hashtag_limit
                )
            )
        elif problem == Problem.TOO_MANY_PICTURES:
            lines.append(_("{platform}: too many pictures.").format(platform=platform))
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
        ).format(title=html.escape(str(error.details.get("title", ""))))
    if error.code == "does_not_fit":
        limit = int(error.details.get("hashtag_limit", INSTAGRAM_HASHTAG_LIMIT))
        return "\n".join(describe_problem(r, limit) for r in error.details["results"])
    return _("That did not work. Try again.")


def unreadable_time_text() -> str:
    return _(
        "I could not read this time. Try <code>2026-12-01 18:00</code>, "
        "<code>in 10 minutes</code>, <code>tomorrow 9:30</code> or <code>friday 18:00</code>."
    )


async def preview_platforms(session: AsyncSession, user: User, data: dict[str, Any]) -> list[str]:
    """The chosen targets' platforms; before a choice, those of all the user's targets."""
    repo = TargetRepository(session)
    chosen = data.get("chosen") or []
    targets = (
        await repo.get_many_for_owner(user.id, chosen)
        if chosen
        else await repo.list_for_owner(user.id)
    )
    platforms = sorted({t.platform for t in targets}, key=["telegram", "x", "instagram"].index)
    return platforms or ["telegram"]


def clipped(text: str, limit: int = PREVIEW_CLIP) -> str:
    """Plain text shortened for display only: Telegram refuses to show what breaks a limit."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def send_telegram_view(message: Message, draft: Draft) -> None:
    """The post exactly as the channel will receive it. A post over Telegram's limits cannot
    be shown as it is (Telegram would refuse it too): it is shown clipped, and the problem
    is listed below it."""
    body = render_post_html(draft.title, draft.text)
    length = telegram_visible_length(draft.title, draft.text)
    photos = [m for m in draft.media if m.get("kind") == "photo"]
    markup = url_buttons_markup((draft.options or {}).get("buttons"))
    caption_fits = length <= TELEGRAM_CAPTION_LIMIT
    if photos and not caption_fits:
        await message.answer_media_group(
            [InputMediaPhoto(media=p["file_id"]) for p in photos[:ALBUM_LIMIT]]
        )
        await message.answer(html.escape(clipped(plain_text(draft.title, draft.text))))
    elif len(photos) > 1:
        await message.answer_media_group(
            [
                InputMediaPhoto(media=p["file_id"], caption=body if i == 0 and body else None)
                for i, p in enumerate(photos[:ALBUM_LIMIT])
            ]
        )
    elif photos:
        await message.answer_photo(photos[0]["file_id"], caption=body or None, reply_markup=markup)
    elif length > TELEGRAM_TEXT_LIMIT:
        await message.answer(html.escape(clipped(plain_text(draft.title, draft.text))))
    else:
        await message.answer(body or "…", reply_markup=markup)


def other_platform_view(platform: str, draft: Draft, result: FitResult) -> str:
    text = plain_text(draft.title, draft.text)
    pictures = sum(1 for m in draft.media if m.get("kind") == "photo")
    if platform == "x":
        if result.parts:
            body = "\n\n".join(
                f"{i}. {html.escape(part)}"
                for i, part in enumerate(result.parts[:PREVIEW_THREAD_PARTS], 1)
            )
            header = _("X will get a thread of {n} posts:").format(n=len(result.parts))
        else:
            body = html.escape(clipped(text))
            header = _("X will show ({length} of {limit}):").format(
                length=result.length, limit=result.limit
            )
        return f"<b>{header}</b>\n{body}"
    header = _("Instagram caption ({length} of {limit}):").format(
        length=result.length, limit=result.limit
    )
    view = f"<b>{header}</b>\n{html.escape(clipped(text))}"
    if not pictures:
        view += "\n\n" + _(
            "🖼 Instagram needs a picture. I will make a text card from the post, or add "
            "your own picture."
        )
    return view


async def send_preview(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    app_settings: LimitSettings,
) -> None:
    """Show the post as each chosen platform will show it, its problems, and the actions."""
    await state.update_data(editing=False)
    data = await state.get_data()
    await state.set_state(NewPost.preview)
    draft = draft_from_state(data)
    platforms = await preview_platforms(session, user, data)
    results = check_draft(draft, platforms, **limits(app_settings))
    if "telegram" in platforms:
        await send_telegram_view(message, draft)
    for result in results:
        if result.platform != "telegram":
            await message.answer(other_platform_view(result.platform, draft, result))
    problems = [r for r in results if not r.ok]
    too_long = any(Problem.TOO_LONG in r.problems for r in problems)
    x_too_long = any(r.platform == "x" and Problem.TOO_LONG in r.problems for r in problems)
    no_picture = "instagram" in platforms and not any(
        m.get("kind") == "photo" for m in draft.media
    )
    keyboard = draft_actions(
        can_truncate=too_long,
        can_thread=x_too_long,
        can_add_picture=no_picture or not draft.media,
        can_regenerate=bool(data.get("prompt")),
    )
    if not problems:
        await message.answer(_("👆 This is how the post will look."), reply_markup=keyboard)
        return
    await message.answer(
        "\n".join(describe_problem(r, app_settings.instagram_hashtag_limit) for r in problems)
        + "\n"
        + _("Fix it with the buttons below, or send a new version."),
        reply_markup=keyboard,
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
    tomorrow = (local.replace(tzinfo=None) + timedelta(days=1)).replace(second=0, microsecond=0)
    if preset == "tomorrow_morning":
        return tomorrow.replace(hour=9, minute=0).replace(tzinfo=zone)
    if preset == "tomorrow_evening":
        return tomorrow.replace(hour=19, minute=0).replace(tzinfo=zone)
    raise ValueError(preset)


def parse_url_buttons(text: str) -> list[dict[str, str]] | None:
    """Lines `Text - https://example.com`; None when any line is not one."""
    buttons = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        match = _BUTTON_LINE_RE.match(line)
        if not match or len(match.group("text")) > 64:
            return None
        buttons.append({"text": match.group("text").strip(), "url": match.group("url")})
    if not buttons or len(buttons) > MAX_URL_BUTTONS:
        return None
    return buttons


# ---------- start, title, content ----------


def content_prompt(generator: ContentGenerator, title: str | None) -> str:
    text = _(
        "Send the post: text (formatting is kept), a photo, or an album of up to {album} "
        "photos with a caption.\nLimits: {text} characters for text, {caption} for a caption."
    ).format(album=ALBUM_LIMIT, text=TELEGRAM_TEXT_LIMIT, caption=TELEGRAM_CAPTION_LIMIT)
    if title:
        text = _("Title: <b>{title}</b>").format(title=html.escape(title)) + "\n\n" + text
    if not generator.available:
        text += "\n\n" + _(
            "AI writing is off: the bot's owner has not configured an AI provider "
            "(OPENAI_API_KEY)."
        )
    return text


async def ask_for_content(
    message: Message, state: FSMContext, generator: ContentGenerator
) -> None:
    data = await state.get_data()
    await state.set_state(NewPost.content)
    await message.answer(
        content_prompt(generator, data.get("title")),
        reply_markup=content_keyboard(
            has_title=bool(data.get("title")), ai_available=generator.available
        ),
    )


async def start_new_post(message: Message, state: FSMContext, generator: ContentGenerator) -> None:
    await state.clear()
    await ask_for_content(message, state, generator)


@router.message(Command("new"))
async def cmd_new(message: Message, state: FSMContext, generator: ContentGenerator) -> None:
    await start_new_post(message, state, generator)


@router.callback_query(MenuCb.filter(F.action == "new"))
async def on_menu_new(
    query: CallbackQuery, state: FSMContext, generator: ContentGenerator
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_new_post(query.message, state, generator)


@router.callback_query(NewPost.content, DraftCb.filter(F.action == "title"))
async def on_title_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.title)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the title (up to {limit} characters).").format(limit=TITLE_LIMIT),
            reply_markup=back_cancel(),
        )


@router.message(NewPost.title, F.text & ~F.text.startswith("/"))
async def on_title_typed(message: Message, state: FSMContext, generator: ContentGenerator) -> None:
    title = " ".join((message.text or "").split())
    if not title or title.startswith("/") or len(title) > TITLE_LIMIT:
        await message.answer(
            _("Send the title as one line of up to {limit} characters.").format(limit=TITLE_LIMIT),
            reply_markup=back_cancel(),
        )
        return
    await state.update_data(title=title)
    await ask_for_content(message, state, generator)


@router.message(NewPost.title, ~F.text.startswith("/"))
async def on_title_not_text(message: Message) -> None:
    await message.answer(_("Send the title as text."), reply_markup=back_cancel())


@router.message(NewPost.content, F.photo)
@router.message(NewPost.add_photo, F.photo)
@router.message(NewPost.preview, F.photo)  # a photo sent at the preview joins the post
async def on_post_photos(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    group = await ALBUMS.collect(message)
    if group is None:
        return  # another message of the album handles it
    data = await state.get_data()
    adding = await state.get_state() in (NewPost.add_photo.state, NewPost.preview.state)
    photos = [
        {"kind": "photo", "file_id": m.photo[-1].file_id} for m in group if m.photo is not None
    ]
    captions = [m.html_text for m in group if m.caption]
    media = (list(data.get("media", [])) if adding else []) + photos
    if len(media) > ALBUM_LIMIT:
        await message.answer(
            _("An album holds up to {n} photos. Send fewer.").format(n=ALBUM_LIMIT),
            reply_markup=back_cancel(),
        )
        return
    text = captions[0] if captions else (data.get("text", "") if adding else "")
    await state.update_data(text=text, media=media)
    await send_preview(message, state, session, db_user, app_settings)


@router.message(NewPost.content, F.text & ~F.text.startswith("/"))
async def on_post_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    await state.update_data(text=message.html_text, media=[], source="manual", prompt=None)
    await send_preview(message, state, session, db_user, app_settings)


@router.message(NewPost.preview, F.text & ~F.text.startswith("/"))
async def on_new_version_at_preview(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    """Text sent while looking at the preview is the next version of the post (photos stay:
    it becomes their caption)."""
    await state.update_data(text=message.html_text, source="manual", prompt=None)
    await send_preview(message, state, session, db_user, app_settings)


@router.message(NewPost.content, ~F.text.startswith("/"))
async def on_post_unsupported(
    message: Message, state: FSMContext, generator: ContentGenerator
) -> None:
    has_title = bool((await state.get_data()).get("title"))
    await message.answer(
        _("Send text, a photo or an album."),
        reply_markup=content_keyboard(has_title=has_title, ai_available=generator.available),
    )


@router.message(NewPost.add_photo, ~F.text.startswith("/"))
async def on_add_photo_not_photo(message: Message) -> None:
    await message.answer(_("Send a photo, or several as an album."), reply_markup=back_cancel())


# ---------- AI ----------


@router.callback_query(NewPost.content, DraftCb.filter(F.action == "ai"))
async def on_ai_pressed(
    query: CallbackQuery, state: FSMContext, generator: ContentGenerator
) -> None:
    if not generator.available:
        await query.answer(
            _("AI writing is not configured on this bot. Write the post yourself."),
            show_alert=True,
        )
        return
    await state.set_state(NewPost.ai_prompt)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("What should the post be about? Describe the topic, tone and length."),
            reply_markup=back_cancel(),
        )


async def generate_into_state(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    app_settings: LimitSettings,
    generator: ContentGenerator,
    prompt: str,
    avoid: tuple[str, ...] = (),
) -> bool:
    data = await state.get_data()
    platforms = await preview_platforms(session, user, data)
    await message.answer(_("✨ Writing…"))
    try:
        generated = await generator.generate(
            Brief(
                title=data.get("title"),
                description=prompt,
                platform=platforms[0],
                language=user.language,
                avoid=avoid,
            )
        )
    except GenerationError as exc:
        await message.answer(
            _(
                "The AI could not write it: {reason}\nTry again, or write the post yourself."
            ).format(reason=html.escape(exc.reason)),
            reply_markup=back_cancel(),
        )
        return False
    await state.update_data(
        text=html.escape(generated.text, quote=False),
        title=data.get("title") or generated.title,
        media=data.get("media", []),
        source="ai",
        prompt=prompt,
    )
    await send_preview(message, state, session, user, app_settings)
    return True


@router.message(NewPost.ai_prompt, F.text & ~F.text.startswith("/"))
async def on_ai_prompt(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
    generator: ContentGenerator,
) -> None:
    prompt = (message.text or "").strip()
    if not generator.available:
        await ask_for_content(message, state, generator)
        return
    await generate_into_state(message, state, session, db_user, app_settings, generator, prompt)


@router.message(NewPost.ai_prompt, ~F.text.startswith("/"))
async def on_ai_prompt_not_text(message: Message) -> None:
    await message.answer(_("Describe the post in words."), reply_markup=back_cancel())


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "regenerate"))
async def on_regenerate(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
    generator: ContentGenerator,
) -> None:
    data = await state.get_data()
    prompt = data.get("prompt")
    if not prompt or not generator.available:
        await query.answer(_("There is nothing to regenerate."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        previous = plain_text(None, data.get("text", ""))
        await generate_into_state(
            query.message,
            state,
            session,
            db_user,
            app_settings,
            generator,
            prompt,
            avoid=(previous,),
        )


# ---------- preview actions ----------


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "fix_truncate"))
async def on_draft_truncate(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    data = await state.get_data()
    draft = draft_from_state(data)
    platforms = await preview_platforms(session, db_user, data)
    text = draft.text
    # Cut by the overflow until every platform accepts it (X counts some characters double).
    for _attempt in range(12):
        results = [
            r
            for r in check_draft(
                Draft(text, draft.title, draft.media, draft.options),
                platforms,
                **limits(app_settings),
            )
            if Problem.TOO_LONG in r.problems
        ]
        if not results:
            break
        overflow = max(r.length - r.limit for r in results)
        visible = len(plain_text(None, text))
        text = truncate_visible(text, max(1, visible - overflow - 1))
    await state.update_data(text=text)
    await query.answer(_("Shortened"))
    if isinstance(query.message, Message):
        await send_preview(query.message, state, session, db_user, app_settings)


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "fix_thread"))
async def on_draft_thread(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    options = dict((await state.get_data()).get("options") or {})
    options["x_thread"] = True
    await state.update_data(options=options)
    await query.answer(_("X will get a thread"))
    if isinstance(query.message, Message):
        await send_preview(query.message, state, session, db_user, app_settings)


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "add_photo"))
async def on_draft_add_photo(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.add_photo)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send a photo, or several as an album (up to {n} in all).").format(n=ALBUM_LIMIT),
            reply_markup=back_cancel(),
        )


@router.callback_query(NewPost.preview, DraftCb.filter(F.action == "edit"))
async def on_draft_edit(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.content)
    await state.update_data(editing=True)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the new version of the post."), reply_markup=back_cancel()
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
    await state.update_data(mode=callback_data.action)
    await query.answer()
    if isinstance(query.message, Message):
        await show_target_picker(query.message, state, session, db_user)


# ---------- targets ----------


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
    chosen = set(data.get("chosen", [])) & {t.id for t in targets}
    await message.answer(
        _("Where shall I publish it? Tap to choose, then Done."),
        reply_markup=target_picker(targets, chosen),
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
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
    clock: Clock,
) -> None:
    data = await state.get_data()
    owned = await TargetRepository(session).get_many_for_owner(db_user.id, data.get("chosen", []))
    if not owned:
        await query.answer(_("Choose at least one of your channels first."), show_alert=True)
        return
    await state.update_data(chosen=[t.id for t in owned])
    await query.answer()
    if not isinstance(query.message, Message):
        return
    draft = draft_from_state(data)
    platforms = sorted({t.platform for t in owned})
    if any(not r.ok for r in check_draft(draft, platforms, **limits(app_settings))):
        # Back to the preview for these platforms, with the fix-it buttons.
        await send_preview(query.message, state, session, db_user, app_settings)
        return
    if data.get("mode") == "publish_now":
        await state.update_data(when=None)
        await show_confirm(query.message, state, session, db_user)
        return
    await ask_for_time(query.message, state, db_user)


async def ask_for_time(message: Message, state: FSMContext, user: User) -> None:
    await state.set_state(NewPost.time)
    await message.answer(
        _(
            "When? Choose below or type a time, for example <code>2026-12-01 18:00</code>, "
            "<code>in 10 minutes</code>, <code>tomorrow 9:30</code>, <code>friday 18:00</code>."
            "\nYour time zone: {tz}."
        ).format(tz=zone_label(user.timezone)),
        reply_markup=time_presets(),
    )


# ---------- time ----------


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
        await show_confirm(query.message, state, session, db_user)


@router.message(NewPost.time, F.text & ~F.text.startswith("/"))
async def on_time_typed(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    when = parse_user_time(message.text or "", db_user.timezone, clock.now())
    if when is None:
        await message.answer(unreadable_time_text(), reply_markup=time_presets())
        return
    try:
        PostService(session, clock).validate_time(when)
    except PostRuleError as exc:
        await message.answer(rule_error_text(exc, db_user.timezone), reply_markup=time_presets())
        return
    await state.update_data(when=when.isoformat())
    await show_confirm(message, state, session, db_user)


@router.message(NewPost.time, ~F.text.startswith("/"))
async def on_time_not_text(message: Message) -> None:
    await message.answer(
        _("Send the time as text, or choose a button."), reply_markup=time_presets()
    )


# ---------- confirm and Telegram options ----------


def confirm_text(data: dict[str, Any], targets: list[Any], user: User) -> str:
    when = datetime.fromisoformat(data["when"]) if data.get("when") else None
    where = "\n".join("• " + target_label(t) for t in targets)
    moment = time_both(when, user.timezone) if when else _("right now")
    text = _("Publish to:\n{targets}\n\nWhen: {when}").format(targets=where, when=moment)
    options = data.get("options") or {}
    if any(t.platform == "telegram" for t in targets):
        flags = []
        if options.get("silent"):
            flags.append(_("silent"))
        if options.get("pin"):
            flags.append(_("pinned"))
        if options.get("buttons"):
            flags.append(_("{n} URL buttons").format(n=len(options["buttons"])))
        if flags:
            text += "\n" + _("Telegram: {flags}").format(flags=", ".join(flags))
    return text


async def show_confirm(
    message: Message, state: FSMContext, session: AsyncSession, user: User, edit: bool = False
) -> None:
    data = await state.get_data()
    targets = list(
        await TargetRepository(session).get_many_for_owner(user.id, data.get("chosen", []))
    )
    await state.set_state(NewPost.confirm)
    markup = confirm_keyboard(
        telegram=any(t.platform == "telegram" for t in targets), options=data.get("options") or {}
    )
    text = confirm_text(data, targets, user)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


@router.callback_query(NewPost.confirm, OptionCb.filter(F.action.in_({"silent", "pin"})))
async def on_option_toggle(
    query: CallbackQuery,
    callback_data: OptionCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
) -> None:
    options = dict((await state.get_data()).get("options") or {})
    options[callback_data.action] = not options.get(callback_data.action, False)
    await state.update_data(options=options)
    await query.answer()
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, session, db_user, edit=True)


@router.callback_query(NewPost.confirm, OptionCb.filter(F.action == "buttons"))
async def on_option_buttons(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.buttons)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Send the buttons to show under the post, one per line:\n"
                "<code>Text - https://example.com</code>"
            ),
            reply_markup=back_cancel(clear_buttons=True),
        )


@router.callback_query(NewPost.buttons, OptionCb.filter(F.action == "buttons_clear"))
async def on_option_buttons_clear(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    options = dict((await state.get_data()).get("options") or {})
    options.pop("buttons", None)
    await state.update_data(options=options)
    await query.answer(_("Buttons removed"))
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, session, db_user)


@router.message(NewPost.buttons, F.text & ~F.text.startswith("/"))
async def on_buttons_typed(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    buttons = parse_url_buttons(message.text or "")
    if buttons is None:
        await message.answer(
            _(
                "I could not read that. One button per line, up to {n}: "
                "<code>Text - https://example.com</code>"
            ).format(n=MAX_URL_BUTTONS),
            reply_markup=back_cancel(clear_buttons=True),
        )
        return
    options = dict((await state.get_data()).get("options") or {})
    options["buttons"] = buttons
    await state.update_data(options=options)
    await show_confirm(message, state, session, db_user)


@router.message(NewPost.buttons, ~F.text.startswith("/"))
async def on_buttons_not_text(message: Message) -> None:
    await message.answer(
        _("Send the buttons as text: <code>Text - https://example.com</code>"),
        reply_markup=back_cancel(clear_buttons=True),
    )


@router.callback_query(NewPost.confirm, DraftCb.filter(F.action == "confirm"))
async def on_confirm(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
    clock: Clock,
    waker: Waker,
) -> None:
    async with CONFIRM_LOCKS.hold(db_user.id):
        if await state.get_state() != NewPost.confirm.state:
            # A second press while the first was saving: the post is saved once.
            await query.answer(
                _("Already saved.")
                if await state.get_state() is None
                else _("This button is no longer active. Open /menu."),
            )
            return
        await confirm_draft(query, state, session, db_user, app_settings, clock, waker)


async def confirm_draft(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
    clock: Clock,
    waker: Waker,
) -> None:
    data = await state.get_data()
    when = datetime.fromisoformat(data["when"]) if data.get("when") else None
    service = PostService(session, clock, waker, **limits(app_settings))
    try:
        _content, posts = await service.schedule(
            db_user.id,
            draft_from_state(data),
            data.get("chosen", []),
            when,
            source=data.get("source") or "manual",
            prompt=data.get("prompt"),
        )
    except PostRuleError as exc:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(rule_error_text(exc, db_user.timezone))
            if exc.code == "time_in_past":
                await ask_for_time(query.message, state, db_user)
            elif exc.code in ("no_targets", "target_broken"):
                await show_target_picker(query.message, state, session, db_user)
        return
    await state.clear()
    await query.answer(_("Saved"))
    if isinstance(query.message, Message):
        # The confirmation's buttons have done their work: nothing there may save it again.
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
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


# ---------- Back ----------


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.content)
async def on_back_from_content(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    await query.answer()
    if (await state.get_data()).get("editing"):
        # Back from ✏️ Edit: the draft is still there, unchanged.
        await state.update_data(editing=False)
        if isinstance(query.message, Message):
            await send_preview(query.message, state, session, db_user, app_settings)
        return
    await state.clear()
    if isinstance(query.message, Message):
        from handlers.common import welcome_text

        await query.message.answer(welcome_text(db_user), reply_markup=main_menu())


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.title)
@router.callback_query(NavCb.filter(F.action == "back"), NewPost.ai_prompt)
@router.callback_query(NavCb.filter(F.action == "back"), NewPost.preview)
async def on_back_to_content(
    query: CallbackQuery, state: FSMContext, generator: ContentGenerator
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await ask_for_content(query.message, state, generator)


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.targets)
@router.callback_query(NavCb.filter(F.action == "back"), NewPost.add_photo)
async def on_back_to_preview(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    app_settings: LimitSettings,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await send_preview(query.message, state, session, db_user, app_settings)


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.time)
async def on_back_to_targets(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_target_picker(query.message, state, session, db_user)


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.confirm)
async def on_back_from_confirm(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if (await state.get_data()).get("mode") == "publish_now":
        await show_target_picker(query.message, state, session, db_user)
    else:
        await ask_for_time(query.message, state, db_user)


@router.callback_query(NavCb.filter(F.action == "back"), NewPost.buttons)
async def on_back_to_confirm(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, session, db_user)
