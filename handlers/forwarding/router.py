"""Two routers. `build_router()` sits in the chat router, before the fallback: the link
offer's and the "you added me" buttons, and a chat-picker answer no dialog took. The other,
`build_forwards_router()`, comes after the whole chat router (as the new-post dialog, it
stays outside the dialogs' per-user isolation: a forwarded album's messages must be handled
side by side): the fallback passes it forwarded posts at rest (`AT_REST`), and it takes the
bot's own membership changes in channels."""

from __future__ import annotations

from functools import partial

from aiogram import F, Router
from aiogram.filters import PROMOTED_TRANSITION, ChatMemberUpdatedFilter, StateFilter

from handlers import compose
from handlers.forwarding import linking, posts
from handlers.forwarding.callbacks import ForwardCb
from handlers.forwarding.states import ForwardedPost

# A forwarded post becomes a draft when no plain dialog waits for an answer (or the last
# forwarded post's offer does: the newer post replaces it).
AT_REST = StateFilter(None, ForwardedPost.offer)


def build_router() -> Router:
    router = Router(name="forwarding")
    router.callback_query.register(
        posts.on_offer_answered,
        ForwardedPost.offer,
        ForwardCb.filter(F.action.in_({"link", "draft"})),
    )
    router.callback_query.register(
        linking.on_added_answered, ForwardCb.filter(F.action.in_({"added", "dismiss"}))
    )
    router.message.register(linking.on_chat_shared, F.chat_shared)
    return router


def build_forwards_router() -> Router:
    """A new router with its own album collector (one per app)."""
    router = Router(name="forwarded-posts")
    albums = compose.AlbumCollector()
    router.message.register(partial(posts.on_forwarded, albums=albums), F.forward_origin, AT_REST)
    router.my_chat_member.register(
        linking.on_bot_added,
        F.chat.type == "channel",
        ChatMemberUpdatedFilter(PROMOTED_TRANSITION),
    )
    return router
