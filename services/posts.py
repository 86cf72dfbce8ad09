"""Creating, scheduling and changing posts: the rules the chat must not decide itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from content.fitting import (
    INSTAGRAM_HASHTAG_LIMIT,
    FitResult,
    Problem,
    fit_for_platform,
    plain_text,
    truncate_visible,
)
from content.media import MediaKind
from services.clock import Clock
from services.notify import NullWaker, Waker
from storage.models import (
    Content,
    PostStatus,
    PublishAttempt,
    ScheduledPost,
    Target,
    TargetStatus,
)
from storage.replicas import DraftSaveRepository
from storage.repositories import ContentRepository, PostRepository, TargetRepository
from storage.uow import Database

# A post may be scheduled this far in the past and still count as "now" (typing takes time).
NOW_TOLERANCE = timedelta(seconds=5)
MAX_AHEAD = timedelta(days=366 * 2)


class AlreadySaved(Exception):
    """This draft was saved before (a second press of Confirm, in any process)."""

    def __init__(self, post_ids: Sequence[int]) -> None:
        super().__init__("already saved")
        self.post_ids = list(post_ids)


# How long a saved draft's key is kept: a second press arrives within seconds.
DRAFT_KEY_TTL = timedelta(days=2)


class PostRuleError(ValueError):
    """A request the rules refuse. `code` selects the message the chat shows."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


MAX_URL_BUTTONS = 8
BUTTON_TEXT_LIMIT = 64
BUTTON_URL_LIMIT = 512
TITLE_LIMIT = 256


class UrlButton(BaseModel):
    """A link button under a Telegram post."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1, max_length=BUTTON_TEXT_LIMIT)
    url: str = Field(max_length=BUTTON_URL_LIMIT, pattern=r"^(?:https?|tg)://\S+$")


class PostOptions(BaseModel):
    """How a post is published: Telegram's silent/pin/URL buttons, X as a thread.

    Stored on `ScheduledPost.options` as plain JSON through `stored()` (only what differs
    from the defaults), so the workers and publishers keep reading it as a dict."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    silent: bool = False
    pin: bool = False
    buttons: tuple[UrlButton, ...] = Field(default=(), max_length=MAX_URL_BUTTONS)
    x_thread: bool = False
    # Delete the post this many seconds after it is published (issue 12, services/post_life).
    auto_delete_after: int | None = Field(default=None, ge=60, le=30 * 86400)

    @classmethod
    def from_stored(cls, value: Mapping[str, Any] | None) -> PostOptions:
        raw = dict(value or {})
        try:
            return cls.model_validate(raw)
        except ValidationError:
            # Written before options were validated: keep the flags, drop what is invalid.
            return cls(
                silent=bool(raw.get("silent")),
                pin=bool(raw.get("pin")),
                x_thread=bool(raw.get("x_thread")),
            )

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)


class MediaRef(BaseModel):
    """One medium of a post: a photo, video, GIF (animation) or file (document), by its
    Telegram file id (sent by the user), or a local path. What Telegram tells about the file
    is kept when it gives it (bounded); rows written before (photos: kind, file_id, path)
    load unchanged, every other field being optional."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: MediaKind = "photo"
    file_id: str | None = Field(default=None, max_length=256)
    path: str | None = Field(default=None, max_length=1024)
    file_unique_id: str | None = Field(default=None, max_length=128)
    mime: str | None = Field(default=None, max_length=128)
    size: int | None = Field(default=None, ge=0, le=4 * 1024**3)
    width: int | None = Field(default=None, ge=0, le=100_000)
    height: int | None = Field(default=None, ge=0, le=100_000)
    duration: int | None = Field(default=None, ge=0, le=10 * 86400)
    file_name: str | None = Field(default=None, max_length=256)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class Draft(BaseModel):
    """The content of a post before it is saved: what the checks and `schedule` take."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    title: str | None = Field(default=None, max_length=TITLE_LIMIT)
    media: tuple[MediaRef, ...] = ()
    options: PostOptions = PostOptions()

    @property
    def pictures(self) -> int:
        return sum(1 for m in self.media if m.kind == "photo")

    @property
    def media_kinds(self) -> tuple[str, ...]:
        return tuple(m.kind for m in self.media)


@dataclass(frozen=True)
class PostCopy:
    """What a new post made from an existing one starts with (Duplicate)."""

    draft: Draft
    target_id: int
    source: str
    prompt: str | None


def check_draft(
    draft: Draft, platforms: Sequence[str], *, hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT
) -> list[FitResult]:
    return [
        fit_for_platform(
            platform,
            draft.text,
            title=draft.title,
            pictures=draft.pictures,
            allow_thread=draft.options.x_thread,
            hashtag_limit=hashtag_limit,
            media_kinds=draft.media_kinds,
        )
        for platform in platforms
    ]


class PostService:
    """Posts for their owner. Each method is one unit of work: it writes first (or only
    reads), commits, and only then wakes the worker; nothing here awaits the network."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        waker: Waker | None = None,
        *,
        hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT,
    ) -> None:
        self.db = db
        # Instagram's hashtag limit as configured (INSTAGRAM_HASHTAG_LIMIT): the check before
        # saving must agree with the preview and with the publisher.
        self.hashtag_limit = hashtag_limit
        self.clock = clock
        self.waker = waker or NullWaker()

    def validate_time(self, when: datetime) -> datetime:
        now = self.clock.now()
        if when < now - NOW_TOLERANCE:
            raise PostRuleError("time_in_past", when=when)
        if when > now + MAX_AHEAD:
            raise PostRuleError("time_too_far", when=when)
        return max(when, now)

    def check(self, draft: Draft, platforms: Sequence[str]) -> list[FitResult]:
        return check_draft(draft, platforms, hashtag_limit=self.hashtag_limit)

    def shortened(self, draft: Draft, platforms: Sequence[str]) -> str:
        """The draft's text cut until every platform takes its length (formatting kept)."""
        text = draft.text
        # Cut by the overflow and check again: X counts some characters double.
        for _attempt in range(12):
            candidate = draft.model_copy(update={"text": text})
            too_long = [
                r for r in self.check(candidate, platforms) if Problem.TOO_LONG in r.problems
            ]
            if not too_long:
                break
            overflow = max(r.length - r.limit for r in too_long)
            visible = len(plain_text(None, text))
            text = truncate_visible(text, max(1, visible - overflow - 1))
        return text

    async def schedule(
        self,
        owner_id: int,
        draft: Draft,
        target_ids: Sequence[int],
        when: datetime | None,
        *,
        source: str = "manual",
        prompt: str | None = None,
        draft_key: str | None = None,
        message_id: int | None = None,
    ) -> tuple[Content, list[ScheduledPost]]:
        """Save the content and one publication per target; `when=None` means now.

        `draft_key` (the dialog's uuid) is saved in the same unit with a unique key: when it
        was saved already, by this process or another, nothing is saved and AlreadySaved
        names the posts saved then. `message_id`: the confirmation message pressed."""
        moment = self.clock.now() if when is None else self.validate_time(when)
        if draft_key is not None:
            try:
                return await self._schedule_once(
                    owner_id, draft, target_ids, moment, source, prompt, draft_key, message_id
                )
            except IntegrityError:
                # The other press committed first (its row blocked this one's insert).
                pass
            saved = await self.saved_draft(owner_id, draft_key=draft_key)
            raise AlreadySaved(saved or [])
        return await self._schedule(owner_id, draft, target_ids, moment, source, prompt)

    async def saved_draft(
        self, owner_id: int, *, draft_key: str | None = None, message_id: int | None = None
    ) -> list[int] | None:
        """The posts saved from a draft (by its key, or by the confirmation message pressed);
        None when it was not saved."""
        async with self.db.read() as session:
            repo = DraftSaveRepository(session)
            if draft_key is not None:
                row = await repo.get(draft_key)
            elif message_id is not None:
                row = await repo.for_message(owner_id, message_id)
            else:
                row = None
            if row is None or row.owner_id != owner_id:
                return None
            return [int(pid) for pid in row.post_ids]

    async def _schedule_once(
        self,
        owner_id: int,
        draft: Draft,
        target_ids: Sequence[int],
        moment: datetime,
        source: str,
        prompt: str | None,
        draft_key: str,
        message_id: int | None,
    ) -> tuple[Content, list[ScheduledPost]]:
        async def remember(session: Any, content: Content, posts: list[ScheduledPost]) -> None:
            repo = DraftSaveRepository(session)
            if await repo.get(draft_key) is not None:
                raise IntegrityError("draft already saved", None, Exception(draft_key))
            await repo.add(draft_key, owner_id, content.id, [p.id for p in posts], message_id)
            await repo.purge(owner_id, self.clock.now() - DRAFT_KEY_TTL)

        return await self._schedule(
            owner_id, draft, target_ids, moment, source, prompt, also=remember
        )

    async def _schedule(
        self,
        owner_id: int,
        draft: Draft,
        target_ids: Sequence[int],
        moment: datetime,
        source: str,
        prompt: str | None,
        also: Any = None,
    ) -> tuple[Content, list[ScheduledPost]]:
        async with self.db.write() as session:
            targets = await TargetRepository(session).get_many_for_owner(owner_id, target_ids)
            if not targets or len(targets) != len(set(target_ids)):
                raise PostRuleError("no_targets")
            broken = [t for t in targets if t.status == TargetStatus.BROKEN]
            if broken:
                raise PostRuleError("target_broken", title=broken[0].title)
            results = self.check(draft, [t.platform for t in targets])
            problems = [r for r in results if not r.ok]
            if problems:
                raise PostRuleError(
                    "does_not_fit", results=problems, hashtag_limit=self.hashtag_limit
                )
            content = await ContentRepository(session).create(
                owner_id,
                draft.text,
                title=draft.title,
                media=[m.stored() for m in draft.media],
                source=source,
                prompt=prompt,
            )
            posts = await PostRepository(session).create(
                content, targets, moment, options=draft.options.stored()
            )
            if also is not None:
                await also(session, content, posts)
        self.waker.wake_posts()
        return content, posts

    async def cancel(self, owner_id: int, post_id: int) -> bool:
        async with self.db.write() as session:
            return await PostRepository(session).cancel_for_owner(owner_id, post_id)

    async def reschedule(self, owner_id: int, post_id: int, when: datetime | None) -> bool:
        moment = self.clock.now() if when is None else self.validate_time(when)
        async with self.db.write() as session:
            posts = PostRepository(session)
            found = await posts.get_with_content_for_owner(owner_id, post_id)
            if found is not None and found[2].status == TargetStatus.BROKEN:
                # It would only wait, paused with its target: say so instead.
                raise PostRuleError("target_broken", title=found[2].title)
            done = await posts.reschedule_for_owner(owner_id, post_id, moment)
        if done:
            self.waker.wake_posts()
        return done

    async def mark_published(self, owner_id: int, post_id: int) -> bool:
        async with self.db.write() as session:
            return await PostRepository(session).mark_published_by_owner(
                owner_id, post_id, self.clock.now()
            )

    async def duplicate(
        self, owner_id: int, post_id: int, when: datetime | None
    ) -> ScheduledPost | None:
        moment = self.clock.now() if when is None else self.validate_time(when)
        async with self.db.write() as session:
            posts = PostRepository(session)
            found = await posts.get_with_content_for_owner(owner_id, post_id)
            if found is None:
                return None
            post, content, target = found
            (copy,) = await posts.create(content, [target], moment, options=post.options)
        self.waker.wake_posts()
        return copy

    async def approve(self, owner_id: int, post_id: int) -> bool:
        async with self.db.write() as session:
            post = await PostRepository(session).get_for_owner(owner_id, post_id)
            if post is None or post.status != PostStatus.AWAITING_APPROVAL:
                return False
            post.status = PostStatus.SCHEDULED
            post.due_at = max(post.scheduled_time, self.clock.now())
        self.waker.wake_posts()
        return True

    # ---- reads for the chat (always for the owner) ----

    async def get(self, owner_id: int, post_id: int) -> ScheduledPost | None:
        async with self.db.read() as session:
            return await PostRepository(session).get_for_owner(owner_id, post_id)

    async def get_with_content(
        self, owner_id: int, post_id: int
    ) -> tuple[ScheduledPost, Content, Target] | None:
        async with self.db.read() as session:
            return await PostRepository(session).get_with_content_for_owner(owner_id, post_id)

    async def copy_of(self, owner_id: int, post_id: int) -> PostCopy | None:
        """The owner's post as the start of a new one (its content, options and target)."""
        found = await self.get_with_content(owner_id, post_id)
        if found is None:
            return None
        post, content, target = found
        draft = Draft(
            text=content.text,
            title=content.title,
            media=tuple(MediaRef.model_validate(m) for m in content.media or []),
            options=PostOptions.from_stored(post.options),
        )
        return PostCopy(draft, target.id, content.source, content.prompt)

    async def page(
        self,
        owner_id: int,
        statuses: Sequence[str] | None = None,
        *,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[list[tuple[ScheduledPost, Content, Target]], int]:
        async with self.db.read() as session:
            return await PostRepository(session).list_for_owner(
                owner_id, statuses, offset=offset, limit=limit
            )

    async def attempts(self, owner_id: int, post_id: int) -> list[PublishAttempt]:
        async with self.db.read() as session:
            posts = PostRepository(session)
            if await posts.get_for_owner(owner_id, post_id) is None:
                return []
            return list(await posts.attempts_for_post(post_id))
