"""What the new-post dialog says: problems, refusals, prompts, the per-platform views."""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _

from content.fitting import (
    INSTAGRAM_HASHTAG_LIMIT,
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    FitResult,
    Problem,
    plain_text,
)
from handlers.compose.draft import ComposeDraft
from handlers.render import platform_label, target_label, time_both
from services.posts import MAX_URL_BUTTONS, TITLE_LIMIT, Draft, PostRuleError
from storage.models import Target, User

ALBUM_LIMIT = 10
# Previews of other platforms and of over-long posts are clipped so that the preview
# message itself stays within Telegram's 4096 characters.
PREVIEW_CLIP = 3500
PREVIEW_THREAD_PARTS = 12


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
        elif problem == Problem.MEDIA_NOT_SUPPORTED:
            lines.append(
                _(
                    "{platform}: I can publish only photos there, not videos, GIFs or files. "
                    "Choose another target, or send the post with photos."
                ).format(platform=platform)
            )
        elif problem == Problem.BAD_ALBUM:
            lines.append(
                _(
                    "{platform}: these media cannot go out as one album (files group only "
                    "with files, a GIF goes alone)."
                ).format(platform=platform)
            )
    return "\n".join(lines)


def post_error_text(error: PostRuleError, timezone: str) -> str:
    """Why the post service refused a request, in the user's language."""
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


def clipped(text: str, limit: int = PREVIEW_CLIP) -> str:
    """Plain text shortened for display only: Telegram refuses to show what breaks a limit."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def other_platform_view(platform: str, draft: Draft, result: FitResult) -> str:
    text = plain_text(draft.title, draft.text)
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
    # A video or a file is refused there (listed below): no text card is promised for it.
    if not draft.media:
        view += "\n\n" + _(
            "🖼 Instagram needs a picture. I will make a text card from the post, or add "
            "your own picture."
        )
    return view


def content_prompt(title: str | None, ai_available: bool) -> str:
    text = _(
        "Send the post: text (formatting is kept), a photo, video, GIF or file, or an album "
        "of up to {album} photos and videos (or files) with a caption.\nLimits: {text} "
        "characters for text, {caption} for a caption."
    ).format(album=ALBUM_LIMIT, text=TELEGRAM_TEXT_LIMIT, caption=TELEGRAM_CAPTION_LIMIT)
    if title:
        text = _("Title: <b>{title}</b>").format(title=html.escape(title)) + "\n\n" + text
    if not ai_available:
        text += "\n\n" + _(
            "AI writing is off: the bot's owner has not configured an AI provider "
            "(OPENAI_API_KEY)."
        )
    return text


def title_prompt() -> str:
    return _("Send the title (up to {limit} characters).").format(limit=TITLE_LIMIT)


def title_refused() -> str:
    return _("Send the title as one line of up to {limit} characters.").format(limit=TITLE_LIMIT)


def time_prompt(zone: str) -> str:
    return _(
        "When? Choose below or type a time, for example <code>2026-12-01 18:00</code>, "
        "<code>in 10 minutes</code>, <code>tomorrow 9:30</code>, <code>friday 18:00</code>."
        "\nYour time zone: {tz}."
    ).format(tz=zone)


def confirm_text(draft: ComposeDraft, targets: Sequence[Target], user: User) -> str:
    where = "\n".join("• " + target_label(t) for t in targets)
    moment = time_both(draft.when, user.timezone) if draft.when else _("right now")
    text = _("Publish to:\n{targets}\n\nWhen: {when}").format(targets=where, when=moment)
    if any(t.platform == "telegram" for t in targets):
        flags = []
        if draft.options.silent:
            flags.append(_("silent"))
        if draft.options.pin:
            flags.append(_("pinned"))
        if draft.options.buttons:
            flags.append(_("{n} URL buttons").format(n=len(draft.options.buttons)))
        if flags:
            text += "\n" + _("Telegram: {flags}").format(flags=", ".join(flags))
    return text


def buttons_prompt() -> str:
    return _(
        "Send the buttons to show under the post, one per line:\n"
        "<code>Text - https://example.com</code>"
    )


def buttons_refused() -> str:
    return _(
        "I could not read that. One button per line, up to {n}: "
        "<code>Text - https://example.com</code>"
    ).format(n=MAX_URL_BUTTONS)


def saved_text(ids: Sequence[int], when_shown: str | None) -> str:
    listed = ", ".join(f"#{i}" for i in ids)
    if when_shown is not None:
        return _("✅ Scheduled: {ids} for {when}.").format(ids=listed, when=when_shown)
    return _("🚀 Publishing now: {ids}. I will tell you if anything goes wrong.").format(
        ids=listed
    )
