"""The page's words: sent by /app/api/me in the user's language from the gettext catalogs
(locales/*/LC_MESSAGES/webapp.po), so the page has no strings of its own."""

from __future__ import annotations

from aiogram.utils.i18n import I18n

# key the page uses → msgid.
STRINGS: dict[str, str] = {
    "title": "Content calendar",
    "week": "Week",
    "month": "Month",
    "today": "Today",
    "previous": "Previous",
    "next": "Next",
    "all_targets": "All targets",
    "loading": "Loading…",
    "empty": "Nothing planned in these days.",
    "truncated": "Only the first posts of this range are shown.",
    "status_scheduled": "scheduled",
    "status_queued": "queued",
    "status_awaiting_approval": "awaiting approval",
    "status_publishing": "publishing",
    "status_published": "published",
    "status_failed": "failed",
    "status_unknown": "unknown",
    "status_missed": "missed",
    "rule_run": "Rule run to come",
    "ghost_hint": "The rule “{name}” will write a post here.",
    "preview": "Preview",
    "target": "Target",
    "status": "Status",
    "time": "Time",
    "attempts": "Attempts",
    "pictures": "Pictures: {n}",
    "link": "Open the published post",
    "reason": "Reason: {code}",
    "silent": "Sent silently",
    "pinned": "Pinned",
    "action_publish_now": "Publish now",
    "action_reschedule": "Reschedule",
    "action_cancel": "Cancel post",
    "action_duplicate": "Duplicate",
    "action_retry": "Retry",
    "action_edit": "Edit in the chat",
    "confirm_cancel": "Cancel this post?",
    "save": "Save",
    "close": "Close",
    "new_time": "New time ({zone})",
    "copy_time": "Time of the copy ({zone})",
    "done_publish_now": "Post #{id} will be published now.",
    "done_reschedule": "Post #{id} moved.",
    "done_cancel": "Post #{id} cancelled.",
    "done_duplicate": "Copy #{id} scheduled.",
    "done_retry": "Post #{id} will be tried again.",
    "drag_hint": "Drag a post to another day or time to move it.",
    "error_time_in_past": "That time has already passed.",
    "error_time_too_far": "That time is too far ahead.",
    "error_target_broken": "Its target is broken: link it again in the chat first.",
    "error_not_allowed": "This post cannot do that in its state.",
    "error_not_found": "That post is not yours or no longer exists.",
    "error_auth": "Open the calendar from the bot's menu again.",
    "error_generic": "Something went wrong. Try again.",
    "timezone": "Time zone: {zone}",
}


def translated(i18n: I18n, language: str) -> dict[str, str]:
    return {key: i18n.gettext(msgid, locale=language) for key, msgid in STRINGS.items()}
