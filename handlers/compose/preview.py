"""The preview: the post as each chosen platform will show it, its problems, the fix-its."""

from __future__ import annotations

import html

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from content.fitting import (
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    Problem,
    plain_text,
    telegram_visible_length,
)
from handlers.compose.draft import ComposeDraft, save_draft
from handlers.compose.keyboards import draft_actions
from handlers.compose.media import media_items
from handlers.compose.states import NewPost
from handlers.compose.texts import clipped, describe_problem, other_platform_view
from platforms.telegram import render_post_html, url_buttons_markup
from platforms.telegram_media import album_problem, send_media, sendable
from services.container import Services
from services.posts import Draft
from storage.models import User


async def send_telegram_view(message: Message, draft: Draft) -> None:
    """The post exactly as the channel will receive it. A post over Telegram's limits cannot
    be shown as it is (Telegram would refuse it too): it is shown clipped, and the problem
    is listed below it."""
    body = render_post_html(draft.title, draft.text)
    length = telegram_visible_length(draft.title, draft.text)
    # Photos, videos, GIFs, files: sent as the publisher sends them (platforms/telegram_media).
    media = sendable(media_items(draft.media))
    markup = url_buttons_markup(draft.options.stored().get("buttons"))
    caption_fits = length <= TELEGRAM_CAPTION_LIMIT
    if media and album_problem(media) is None and message.bot is not None:
        await send_media(
            message.bot,
            message.chat.id,
            body,
            media,
            markup=markup if caption_fits else None,
            caption=caption_fits,
        )
        if not caption_fits:
            await message.answer(html.escape(clipped(plain_text(draft.title, draft.text))))
    elif media:
        # Media Telegram would not group (the problem is listed below): the words alone.
        await message.answer(html.escape(clipped(plain_text(draft.title, draft.text))) or "…")
    elif length > TELEGRAM_TEXT_LIMIT:
        await message.answer(html.escape(clipped(plain_text(draft.title, draft.text))))
    else:
        await message.answer(body or "…", reply_markup=markup)


async def send_preview(
    message: Message, state: FSMContext, services: Services, user: User, draft: ComposeDraft
) -> None:
    """Save the draft, then show it as each platform will, its problems and the actions."""
    draft.editing = False
    await save_draft(state, draft)
    await state.set_state(NewPost.preview)
    content = draft.content()
    platforms = await services.targets.platforms(user.id, draft.chosen)
    results = services.posts.check(content, platforms)
    if "telegram" in platforms:
        await send_telegram_view(message, content)
    for result in results:
        if result.platform != "telegram":
            await message.answer(other_platform_view(result.platform, content, result))
    problems = [r for r in results if not r.ok]
    too_long = any(Problem.TOO_LONG in r.problems for r in problems)
    x_too_long = any(r.platform == "x" and Problem.TOO_LONG in r.problems for r in problems)
    no_picture = "instagram" in platforms and not content.pictures
    keyboard = draft_actions(
        can_truncate=too_long,
        can_thread=x_too_long,
        can_add_picture=no_picture or not content.media,
        can_regenerate=bool(draft.prompt),
    )
    if not problems:
        await message.answer(_("👆 This is how the post will look."), reply_markup=keyboard)
        return
    limit = services.limits.instagram_hashtag_limit
    await message.answer(
        "\n".join(describe_problem(r, limit) for r in problems)
        + "\n"
        + _("Fix it with the buttons below, or send a new version."),
        reply_markup=keyboard,
    )
