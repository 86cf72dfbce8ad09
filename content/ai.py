"""Posts written by any OpenAI-compatible chat model (OpenAI, OpenRouter, a local Ollama or
vLLM) through the official `openai` client.

Each platform gets its own instructions, and the answer is fitted to the platform before
anyone sees it: Telegram keeps only the HTML Telegram understands, an X text fits 280 weighted
characters (or becomes a thread when allowed), an Instagram caption keeps its hashtag limit.
Errors are mapped onto the outcome classes of DESIGN.md through `GenerationError.transient`.

The `openai` client (about 500 modules) is imported when the first post is generated, not at
start-up: `OpenAIGenerator.from_settings` only keeps the client's options."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from content.fitting import (
    INSTAGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    X_LIMIT,
    fit_for_platform,
    fit_generated,
)
from content.generator import Brief, Generated, GenerationError
from platforms.errors import ErrorCode

if TYPE_CHECKING:
    import openai
    from openai import AsyncOpenAI

    from bot.settings import Settings

log = logging.getLogger("content.ai")

LANGUAGE_NAMES = {"en": "English", "ru": "Russian"}
# Room left under each limit in the instructions: models count characters loosely.
TELEGRAM_TARGET = 1500
X_TARGET = 260
INSTAGRAM_TARGET = 1800
MAX_TOKENS = {"telegram": 1200, "x": 300, "x_thread": 900, "instagram": 900}

_MD_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.DOTALL)
_MD_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_MD_CODE_BLOCK = re.compile(r"```[\w+-]*\n?(.*?)```", re.DOTALL)
_MD_CODE = re.compile(r"`([^`\n]+)`")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)
_QUOTES = re.compile(r'^\s*["«“](.*)["»”]\s*$', re.DOTALL)


def system_prompt(brief: Brief) -> str:
    language = LANGUAGE_NAMES.get(brief.language, brief.language)
    common = (
        f"You write social media posts for the owner of a channel. Write in {language}. "
        "Answer with the post itself only: no preamble, no explanations, no quotes around it."
    )
    if brief.platform == "telegram":
        return (
            f"{common} The post is for a Telegram channel. Format it with Telegram HTML only: "
            '<b>, <i>, <u>, <s>, <a href="...">, <code>, <pre>, <blockquote>. Do not use '
            "Markdown or any other tag (no <p>, <br>, <h1>, <ul>); separate paragraphs with a "
            f"blank line. Keep it under {TELEGRAM_TARGET} characters."
        )
    if brief.platform == "x":
        if brief.allow_thread:
            return (
                f"{common} The post is a thread for X (Twitter): plain text, no HTML, no "
                "Markdown. Write 2 to 6 short paragraphs; each must stay under "
                f"{X_TARGET} characters (emoji and CJK characters count double). At most two "
                "hashtags in total."
            )
        return (
            f"{common} The post is a single tweet for X (Twitter): plain text, no HTML, no "
            f"Markdown, at most {X_TARGET} characters including hashtags and links (emoji and "
            "CJK characters count double). At most two hashtags."
        )
    if brief.platform == "instagram":
        return (
            f"{common} The post is an Instagram caption: plain text, no HTML, no Markdown; a "
            "strong first line, short paragraphs, emoji welcome, then relevant hashtags at the "
            f"end: at most {min(brief.hashtag_limit, 15)} hashtags. Keep it under "
            f"{INSTAGRAM_TARGET} characters."
        )
    raise GenerationError(
        f"unknown platform {brief.platform!r}", transient=False, code=ErrorCode.AI_BAD_REQUEST
    )


def user_prompt(brief: Brief) -> str:
    lines = []
    if brief.title:
        lines.append(f"Title or theme: {brief.title}")
    lines.append(f"What to write: {brief.description}")
    if brief.style:
        lines.append(f"Style and tone: {brief.style}")
    if brief.avoid:
        lines.append(
            "These are recent posts of this channel. Write something clearly different: a new "
            "angle, new facts, new wording."
        )
        lines.extend(f"- {snippet[:300]}" for snippet in brief.avoid)
    return "\n".join(lines)


def markdown_to_html(text: str) -> str:
    """Models write Markdown despite instructions; turn the common forms into HTML tags the
    sanitizer keeps (only where the answer has no HTML of its own)."""
    if re.search(r"</?(b|i|u|s|a|code|pre|blockquote|strong|em)\b", text):
        return text
    text = _MD_CODE_BLOCK.sub(lambda m: f"<pre>{m.group(1).strip()}</pre>", text)
    text = _MD_CODE.sub(r"<code>\1</code>", text)
    text = _MD_LINK.sub(r'<a href="\2">\1</a>', text)
    text = _MD_HEADING.sub(r"<b>\1</b>", text)
    text = _MD_BOLD.sub(lambda m: f"<b>{m.group(1) or m.group(2)}</b>", text)
    return _MD_ITALIC.sub(r"<i>\1</i>", text)


def _escape_stray_brackets(text: str) -> str:
    """`<` that opens no tag (as in "1 < 2") must reach the sanitizer as text."""
    return re.sub(r"<(?![a-zA-Z/!])", "&lt;", text)


def finish_text(brief: Brief, raw: str) -> str:
    """The model's answer as a text that fits `brief.platform`."""
    text = raw.strip()
    quoted = _QUOTES.match(text)
    if quoted and "\n\n" not in quoted.group(1):
        text = quoted.group(1).strip()
    # Models write Markdown despite instructions. As HTML it becomes Telegram's formatting,
    # and the plain platforms lose the asterisks but keep the links' addresses.
    text = markdown_to_html(text)
    return fit_generated(
        brief.platform,
        _escape_stray_brackets(text),
        allow_thread=brief.allow_thread,
        hashtag_limit=brief.hashtag_limit,
    )


def _status_reason(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    message = str((error or {}).get("message") or "").strip()
    return message[:200]


def classify_error(exc: BaseException, secret: str | None = None) -> GenerationError:
    """Maps the client's exceptions onto transient / permanent (DESIGN.md outcome classes).

    A generation has no "ambiguous" class: nothing was published, so a timeout may simply be
    tried again."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return GenerationError(
            "the AI service did not answer in time", transient=True, code=ErrorCode.AI_UNAVAILABLE
        )
    if isinstance(exc, openai.APIConnectionError):
        return GenerationError(
            "could not reach the AI service", transient=True, code=ErrorCode.AI_UNAVAILABLE
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return GenerationError(
            "the AI service sent a malformed answer", transient=True, code=ErrorCode.AI_UNAVAILABLE
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return GenerationError(
            f"the AI service refused the API key (HTTP {exc.status_code}); check OPENAI_API_KEY",
            transient=False,
            code=ErrorCode.AI_BAD_KEY,
        )
    if isinstance(exc, openai.RateLimitError):
        if "quota" in _status_reason(exc).lower() or "insufficient_quota" in str(exc.body):
            return GenerationError(
                "the AI account has no quota left", transient=False, code=ErrorCode.AI_QUOTA
            )
        return GenerationError(
            "the AI service is rate limiting requests",
            transient=True,
            code=ErrorCode.AI_UNAVAILABLE,
        )
    if isinstance(exc, openai.APIStatusError):
        reason = _status_reason(exc)
        if secret:
            reason = reason.replace(secret, "***")
        if exc.status_code >= 500 or exc.status_code in (408, 409):
            return GenerationError(
                f"the AI service failed (HTTP {exc.status_code})",
                transient=True,
                code=ErrorCode.AI_UNAVAILABLE,
            )
        detail = f": {reason}" if reason else ""
        return GenerationError(
            f"the AI service rejected the request (HTTP {exc.status_code}){detail}",
            transient=False,
            code=ErrorCode.AI_BAD_REQUEST,
        )
    if isinstance(exc, ValueError):  # a body that is not JSON (json.JSONDecodeError)
        return GenerationError(
            "the AI service sent a malformed answer", transient=True, code=ErrorCode.AI_UNAVAILABLE
        )
    return GenerationError(
        f"AI error: {type(exc).__name__}", transient=True, code=ErrorCode.AI_UNAVAILABLE
    )


class OpenAIGenerator:
    """`ContentGenerator` over `openai.AsyncOpenAI` chat completions."""

    available = True

    def __init__(
        self,
        client: AsyncOpenAI | None,
        model: str,
        *,
        temperature: float = 0.8,
        secret: str | None = None,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        """`client`, or None to build an `AsyncOpenAI(**client_options)` on first use."""
        self._client = client
        self._client_options = dict(client_options or {})
        self.model = model
        self.temperature = temperature
        self._secret = secret

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIGenerator:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        options = {
            # Local OpenAI-compatible servers (Ollama, vLLM) need no key, the client does.
            "api_key": key or "not-needed",
            "base_url": settings.openai_base_url or None,
            "timeout": settings.openai_timeout,
            "max_retries": settings.openai_max_retries,
        }
        return cls(None, settings.openai_model, secret=key, client_options=options)

    @property
    def client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(**self._client_options)
        return self._client

    async def generate(self, brief: Brief) -> Generated:
        if not brief.description.strip():
            raise GenerationError(
                "the AI brief is empty", transient=False, code=ErrorCode.AI_BAD_REQUEST
            )
        messages: list[Any] = [
            {"role": "system", "content": system_prompt(brief)},
            {"role": "user", "content": user_prompt(brief)},
        ]
        token_key = "x_thread" if brief.platform == "x" and brief.allow_thread else brief.platform
        import openai

        try:
            response = await self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=MAX_TOKENS.get(token_key, 1000),
            )
        except openai.OpenAIError as exc:
            raise classify_error(exc, self._secret) from exc
        except ValueError as exc:
            raise classify_error(exc, self._secret) from exc
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise GenerationError(
                "the AI service sent an empty answer",
                transient=True,
                code=ErrorCode.AI_UNAVAILABLE,
            )
        choice = choices[0]
        if getattr(choice, "finish_reason", None) == "content_filter":
            raise GenerationError(
                "the AI service refused this brief", transient=False, code=ErrorCode.AI_REFUSED
            )
        raw = getattr(getattr(choice, "message", None), "content", None)
        if not isinstance(raw, str) or not raw.strip():
            raise GenerationError(
                "the AI service sent an empty answer",
                transient=True,
                code=ErrorCode.AI_UNAVAILABLE,
            )
        text = finish_text(brief, raw)
        if not fit_for_platform(brief.platform, text, allow_thread=brief.allow_thread).ok:
            raise GenerationError(
                "the AI answer could not be fitted to the platform", code=ErrorCode.AI_UNFIT
            )
        log.info(
            "AI generated %d characters for %s (%d+%d tokens)",
            len(text),
            brief.platform,
            prompt_tokens,
            completion_tokens,
        )
        return Generated(
            text=text,
            title=None,
            model=str(getattr(response, "model", None) or self.model),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


__all__ = [
    "INSTAGRAM_CAPTION_LIMIT",
    "TELEGRAM_TEXT_LIMIT",
    "X_LIMIT",
    "OpenAIGenerator",
    "classify_error",
    "finish_text",
    "system_prompt",
    "user_prompt",
]
