"""The admin views' text; the figures come from services.admin (one read unit each)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from html import escape

from aiogram.utils.i18n import gettext as _

from content.fitting import visible_text
from handlers.failures import failure_text
from handlers.render import platform_label, status_label
from services.admin import PostStats, StatusCounts, UserListing
from services.worker_stats import WorkerStats
from storage.models import ScheduledPost

# Room for the header and the "…and N more" line within Telegram's 4096 characters.
FAILURES_TEXT_BUDGET = 3800


def refusal_text() -> str:
    return _("This command is for the bot's administrators only.")


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    seconds = int((value - now).total_seconds())
    stamp = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if seconds >= 0:
        return _("{stamp} (in {n} s)").format(stamp=stamp, n=seconds)
    return _("{stamp} ({n} s ago)").format(stamp=stamp, n=-seconds)


def _counts_block(rows: StatusCounts) -> str:
    if not rows:
        return _("no posts")
    by_platform: dict[str, list[str]] = defaultdict(list)
    for status, platform, count in sorted(rows):
        by_platform[platform].append(f"{status_label(status)} {count}")
    return "\n".join(
        f"• {platform_label(platform)}: " + ", ".join(parts)
        for platform, parts in sorted(by_platform.items())
    )


def stats_text(stats: PostStats) -> str:
    return (
        _("<b>Posts by status and platform</b>")
        + "\n\n"
        + _("<b>Last 24 hours</b>")
        + "\n"
        + _counts_block(stats.last_day)
        + "\n\n"
        + _("<b>Last 7 days</b>")
        + "\n"
        + _counts_block(stats.last_week)
        + "\n\n"
        + _("Users: {n}").format(n=stats.users)
    )


def workers_text(stats: Sequence[WorkerStats], now: datetime) -> str:
    if not stats:
        return _(
            "No workers run in this process (DISABLE_WORKERS=true, or they run in a "
            "separate workers process)."
        )
    blocks = []
    for worker in stats:
        state = _("✅ running") if worker.is_running else _("⛔ stopped")
        duration = (
            _("{n:.2f} s").format(n=worker.last_duration)
            if worker.last_duration is not None
            else "—"
        )
        block = _(
            "<b>{name}</b>: {state}\nLast run: {last}\nNext run: {next}\n"
            "Processed: {processed}, failed: {failed}\nLast duration: {duration}"
        ).format(
            name=escape(worker.name),
            state=state,
            last=_when(worker.last_run, now),
            next=_when(worker.next_run, now),
            processed=worker.processed,
            failed=worker.failed,
            duration=duration,
        )
        if worker.last_error:
            block += "\n" + _("Last error: {error}").format(error=escape(worker.last_error[:300]))
        blocks.append(block)
    return "\n\n".join(blocks)


def _failure_for_admin(post: ScheduledPost) -> str:
    """The translated sentence; a row older than error codes has only its English details,
    which admins see (owners get the generic sentence)."""
    if post.error_code is None and post.last_error:
        return post.last_error[:200]
    return failure_text(post.error_code)


def failed_text(rows: Sequence[ScheduledPost]) -> str:
    if not rows:
        return _("No failed posts. 🎉")
    lines = [_("<b>Recent failures</b>")]
    used = 0
    for shown, post in enumerate(rows):
        line = _("#{id} · user {owner} · {platform} · {status} · {time}\n{error}").format(
            id=post.id,
            owner=post.owner_id,
            platform=platform_label(post.platform),
            status=status_label(post.status),
            time=post.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
            error=escape(_failure_for_admin(post)),
        )
        # Twenty long errors exceed Telegram's 4096 characters: the newest ones that fit.
        used += len(visible_text(line)) + 2
        if used > FAILURES_TEXT_BUDGET:
            lines.append(_("…and {n} more.").format(n=len(rows) - shown))
            break
        lines.append(line)
    return "\n\n".join(lines)


def users_text(listing: UserListing) -> str:
    lines = [_("<b>Users: {n}</b> (newest first)").format(n=listing.total)]
    for user in listing.newest:
        handle = f"@{escape(user.username)}" if user.username else escape(user.first_name or "")
        lines.append(
            f"<code>{user.id}</code> {handle} · {user.language} · {escape(user.timezone)} · "
            f"{user.role} · {user.created_at.strftime('%Y-%m-%d')}"
        )
    return "\n".join(lines)
