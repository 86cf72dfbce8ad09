"""The buttons of a forwarded post's link offer and of the "you added me" message. Bounded
fields: forged data does not unpack and the fallback answers it. A channel id is never
trusted: pressing a button runs both of /link's checks on Telegram for this user."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Telegram's channel ids: -100 followed by up to 13 digits.
ChannelId = Annotated[int, Field(ge=-1_999_999_999_999_999, le=-1)]


class ForwardCb(CallbackData, prefix="fwd"):
    # link / draft: a forwarded post's offer; added / dismiss: the bot was added to a channel.
    action: Literal["link", "draft", "added", "dismiss"]
    chat_id: ChannelId
