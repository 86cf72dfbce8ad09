"""The post list's buttons, bounded: forged data does not unpack."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

DbId = Annotated[int, Field(ge=0, le=2_147_483_647)]
Page = Annotated[int, Field(ge=0, le=100_000)]

PostAction = Literal[
    "view", "cancel", "retry", "published", "publish_now", "reschedule", "duplicate"
]
StatusFilter = Literal["all", "scheduled", "published", "failed"]


class PostCb(CallbackData, prefix="post"):
    action: PostAction
    post_id: DbId


class PostListCb(CallbackData, prefix="posts"):
    status: StatusFilter
    page: Page
