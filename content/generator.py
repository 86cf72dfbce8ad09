"""Content for auto-posting rules. The seed's worker used a mock; the AI generator lives
beside the plain-text one and both answer the same protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from platforms.errors import ErrorCode


class GenerationError(Exception):
    """A failed generation; `transient` tells whether a later run may succeed. `code` is what
    the owner is told (translated by the interface); `reason` is the English detail for the
    log and the rule's record."""

    def __init__(
        self, reason: str, *, transient: bool = True, code: ErrorCode = ErrorCode.UNKNOWN
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.code = code


@dataclass(frozen=True)
class Brief:
    """What the user asked for: the seed's title and description, per platform and language."""

    title: str | None
    description: str
    platform: str = "telegram"
    language: str = "en"
    style: str | None = None
    # Recent posts the new one must not repeat (the near-duplicate guardrail's second try).
    avoid: tuple[str, ...] = ()
    # X only: a numbered thread is allowed when the text does not fit one tweet.
    allow_thread: bool = False
    # Instagram only: at most this many hashtags.
    hashtag_limit: int = 30


@dataclass(frozen=True)
class Generated:
    text: str
    title: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ContentGenerator(Protocol):
    @property
    def available(self) -> bool: ...

    async def generate(self, brief: Brief) -> Generated: ...


class UnavailableGenerator:
    """Stands in when no AI is configured: says so instead of inventing text."""

    available = False

    async def generate(self, brief: Brief) -> Generated:
        raise GenerationError(
            "AI is not configured (set OPENAI_API_KEY)",
            transient=False,
            code=ErrorCode.AI_NOT_CONFIGURED,
        )


def rule_text(content_config: dict[str, Any]) -> str | None:
    """A rule's fixed text, when it has one instead of an AI brief."""
    text = content_config.get("text")
    return str(text) if text else None
