"""The kinds of media a post may carry, and Telegram's rules for putting them in one album.

Pure rules, shared by the chat (a clear answer before anything is saved), the checks before
scheduling and the Telegram publisher (what one message or one album may hold)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Literal

PHOTO = "photo"
VIDEO = "video"
ANIMATION = "animation"  # a GIF, or an MPEG-4 video without sound
DOCUMENT = "document"  # any file

MediaKind = Literal["photo", "video", "animation", "document"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("photo", "video", "animation", "document")
# sendMediaGroup takes 2 to 10 items.
ALBUM_LIMIT = 10
# What each platform can publish. X and Instagram get photos only here (video uploads are
# not built yet): any other kind is refused before the post is scheduled.
PLATFORM_KINDS: dict[str, frozenset[str]] = {
    "telegram": frozenset(MEDIA_KINDS),
    "x": frozenset({PHOTO}),
    "instagram": frozenset({PHOTO}),
}


class AlbumProblem(StrEnum):
    """Why Telegram would refuse these media as one album (Bot API, sendMediaGroup)."""

    TOO_MANY = "too_many"  # more than 10 items
    DOCUMENTS_MIXED = "documents_mixed"  # documents group only with documents
    ANIMATION_IN_ALBUM = "animation_in_album"  # a GIF is always a message of its own


def album_problem(kinds: Sequence[str]) -> AlbumProblem | None:
    """None when the media can go out as one message (one item) or one album."""
    if len(kinds) > ALBUM_LIMIT:
        return AlbumProblem.TOO_MANY
    if len(kinds) <= 1:
        return None
    if ANIMATION in kinds:
        return AlbumProblem.ANIMATION_IN_ALBUM
    if DOCUMENT in kinds and any(kind != DOCUMENT for kind in kinds):
        return AlbumProblem.DOCUMENTS_MIXED
    return None


def unsupported_kinds(platform: str, kinds: Iterable[str]) -> list[str]:
    """The kinds among `kinds` that `platform` cannot publish, in a stable order."""
    allowed = PLATFORM_KINDS.get(platform, frozenset({PHOTO}))
    return sorted({kind for kind in kinds if kind not in allowed})
