"""A post forwarded to the bot (outside any dialog) becomes a new post's draft: its text or
caption with its formatting (as the bot's Telegram HTML), its photos, videos, GIFs and files
(an album arrives as several messages and is gathered first), then the usual preview and
flow. From a channel the
user may post to that is not linked yet, linking it is offered first."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, MessageOriginChannel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers import accounts, compose
from handlers.forwarding.callbacks import ForwardCb
from handlers.forwarding.keyboards import offer_keyboard
from handlers.forwarding.states import ForwardedPost
from handlers.forwarding.texts import media_left_out_text, nothing_to_keep_text, offer_text
from handlers.keyboards import main_menu
from handlers.render import message_html
from platforms.telegram import ChannelLinkError
from services.container import Services
from services.posts import Draft, MediaRef
from storage.models import User

# What Telegram sends beside (or instead of) a post's media that a post here cannot carry
# (photos, videos, GIFs and files are kept: handlers/compose/media.py).
OTHER_MEDIA = ("audio", "voice", "video_note", "sticker")
PENDING_KEY = "forwarded"
SOURCE = "forward"


class PendingPost(BaseModel):
    """The forwarded post while its channel's link offer waits for an answer."""

    model_config = ConfigDict(extra="ignore")

    text: str = ""
    media: list[MediaRef] = Field(default=[], max_length=10)
    chat_id: int
    title: str = Field(default="", max_length=256)

    def content(self) -> Draft:
        return Draft(text=self.text, media=tuple(self.media))


def forwarded_content(group: list[Message]) -> tuple[Draft, bool]:
    """The post's text and media, and whether media a post cannot carry was left out. The
    first text or caption wins (an album's caption sits on one of its items, as compose
    reads it)."""
    media = [ref for ref in map(compose.media_ref, group) if ref is not None]
    texts = [message_html(m) for m in group if m.text or m.caption]
    left_out = any(getattr(m, kind, None) is not None for m in group for kind in OTHER_MEDIA)
    return Draft(text=texts[0] if texts else "", media=tuple(media)), left_out


async def may_link(services: Services, user: User, chat_id: int) -> bool:
    """Whether /link's two checks pass for this channel now (the offer is made only then:
    a tap on it links without a surprise)."""
    try:
        await services.channel_verifier.verify(chat_id, user.id)
    except ChannelLinkError:
        return False
    return True


async def on_forwarded(
    message: Message,
    state: FSMContext,
    services: Services,
    db_user: User,
    *,
    albums: compose.AlbumCollector,
) -> None:
    group = await albums.collect(message, services.limits.album_wait_seconds)
    if group is None:
        return  # another message of the album handles it
    content, left_out = forwarded_content(group)
    if not content.text and not content.media:
        await message.answer(nothing_to_keep_text(), reply_markup=main_menu())
        return
    await state.clear()
    if left_out:
        await message.answer(media_left_out_text())
    chosen: list[int] = []
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        target = await accounts.linked_channel(services, db_user, chat.id)
        if target is not None:
            chosen = [target.id]
        elif await may_link(services, db_user, chat.id):
            pending = PendingPost(
                text=content.text,
                media=list(content.media),
                chat_id=chat.id,
                title=(chat.title or str(chat.id))[:256],
            )
            await state.set_state(ForwardedPost.offer)
            await state.set_data({PENDING_KEY: pending.model_dump(mode="json")})
            await message.answer(offer_text(pending.title), reply_markup=offer_keyboard(chat.id))
            return
    await compose.open_draft(
        message, state, services, db_user, content, chosen=chosen, source=SOURCE
    )


async def load_pending(state: FSMContext) -> PendingPost | None:
    data = await state.get_data()
    try:
        return PendingPost.model_validate(data.get(PENDING_KEY))
    except ValidationError:
        return None


async def on_offer_answered(
    query: CallbackQuery,
    callback_data: ForwardCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    """🔗 Link this channel (both checks again, then the draft goes on, linked or not) or
    📝 Just make a draft."""
    pending = await load_pending(state)
    if pending is None or pending.chat_id != callback_data.chat_id:
        await query.answer()
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    message = query.message
    chosen: list[int] = []
    if callback_data.action == "link":
        outcome = await accounts.link_channel(
            services, db_user, pending.chat_id, title=pending.title
        )
        await message.answer(outcome.text)
        if outcome.target is not None:
            chosen = [outcome.target.id]
    await compose.open_draft(
        message, state, services, db_user, pending.content(), chosen=chosen, source=SOURCE
    )
