"""What one run of a rule writes, shared by the worker, the dry run and "Regenerate":
one fitted text per platform of the rule's targets, with the near-duplicate guardrail.

Nothing here touches the database; callers read what they need in a unit, close it, and
only then call `make_rule_posts` (a model call takes seconds)."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from content.fitting import fit_for_platform, visible_text
from content.generator import Brief, ContentGenerator, Generated, GenerationError
from content.similarity import DEFAULT_THRESHOLD, most_similar
from platforms.errors import ErrorCode
from services.schedule import Schedule
from storage.models import AutoPostingRule, Target, TargetStatus
from storage.rule_config import ContentConfig, content_config_of, fill_placeholders

log = logging.getLogger("rules")

DEFAULT_HASHTAG_LIMIT = 30

# A rule's content config as the worker hands it over: the typed model, or (older callers)
# a plain mapping of the same shape.
ContentLike = ContentConfig | Mapping[str, Any]


@dataclass(frozen=True)
class PlatformText:
    """One platform's text of a rule execution."""

    platform: str
    generated: Generated
    duplicate_of: str | None = None  # set when it stayed a near-duplicate after one retry
    similarity: float = 0.0


@dataclass(frozen=True)
class RuleOutput:
    texts: tuple[PlatformText, ...]

    @property
    def prompt_tokens(self) -> int:
        return sum(t.generated.prompt_tokens for t in self.texts)

    @property
    def completion_tokens(self) -> int:
        return sum(t.generated.completion_tokens for t in self.texts)

    @property
    def flagged(self) -> bool:
        return any(t.duplicate_of is not None for t in self.texts)


def rule_schedule(rule: AutoPostingRule) -> Schedule:
    """The rule's schedule in its zone; the `schedule_type` column names the kind (rows
    written before the kind was stored inside the config rely on it)."""
    return Schedule(rule.schedule_type, rule.schedule_config, rule.timezone)


def approval_window(rule: AutoPostingRule) -> timedelta:
    return timedelta(minutes=rule_schedule(rule).spec.approval_window_minutes)


def usable_targets(rule: AutoPostingRule) -> list[Target]:
    return [t for t in rule.targets if t.status != TargetStatus.BROKEN]


def rule_platforms(targets: Sequence[Target]) -> list[str]:
    seen: list[str] = []
    for target in targets:
        if target.platform not in seen:
            seen.append(target.platform)
    return seen or ["telegram"]


def brief_for(config: ContentLike, platform: str, language: str) -> Brief:
    content = content_config_of(config)
    return Brief(
        title=content.title or None,
        description=content.topic,
        platform=platform,
        language=content.language or language,
        style=content.style or None,
        allow_thread=content.x_thread,
        hashtag_limit=content.hashtag_limit or DEFAULT_HASHTAG_LIMIT,
    )


async def make_rule_posts(
    generator: ContentGenerator,
    config: ContentLike,
    platforms: Sequence[str],
    language: str,
    recent: Sequence[str] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
    moment: datetime | None = None,
) -> RuleOutput:
    """One text per platform. A fixed text is used as it is, its {date} and {time} filled in
    for `moment` (the run; now when not given) in the rule's zone; an AI text that repeats one of
    `recent` (near-duplicate) is generated once more with the recent posts to avoid, and
    when it still repeats one it is returned flagged (`duplicate_of`)."""
    content = content_config_of(config)
    fixed = content.fixed_text
    texts: list[PlatformText] = []
    for platform in platforms:
        if fixed is not None:
            text = fill_placeholders(fixed, moment or datetime.now(UTC), content.timezone)
            texts.append(PlatformText(platform, Generated(text=text, title=content.title)))
            continue
        brief = brief_for(content, platform, language)
        if not brief.description:
            raise GenerationError(
                "the rule has neither text nor an AI brief",
                transient=False,
                code=ErrorCode.NO_CONTENT,
            )
        generated = await generator.generate(brief)
        score, match = most_similar(generated.text, recent)
        if match is not None and score >= threshold:
            log.info("AI text repeats a recent post (%.2f); generating once more", score)
            avoid = tuple(visible_text(r)[:300] for r in recent[:5])
            retry = await generator.generate(replace(brief, avoid=avoid))
            spent = Generated(
                text=retry.text,
                title=retry.title,
                model=retry.model,
                prompt_tokens=generated.prompt_tokens + retry.prompt_tokens,
                completion_tokens=generated.completion_tokens + retry.completion_tokens,
            )
            score, match = most_similar(retry.text, recent)
            if match is not None and score >= threshold:
                texts.append(PlatformText(platform, spent, duplicate_of=match, similarity=score))
                continue
            generated = spent
        texts.append(PlatformText(platform, generated))
    return RuleOutput(tuple(texts))


def stored_text(item: PlatformText, config: ContentLike) -> str:
    """The text a content keeps: Telegram HTML whatever its platform, as a fixed text and a
    post written in /new are. The AI writes plain text for X and Instagram: it is escaped,
    so that `a < b && c > d` reaches them as written instead of being read as markup."""
    text = item.generated.text
    if item.platform == "telegram" or content_config_of(config).fixed_text is not None:
        return text
    return html.escape(text, quote=False)


def check_fits(output: RuleOutput, config: ContentLike) -> list[str]:
    """The platforms whose text does not fit (the re-check right before posts are created)."""
    content = content_config_of(config)
    return [
        t.platform
        for t in output.texts
        if not fit_for_platform(
            t.platform,
            t.generated.text,
            title=t.generated.title,
            allow_thread=content.x_thread,
            hashtag_limit=content.hashtag_limit or DEFAULT_HASHTAG_LIMIT,
        ).ok
    ]


def month_start(moment: datetime, timezone: str) -> datetime:
    local = moment.astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_start(moment: datetime, timezone: str) -> datetime:
    local = moment.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
