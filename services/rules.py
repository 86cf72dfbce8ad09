"""Auto-posting rules: what the chat and the worker agree on.

- `RuleDraft` is a rule as the dialog collects it; `RuleService` validates, saves, edits,
  pauses, runs now, deletes and dry-runs rules, always for their owner.
- `make_rule_posts` turns a rule's `content_config` into one fitted text per platform, with
  the near-duplicate guardrail; the worker, the dry-run and "Regenerate" all use it.
- `ApprovalService` acts on drafts awaiting approval: approve, edit, regenerate, skip.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from content.fitting import fit_for_platform, visible_text
from content.generator import Brief, ContentGenerator, Generated, GenerationError, rule_text
from content.similarity import DEFAULT_THRESHOLD, most_similar
from services.clock import Clock
from services.notify import NullWaker, Waker
from services.schedule import (
    Schedule,
    ScheduleError,
    next_run,
    next_runs,
    parse_quiet_hours,
    validate_schedule,
)
from storage.models import AutoPostingRule, Content, PostStatus, Target, TargetStatus
from storage.repositories import RuleRepository, TargetRepository, UserRepository
from storage.rule_runs import RuleRunRepository

log = logging.getLogger("rules")

APPROVAL_POLICIES = ("skip", "publish")
DEFAULT_APPROVAL_WINDOW = timedelta(minutes=60)
RECENT_FOR_DUPLICATES = 10


class RuleError(ValueError):
    """A rule the service refuses; `code` selects the message the chat shows."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass
class RuleDraft:
    name: str
    schedule_type: str
    schedule_config: dict[str, Any]
    content_config: dict[str, Any]
    target_ids: list[int]
    timezone: str
    approval_required: bool = False
    approval_policy: str = "skip"
    daily_cap: int | None = None
    quiet_hours: dict[str, Any] = field(default_factory=dict)
    monthly_token_budget: int | None = None

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.schedule_type, self.schedule_config, self.timezone)

    @classmethod
    def from_rule(cls, rule: AutoPostingRule) -> RuleDraft:
        return cls(
            name=rule.name,
            schedule_type=rule.schedule_type,
            schedule_config=dict(rule.schedule_config or {}),
            content_config=dict(rule.content_config or {}),
            target_ids=[t.id for t in rule.targets],
            timezone=rule.timezone,
            approval_required=rule.approval_required,
            approval_policy=rule.approval_policy,
            daily_cap=rule.daily_cap,
            quiet_hours=dict(rule.quiet_hours or {}),
            monthly_token_budget=rule.monthly_token_budget,
        )


def rule_schedule(rule: AutoPostingRule) -> Schedule:
    return Schedule(rule.schedule_type, rule.schedule_config or {}, rule.timezone)


def approval_window(rule: AutoPostingRule) -> timedelta:
    try:
        minutes = int((rule.schedule_config or {}).get("approval_window_minutes", 60))
    except (TypeError, ValueError):
        return DEFAULT_APPROVAL_WINDOW
    return timedelta(minutes=max(1, minutes))


def validate_draft(draft: RuleDraft, now: datetime) -> None:
    if not draft.name.strip() or len(draft.name) > 128:
        raise RuleError("bad_name")
    try:
        ZoneInfo(draft.timezone)
        validate_schedule(draft.schedule, now)
    except ScheduleError as exc:
        raise RuleError("bad_schedule", str(exc)) from exc
    except (KeyError, ValueError) as exc:
        raise RuleError("bad_schedule", str(exc)) from exc
    config = draft.content_config
    if not rule_text(config) and not str(config.get("description") or "").strip():
        raise RuleError("no_content")
    if not draft.target_ids:
        raise RuleError("no_targets")
    if draft.approval_policy not in APPROVAL_POLICIES:
        raise RuleError("bad_policy")
    try:
        parse_quiet_hours(draft.quiet_hours)
    except ScheduleError as exc:
        raise RuleError("bad_quiet_hours", str(exc)) from exc
    for value in (draft.daily_cap, draft.monthly_token_budget):
        if value is not None and value < 1:
            raise RuleError("bad_limit")


# ---------- content ----------


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


def rule_platforms(targets: Sequence[Target]) -> list[str]:
    seen: list[str] = []
    for target in targets:
        if target.platform not in seen:
            seen.append(target.platform)
    return seen or ["telegram"]


def brief_for(config: Mapping[str, Any], platform: str, language: str) -> Brief:
    description = str(config.get("description") or config.get("prompt") or "").strip()
    return Brief(
        title=config.get("title") or None,
        description=description,
        platform=platform,
        language=str(config.get("language") or language),
        style=config.get("style") or None,
        allow_thread=bool(config.get("x_thread")),
        hashtag_limit=int(config.get("hashtag_limit") or 30),
    )


async def make_rule_posts(
    generator: ContentGenerator,
    config: Mapping[str, Any],
    platforms: Sequence[str],
    language: str,
    recent: Sequence[str] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> RuleOutput:
    """One text per platform. A fixed text is used as it is; an AI text that repeats one of
    `recent` (near-duplicate) is generated once more with the recent posts to avoid, and
    when it still repeats one it is returned flagged (`duplicate_of`)."""
    fixed = rule_text(dict(config))
    texts: list[PlatformText] = []
    for platform in platforms:
        if fixed is not None:
            texts.append(PlatformText(platform, Generated(text=fixed, title=config.get("title"))))
            continue
        brief = brief_for(config, platform, language)
        if not brief.description:
            raise GenerationError("the rule has neither text nor an AI brief", transient=False)
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


def check_fits(output: RuleOutput, config: Mapping[str, Any]) -> list[str]:
    """The platforms whose text does not fit (the re-check right before posts are created)."""
    return [
        t.platform
        for t in output.texts
        if not fit_for_platform(
            t.platform,
            t.generated.text,
            title=t.generated.title,
            allow_thread=bool(config.get("x_thread")),
            hashtag_limit=int(config.get("hashtag_limit") or 30),
        ).ok
    ]


def month_start(moment: datetime, timezone: str) -> datetime:
    local = moment.astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_start(moment: datetime, timezone: str) -> datetime:
    local = moment.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# ---------- the owner's rules ----------


@dataclass(frozen=True)
class DryRun:
    runs: list[datetime]
    output: RuleOutput | None
    error: GenerationError | None


class RuleService:
    def __init__(self, session: AsyncSession, clock: Clock, waker: Waker | None = None) -> None:
        self.session = session
        self.clock = clock
        self.waker = waker or NullWaker()
        self.rules = RuleRepository(session)
        self.runs = RuleRunRepository(session)
        self.targets = TargetRepository(session)

    async def _targets(self, owner_id: int, ids: Sequence[int]) -> Sequence[Target]:
        targets = await self.targets.get_many_for_owner(owner_id, ids)
        if not targets or len(targets) != len(set(ids)):
            raise RuleError("no_targets")
        return targets

    def next_runs(self, schedule: Schedule, count: int = 5) -> list[datetime]:
        try:
            return next_runs(schedule, self.clock.now(), count)
        except (ScheduleError, ValueError) as exc:
            raise RuleError("bad_schedule", str(exc)) from exc

    async def create(self, owner_id: int, draft: RuleDraft) -> AutoPostingRule:
        now = self.clock.now()
        validate_draft(draft, now)
        targets = await self._targets(owner_id, draft.target_ids)
        rule = await self.rules.create(
            owner_id,
            name=draft.name.strip(),
            schedule_type=draft.schedule_type,
            schedule_config=draft.schedule_config,
            content_config=draft.content_config,
            timezone=draft.timezone,
            targets=targets,
            next_execution_at=next_run(draft.schedule, now),
            approval_required=draft.approval_required,
            approval_policy=draft.approval_policy,
            daily_cap=draft.daily_cap,
            quiet_hours=draft.quiet_hours,
            monthly_token_budget=draft.monthly_token_budget,
        )
        await self.session.commit()
        self.waker.wake_rules()
        return rule

    async def update(self, owner_id: int, rule_id: int, draft: RuleDraft) -> AutoPostingRule:
        rule = await self.get(owner_id, rule_id)
        now = self.clock.now()
        validate_draft(draft, now)
        targets = await self._targets(owner_id, draft.target_ids)
        schedule_changed = (draft.schedule_type, draft.schedule_config, draft.timezone) != (
            rule.schedule_type,
            rule.schedule_config,
            rule.timezone,
        )
        values: dict[str, Any] = {
            "name": draft.name.strip(),
            "schedule_type": draft.schedule_type,
            "schedule_config": draft.schedule_config,
            "content_config": draft.content_config,
            "timezone": draft.timezone,
            "approval_required": draft.approval_required,
            "approval_policy": draft.approval_policy,
            "daily_cap": draft.daily_cap,
            "quiet_hours": draft.quiet_hours,
            "monthly_token_budget": draft.monthly_token_budget,
        }
        if schedule_changed and rule.is_active:
            values.update(
                next_execution_at=next_run(draft.schedule, now),
                retry_slot_at=None,
                retry_attempts=0,
            )
        await self.runs.update_for_owner(owner_id, rule_id, **values)
        await self.runs.set_targets_for_owner(owner_id, rule, targets)
        await self.session.commit()
        await self.session.refresh(rule)
        self.waker.wake_rules()
        return rule

    async def get(self, owner_id: int, rule_id: int) -> AutoPostingRule:
        rule = await self.rules.get_for_owner(owner_id, rule_id)
        if rule is None:
            raise RuleError("not_found")
        return rule

    async def list(self, owner_id: int) -> Sequence[AutoPostingRule]:
        return await self.rules.list_for_owner(owner_id)

    async def set_active(self, owner_id: int, rule_id: int, active: bool) -> AutoPostingRule:
        rule = await self.get(owner_id, rule_id)
        next_at = next_run(rule_schedule(rule), self.clock.now()) if active else None
        await self.runs.update_for_owner(
            owner_id,
            rule_id,
            is_active=active,
            next_execution_at=next_at,
            retry_slot_at=None,
            retry_attempts=0,
        )
        await self.session.commit()
        await self.session.refresh(rule)
        if active:
            self.waker.wake_rules()
        return rule

    async def run_now(self, owner_id: int, rule_id: int) -> AutoPostingRule:
        """The rule becomes due now; the worker runs it on its next pass (woken at once).
        Its regular schedule continues after that run."""
        rule = await self.get(owner_id, rule_id)
        if not rule.is_active:
            raise RuleError("paused")
        await self.runs.update_for_owner(
            owner_id,
            rule_id,
            next_execution_at=self.clock.now(),
            retry_slot_at=None,
            retry_attempts=0,
        )
        await self.session.commit()
        await self.session.refresh(rule)
        self.waker.wake_rules()
        return rule

    async def delete(self, owner_id: int, rule_id: int) -> bool:
        done = await self.rules.delete_for_owner(owner_id, rule_id)
        await self.session.commit()
        return done

    async def dry_run(
        self,
        owner_id: int,
        draft: RuleDraft,
        generator: ContentGenerator,
        *,
        rule_id: int | None = None,
    ) -> DryRun:
        """Next five run times and a sample generated now: nothing is saved or published."""
        runs = self.next_runs(draft.schedule)
        targets = await self.targets.get_many_for_owner(owner_id, draft.target_ids)
        user = await UserRepository(self.session).get(owner_id)
        recent = await self.runs.recent_texts(rule_id) if rule_id else []
        try:
            output = await make_rule_posts(
                generator,
                draft.content_config,
                rule_platforms(targets),
                user.language if user else "en",
                recent,
            )
        except GenerationError as exc:
            return DryRun(runs, None, exc)
        return DryRun(runs, output, None)


# ---------- approval ----------


@dataclass(frozen=True)
class ApprovalDraft:
    content: Content
    rule: AutoPostingRule | None
    posts: list[tuple[Any, Target]]

    @property
    def waiting(self) -> bool:
        return any(p.status == PostStatus.AWAITING_APPROVAL for p, _t in self.posts)

    @property
    def publish_at(self) -> datetime | None:
        times = [p.scheduled_time for p, _t in self.posts]
        return min(times) if times else None


class ApprovalService:
    def __init__(self, session: AsyncSession, clock: Clock, waker: Waker | None = None) -> None:
        self.session = session
        self.clock = clock
        self.waker = waker or NullWaker()
        self.runs = RuleRunRepository(session)

    async def load(self, owner_id: int, content_id: int) -> ApprovalDraft | None:
        from storage.repositories import ContentRepository

        content = await ContentRepository(self.session).get_for_owner(owner_id, content_id)
        if content is None:
            return None
        posts = await self.runs.posts_of_content_for_owner(owner_id, content_id)
        rule = None
        if content.rule_id is not None:
            rule = await RuleRepository(self.session).get_for_owner(owner_id, content.rule_id)
        return ApprovalDraft(content, rule, posts)

    async def approve(self, owner_id: int, content_id: int) -> list[int]:
        """Awaiting posts become scheduled for their planned time (or now, if it passed)."""
        found = await self.load(owner_id, content_id)
        if found is None or not found.waiting:
            return []
        now = self.clock.now()
        planned = found.publish_at or now
        moved = await self.runs.decide_approval_for_owner(
            owner_id, content_id, PostStatus.SCHEDULED, max(planned, now)
        )
        await self.session.commit()
        if moved:
            self.waker.wake_posts()
        return moved

    async def skip(self, owner_id: int, content_id: int) -> list[int]:
        moved = await self.runs.decide_approval_for_owner(
            owner_id, content_id, PostStatus.SKIPPED, None
        )
        await self.session.commit()
        return moved

    async def replace_text(self, owner_id: int, content_id: int, text: str) -> ApprovalDraft:
        """The owner's own version of the draft; it still awaits approval."""
        found = await self.load(owner_id, content_id)
        if found is None or not found.waiting:
            raise RuleError("not_waiting")
        if found.posts and all(t.platform != "telegram" for _p, t in found.posts):
            text = visible_text(text).strip()  # X and Instagram take plain text
        problems = [
            t.platform
            for _p, t in found.posts
            if not fit_for_platform(t.platform, text, title=found.content.title).ok
        ]
        if problems:
            raise RuleError("does_not_fit", ", ".join(sorted(set(problems))))
        await self.runs.update_content_for_owner(owner_id, content_id, text=text)
        await self.session.commit()
        await self.session.refresh(found.content)
        return found

    async def regenerate(
        self, owner_id: int, content_id: int, generator: ContentGenerator
    ) -> ApprovalDraft:
        found = await self.load(owner_id, content_id)
        if found is None or not found.waiting:
            raise RuleError("not_waiting")
        if found.rule is None:
            raise RuleError("not_found")
        budget = found.rule.monthly_token_budget
        if budget:
            from storage.repositories import ContentRepository

            used = await ContentRepository(self.session).tokens_for_rule_since(
                found.rule.id, month_start(self.clock.now(), found.rule.timezone)
            )
            if used >= budget:
                raise RuleError("over_budget", f"{used} / {budget}")
        platform = found.posts[0][1].platform if found.posts else "telegram"
        user = await UserRepository(self.session).get(owner_id)
        recent = [found.content.text, *await self.runs.recent_texts(found.rule.id)]
        output = await make_rule_posts(
            generator,
            found.rule.content_config or {},
            [platform],
            user.language if user else "en",
            recent,
        )
        text = output.texts[0].generated
        await self.runs.update_content_for_owner(
            owner_id,
            content_id,
            text=text.text,
            title=text.title,
            prompt_tokens=found.content.prompt_tokens + text.prompt_tokens,
            completion_tokens=found.content.completion_tokens + text.completion_tokens,
        )
        await self.session.commit()
        await self.session.refresh(found.content)
        return found


def usable_targets(rule: AutoPostingRule) -> list[Target]:
    return [t for t in rule.targets if t.status != TargetStatus.BROKEN]
