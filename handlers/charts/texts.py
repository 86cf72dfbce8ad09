"""The words of the pictures and their captions. The captions carry the numbers the picture
shows (a reader who cannot see the image, or zooms out, still has them), within Telegram's
1024 characters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from aiogram.utils.i18n import gettext as _

from handlers.render import platform_label
from services.stats import KINDS, Activity, GroupActivity, WeekPlan

CAPTION_BUDGET = 1000  # of Telegram's 1024 characters, room for the last line
MAX_GROUP_LINES = 8
MARKS = {
    "scheduled": "⏰",
    "queued": "📥",
    "awaiting_approval": "🕓",
    "published": "✅",
    "failed": "❌",
    "unknown": "❓",
    "cancelled": "🚫",
    "rule": "🤖",
}


def kind_labels() -> dict[str, str]:
    """For the pictures' legends (plain words: the picture's font has no emoji)."""
    return {
        "scheduled": _("scheduled"),
        "queued": _("queued"),
        "awaiting_approval": _("awaiting approval"),
        "published": _("published"),
        "failed": _("failed"),
        "unknown": _("unknown"),
        "cancelled": _("cancelled or skipped"),
        "rule": _("rule run to come"),
    }


def _date(day: date, pattern: str, language: str) -> str:
    from babel.dates import format_date

    return str(format_date(day, pattern, locale=language))


def day_label(day: date, language: str) -> str:
    """ "Mon 30.11" / "пн 30.11"."""
    return _date(day, "EEE dd.MM", language)


def short_day(day: date, language: str) -> str:
    return _date(day, "dd.MM", language)


def span_label(first: date, last: date, language: str) -> str:
    return f"{_date(first, 'd MMM', language)} – {_date(last, 'd MMM y', language)}"


def _breakdown(counts: Mapping[str, int], kinds: Sequence[str] = KINDS) -> str:
    return ", ".join(f"{MARKS[kind]} {counts[kind]}" for kind in kinds if counts.get(kind))


def _totals_line(counts: Mapping[str, int]) -> str:
    labels = kind_labels()
    total = sum(counts.values())
    parts = ", ".join(
        f"{MARKS[kind]} {labels[kind]} {counts[kind]}" for kind in KINDS if counts.get(kind)
    )
    line = _("Posts: {n}").format(n=total)
    return f"{line} — {parts}" if parts else line


def _fit(lines: list[str]) -> str:
    text = "\n".join(lines)
    while len(text) > CAPTION_BUDGET and len(lines) > 1:
        lines = lines[:-1]
        text = "\n".join([*lines, "…"])
    return text


# ---------------------------------------------------------------- the week


def week_title(plan: WeekPlan, language: str) -> str:
    return _("Week of {span} ({zone})").format(
        span=span_label(plan.days[0], plan.days[-1], language), zone=plan.timezone
    )


def week_caption(plan: WeekPlan, language: str) -> str:
    totals: dict[str, int] = {}
    for per_kind in plan.counts:
        for kind, count in per_kind.items():
            totals[kind] = totals.get(kind, 0) + count
    lines = [f"<b>{escape(week_title(plan, language))}</b>", _totals_line(totals)]
    for index, (day, counts) in enumerate(zip(plan.days, plan.counts, strict=True)):
        total = sum(counts.values())
        line = f"{day_label(day, language)}: {total}"
        if total:
            line += f" ({_breakdown(counts)})"
        if plan.ghosts[index]:
            line += f" + {MARKS['rule']} {plan.ghosts[index]}"
        lines.append(line)
    if sum(plan.ghosts):
        lines.append(_("🤖 Rule runs to come: {n}").format(n=sum(plan.ghosts)))
    return _fit(lines)


def week_empty() -> str:
    return _("Nothing planned this week.")


# ---------------------------------------------------------------- activity


def activity_title(activity: Activity) -> str:
    return _("Last {n} days ({zone})").format(n=len(activity.days), zone=activity.timezone)


def group_label(group: GroupActivity, by_platform: bool) -> str:
    if by_platform:
        return platform_label(group.platform)
    return f"{platform_label(group.platform)}: {group.title}"


def activity_caption(activity: Activity, *, by_platform: bool = False) -> str:
    lines = [f"<b>{escape(activity_title(activity))}</b>", _totals_line(activity.totals)]
    groups = [g for g in activity.groups if g.total]
    if groups:
        lines.append(_("<b>By platform</b>") if by_platform else _("<b>By target</b>"))
        for group in groups[:MAX_GROUP_LINES]:
            lines.append(
                f"• {escape(group_label(group, by_platform))}: {group.total} "
                f"({_breakdown(group.counts)})"
            )
        if len(groups) > MAX_GROUP_LINES:
            lines.append(_("…and {n} more.").format(n=len(groups) - MAX_GROUP_LINES))
    tokens = sum(activity.tokens)
    lines.append(_("AI tokens: {n}").format(n=tokens))
    if activity.users is not None:
        lines.append(_("Users: {n}").format(n=activity.users))
    return _fit(lines)


def per_day_title() -> str:
    return _("Posts per day, by status")


def per_group_title(by_platform: bool) -> str:
    return _("Posts per platform") if by_platform else _("Posts per target")


def tokens_title() -> str:
    return _("AI tokens per day")


def stats_empty() -> str:
    return _("No posts in these days.")


def others_label() -> str:
    return _("others")


def picture_failed() -> str:
    return _("I could not draw the picture this time; here are the numbers.")


def picture_busy() -> str:
    return _("The picture is not ready, try again in a moment.")
