from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from platforms.errors import ErrorCode


class ErrorClass(StrEnum):
    """How a failed publication should be treated (see DESIGN.md, "Outcome classes")."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class MediaItem:
    kind: str  # photo, video, animation (GIF) or document (content/media.py)
    telegram_file_id: str | None = None
    path: str | None = None


MediaLoader = Callable[[MediaItem], Awaitable[bytes]]


@dataclass(frozen=True)
class PublishRequest:
    post_id: int
    target_external_id: str
    text: str
    title: str | None = None
    target_handle: str | None = None
    media: tuple[MediaItem, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] | None = None
    load_media: MediaLoader | None = None


@dataclass(frozen=True)
class PublishResult:
    external_id: str
    url: str | None = None
    # A publisher may refresh its credentials while publishing (an Instagram relogin).
    updated_credentials: dict[str, Any] | None = None
    # Every message the post became, first one first (a Telegram album is several); empty
    # means just `external_id`. Kept beside the post so that all of them can be deleted.
    message_ids: tuple[str, ...] = ()


class PublishError(Exception):
    """A classified publication failure. `code` is what the owner is told (translated by the
    interface); `reason` is the English detail for the log, the attempt record and admins:
    never a secret."""

    def __init__(
        self,
        error_class: ErrorClass,
        reason: str,
        *,
        code: ErrorCode = ErrorCode.UNKNOWN,
        retry_after: float | None = None,
        target_broken: bool = False,
    ) -> None:
        super().__init__(reason)
        self.error_class = error_class
        self.reason = reason
        self.code = code
        self.retry_after = retry_after
        self.target_broken = target_broken

    def __repr__(self) -> str:
        return (
            f"PublishError({self.error_class}, {self.code}, {self.reason!r}, "
            f"retry_after={self.retry_after})"
        )


@runtime_checkable
class Publisher(Protocol):
    """Publishes one post to one target of its platform.

    Returns the platform's id (and link) of what was published, or raises PublishError
    with an ErrorClass. Any other exception is treated as ambiguous by the worker, since
    it cannot know whether the platform got the request.
    """

    platform: str

    async def publish(self, request: PublishRequest) -> PublishResult: ...


@dataclass(frozen=True)
class PublishedMessage:
    """A published post as its platform knows it: what editing, deleting and pinning act on."""

    target_external_id: str
    message_ids: tuple[str, ...]
    target_handle: str | None = None
    # Telegram: a text message is edited with editMessageText, one with media by its caption.
    has_media: bool = False
    credentials: dict[str, Any] | None = None


@dataclass(frozen=True)
class PostEdit:
    """A change to a published post. `html`: the new text as the post is rendered for
    Telegram (title included); `plain`: the same for platforms without formatting; None
    keeps the text. `buttons`: Telegram URL buttons, None keeps them, () removes them."""

    html: str | None = None
    plain: str | None = None
    buttons: tuple[dict[str, str], ...] | None = None


@runtime_checkable
class Editor(Protocol):
    """Optional: a publisher that can change a published post (raises PublishError)."""

    async def edit(self, message: PublishedMessage, change: PostEdit) -> None: ...


@runtime_checkable
class Deleter(Protocol):
    """Optional: a publisher that can remove a published post (raises PublishError)."""

    async def delete(self, message: PublishedMessage) -> None: ...


@runtime_checkable
class Pinner(Protocol):
    """Optional: a publisher that can pin and unpin a published post (raises PublishError)."""

    async def pin(self, message: PublishedMessage, *, silent: bool = True) -> None: ...

    async def unpin(self, message: PublishedMessage) -> None: ...


class PublisherRegistry:
    """Platform name → publisher; publishers may be built lazily on first use so that a
    platform's library is imported only when a target of that platform exists."""

    def __init__(self) -> None:
        self._publishers: dict[str, Publisher] = {}
        self._factories: dict[str, Callable[[], Publisher]] = {}

    def register(self, publisher: Publisher) -> None:
        self._publishers[publisher.platform] = publisher

    def register_lazy(self, platform: str, factory: Callable[[], Publisher]) -> None:
        self._factories[platform] = factory

    def get(self, platform: str) -> Publisher | None:
        publisher = self._publishers.get(platform)
        if publisher is None and platform in self._factories:
            publisher = self._factories.pop(platform)()
            self._publishers[platform] = publisher
        return publisher

    def platforms(self) -> set[str]:
        return set(self._publishers) | set(self._factories)
