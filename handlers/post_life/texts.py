"""What the chat says after publishing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from aiogram.utils.i18n import gettext as _

from handlers.failures import failure_text
from handlers.render import local_time, target_label, time_both
from platforms.errors import ErrorCode
from services.post_life import LifeResult, PostLife, PostLifeService
from storage.models import PostEvent


def refused_text(code: ErrorCode | None) -> str:
    return "⚠️ " + escape(failure_text(code))


def state_lines(life: PostLife, timezone: str, *, link: bool = True) -> str:
    """Where the post stands after publishing, for the screens of this feature."""
    lines = []
    if life.removed_at is not None:
        lines.append(
            _("🗑 Deleted from {target} on {when}.").format(
                target=target_label(life.target), when=local_time(life.removed_at, timezone)
            )
        )
    if life.pinned:
        lines.append(
            _("📌 Pinned until {when}.").format(when=local_time(life.pinned_until, timezone))
            if life.pinned_until
            else _("📌 Pinned.")
        )
    if life.auto_delete_at is not None:
        lines.append(
            _("⏳ Deleted automatically on {when}.").format(
                when=local_time(life.auto_delete_at, timezone)
            )
        )
    if link and life.post.external_url:
        lines.append(_("Link: {url}").format(url=life.post.external_url))
    return "\n".join(lines)


async def life_lines(service: PostLifeService | None, user_id: int, post_id: int, tz: str) -> str:
    """For the post's own view (handlers/posts): deleted, pinned, auto-delete planned."""
    if service is None:
        return ""
    life = await service.view(user_id, post_id)
    if life is None:
        return ""
    lines = state_lines(life, tz, link=False)
    return "\n" + lines if lines else ""


def edit_prompt(post_id: int, life: PostLife) -> str:
    return _(
        "Send the new text of post #{id}; formatting is kept. It changes in {target} at once."
    ).format(id=post_id, target=target_label(life.target))


def buttons_prompt(post_id: int) -> str:
    return _(
        "Send the new buttons of post #{id}, one per line:\n<code>Text - https://example.com</code>"
    ).format(id=post_id)


def x_cannot_edit(post_id: int) -> str:
    return _(
        "X does not let the bot edit a published post. Delete post #{id} and publish a "
        "corrected copy instead."
    ).format(id=post_id)


def confirm_delete_text(life: PostLife, deadline: datetime | None, timezone: str) -> str:
    text = _(
        "Delete post #{id} from {target}? Readers will no longer see it; it stays in your list."
    ).format(id=life.post.id, target=target_label(life.target))
    if len(life.message_ids) > 1:
        text += "\n" + _("All {n} messages of the album are deleted.").format(
            n=len(life.message_ids)
        )
    if deadline is not None:
        text += "\n" + telegram_window(deadline, timezone)
    return text


def telegram_window(deadline: datetime, timezone: str) -> str:
    return _(
        "Telegram lets a bot delete its message only within 48 hours of sending: this one "
        "until {when}."
    ).format(when=time_both(deadline, timezone))


def autodel_text(
    life: PostLife, deadline: datetime | None, choices: Sequence[int], timezone: str
) -> str:
    text = _("Delete post #{id} automatically after how long (from now)?").format(id=life.post.id)
    if life.auto_delete_at is not None:
        text += "\n" + _("Now: deleted on {when}.").format(
            when=time_both(life.auto_delete_at, timezone)
        )
    if deadline is not None:
        text += "\n" + telegram_window(deadline, timezone)
        if not choices:
            text += "\n" + _("No delay fits any more: delete it now or by hand in the channel.")
        else:
            text += " " + _("Longer delays are not offered.")
    return text


def pin_text(life: PostLife, timezone: str) -> str:
    text = _("Pin post #{id} in {target} for how long?").format(
        id=life.post.id, target=target_label(life.target)
    )
    if life.pinned:
        text += "\n" + (
            _("Now: pinned until {when}.").format(when=time_both(life.pinned_until, timezone))
            if life.pinned_until
            else _("Now: pinned until you unpin it.")
        )
    if life.post.platform == "telegram":
        text += "\n" + _(
            "In a channel the bot needs the right to edit messages to pin. Channel members "
            "get no notification of a pin."
        )
    return text


def result_text(action: str, post_id: int, result: LifeResult, timezone: str) -> str:
    if not result.ok:
        return refused_text(result.code)
    if action == "edit":
        return _("✏️ Post #{id} was changed. Readers see the new version.").format(id=post_id)
    if action == "buttons":
        return _("🔗 The buttons of post #{id} were changed.").format(id=post_id)
    if action == "delete":
        if result.code == ErrorCode.MESSAGE_GONE:
            return _("🗑 Post #{id} was already deleted in the channel.").format(id=post_id)
        return _("🗑 Post #{id} was deleted from the platform.").format(id=post_id)
    if action == "autodel":
        if result.due_at is None:
            return _("⏳ Post #{id} will not be deleted automatically.").format(id=post_id)
        return _("⏳ Post #{id} will be deleted on {when}.").format(
            id=post_id, when=time_both(result.due_at, timezone)
        )
    if action == "pin":
        if result.due_at is None:
            return _("📌 Post #{id} is pinned until you unpin it.").format(id=post_id)
        return _("📌 Post #{id} is pinned until {when}.").format(
            id=post_id, when=time_both(result.due_at, timezone)
        )
    return _("📍 Post #{id} was unpinned.").format(id=post_id)


def _event_label(kind: str) -> str:
    labels = {
        "edit": _("edited"),
        "edit_buttons": _("buttons changed"),
        "delete": _("deleted"),
        "auto_delete_set": _("auto-delete set"),
        "auto_delete_off": _("auto-delete off"),
        "auto_delete": _("deleted automatically"),
        "pin": _("pinned in the channel"),
        "unpin": _("unpinned"),
        "auto_unpin": _("unpinned automatically"),
    }
    return labels.get(kind, kind)


def _outcome_label(outcome: str) -> str:
    labels = {
        "ok": _("done"),
        "scheduled": _("planned"),
        "refused": _("refused"),
        "failed": _("did not go through"),
    }
    return labels.get(outcome, outcome)


def history_text(post_id: int, events: Sequence[PostEvent], timezone: str) -> str:
    if not events:
        return _("Nothing was done to post #{id} since it was published.").format(id=post_id)
    lines = [_("What happened to post #{id} after publishing:").format(id=post_id)]
    for event in events:
        line = f"{local_time(event.at, timezone)} · {_event_label(event.kind)} · "
        line += _outcome_label(event.outcome)
        if event.error_code:
            line += "\n   " + escape(failure_text(event.error_code))
        lines.append(line)
    return "\n".join(lines)
