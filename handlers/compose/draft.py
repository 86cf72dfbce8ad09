"""The new-post dialog's data, kept in the FSM state as one typed model."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from aiogram.fsm.context import FSMContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.posts import TITLE_LIMIT, Draft, MediaRef, PostOptions

log = logging.getLogger("handlers")

TargetId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class ComposeDraft(BaseModel):
    """Everything the dialog has gathered so far.

    Stored in the FSM data as `model_dump(mode="json", exclude_defaults=True)`. Other
    features may keep their own keys in the same record while the post waits (the linking
    dialogs remember to come back to the target picker): those are kept as they are
    (`extra="allow"`) and written back unchanged."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    title: str | None = Field(default=None, max_length=TITLE_LIMIT)
    text: str = ""
    media: list[MediaRef] = []
    options: PostOptions = PostOptions()
    chosen: list[TargetId] = []
    # Which button led to the target picker: Back from the confirmation depends on it.
    mode: Literal["schedule", "publish_now", "queue"] | None = None
    when: AwareDatetime | None = None  # None: right now
    source: str = Field(default="manual", max_length=16)
    prompt: str | None = None
    # ✏️ Edit was pressed at the preview: Back returns to the unchanged draft.
    editing: bool = False
    # Set when the confirmation is first shown and saved with the posts under a unique key:
    # a second Confirm, in whichever process it lands, saves nothing (issue 14).
    draft_key: str | None = Field(default=None, max_length=64)

    def content(self) -> Draft:
        return Draft(
            text=self.text, title=self.title, media=tuple(self.media), options=self.options
        )

    def with_options(self, **changes: object) -> None:
        self.options = PostOptions.model_validate({**self.options.model_dump(), **changes})

    @property
    def photos(self) -> list[MediaRef]:
        return [m for m in self.media if m.kind == "photo" and m.file_id]


async def load_draft(state: FSMContext) -> ComposeDraft:
    data = await state.get_data()
    try:
        return ComposeDraft.model_validate(data)
    except ValidationError as exc:
        # Data written by an older version, or damaged: start afresh rather than fail.
        log.warning("unreadable new-post draft dropped: %s", exc.errors()[:1])
        others = {k: v for k, v in data.items() if k not in ComposeDraft.model_fields}
        return ComposeDraft.model_validate(others)


async def save_draft(state: FSMContext, draft: ComposeDraft) -> None:
    await state.set_data(draft.model_dump(mode="json", exclude_defaults=True))
