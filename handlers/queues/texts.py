"""The queue's words: slots as a person reads them, the queue, the answers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from handlers.render import snippet, target_label, zone_label
from services.queues import Queued, QueueView, SlotsParseError
from storage.queue_config import PostingSlots

# Entries listed in the queue's message and given buttons (a long queue shows its head).
SHOWN = 10


def day_name(number: int) -> str:
    """1 = Monday … 7 = Sunday, short."""
    names = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    return names[number - 1]


def _days_text(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return _("Every day")
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{day_name(run[0])}–{day_name(run[-1])}")
        else:
            parts.extend(day_name(d) for d in run)
    return ", ".join(parts)


def slots_text(slots: PostingSlots) -> str:
    if not slots.is_set:
        return _("no time slots yet")
    return "; ".join(f"{_days_text(days)} {', '.join(times)}" for days, times in slots.groups())


def when_text(value: datetime, timezone: str) -> str:
    """`Mon 30.11 09:00`, local to the user's zone."""
    local = value.astimezone(ZoneInfo(timezone))
    return f"{day_name(local.isoweekday())} {local:%d.%m %H:%M}"


def queue_text(view: QueueView) -> str:
    lines = [
        _("📥 Queue of {target}").format(target=target_label(view.target)),
        _("🕘 Time slots ({zone}): {slots}").format(
            zone=zone_label(view.timezone), slots=slots_text(view.slots)
        ),
    ]
    if view.paused:
        lines.append(_("⏸ Paused: queued posts wait until you resume the queue."))
    if not view.entries:
        lines.append(_("The queue is empty. Add a post with 📥 Add to queue at its preview."))
    for entry in view.entries[:SHOWN]:
        lines.append(
            f"{entry.position}. <b>{when_text(entry.when, view.timezone)}</b> · "
            f"{snippet(entry.content, 40)}"
        )
    if len(view.entries) > SHOWN:
        lines.append(_("…and {count} more.").format(count=len(view.entries) - SHOWN))
    if view.next_free is not None:
        lines.append(
            _("Next free slot: {when}").format(when=when_text(view.next_free, view.timezone))
        )
    return "\n".join(lines)


def slots_prompt(view: QueueView) -> str:
    return _(
        "🕘 Time slots of {target} now: {slots}\n\n"
        "Type the times in your zone ({zone}), for example:\n"
        "<code>9:00 13:00 18:00</code> — every day\n"
        "<code>mon-fri 9:00 18:00; sat,sun 11:00</code>\n"
        "<code>пн-пт 9:00, 18:00</code>\n"
        "Or choose a preset below. Queued posts move to the new slots; posts with their own "
        "time keep it."
    ).format(
        target=target_label(view.target),
        slots=slots_text(view.slots),
        zone=zone_label(view.timezone),
    )


def slots_error_text(error: SlotsParseError) -> str:
    if error.code == "too_many":
        return _("At most 24 times a day, please.")
    if error.code == "bad_day" and error.token:
        return _(
            "I did not understand “{token}”. Days: mon … sun, пн … вс, ranges like mon-fri; "
            "times: 9:00. Example: <code>mon-fri 9:00 18:00; sat,sun 11:00</code>"
        ).format(token=_escape(error.token))
    return _(
        "I found no times there. Type them as 9:00 13:00 18:00, with days if you like: "
        "<code>mon-fri 9:00 18:00; sat,sun 11:00</code>"
    )


def _escape(text: str) -> str:
    from html import escape

    return escape(text, quote=False)


def queued_text(placed: list[Queued]) -> str:
    lines = [_("📥 Added to the queue.")]
    for item in placed:
        lines.append(
            _("{target}: goes out {when} ({zone}), number {position} in the queue.").format(
                target=target_label(item.target),
                when=when_text(item.when, item.timezone),
                zone=zone_label(item.timezone),
                position=item.position,
            )
        )
    return "\n".join(lines)


def defaults_offer_text(titles: list[str]) -> str:
    return _(
        "{targets} has no time slots yet. Queue the post with slots at 09:00, 13:00 and "
        "18:00 every day? You can change them later in 📣 Targets → 📥 Queue."
    ).format(targets=", ".join(_escape(t) for t in titles))


def queue_changed_text(action: str) -> str:
    answers = {
        "up": _("Moved up"),
        "down": _("Moved down"),
        "remove": _("Removed; the posts after it moved up"),
        "shuffle": _("Shuffled"),
        "next_now": _("Publishing it now"),
        "pause": _("Queue paused"),
        "resume": _("Queue resumed"),
    }
    return answers.get(action, "")


def queue_unchanged_text() -> str:
    return _("Nothing to change there.")


def not_yours_text() -> str:
    return _("That target is not yours or no longer exists.")


def slots_saved_text() -> str:
    return _("✅ Time slots saved. Queued posts moved to them.")


def queue_error_text(code: str, title: str) -> str | None:
    """The queue's own refusals (the post service's others are the new post's texts)."""
    if code == "queue_full":
        return _("The queue of {target} is full. Remove some posts first.").format(
            target=_escape(title)
        )
    if code == "no_free_slot":
        return _("{target} has no free time slot in the next two years.").format(
            target=_escape(title)
        )
    return None


def slots_line(slots: PostingSlots) -> str:
    """For the target's view: its posting times (in the owner's zone)."""
    return _("🕘 Time slots: {slots}").format(slots=slots_text(slots))
