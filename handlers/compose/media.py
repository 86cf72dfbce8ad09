"""Every kind of media a post carries (photo, video, GIF, file), read from a user's message,
and the answers when Telegram would not put them in one album."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from content.media import ALBUM_LIMIT, MEDIA_KINDS, PHOTO, AlbumProblem
from platforms.base import MediaItem
from services.posts import MediaRef

# An album's parts are kept between processes as (message id, file id, caption): a kind
# other than a photo travels in front of its file id ("video:<id>"). Telegram's file ids
# never hold a colon, and a photo's stays bare, as parts stored before were.
_SEPARATOR = ":"


def _bounded(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit]


def media_ref(message: Message) -> MediaRef | None:
    """The message's photo, video, GIF or file, with what Telegram tells about it. A GIF's
    message carries it as a document too: the animation is what it is."""
    if message.photo:
        size = message.photo[-1]
        return MediaRef(
            kind="photo",
            file_id=size.file_id,
            file_unique_id=_bounded(size.file_unique_id, 128),
            size=size.file_size,
            width=size.width,
            height=size.height,
        )
    file = message.video or message.animation
    if file is not None:
        return MediaRef(
            kind="video" if message.video is not None else "animation",
            file_id=file.file_id,
            file_unique_id=_bounded(file.file_unique_id, 128),
            mime=_bounded(file.mime_type, 128),
            size=file.file_size,
            width=file.width,
            height=file.height,
            duration=file.duration,
            file_name=_bounded(file.file_name, 256),
        )
    if message.document is not None:
        document = message.document
        return MediaRef(
            kind="document",
            file_id=document.file_id,
            file_unique_id=_bounded(document.file_unique_id, 128),
            mime=_bounded(document.mime_type, 128),
            size=document.file_size,
            file_name=_bounded(document.file_name, 256),
        )
    return None


def piece_file_id(message: Message) -> str | None:
    """What an album's part keeps of its medium (see `_SEPARATOR`)."""
    ref = media_ref(message)
    if ref is None or ref.file_id is None:
        return None
    if ref.kind == PHOTO:
        return ref.file_id
    return f"{ref.kind}{_SEPARATOR}{ref.file_id}"


def ref_of_piece(file_id: str) -> MediaRef:
    """The medium an album's part kept (`piece_file_id`)."""
    kind, separator, rest = file_id.partition(_SEPARATOR)
    if separator and kind in MEDIA_KINDS and kind != PHOTO:
        return MediaRef(kind=kind, file_id=rest)  # type: ignore[arg-type]
    return MediaRef(kind="photo", file_id=file_id)


def media_items(media: list[MediaRef] | tuple[MediaRef, ...]) -> tuple[MediaItem, ...]:
    """The draft's media as the Telegram publisher takes them (the preview sends them the
    same way)."""
    return tuple(MediaItem(kind=m.kind, telegram_file_id=m.file_id, path=m.path) for m in media)


def album_refusal_text(problem: AlbumProblem) -> str:
    if problem == AlbumProblem.DOCUMENTS_MIXED:
        return _(
            "Telegram groups files only with files: a file cannot share an album with photos "
            "or videos. Send the files on their own, or the photos and videos without them."
        )
    if problem == AlbumProblem.ANIMATION_IN_ALBUM:
        return _(
            "Telegram sends a GIF as a message of its own, never in an album. Send the GIF "
            "alone, or the other media without it."
        )
    return _("An album holds up to {n} photos. Send fewer.").format(n=ALBUM_LIMIT)
