"""What the rules feature says: descriptions of rules, drafts and errors, in the user's
language (gettext)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from handlers.failures import failure_text
from handlers.render import target_label
from platforms.telegram import render_post_html
from services.rules import NAME_LIMIT, RuleDraft, RuleError
from storage.models import AutoPostingRule, Target
from storage.rule_config import (
    DATE_PLACEHOLDER,
    TIME_PLACEHOLDER,
    ContentConfig,
    CronSchedule,
    IntervalSchedule,
    QuietHours,
    ScheduleSpec,
    parse_schedule,
)

PROMPT_LIMIT = 2000
STYLE_KEYS = ("neutral", "friendly", "expert", "witty", "short")
# What the model is told for each style button (English: it is an instruction, not UI).
STYLE_PROMPTS = {
    "neutral": "neutral and informative",
    "friendly": "friendly and warm, speaking to the reader directly",
    "expert": "expert and precise, with concrete facts",
    "witty": "witty and light, with a touch of humour",
    "short": "short and punchy: a few sentences",
}


def day_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def style_label(key: str) -> str:
    labels = {
        "neutral": _("Neutral"),
        "friendly": _("Friendly"),
        "expert": _("Expert"),
        "witty": _("Witty"),
        "short": _("Short and punchy"),
    }
    return labels.get(key, key)


def not_yours() -> str:
    return _("This rule is not yours or no longer exists.")


def try_again() -> str:
    return _("That did not work. Try again.")


def rule_error_text(error: RuleError) -> str:
    texts = {
        "bad_name": _("The name must be 1 to {limit} characters.").format(limit=NAME_LIMIT),
        "bad_schedule": _("This schedule does not work: {detail}").format(
            detail=escape(error.detail)
        ),
        "no_content": _("The rule needs a topic for the AI or a fixed text."),
        "no_targets": _("Choose at least one of your channels."),
        "paused": _("The rule is paused. Resume it first."),
        "not_found": not_yours(),
        "not_waiting": _("This draft was already decided."),
        "changed": _("The draft was changed meanwhile, so the new version was not used."),
        "over_budget": _("The rule used up its AI tokens for this month ({detail}).").format(
            detail=error.detail
        ),
        "does_not_fit": _("The text is too long for {platforms}.").format(platforms=error.detail),
        "too_frequent": too_frequent_text(error.detail),
        "fixed_text_repeats": fixed_text_repeats_text(error.detail),
        "too_many_rules": _(
            "You already have {limit} rules, the most this bot allows. Delete one you no "
            "longer need to create another."
        ).format(limit=error.detail),
        "bad_daily_cap": _("Posts per day must be from 1 to {limit}.").format(limit=error.detail),
    }
    return texts.get(error.code, try_again())


def too_frequent_text(minutes: int | str) -> str:
    return _(
        "This schedule runs more often than every {minutes} minutes, which this bot does not "
        "allow. Choose a longer interval."
    ).format(minutes=minutes)


def fixed_text_repeats_text(missing: str) -> str:
    if missing == TIME_PLACEHOLDER:
        return _(
            "The rule posts more than once a day, so the same text would be posted again and "
            "again. Put <code>{time}</code> (the time of each post) into it as well as "
            "<code>{date}</code>."
        ).format(time=TIME_PLACEHOLDER, date=DATE_PLACEHOLDER)
    return _(
        "A fixed text would be posted word for word at every run. Put <code>{date}</code> "
        "into it (each post gets its date, for example {example}), or let the AI write the "
        "posts."
    ).format(date=DATE_PLACEHOLDER, example="2026-11-29")


def local_moment(value: datetime, timezone: str) -> str:
    local = value.astimezone(ZoneInfo(timezone))
    return f"{day_names()[local.weekday()]} {local.strftime('%Y-%m-%d %H:%M')}"


def describe_schedule(schedule: ScheduleSpec | None) -> str:
    if schedule is None:
        return "—"
    if isinstance(schedule, IntervalSchedule):
        return _("every {hours} h").format(hours=_number(schedule.hours + schedule.minutes / 60))
    if isinstance(schedule, CronSchedule):
        return _("cron <code>{expression}</code>").format(expression=escape(schedule.expression))
    times = ", ".join(schedule.times)
    days = sorted(set(schedule.days_of_week))
    if not days or len(days) == 7:
        return _("every day at {times}").format(times=times)
    names = day_names()
    return _("{days} at {times}").format(
        days=", ".join(names[d - 1] for d in days if 1 <= d <= 7), times=times
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def describe_content(config: ContentConfig) -> str:
    if config.fixed_text:
        return _("fixed text: <i>{text}</i>").format(text=escape(_cut(config.fixed_text)))
    line = _("AI writes about: <i>{topic}</i>").format(topic=escape(_cut(config.topic)))
    if config.style:
        line += "\n" + _("Style: {style}").format(style=escape(_style_text(config)))
    return line


def _style_text(config: ContentConfig) -> str:
    key = config.style_key or ""
    return style_label(key) if key in STYLE_PROMPTS else str(config.style)


def _cut(text: str, length: int = 120) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def describe_mode(approval: bool, policy: str) -> str:
    if not approval:
        return _("published directly")
    if policy == "publish":
        return _("each draft is sent to you first; with no answer in time it is published")
    return _("each draft is sent to you first; with no answer in time it is skipped")


def describe_targets(targets: Sequence[Target]) -> str:
    return ", ".join(target_label(t) for t in targets) or "—"


def describe_quiet(quiet: QuietHours) -> str:
    if quiet.is_set:
        return f"{quiet.start}–{quiet.end}"
    return _("none")


def describe_limits(daily_cap: int | None, quiet: QuietHours, budget: int | None) -> str:
    return _(
        "Limits: {cap} posts a day · quiet hours {quiet} · {budget} AI tokens a month"
    ).format(cap=daily_cap or "∞", quiet=describe_quiet(quiet), budget=budget or "∞")


def rule_summary(draft: RuleDraft, targets: Sequence[Target], runs: Sequence[datetime]) -> str:
    lines = [
        f"<b>{escape(draft.name)}</b>",
        _("Schedule: {schedule} ({zone})").format(
            schedule=describe_schedule(draft.schedule), zone=draft.timezone
        ),
        _("Content: {content}").format(content=describe_content(draft.content)),
        _("Targets: {targets}").format(targets=describe_targets(targets)),
        _("Publishing: {mode}").format(
            mode=describe_mode(draft.approval_required, draft.approval_policy)
        ),
        describe_limits(draft.daily_cap, draft.quiet_hours, draft.monthly_token_budget),
        "",
        _("Next runs ({zone}):").format(zone=draft.timezone),
    ]
    lines.extend(f"• {local_moment(run, draft.timezone)}" for run in runs)
    if not runs:
        lines.append(_("this schedule never fires"))
    return "\n".join(lines)


def rule_details(rule: AutoPostingRule, timezone: str) -> str:
    status = _("▶️ active") if rule.is_active else _("⏸ paused")
    never = _("never")
    try:
        schedule: ScheduleSpec | None = parse_schedule(rule.schedule_type, rule.schedule_config)
    except ValueError:
        schedule = None
    lines = [
        f"<b>{escape(rule.name)}</b> · {status}",
        _("Schedule: {schedule} ({zone})").format(
            schedule=describe_schedule(schedule), zone=rule.timezone
        ),
        _("Content: {content}").format(content=describe_content(rule.content_config)),
        _("Targets: {targets}").format(targets=describe_targets(rule.targets)),
        _("Publishing: {mode}").format(
            mode=describe_mode(rule.approval_required, rule.approval_policy)
        ),
        describe_limits(rule.daily_cap, rule.quiet_hours, rule.monthly_token_budget),
        "",
        _("Runs: {runs} · successes: {ok} · failures: {failed}").format(
            runs=rule.executions_count, ok=rule.success_count, failed=rule.failure_count
        ),
        _("Last run: {when}").format(
            when=local_moment(rule.last_executed_at, timezone) if rule.last_executed_at else never
        ),
    ]
    if rule.last_error or rule.error_code:
        # A sentence in the reader's language that says what to do; the raw details stay in
        # the log (and, for admins, in /failed).
        lines.append(_("Last error: {error}").format(error=escape(failure_text(rule.error_code))))
    if rule.is_active and rule.next_execution_at:
        lines.append(
            _("Next run: {when}").format(when=local_moment(rule.next_execution_at, timezone))
        )
    return "\n".join(lines)


def rules_list_text(rules: Sequence[AutoPostingRule], timezone: str) -> str:
    lines = [_("🤖 <b>Auto-posting rules</b>")]
    if not rules:
        lines.append(
            _(
                "No rules yet. A rule writes and publishes posts by itself on a schedule: for "
                "example, every day at 12:05 a post about technology."
            )
        )
    for rule in rules:
        if rule.is_active and rule.next_execution_at:
            when = local_moment(rule.next_execution_at, timezone)
            lines.append(_("▶️ {name} — next run {when}").format(name=escape(rule.name), when=when))
        else:
            lines.append(_("⏸ {name} — paused").format(name=escape(rule.name)))
    return "\n".join(lines)


def draft_html(platform: str, title: str | None, text: str) -> str:
    """The draft exactly as it will look: Telegram HTML for Telegram, plain text elsewhere."""
    if platform == "telegram":
        return render_post_html(title, text) or "—"
    plain = f"{title}\n\n{text}" if title else text
    return escape(plain) or "—"
