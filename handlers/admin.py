"""Commands for ADMIN_IDS: /stats, /workers, /failed, /users. Everyone else is refused."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from html import escape

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from content.fitting import visible_text
from handlers.callbacks import AdminCb
from handlers.render import platform_label, status_label
from services.clock import Clock
from services.worker_stats import WorkerStats
from storage.repositories import PostRepository, UserRepository

router = Router(name="admin")

ADMIN_VIEWS = ("stats", "workers", "failed", "users")
# Room for the header and the "…and N more" line within Telegram's 4096 characters.
FAILURES_TEXT_BUDGET = 3800


def refusal_text() -> str:
    return _("This command is for the bot's administrators only.")


def admin_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📊 Stats"), callback_data=AdminCb(action="stats"))
    kb.button(text=_("⚙️ Workers"), callback_data=AdminCb(action="workers"))
    kb.button(text=_("❌ Failures"), callback_data=AdminCb(action="failed"))
    kb.button(text=_("👥 Users"), callback_data=AdminCb(action="users"))
    kb.adjust(4)
    return kb.as_markup()


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    seconds = int((value - now).total_seconds())
    stamp = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if seconds >= 0:
        return _("{stamp} (in {n} s)").format(stamp=stamp, n=seconds)
    return _("{stamp} ({n} s ago)").format(stamp=stamp, n=-seconds)


def _counts_block(rows: Sequence[tuple[str, str, int]]) -> str:
    if not rows:
        return _("no posts")
    by_platform: dict[str, list[str]] = defaultdict(list)
    for status, platform, count in sorted(rows):
        by_platform[platform].append(f"{status_label(status)} {count}")
    return "\n".join(
        f"• {platform_label(platform)}: " + ", ".join(parts)
        for platform, parts in sorted(by_platform.items())
    )


async def stats_text(session: AsyncSession, now: datetime) -> str:
    posts = PostRepository(session)
    day = await posts.counts_by_status_platform(now - timedelta(hours=24))
    week = await posts.counts_by_status_platform(now - timedelta(days=7))
    users = await UserRepository(session).count()
    return (
        _("<b>Posts by status and platform</b>")
        + "\n\n"
        + _("<b>Last 24 hours</b>")
        + "\n"
        + _counts_block(day)
        + "\n\n"
        + _("<b>Last 7 days</b>")
        + "\n"
        + _counts_block(week)
        + "\n\n"
        + _("Users: {n}").format(n=users)
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


async def failed_text(session: AsyncSession) -> str:
    rows = await PostRepository(session).recent_failures(limit=20)
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
            error=escape((post.last_error or "")[:200]),
        )
        # Twenty long errors exceed Telegram's 4096 characters: the newest ones that fit.
        used += len(visible_text(line)) + 2
        if used > FAILURES_TEXT_BUDGET:
            lines.append(_("…and {n} more.").format(n=len(rows) - shown))
            break
        lines.append(line)
    return "\n\n".join(lines)


async def users_text(session: AsyncSession) -> str:
    users = UserRepository(session)
    total = await users.count()
    rows = await users.list_recent(limit=30)
    lines = [_("<b>Users: {n}</b> (newest first)").format(n=total)]
    for user in rows:
        handle = f"@{escape(user.username)}" if user.username else escape(user.first_name or "")
        lines.append(
            f"<code>{user.id}</code> {handle} · {user.language} · {escape(user.timezone)} · "
            f"{user.role} · {user.created_at.strftime('%Y-%m-%d')}"
        )
    return "\n".join(lines)


async def render_view(
    view: str,
    session: AsyncSession,
    clock: Clock,
    workers_stats: Callable[[], Sequence[WorkerStats]],
) -> str:
    now = clock.now()
    if view == "workers":
        return workers_text(list(workers_stats()), now)
    if view == "failed":
        return await failed_text(session)
    if view == "users":
        return await users_text(session)
    return await stats_text(session, now)


@router.message(Command(*ADMIN_VIEWS))
async def cmd_admin(
    message: Message,
    session: AsyncSession,
    clock: Clock,
    is_admin: bool,
    workers_stats: Callable[[], Sequence[WorkerStats]],
) -> None:
    if not is_admin:
        await message.answer(refusal_text())
        return
    view = (message.text or "/stats").split()[0].lstrip("/").split("@")[0].lower()
    text = await render_view(view, session, clock, workers_stats)
    await message.answer(text, reply_markup=admin_keyboard())


@router.callback_query(AdminCb.filter())
async def on_admin_view(
    query: CallbackQuery,
    callback_data: AdminCb,
    session: AsyncSession,
    clock: Clock,
    is_admin: bool,
    workers_stats: Callable[[], Sequence[WorkerStats]],
) -> None:
    if not is_admin:
        await query.answer(refusal_text(), show_alert=True)
        return
    if callback_data.action not in ADMIN_VIEWS:
        await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        text = await render_view(callback_data.action, session, clock, workers_stats)
        await query.message.answer(text, reply_markup=admin_keyboard())
