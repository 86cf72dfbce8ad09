"""What the post list says."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiogram.utils.i18n import gettext as _

from handlers.render import post_line
from services.posts import PostOptions
from storage.models import Content, PostStatus, ScheduledPost, Target


def list_text(
    rows: Sequence[tuple[ScheduledPost, Content, Target]],
    total: int,
    page: int,
    pages: int,
    timezone: str,
) -> str:
    if not rows:
        return _("No posts here yet. Create one with /new.")
    header = _("Your posts ({total}), page {page} of {pages}:").format(
        total=total, page=page + 1, pages=pages
    )
    return header + "\n\n" + "\n\n".join(post_line(p, c, t, timezone) for p, c, t in rows)


def post_text(post: ScheduledPost, content: Content, target: Target, timezone: str) -> str:
    text = post_line(post, content, target, timezone)
    options = PostOptions.from_stored(post.options)
    flags = [
        label for on, label in ((options.silent, _("silent")), (options.pin, _("pinned"))) if on
    ]
    if options.buttons:
        flags.append(_("{n} URL buttons").format(n=len(options.buttons)))
    if flags:
        text += "\n" + _("Telegram: {flags}").format(flags=", ".join(flags))
    if post.external_url:
        text += "\n" + _("Link: {url}").format(url=post.external_url)
    if post.last_error and post.status != PostStatus.PUBLISHED:
        text += "\n" + _("Reason: {error}").format(error=escape(post.last_error))
    if post.attempts:
        text += "\n" + _("Attempts: {n}").format(n=post.attempts)
    return text


def refusal() -> str:
    return _("That post is not yours or no longer exists.")
