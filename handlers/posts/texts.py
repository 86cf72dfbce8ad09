"""What the post list says."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiogram.utils.i18n import gettext as _

from handlers.failures import failure_text
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
    return header + "\n\n" + "\n\n".join(_list_item(p, c, t, timezone) for p, c, t in rows)


def _list_item(post: ScheduledPost, content: Content, target: Target, timezone: str) -> str:
    line = post_line(post, content, target, timezone)
    if post.status == PostStatus.FAILED:
        line += "\n⚠️ " + escape(failure_text(post.error_code))
    return line


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
    if (post.last_error or post.error_code) and post.status != PostStatus.PUBLISHED:
        # The owner reads what to do (translated); the English details stay in the record.
        text += "\n" + _("Reason: {error}").format(error=escape(failure_text(post.error_code)))
    if post.attempts:
        text += "\n" + _("Attempts: {n}").format(n=post.attempts)
    return text


def refusal() -> str:
    return _("That post is not yours or no longer exists.")
