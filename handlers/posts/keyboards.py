"""The post list's keyboards, and the decision buttons the workers' notices carry."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb
from handlers.posts.callbacks import PostCb, PostListCb, StatusFilter
from storage.models import PostStatus, ScheduledPost


def post_actions(post: ScheduledPost) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    status = post.status
    if status == PostStatus.SCHEDULED:
        kb.button(
            text=_("🚀 Publish now"), callback_data=PostCb(action="publish_now", post_id=post.id)
        )
        kb.button(
            text=_("🕑 Reschedule"), callback_data=PostCb(action="reschedule", post_id=post.id)
        )
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    elif status == PostStatus.FAILED:
        kb.button(text=_("🔁 Retry"), callback_data=PostCb(action="retry", post_id=post.id))
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    elif status in (PostStatus.UNKNOWN, PostStatus.MISSED):
        kb.button(text=_("🔁 Retry"), callback_data=PostCb(action="retry", post_id=post.id))
        kb.button(
            text=_("✅ Mark published"), callback_data=PostCb(action="published", post_id=post.id)
        )
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    elif status == PostStatus.AWAITING_APPROVAL:
        kb.button(
            text=_("🕑 Reschedule"), callback_data=PostCb(action="reschedule", post_id=post.id)
        )
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    elif status == PostStatus.PUBLISHED and post.external_id:
        # Issue 12: edit, delete, auto-delete, pin (handlers/post_life).
        from handlers.post_life import life_buttons

        life_buttons(kb, post.id)
    kb.button(text=_("📄 Duplicate"), callback_data=PostCb(action="duplicate", post_id=post.id))
    kb.button(text=_("⬅️ To the list"), callback_data=PostListCb(status="all", page=0))
    kb.adjust(2)
    return kb.as_markup()


def decision_keyboard(post_id: int) -> InlineKeyboardMarkup:
    """Under a notice about a post in doubt (unknown, missed): the owner decides."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔁 Retry"), callback_data=PostCb(action="retry", post_id=post_id))
    kb.button(
        text=_("✅ Mark published"), callback_data=PostCb(action="published", post_id=post_id)
    )
    kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post_id))
    kb.adjust(1)
    return kb.as_markup()


def post_list_keyboard(
    rows: Sequence[ScheduledPost], status: StatusFilter, page: int, pages: int
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for post in rows:
        kb.button(text=f"#{post.id}", callback_data=PostCb(action="view", post_id=post.id))
    filters: list[tuple[StatusFilter, str]] = [
        ("all", _("All")),
        ("scheduled", _("Scheduled")),
        ("published", _("Published")),
        ("failed", _("Failed")),
    ]
    for key, label in filters:
        mark = "• " if key == status else ""
        kb.button(text=mark + label, callback_data=PostListCb(status=key, page=0))
    nav: list[int] = []
    if page > 0:
        kb.button(text="◀️", callback_data=PostListCb(status=status, page=page - 1))
        nav.append(1)
    if page + 1 < pages:
        kb.button(text="▶️", callback_data=PostListCb(status=status, page=page + 1))
        nav.append(1)
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    sizes = [5] * (len(rows) // 5) + ([len(rows) % 5] if len(rows) % 5 else [])
    kb.adjust(*sizes, 4, *([len(nav)] if nav else []), 1)
    return kb.as_markup()
