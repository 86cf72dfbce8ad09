"""The workers' messages to people, in each person's language, with the features' buttons.

`TelegramNotifier` renders and sends. The application's workers do not call it directly any
more: they enqueue (services.notify.OutboxNotifier) and the notifications drainer
(workers.notifications) hands it outbox rows (`send_one`, `send_group`), which raise
`DeliveryError` so that a refused message is retried or recorded, never dropped. Its
`OwnerNotifier` methods still send at once (tools and tests that want no outbox).

It lives in the composition root because it joins several features: the posts feature's
decision buttons and list, and the rules feature's approval drafts (both through those
packages' public API). Each message first reads what it needs in a short read unit, closes
it, and only then calls the Bot API."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any, cast

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.failures import failure_text
from handlers.post_life.keyboards import life_buttons
from handlers.posts import decision_keyboard
from handlers.posts.callbacks import PostListCb
from handlers.render import snippet, target_label
from handlers.rules import send_approval_draft
from handlers.settings.callbacks import NoticesCb
from platforms.errors import ErrorCode
from services.clock import Clock, SystemClock
from services.notify import DeliveryError, DeliveryOutcome, Pace
from services.rules import ApprovalService
from storage.models import OutboxNotification
from storage.outbox_payload import (
    AdminAlert,
    AdminTargetBroken,
    ApprovalRequested,
    NotificationKind,
    PostEvent,
    RuleFailed,
    TargetBroken,
)
from storage.repositories import (
    PostRepository,
    RuleRepository,
    TargetRepository,
    UserRepository,
)
from storage.uow import Database

log = logging.getLogger("notifications")

# A grouped notice names this many posts, then "… +N" (the list button shows them all).
GROUP_IDS_SHOWN = 30


def classify(exc: BaseException) -> DeliveryError:
    """What the outbox does with a refused message: wait (429), retry (network, 5xx), or
    record it as dead (the user blocked the bot, the chat is gone, Telegram refuses it)."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryError(DeliveryOutcome.RATE_LIMITED, "429", float(exc.retry_after))
    if isinstance(
        exc,
        TelegramForbiddenError | TelegramBadRequest | TelegramNotFound | TelegramUnauthorizedError,
    ):
        return DeliveryError(
            DeliveryOutcome.PERMANENT, f"{type(exc).__name__}: {exc.message}"[:500]
        )
    # TelegramNetworkError (connection reset, timeout), TelegramServerError (5xx), and
    # anything unexpected: try again later.
    return DeliveryError(DeliveryOutcome.TRANSIENT, type(exc).__name__)


class _PacedBot:
    """The bot as a feature's sender sees it, waiting for the recipient's next slot before
    every message after the first (an approval draft is a header and the draft)."""

    def __init__(self, bot: Bot, pace: Pace) -> None:
        self._bot = bot
        self._pace = pace
        self._sent = 0

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        if self._sent:
            await self._pace()
        self._sent += 1
        return await self._bot.send_message(*args, **kwargs)


async def _no_pace() -> None:
    return None


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

    async def _deliver(
        self,
        user_id: int,
        build: Callable[[], str],
        markup: InlineKeyboardMarkup | Callable[[], InlineKeyboardMarkup] | None = None,
    ) -> None:
        """Render text and buttons in the recipient's language, then send; refusals raise."""
        language, _zone = await self._user_settings(user_id)
        with self.i18n.context(), self.i18n.use_locale(language):
            text = build()
            keyboard = markup() if callable(markup) else markup
        await self.bot.send_message(user_id, text, reply_markup=keyboard)

    async def _send(
        self,
        user_id: int,
        build: Callable[[], str],
        markup: InlineKeyboardMarkup | Callable[[], InlineKeyboardMarkup] | None = None,
    ) -> None:
        """Send at once; a refusal is logged (the outbox path retries instead)."""
        try:
            await self._deliver(user_id, build, markup)
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

    # ---------- the messages ----------

    async def _failed(self, owner_id: int, post_id: int) -> tuple[Callable[[], str], Any]:
        title, code = await self._post_title_and_code(owner_id, post_id)
        return (
            lambda: _("❌ Post {post} was not published.\nReason: {reason}").format(
                post=title, reason=escape(failure_text(code))
            ),
            lambda: decision_keyboard(post_id),
        )

    async def _decision(
        self, owner_id: int, post_id: int, kind: str
    ) -> tuple[Callable[[], str], Any]:
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

        return build, lambda: decision_keyboard(post_id)

    async def _target_broken(self, target_id: int) -> tuple[str, str | None]:
        async with self.db.read() as session:
            target = await TargetRepository(session).get(target_id)
        title = target.title if target else f"#{target_id}"
        return title, (target.error_code if target else None)

    async def _rule_failed(self, owner_id: int, rule_id: int) -> Callable[[], str]:
        async with self.db.read() as session:
            rule = await RuleRepository(session).get_for_owner(owner_id, rule_id)
        code = rule.error_code if rule is not None else None
        return lambda: _(
            "⚠️ Auto-posting rule #{id} could not create its post: {error}\n"
            "It keeps its schedule and tries again next time."
        ).format(id=rule_id, error=escape(failure_text(code)))

    # ---------- OwnerNotifier: send at once ----------

    async def post_published(self, owner_id: int, post_id: int, url: str | None) -> None:
        return None  # success is visible in the channel and in /scheduled

    async def post_failed(self, owner_id: int, post_id: int, reason: str) -> None:
        """`reason` holds the English details (the worker logged them); the owner reads the
        sentence of the post's error code, in their language."""
        await self._send(owner_id, *await self._failed(owner_id, post_id))

    async def post_needs_decision(self, owner_id: int, post_id: int, kind: str) -> None:
        await self._send(owner_id, *await self._decision(owner_id, post_id, kind))

    async def target_broken(self, owner_id: int, target_id: int, reason: str) -> None:
        title, code = await self._target_broken(target_id)
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
        await self._send(owner_id, await self._rule_failed(owner_id, rule_id))

    async def approval_requested(self, owner_id: int, rule_id: int, post_ids: list[int]) -> None:
        """Each draft the rule prepared, exactly as it will be published, with Approve /
        Edit / Regenerate / Skip."""
        for content_id in await self.approvals.contents_of_posts(owner_id, post_ids):
            try:
                await self._approval(owner_id, content_id, self.bot)
            except TelegramAPIError as exc:
                log.warning("could not send a draft to user %s: %s", owner_id, type(exc).__name__)

    async def _approval(self, owner_id: int, content_id: int, bot: Any) -> None:
        language, timezone = await self._user_settings(owner_id)
        draft = await self.approvals.load(owner_id, content_id)
        if draft is None:
            return  # decided (or gone) meanwhile: nothing to ask
        with self.i18n.context(), self.i18n.use_locale(language):
            await send_approval_draft(cast(Bot, bot), owner_id, draft, timezone)

    async def admin_alert(self, text: str) -> None:
        """`text` is plain (error messages, titles): sent as it is, never read as HTML."""
        for admin_id in self.admin_ids:
            try:
                await self.bot.send_message(admin_id, escape(text, quote=False))
            except TelegramAPIError as exc:
                log.warning("could not alert admin %s: %s", admin_id, type(exc).__name__)

    # ---------- NotificationSender: outbox rows, refusals raise ----------

    async def send_one(self, note: OutboxNotification, pace: Pace = _no_pace) -> None:
        try:
            await self._send_one(note, pace)
        except Exception as exc:
            raise classify(exc) from exc

    async def _send_one(self, note: OutboxNotification, pace: Pace) -> None:
        chat_id = note.chat_id
        payload = note.payload
        if isinstance(payload, PostEvent):
            if payload.kind == NotificationKind.FAILED:
                await self._deliver(chat_id, *await self._failed(chat_id, payload.post_id))
            elif payload.kind in (NotificationKind.UNKNOWN, NotificationKind.MISSED):
                build, markup = await self._decision(chat_id, payload.post_id, payload.kind)
                await self._deliver(chat_id, build, markup)
            elif payload.kind == NotificationKind.PUBLISHED:
                build, markup = await self._published(chat_id, payload.post_id)
                await self._deliver(chat_id, build, markup)
            return
        if isinstance(payload, TargetBroken):
            title, code = await self._target_broken(payload.target_id)
            await self._deliver(
                chat_id,
                lambda: _("⚠️ I cannot publish to {title} any more: {reason}").format(
                    title=escape(title), reason=escape(failure_text(code or payload.code))
                ),
            )
        elif isinstance(payload, AdminTargetBroken):
            title, code = await self._target_broken(payload.target_id)
            await self._deliver(
                chat_id,
                lambda: _("⚠️ Target {target} ({title}) of user {owner} fails: {reason}").format(
                    target=payload.target_id,
                    title=escape(title),
                    owner=payload.owner_id,
                    reason=escape(failure_text(code or payload.code)),
                ),
            )
        elif isinstance(payload, RuleFailed):
            await self._deliver(chat_id, await self._rule_failed(chat_id, payload.rule_id))
        elif isinstance(payload, ApprovalRequested):
            await self._approval(chat_id, payload.content_id, _PacedBot(self.bot, pace))
        elif isinstance(payload, AdminAlert):
            await self.bot.send_message(chat_id, escape(payload.text, quote=False))

    async def _published(
        self, owner_id: int, post_id: int
    ) -> tuple[Callable[[], str], Callable[[], InlineKeyboardMarkup]]:
        async with self.db.read() as session:
            found = await PostRepository(session).get_with_content_for_owner(owner_id, post_id)
        title, url = f"#{post_id}", None
        if found is not None:
            post, content, target = found
            title = f"#{post_id} → {target_label(target)}\n<i>{snippet(content)}</i>"
            url = post.external_url

        def build() -> str:
            text = _("✅ Published: {post}").format(post=title)
            if url:
                text += "\n" + escape(url)
            return text

        def markup() -> InlineKeyboardMarkup:
            kb = InlineKeyboardBuilder()
            life_buttons(kb, post_id)
            kb.button(text=_("🔕 Stop these notices"), callback_data=NoticesCb(action="mute"))
            kb.adjust(2)
            return kb.as_markup()

        return build, markup

    async def _send_published_group(
        self, chat_id: int, notes: Sequence[OutboxNotification]
    ) -> None:
        post_ids = sorted(
            {note.payload.post_id for note in notes if isinstance(note.payload, PostEvent)}
        )

        def build() -> str:
            shown = ", ".join(f"#{post_id}" for post_id in post_ids[:GROUP_IDS_SHOWN])
            if len(post_ids) > GROUP_IDS_SHOWN:
                shown += f" … +{len(post_ids) - GROUP_IDS_SHOWN}"
            return _("✅ Posts published: {count}").format(count=len(post_ids)) + "\n" + shown

        def markup() -> InlineKeyboardMarkup:
            kb = InlineKeyboardBuilder()
            kb.button(
                text=_("📋 Show published posts"),
                callback_data=PostListCb(status="published", page=0),
            )
            kb.button(text=_("🔕 Stop these notices"), callback_data=NoticesCb(action="mute"))
            kb.adjust(1)
            return kb.as_markup()

        try:
            await self._deliver(chat_id, build, markup)
        except Exception as exc:
            raise classify(exc) from exc

    async def send_group(self, chat_id: int, notes: Sequence[OutboxNotification]) -> None:
        """A burst of failures, unknowns and misses for one owner: one message with the
        numbers and a button to the list where each post has Retry / Mark published /
        Cancel. A burst of published notices is its own message."""
        if all(note.kind == NotificationKind.PUBLISHED for note in notes):
            await self._send_published_group(chat_id, notes)
            return
        counts = Counter(str(note.kind) for note in notes)
        post_ids = sorted(
            {note.payload.post_id for note in notes if isinstance(note.payload, PostEvent)}
        )

        def build() -> str:
            lines = [_("📋 Several posts need your attention:")]
            if counts[NotificationKind.FAILED]:
                lines.append(
                    _("❌ Not published: {count}").format(count=counts[NotificationKind.FAILED])
                )
            if counts[NotificationKind.UNKNOWN]:
                lines.append(
                    _("❓ Sent without an answer, result unknown: {count}").format(
                        count=counts[NotificationKind.UNKNOWN]
                    )
                )
            if counts[NotificationKind.MISSED]:
                lines.append(
                    _("⌛ Missed while I was not running: {count}").format(
                        count=counts[NotificationKind.MISSED]
                    )
                )
            # The posts by number (no words to translate), so the owner recognises them.
            shown = ", ".join(f"#{post_id}" for post_id in post_ids[:GROUP_IDS_SHOWN])
            if len(post_ids) > GROUP_IDS_SHOWN:
                shown += f" … +{len(post_ids) - GROUP_IDS_SHOWN}"
            if shown:
                lines.append(shown)
            lines.append(_("Open the list to retry, mark published or cancel each one."))
            return "\n".join(lines)

        def markup() -> InlineKeyboardMarkup:
            kb = InlineKeyboardBuilder()
            kb.button(
                text=_("📋 Show them all"), callback_data=PostListCb(status="failed", page=0)
            )
            return kb.as_markup()

        try:
            await self._deliver(chat_id, build, markup)
        except Exception as exc:
            raise classify(exc) from exc
