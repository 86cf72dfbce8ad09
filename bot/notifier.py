"""The workers' messages to people (services.notify.OwnerNotifier over Telegram), in each
person's language, with the features' buttons.

It lives in the composition root because it joins several features: the posts feature's
decision buttons and the rules feature's approval drafts (both through those packages'
public API). Each message first reads what it needs in a short read unit, closes it, and
only then calls the Bot API."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.failures import failure_text
from handlers.posts import decision_keyboard
from handlers.render import snippet, target_label
from handlers.rules import send_approval_draft
from platforms.errors import ErrorCode
from services.clock import Clock, SystemClock
from services.rules import ApprovalService
from storage.repositories import (
    PostRepository,
    RuleRepository,
    TargetRepository,
    UserRepository,
)
from storage.uow import Database

log = logging.getLogger("notifications")


class TelegramNotifier:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        i18n: I18n,
        admin_ids: Iterable[int] = (),
        *,
        clock: Clock | None = None,
    ) -> None:
        self.bot = bot
        self.db = db
        self.i18n = i18n
        self.admin_ids = list(admin_ids)
        self.clock = clock or SystemClock()
        self.approvals = ApprovalService(db, self.clock)

    async def _user_settings(self, user_id: int) -> tuple[str, str]:
        """The recipient's language and time zone."""
        async with self.db.read() as session:
            user = await UserRepository(session).get(user_id)
        if user is None:
            return self.i18n.default_locale, "UTC"
        return user.language, user.timezone

    async def _send(
        self,
        user_id: int,
        build: Callable[[], str],
        markup: InlineKeyboardMarkup | Callable[[], InlineKeyboardMarkup] | None = None,
    ) -> None:
        """Render text and buttons in the recipient's language, then send."""
        language, _zone = await self._user_settings(user_id)
        with self.i18n.context(), self.i18n.use_locale(language):
            text = build()
            keyboard = markup() if callable(markup) else markup
        try:
            await self.bot.send_message(user_id, text, reply_markup=keyboard)
        except TelegramAPIError as exc:
            log.warning("could not notify user %s: %s", user_id, type(exc).__name__)

    async def _post_title(self, owner_id: int, post_id: int) -> str:
        return (await self._post_title_and_code(owner_id, post_id))[0]

    async def _post_title_and_code(self, owner_id: int, post_id: int) -> tuple[str, str | None]:
        """The post as the owner knows it, and the code of what went wrong with it."""
        async with self.db.read() as session:
            found = await PostRepository(session).get_with_content_for_owner(owner_id, post_id)
        if found is None:
            return f"#{post_id}", None
        post, content, target = found
        return f"#{post_id} → {target_label(target)}\n<i>{snippet(content)}</i>", post.error_code

    async def post_published(self, owner_id: int, post_id: int, url: str | None) -> None:
        return None  # success is visible in the channel and in /scheduled

    async def post_failed(self, owner_id: int, post_id: int, reason: str) -> None:
        """`reason` holds the English details (the worker logged them); the owner reads the
        sentence of the post's error code, in their language."""
        title, code = await self._post_title_and_code(owner_id, post_id)
        await self._send(
            owner_id,
            lambda: _("❌ Post {post} was not published.\nReason: {reason}").format(
                post=title, reason=escape(failure_text(code))
            ),
            lambda: decision_keyboard(post_id),
        )

    async def post_needs_decision(self, owner_id: int, post_id: int, kind: str) -> None:
        title, code = await self._post_title_and_code(owner_id, post_id)

        def build() -> str:
            if kind == "missed":
                return _(
                    "⌛ Post {post} was due while I was not running, so it was not published. "
                    "What shall I do?"
                ).format(post=title)
            if code == ErrorCode.SERVER_ERROR_SENT:
                return _(
                    "❓ I sent post {post}, but the platform answered with an error of its own, "
                    "so I do not know whether it was published. Check the channel: retry, mark "
                    "it published, or cancel it."
                ).format(post=title)
            return _(
                "❓ I sent post {post} but got no answer, so I do not know whether it was "
                "published. Check the channel: retry, mark it published, or cancel it."
            ).format(post=title)

        await self._send(owner_id, build, lambda: decision_keyboard(post_id))

    async def target_broken(self, owner_id: int, target_id: int, reason: str) -> None:
        async with self.db.read() as session:
            target = await TargetRepository(session).get(target_id)
        title = target.title if target else f"#{target_id}"
        code = target.error_code if target else None
        await self._send(
            owner_id,
            lambda: _("⚠️ I cannot publish to {title} any more: {reason}").format(
                title=escape(title), reason=escape(failure_text(code))
            ),
        )
        await self.admin_alert(f"Target {target_id} ({title}) of user {owner_id} fails: {reason}")

    async def rule_failed(self, owner_id: int, rule_id: int, error: str) -> None:
        """`error` holds the English details (the worker logged them); the owner reads the
        sentence of the rule's error code, in their language."""
        async with self.db.read() as session:
            rule = await RuleRepository(session).get_for_owner(owner_id, rule_id)
        code = rule.error_code if rule is not None else None
        await self._send(
            owner_id,
            lambda: _(
                "⚠️ Auto-posting rule #{id} could not create its post: {error}\n"
                "It keeps its schedule and tries again next time."
            ).format(id=rule_id, error=escape(failure_text(code))),
        )

    async def approval_requested(self, owner_id: int, rule_id: int, post_ids: list[int]) -> None:
        """Each draft the rule prepared, exactly as it will be published, with Approve /
        Edit / Regenerate / Skip."""
        language, timezone = await self._user_settings(owner_id)
        for content_id in await self.approvals.contents_of_posts(owner_id, post_ids):
            draft = await self.approvals.load(owner_id, content_id)
            if draft is None:
                continue
            try:
                with self.i18n.context(), self.i18n.use_locale(language):
                    await send_approval_draft(self.bot, owner_id, draft, timezone)
            except TelegramAPIError as exc:
                log.warning("could not send a draft to user %s: %s", owner_id, type(exc).__name__)

    async def admin_alert(self, text: str) -> None:
        """`text` is plain (error messages, titles): sent as it is, never read as HTML."""
        for admin_id in self.admin_ids:
            try:
                await self.bot.send_message(admin_id, escape(text, quote=False))
            except TelegramAPIError as exc:
                log.warning("could not alert admin %s: %s", admin_id, type(exc).__name__)
