"""What one notification in the outbox says, as codes and ids (issue 14).

No sentence is stored: the text is rendered when the message is sent, in the recipient's
language at that moment, from the i18n catalogs. A payload is validated on the way in and
out of the database (storage.types.PydanticJSON), discriminated by `kind`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

DbId = Annotated[int, Field(ge=0, le=2**63 - 1)]
Code = Annotated[str, Field(max_length=32)]


class NotificationKind(StrEnum):
    PUBLISHED = "published"
    FAILED = "failed"
    UNKNOWN = "unknown"
    MISSED = "missed"
    TARGET_BROKEN = "target_broken"
    RULE_FAILED = "rule_failed"
    APPROVAL_REQUESTED = "approval_requested"
    ADMIN_ALERT = "admin_alert"
    ADMIN_TARGET_BROKEN = "admin_target_broken"


# A burst of these for one owner becomes one message with a link to the list.
GROUPABLE = frozenset({NotificationKind.FAILED, NotificationKind.UNKNOWN, NotificationKind.MISSED})


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # refused for good (the user blocked the bot): kept with its reason


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PostEvent(_Payload):
    """A post was published, failed, or needs the owner's decision (unknown, missed)."""

    kind: Literal["published", "failed", "unknown", "missed"]
    post_id: DbId
    # The post's error code when it was enqueued; the sender prefers the row's current one.
    code: Code | None = None


class TargetBroken(_Payload):
    kind: Literal["target_broken"] = "target_broken"
    target_id: DbId
    code: Code | None = None


class AdminTargetBroken(_Payload):
    kind: Literal["admin_target_broken"] = "admin_target_broken"
    target_id: DbId
    owner_id: DbId
    code: Code | None = None


class RuleFailed(_Payload):
    kind: Literal["rule_failed"] = "rule_failed"
    rule_id: DbId
    code: Code | None = None


class ApprovalRequested(_Payload):
    """One draft (one content) of a rule, sent as it will be published, with its buttons."""

    kind: Literal["approval_requested"] = "approval_requested"
    rule_id: DbId
    content_id: DbId
    post_ids: list[DbId] = Field(default_factory=list, max_length=100)


class AdminAlert(_Payload):
    """An operator's alert (a worker failing, publishing late). The workers word these in
    English for the admins and the logs alike; the text is diagnostics, not a user's
    sentence, so it is kept as it is (bounded)."""

    kind: Literal["admin_alert"] = "admin_alert"
    text: str = Field(max_length=3500)


NotificationPayload = Annotated[
    PostEvent | TargetBroken | AdminTargetBroken | RuleFailed | ApprovalRequested | AdminAlert,
    Field(discriminator="kind"),
]
