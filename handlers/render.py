"""Small renderers shared by the chat's routers."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.text_decorations import HtmlDecoration

from storage.models import Content, PostStatus, ScheduledPost, Target

_POSIX_ZONE_RE = re.compile(
    r"^Etc/(?:GMT|UTC|UCT|Greenwich|Zulu)(?:(?P<sign>[+-])(?P<hours>\d{1,2}))?$"
)


def local_time(value: datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def zone_label(timezone: str) -> str:
    """The zone as a person reads it. An offset the user typed is stored as a POSIX
    `Etc/GMT-3`, whose sign is the opposite of what it means: show it as `UTC+3`."""
    match = _POSIX_ZONE_RE.match(timezone)
    if match is None:
        return timezone
    hours = int(match.group("hours") or 0)
    if hours == 0:
        return "UTC"
    return f"UTC{'+' if match.group('sign') == '-' else '-'}{hours}"


def time_both(value: datetime, timezone: str) -> str:
    """The time in the user's zone and in UTC, for confirmations."""
    if zone_label(timezone) == "UTC":
        return _("{utc} UTC").format(utc=local_time(value, "UTC"))
    return _("{local} ({zone}), {utc} UTC").format(
        local=local_time(value, timezone),
        zone=zone_label(timezone),
        utc=local_time(value, "UTC"),
    )


def status_label(status: str) -> str:
    labels = {
        PostStatus.DRAFT: _("📝 draft"),
        PostStatus.AWAITING_APPROVAL: _("🕓 awaiting approval"),
        PostStatus.SCHEDULED: _("⏰ scheduled"),
        PostStatus.PUBLISHING: _("🚀 publishing"),
        PostStatus.PUBLISHED: _("✅ published"),
        PostStatus.FAILED: _("❌ failed"),
        PostStatus.CANCELLED: _("🚫 cancelled"),
        PostStatus.UNKNOWN: _("❓ unknown"),
        PostStatus.MISSED: _("⌛ missed"),
        PostStatus.SKIPPED: _("⏭ skipped"),
    }
    return labels.get(status, status)  # type: ignore[call-overload]


def platform_label(platform: str) -> str:
    return {"telegram": "Telegram", "x": "X", "instagram": "Instagram"}.get(platform, platform)


def target_label(target: Target) -> str:
    """For message text (HTML)."""
    return escape(target_button_text(target), quote=False)


def target_name(target: Target) -> str:
    """The target without its platform, for sentences that name the platform already
    ("X account @anna", not "X account X: @anna"). HTML."""
    handle = f" (@{target.handle})" if target.handle and target.platform == "telegram" else ""
    return escape(f"{target.title}{handle}", quote=False)


def target_button_text(target: Target) -> str:
    """For a button: labels are plain text, an escaped `&lt;` would show as it is."""
    handle = f" (@{target.handle})" if target.handle and target.platform == "telegram" else ""
    return f"{platform_label(target.platform)}: {target.title}{handle}"


def snippet(content: Content, length: int = 60) -> str:
    from content.fitting import plain_text

    text = plain_text(content.title, content.text).replace("\n", " ")
    if not text:
        text = _("(picture)")
    return escape(text[:length] + ("…" if len(text) > length else ""))


def post_line(post: ScheduledPost, content: Content, target: Target, timezone: str) -> str:
    return _("#{id} · {status} · {time}\n{target}\n<i>{snippet}</i>").format(
        id=post.id,
        status=status_label(post.status),
        time=local_time(post.scheduled_time, timezone),
        target=target_label(target),
        snippet=snippet(content),
    )


class _TelegramHtml(HtmlDecoration):
    """aiogram's HTML of a message, fixed where Telegram reads it otherwise: a code block's
    language is `class="language-…"` (aiogram writes a `language` attribute Telegram
    ignores), and attribute values are escaped (a link with `"`, `&` or `<` broke the
    markup)."""

    def _tag(
        self,
        tag: str,
        content: str,
        *,
        attrs: dict[str, str] | None = None,
        flags: list[str] | None = None,
    ) -> str:
        quoted = {name: escape(value, quote=True) for name, value in (attrs or {}).items()}
        return super()._tag(tag, content, attrs=quoted or None, flags=flags)

    def pre_language(self, value: str, language: str) -> str:
        code = self._tag(self.CODE_TAG, value, attrs={"class": f"language-{language}"})
        return self._tag(self.PRE_TAG, code)


_TELEGRAM_HTML = _TelegramHtml()


def message_html(message: Message) -> str:
    """The text (or caption) a person sent, as Telegram HTML with its formatting: use it
    instead of `message.html_text`, which Telegram would read differently."""
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities or []
    return _TELEGRAM_HTML.unparse(text, entities)
