"""A post's life after publishing (issue 12): edit it, delete it, delete it later, pin it for
a while; every change is recorded beside the post (`post_events`).

Each use case is one short unit of work: it reads what it needs (or writes the plan) and
commits, then talks to the platform, then records the outcome in a second unit. No unit is
open while a platform is awaited (DESIGN.md, "Transactions").

What Telegram allows, from the Bot API's documentation of `deleteMessage` and
`pinChatMessage`:
- a message can only be deleted if it was sent less than 48 hours ago, whatever the bot's
  rights; so an auto-delete for a Telegram post must fall inside that window, and a later
  delete is refused up front (the owner deletes it by hand in the channel);
- in a channel a bot deletes its own messages with `can_post_messages` and anybody's with
  `can_delete_messages`;
- pinning in a channel needs `can_edit_messages` (notifications are always off there).
X cannot edit a post (only delete it and publish again); Instagram edits the caption."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.fitting import fit_for_platform, plain_text
from platforms.base import (
    Deleter,
    Editor,
    ErrorClass,
    Pinner,
    PostEdit,
    PublishedMessage,
    PublisherRegistry,
    PublishError,
)
from platforms.credentials import SecretBox, SecretsUnavailableError
from platforms.errors import ErrorCode
from services.clock import Clock
from services.posts import PostOptions, UrlButton
from storage.models import (
    Content,
    PostAction,
    PostEvent,
    PublishedMessages,
    ScheduledPost,
    Target,
)
from storage.post_life import (
    DELETE,
    DONE,
    FAILED,
    PENDING,
    UNPIN,
    ClaimedAction,
    PostLifeRepository,
    is_published,
)
from storage.repositories import CredentialRepository

log = logging.getLogger("post_life")

# Telegram: "A message can only be deleted if it was sent less than 48 hours ago."
TELEGRAM_DELETE_WINDOW = timedelta(hours=48)
# The delays offered for auto-delete and for a timed pin (seconds).
AUTO_DELETE_CHOICES: tuple[int, ...] = (3600, 6 * 3600, 24 * 3600, 47 * 3600, 7 * 86400)
PIN_CHOICES: tuple[int, ...] = (3600, 6 * 3600, 24 * 3600, 3 * 86400, 7 * 86400)
MAX_DELAY = 30 * 86400
# A timed action that failed for a passing reason is tried again this much later, this often.
ACTION_RETRY_DELAY = timedelta(minutes=2)
ACTION_MAX_ATTEMPTS = 5

# post_events.kind
EV_EDIT = "edit"
EV_EDIT_BUTTONS = "edit_buttons"
EV_DELETE = "delete"
EV_AUTO_DELETE_SET = "auto_delete_set"
EV_AUTO_DELETE_OFF = "auto_delete_off"
EV_AUTO_DELETE = "auto_delete"
EV_PIN = "pin"
EV_UNPIN = "unpin"
EV_AUTO_UNPIN = "auto_unpin"

OWNER = "owner"
WORKER = "worker"


class Capability(StrEnum):
    EDIT = "edit"
    DELETE = "delete"
    PIN = "pin"


@dataclass(frozen=True)
class LifeResult:
    """How a use case ended: `ok`, or the code of why not (translated by the chat)."""

    ok: bool
    code: ErrorCode | None = None
    due_at: datetime | None = None

    @classmethod
    def refused(cls, code: ErrorCode) -> LifeResult:
        return cls(False, code)


@dataclass(frozen=True)
class PostLife:
    """A published post as the chat shows it after publishing."""

    post: ScheduledPost
    content: Content
    target: Target
    message_ids: tuple[str, ...]
    removed_at: datetime | None
    pinned: bool
    pinned_until: datetime | None
    auto_delete_at: datetime | None
    capabilities: frozenset[Capability]
    events: list[PostEvent] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return is_published(self.post) and self.removed_at is None


def delete_deadline(platform: str, published_at: datetime | None) -> datetime | None:
    """The last moment the platform lets the bot delete the post (None: no limit)."""
    if platform == "telegram" and published_at is not None:
        return published_at + TELEGRAM_DELETE_WINDOW
    return None


def auto_delete_allowed(platform: str, seconds: int) -> bool:
    """Whether an auto-delete this long after publication can be honoured by the platform."""
    if platform == "telegram":
        return timedelta(seconds=seconds) < TELEGRAM_DELETE_WINDOW
    return True


def auto_delete_choices(platforms: Sequence[str]) -> tuple[int, ...]:
    """The auto-delete delays every one of `platforms` can honour."""
    return tuple(
        s for s in AUTO_DELETE_CHOICES if all(auto_delete_allowed(p, s) for p in platforms)
    )


async def record_publications(
    session: AsyncSession, published: Sequence[tuple[int, Sequence[str], datetime]]
) -> None:
    """Called in the write unit that marks posts published (the worker's finish), with
    (post id, message ids, when) of each: keep every message id, and plan the auto-delete
    the post's options ask for. One read for the whole group."""
    if not published:
        return
    rows = await session.execute(
        select(
            ScheduledPost.id,
            ScheduledPost.owner_id,
            ScheduledPost.platform,
            ScheduledPost.external_id,
            ScheduledPost.options,
            Content.media,
        )
        .join(Content, Content.id == ScheduledPost.content_id)
        .where(ScheduledPost.id.in_([p[0] for p in published]))
        .execution_options(populate_existing=True)
    )
    found = {row[0]: row for row in rows.all()}
    repo = PostLifeRepository(session)
    for post_id, message_ids, at in published:
        row = found.get(post_id)
        if row is None or not row[3]:
            continue
        _id, owner_id, platform, external_id, options, media = row
        ids = [str(i) for i in message_ids] or [str(external_id)]
        await repo.record_messages(post_id, ids, has_media=bool(media))
        seconds = PostOptions.from_stored(options).auto_delete_after
        if not seconds:
            continue
        if not auto_delete_allowed(platform, seconds):
            # Refused when the option was chosen too; a post written by an older version
            # (or by hand) is told here, once, and kept.
            repo.add_event(
                post_id,
                EV_AUTO_DELETE_SET,
                at,
                actor=WORKER,
                outcome="refused",
                error_code=ErrorCode.MESSAGE_TOO_OLD_TO_DELETE.value,
            )
            continue
        due = at + timedelta(seconds=seconds)
        await repo.schedule_action(post_id, owner_id, DELETE, due)
        repo.add_event(
            post_id,
            EV_AUTO_DELETE_SET,
            at,
            actor=WORKER,
            outcome="scheduled",
            detail=due.isoformat(),
        )


class PostLifeService:
    """The use cases after publishing, for the chat (always for the post's owner) and for
    the timed-actions worker."""

    def __init__(
        self,
        db: Any,
        clock: Clock,
        publishers: PublisherRegistry,
        secrets: SecretBox | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.publishers = publishers
        self.secrets = secrets or SecretBox(None)

    # ---------- reads ----------

    def capabilities(self, platform: str) -> frozenset[Capability]:
        publisher = self.publishers.get(platform)
        if publisher is None:
            return frozenset()
        found = set()
        if isinstance(publisher, Editor):
            found.add(Capability.EDIT)
        if isinstance(publisher, Deleter):
            found.add(Capability.DELETE)
        if isinstance(publisher, Pinner):
            found.add(Capability.PIN)
        return frozenset(found)

    async def view(self, owner_id: int, post_id: int) -> PostLife | None:
        async with self.db.read() as session:
            repo = PostLifeRepository(session)
            found = await repo.load(post_id, owner_id)
            if found is None:
                return None
            post, content, target, messages = found
            actions = await repo.pending_actions(post_id)
            events = await repo.events(post_id, limit=10)
        return self._life(post, content, target, messages, actions, events)

    def _life(
        self,
        post: ScheduledPost,
        content: Content,
        target: Target,
        messages: PublishedMessages | None,
        actions: Sequence[PostAction],
        events: list[PostEvent],
    ) -> PostLife:
        ids = tuple(messages.message_ids) if messages and messages.message_ids else ()
        if not ids and post.external_id:
            ids = (post.external_id,)
        auto = next((a.due_at for a in actions if a.kind == DELETE), None)
        return PostLife(
            post=post,
            content=content,
            target=target,
            message_ids=tuple(str(i) for i in ids),
            removed_at=messages.removed_at if messages else None,
            pinned=bool(messages and messages.pinned),
            pinned_until=messages.pinned_until if messages else None,
            auto_delete_at=auto,
            capabilities=self.capabilities(post.platform),
            events=events,
        )

    async def events(self, owner_id: int, post_id: int) -> list[PostEvent]:
        async with self.db.read() as session:
            repo = PostLifeRepository(session)
            if await repo.load(post_id, owner_id) is None:
                return []
            return await repo.events(post_id)

    # ---------- editing ----------

    async def edit_text(self, owner_id: int, post_id: int, html: str) -> LifeResult:
        """Change the published text (Telegram: the text, or the caption of a post with
        pictures, the first of an album; Instagram: the caption). X refuses."""
        life = await self.view(owner_id, post_id)
        if life is None:
            return LifeResult.refused(ErrorCode.MESSAGE_GONE)
        if (refusal := self._live_refusal(life, Capability.EDIT)) is not None:
            return await self._record(post_id, EV_EDIT, OWNER, refusal)
        fit = fit_for_platform(
            life.post.platform,
            html,
            title=life.content.title,
            pictures=len(life.content.media or []),
        )
        if not fit.ok:
            return LifeResult.refused(ErrorCode.MESSAGE_TOO_LONG)
        options = PostOptions.from_stored(life.post.options)
        change = PostEdit(
            html=_render_html(life.content.title, html),
            plain=plain_text(life.content.title, html),
            buttons=tuple(b.model_dump() for b in options.buttons),
        )
        result = await self._call(life, lambda p, m: p.edit(m, change))
        now = self.clock.now()
        async with self.db.write() as session:
            repo = PostLifeRepository(session)
            _add(repo, post_id, EV_EDIT, now, OWNER, result)
            if result.ok:
                await _update_text(session, life.content.id, html)
        return result

    async def edit_buttons(
        self, owner_id: int, post_id: int, buttons: Sequence[UrlButton]
    ) -> LifeResult:
        """Replace a Telegram post's URL buttons (an empty list removes them)."""
        life = await self.view(owner_id, post_id)
        if life is None:
            return LifeResult.refused(ErrorCode.MESSAGE_GONE)
        if (refusal := self._live_refusal(life, Capability.EDIT)) is not None:
            return await self._record(post_id, EV_EDIT_BUTTONS, OWNER, refusal)
        if life.post.platform != "telegram" or len(life.message_ids) > 1:
            # Only a Telegram message has buttons; an album cannot carry any.
            return await self._record(post_id, EV_EDIT_BUTTONS, OWNER, ErrorCode.NOT_SUPPORTED)
        change = PostEdit(buttons=tuple(b.model_dump() for b in buttons))
        result = await self._call(life, lambda p, m: p.edit(m, change))
        now = self.clock.now()
        async with self.db.write() as session:
            _add(PostLifeRepository(session), post_id, EV_EDIT_BUTTONS, now, OWNER, result)
            if result.ok:
                post = await session.get(ScheduledPost, post_id)
                if post is not None:
                    options = PostOptions.from_stored(post.options)
                    post.options = options.model_copy(update={"buttons": tuple(buttons)}).stored()
        return result

    # ---------- deleting ----------

    def delete_refusal(self, life: PostLife) -> ErrorCode | None:
        """Why the platform will not delete the post now (said before the confirmation)."""
        if (refusal := self._live_refusal(life, Capability.DELETE)) is not None:
            return refusal
        deadline = delete_deadline(life.post.platform, life.post.published_at)
        if deadline is not None and self.clock.now() >= deadline:
            return ErrorCode.MESSAGE_TOO_OLD_TO_DELETE
        return None

    async def delete(self, owner_id: int, post_id: int) -> LifeResult:
        life = await self.view(owner_id, post_id)
        if life is None:
            return LifeResult.refused(ErrorCode.MESSAGE_GONE)
        return await self._delete(life, OWNER, EV_DELETE)

    async def _delete(self, life: PostLife, actor: str, kind: str) -> LifeResult:
        post_id = life.post.id
        if (refusal := self.delete_refusal(life)) is not None:
            return await self._record(post_id, kind, actor, refusal)
        result = await self._call(life, lambda p, m: p.delete(m))
        if result.code == ErrorCode.MESSAGE_GONE:
            # Deleted by hand in the channel already: what the owner wanted is true.
            result = LifeResult(True, ErrorCode.MESSAGE_GONE)
        now = self.clock.now()
        async with self.db.write() as session:
            repo = PostLifeRepository(session)
            _add(repo, post_id, kind, now, actor, result)
            if result.ok:
                await repo.mark_removed(post_id, now)
                await repo.cancel_actions(post_id)
        return result

    async def set_auto_delete(
        self, owner_id: int, post_id: int, seconds: int | None
    ) -> LifeResult:
        """Delete the published post `seconds` from now (None: do not). Refused up front
        when the platform would refuse the delete at that time."""
        life = await self.view(owner_id, post_id)
        if life is None:
            return LifeResult.refused(ErrorCode.MESSAGE_GONE)
        now = self.clock.now()
        if seconds is None:
            async with self.db.write() as session:
                repo = PostLifeRepository(session)
                await repo.cancel_actions(post_id, DELETE)
                repo.add_event(post_id, EV_AUTO_DELETE_OFF, now, actor=OWNER, outcome="ok")
            return LifeResult(True)
        if not 60 <= seconds <= MAX_DELAY:
            return LifeResult.refused(ErrorCode.NOT_SUPPORTED)
        if (refusal := self._live_refusal(life, Capability.DELETE)) is not None:
            return await self._record(post_id, EV_AUTO_DELETE_SET, OWNER, refusal)
        due = now + timedelta(seconds=seconds)
        deadline = delete_deadline(life.post.platform, life.post.published_at)
        if deadline is not None and due >= deadline:
            return await self._record(
                post_id, EV_AUTO_DELETE_SET, OWNER, ErrorCode.MESSAGE_TOO_OLD_TO_DELETE
            )
        async with self.db.write() as session:
            repo = PostLifeRepository(session)
            await repo.schedule_action(post_id, owner_id, DELETE, due)
            repo.add_event(
                post_id,
                EV_AUTO_DELETE_SET,
                now,
                actor=OWNER,
                outcome="scheduled",
                detail=due.isoformat(),
            )
        return LifeResult(True, due_at=due)

    # ---------- pinning ----------

    async def pin(
        self, owner_id: int, post_id: int, seconds: int | None, *, silent: bool = True
    ) -> LifeResult:
        """Pin the post, and unpin it `seconds` later (None: until unpinned by hand)."""
        life = await self.view(owner_id, post_id)
        if life is None:
            return LifeResult.refused(ErrorCode.MESSAGE_GONE)
        if (refusal := self._live_refusal(life, Capability.PIN)) is not None:
            return await self._record(post_id, EV_PIN, OWNER, refusal)
        if seconds is not None and not 60 <= seconds <= MAX_DELAY:
            return LifeResult.refused(ErrorCode.NOT_SUPPORTED)
        result = await self._call(life, lambda p, m: p.pin(m, silent=silent))
        now = self.clock.now()
        until = now + timedelta(seconds=seconds) if seconds is not None else None
        async with self.db.write() as session:
            repo = PostLifeRepository(session)
            _add(repo, post_id, EV_PIN, now, OWNER, result, until.isoformat() if until else None)
            if result.ok:
                await repo.mark_pinned(post_id, until)
                await repo.cancel_actions(post_id, UNPIN)
                if until is not None:
                    await repo.schedule_action(post_id, owner_id, UNPIN, until)
        return LifeResult(result.ok, result.code, until) if result.ok else result

    async def unpin(self, owner_id: int, post_id: int) -> LifeResult:
        life = await self.view(owner_id, post_id)
        if life is None:
            return LifeResult.refused(ErrorCode.MESSAGE_GONE)
        return await self._unpin(life, OWNER, EV_UNPIN)

    async def _unpin(self, life: PostLife, actor: str, kind: str) -> LifeResult:
        post_id = life.post.id
        if (refusal := self._live_refusal(life, Capability.PIN)) is not None:
            return await self._record(post_id, kind, actor, refusal)
        result = await self._call(life, lambda p, m: p.unpin(m))
        now = self.clock.now()
        async with self.db.write() as session:
            repo = PostLifeRepository(session)
            _add(repo, post_id, kind, now, actor, result)
            if result.ok:
                await repo.mark_unpinned(post_id)
                await repo.cancel_actions(post_id, UNPIN)
        return result

    # ---------- the timed actions (the worker's side) ----------

    async def execute(self, action: ClaimedAction, worker_id: str) -> tuple[LifeResult, bool]:
        """Run one claimed action and settle it. Returns the outcome and whether it is final
        (False: it was put back to be tried again later)."""
        async with self.db.read() as session:
            found = await PostLifeRepository(session).load(action.post_id)
        now = self.clock.now()
        if found is None:
            result = LifeResult.refused(ErrorCode.MESSAGE_GONE)
        else:
            life = self._life(*found, [], [])
            if action.kind == DELETE:
                result = await self._delete(life, WORKER, EV_AUTO_DELETE)
            else:
                result = await self._unpin(life, WORKER, EV_AUTO_UNPIN)
        retry = not result.ok and result.code in _PASSING and action.attempts < ACTION_MAX_ATTEMPTS
        async with self.db.write() as session:
            await PostLifeRepository(session).finish(
                action.id,
                worker_id,
                status=PENDING if retry else (DONE if result.ok else FAILED),
                now=now,
                error_code=result.code.value if result.code else None,
                due_at=now + ACTION_RETRY_DELAY if retry else None,
            )
        return result, not retry

    # ---------- helpers ----------

    def _live_refusal(self, life: PostLife, capability: Capability) -> ErrorCode | None:
        if not is_published(life.post) or life.removed_at is not None:
            return ErrorCode.MESSAGE_GONE
        if capability not in life.capabilities:
            if capability == Capability.EDIT and life.post.platform == "x":
                return ErrorCode.CANNOT_EDIT_ON_X
            return ErrorCode.NOT_SUPPORTED
        return None

    async def _record(self, post_id: int, kind: str, actor: str, code: ErrorCode) -> LifeResult:
        """A refusal decided before calling the platform, recorded like the others."""
        async with self.db.write() as session:
            PostLifeRepository(session).add_event(
                post_id,
                kind,
                self.clock.now(),
                actor=actor,
                outcome="refused",
                error_code=code.value,
            )
        return LifeResult.refused(code)

    async def _call(self, life: PostLife, call: Any) -> LifeResult:
        """The platform call, with no unit open; its failure becomes a code."""
        publisher = self.publishers.get(life.post.platform)
        if publisher is None:
            return LifeResult.refused(ErrorCode.NOT_CONFIGURED)
        try:
            message = await self._message(life)
            await call(publisher, message)
        except PublishError as exc:
            log.warning("post %d: %s refused: %s", life.post.id, life.post.platform, exc.reason)
            return LifeResult(False, exc.code)
        except Exception:
            log.exception("post %d: unexpected failure after publishing", life.post.id)
            return LifeResult(False, ErrorCode.UNKNOWN)
        return LifeResult(True)

    async def _message(self, life: PostLife) -> PublishedMessage:
        credentials = None
        if life.target.platform != "telegram":
            async with self.db.read() as session:
                stored = await CredentialRepository(session).get_ciphertext(life.target.id)
            if stored is None:
                raise PublishError(
                    ErrorClass.PERMANENT,
                    "The account is not linked any more.",
                    code=ErrorCode.INVALID_CREDENTIALS,
                )
            try:
                credentials = self.secrets.decrypt(stored[1])
            except SecretsUnavailableError as exc:
                raise PublishError(
                    ErrorClass.PERMANENT, str(exc), code=ErrorCode.NOT_CONFIGURED
                ) from exc
        return PublishedMessage(
            target_external_id=life.target.external_id,
            message_ids=life.message_ids,
            target_handle=life.target.handle,
            has_media=bool(life.content.media),
            credentials=credentials,
        )


# Codes of failures that may pass: a timed action is tried again for them.
_PASSING = frozenset(
    {
        ErrorCode.RATE_LIMITED,
        ErrorCode.NETWORK,
        ErrorCode.TIMEOUT,
        ErrorCode.SERVER_ERROR,
        ErrorCode.SERVER_ERROR_SENT,
        ErrorCode.UNKNOWN,
    }
)


def _add(
    repo: PostLifeRepository,
    post_id: int,
    kind: str,
    now: datetime,
    actor: str,
    result: LifeResult,
    detail: str | None = None,
) -> None:
    outcome = "ok" if result.ok else ("failed" if result.code in _PASSING else "refused")
    repo.add_event(
        post_id,
        kind,
        now,
        actor=actor,
        outcome=outcome,
        error_code=result.code.value if result.code else None,
        detail=detail,
    )


def _render_html(title: str | None, text: str) -> str:
    """The post as Telegram shows it (as platforms.telegram.render_post_html, kept here so
    that the chat does not load aiogram's publisher for it): the title in bold above."""
    from html import escape

    if title:
        return f"<b>{escape(title)}</b>\n\n{text}" if text else f"<b>{escape(title)}</b>"
    return text


async def _update_text(session: AsyncSession, content_id: int, html: str) -> None:
    """The content follows the edit when this post is its only publication; a content
    shared with other targets keeps its text (they were not edited)."""
    shared = await session.scalar(
        select(func.count())
        .select_from(ScheduledPost)
        .where(ScheduledPost.content_id == content_id)
    )
    if (shared or 0) <= 1:
        content = await session.get(Content, content_id)
        if content is not None:
            content.text = html
