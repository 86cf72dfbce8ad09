"""Auto-posting rules: what the chat and the worker agree on.

- `RuleDraft` is a rule as the dialog collects it (typed, kept in the dialog's state);
  `RuleService` validates, saves, edits, pauses, runs now, deletes and dry-runs rules,
  always for their owner.
- `ApprovalService` acts on drafts awaiting approval: approve, edit, regenerate, skip.
- `make_rule_posts` and its helpers (services/rule_posts.py, re-exported here) turn a
  rule's content config into one fitted text per platform.

Every method is one short unit of work (`storage.uow.Database`): it writes first or only
reads, and returns detached rows whose relationships were loaded inside the unit. A use
case that calls the model (dry run, regenerate) reads in one unit, calls the model with no
unit open, and writes in a second unit that re-checks what the first one decided.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from content.fitting import fit_for_platform
from content.generator import ContentGenerator, GenerationError
from services.clock import Clock
from services.notify import NullWaker, Waker
from services.quota import AiQuota, AiQuotaExceeded
from services.rule_posts import (
    PlatformText,
    RuleOutput,
    approval_window,
    brief_for,
    check_fits,
    day_start,
    make_rule_posts,
    month_start,
    rule_platforms,
    rule_schedule,
    stored_text,
    usable_targets,
)
from services.schedule import (
    Schedule,
    ScheduleError,
    TooFrequentError,
    check_min_interval,
    next_run,
    next_runs,
    parse_quiet_hours,
    shortest_gap,
    validate_schedule,
)
from storage.models import AutoPostingRule, Content, PostStatus, ScheduledPost, Target
from storage.repositories import (
    ContentRepository,
    RuleRepository,
    TargetRepository,
    UserRepository,
)
from storage.rule_config import (
    DATE_PLACEHOLDER,
    TIME_PLACEHOLDER,
    ContentConfig,
    QuietHours,
    ScheduleSpec,
    parse_schedule,
)
from storage.rule_runs import RuleRunRepository
from storage.uow import Database

log = logging.getLogger("rules")

NAME_LIMIT = 128
ApprovalPolicy = Literal["skip", "publish"]
RowId = Annotated[int, Field(ge=0, le=2_147_483_647)]


class RuleError(ValueError):
    """A rule the service refuses; `code` selects the message the chat shows."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class RuleBounds:
    """The operator's bounds on rules (settings RULE_MIN_INTERVAL_MINUTES, MAX_RULES_PER_USER,
    DEFAULT_RULE_DAILY_CAP, MAX_RULE_DAILY_CAP); `exempt` users (admins, unless
    ADMINS_EXEMPT_FROM_LIMITS=false) are held to none of them. The defaults here bound
    services built from `ChatLimits()` (tests) the same way."""

    min_interval_minutes: int = 15
    max_rules_per_user: int = 20
    default_daily_cap: int = 10
    max_daily_cap: int = 48
    exempt: frozenset[int] = frozenset()

    def for_user(self, user_id: int) -> RuleBounds | None:
        return None if user_id in self.exempt else self


class RuleDraft(BaseModel):
    """A rule as the dialog collects it, part by part: every field has a value from the
    start, and `validate_draft` decides whether it can be saved."""

    model_config = ConfigDict(frozen=True)

    name: str = ""
    schedule: ScheduleSpec | None = None
    content: ContentConfig = ContentConfig()
    target_ids: tuple[RowId, ...] = ()
    timezone: str = "UTC"
    approval_required: bool = False
    approval_policy: ApprovalPolicy = "skip"
    daily_cap: int | None = None
    quiet_hours: QuietHours = QuietHours()
    monthly_token_budget: int | None = None

    def in_zone(self) -> Schedule:
        if self.schedule is None:
            raise RuleError("bad_schedule", "no schedule yet")
        return Schedule.of(self.schedule, self.timezone)

    @classmethod
    def from_rule(cls, rule: AutoPostingRule) -> RuleDraft:
        return cls(
            name=rule.name,
            schedule=parse_schedule(rule.schedule_type, rule.schedule_config),
            content=rule.content_config,
            target_ids=tuple(t.id for t in rule.targets),
            timezone=rule.timezone,
            approval_required=rule.approval_required,
            approval_policy="publish" if rule.approval_policy == "publish" else "skip",
            daily_cap=rule.daily_cap,
            quiet_hours=rule.quiet_hours,
            monthly_token_budget=rule.monthly_token_budget,
        )


def validate_draft(draft: RuleDraft, now: datetime, bounds: RuleBounds | None = None) -> None:
    """Refuses a draft that cannot be saved; `bounds` None: the operator's bounds do not
    apply (an exempt admin, or code that checks the shape only)."""
    if not draft.name.strip() or len(draft.name) > NAME_LIMIT:
        raise RuleError("bad_name")
    if draft.schedule is None:
        raise RuleError("bad_schedule", "no schedule yet")
    try:
        ZoneInfo(draft.timezone)
        schedule = Schedule.of(draft.schedule, draft.timezone)
        validate_schedule(schedule, now)
        if bounds is not None:
            check_min_interval(schedule, bounds.min_interval_minutes, now)
    except TooFrequentError as exc:
        raise RuleError("too_frequent", str(exc.minimum_minutes)) from exc
    except (KeyError, ValueError) as exc:  # ScheduleError, or an unknown time zone
        raise RuleError("bad_schedule", str(exc)) from exc
    if not draft.content.fixed_text and not draft.content.topic:
        raise RuleError("no_content")
    if not draft.target_ids:
        raise RuleError("no_targets")
    try:
        parse_quiet_hours(draft.quiet_hours)
    except ScheduleError as exc:
        raise RuleError("bad_quiet_hours", str(exc)) from exc
    for value in (draft.daily_cap, draft.monthly_token_budget):
        if value is not None and value < 1:
            raise RuleError("bad_limit")
    if bounds is not None:
        check_fixed_text_varies(draft, now)
    if (
        bounds is not None
        and bounds.max_daily_cap
        and (draft.daily_cap is None or draft.daily_cap > bounds.max_daily_cap)
    ):
        raise RuleError("bad_daily_cap", str(bounds.max_daily_cap))


def check_fixed_text_varies(draft: RuleDraft, now: datetime) -> None:
    """A fixed text must differ from one run to the next, or each run would post the same
    words again: it needs {date}, and {time} as well when the rule runs more than once a day
    (RuleError "fixed_text_repeats" with the missing placeholder)."""
    text = draft.content.fixed_text
    if text is None or draft.schedule is None:
        return
    if DATE_PLACEHOLDER not in text:
        raise RuleError("fixed_text_repeats", DATE_PLACEHOLDER)
    try:
        gap = shortest_gap(Schedule.of(draft.schedule, draft.timezone), now)
    except (KeyError, ValueError):
        return  # the schedule's own check says what is wrong with it
    if gap is not None and gap < timedelta(days=1) and TIME_PLACEHOLDER not in text:
        raise RuleError("fixed_text_repeats", TIME_PLACEHOLDER)


def content_to_store(draft: RuleDraft) -> ContentConfig:
    """The content config a rule keeps: a fixed text with {date} or {time} carries the rule's
    zone, in which the worker fills them in."""
    text = draft.content.fixed_text or ""
    if DATE_PLACEHOLDER in text or TIME_PLACEHOLDER in text:
        return draft.content.model_copy(update={"timezone": draft.timezone})
    return draft.content


def bounded_draft(draft: RuleDraft, bounds: RuleBounds | None) -> RuleDraft:
    """A draft without a daily cap gets the default one (a bounded user's rules always have
    a cap; the owner may change it within bounds)."""
    if bounds is None or not bounds.default_daily_cap or draft.daily_cap is not None:
        return draft
    return draft.model_copy(update={"daily_cap": bounds.default_daily_cap})


def _rule_query(owner_id: int, rule_id: int) -> Select[AutoPostingRule]:
    # Targets are loaded with the rule: callers use them after the unit has ended.
    return (
        select(AutoPostingRule)
        .where(AutoPostingRule.id == rule_id, AutoPostingRule.owner_id == owner_id)
        .options(selectinload(AutoPostingRule.targets))
        .execution_options(populate_existing=True)
    )


async def _rule_count(session: AsyncSession, owner_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AutoPostingRule)
        .where(AutoPostingRule.owner_id == owner_id)
    )
    return int(count or 0)


async def _owned_rule(session: AsyncSession, owner_id: int, rule_id: int) -> AutoPostingRule:
    rule = await session.scalar(_rule_query(owner_id, rule_id))
    if rule is None:
        raise RuleError("not_found")
    return rule


async def _owned_targets(
    session: AsyncSession, owner_id: int, ids: Sequence[int]
) -> Sequence[Target]:
    targets = await TargetRepository(session).get_many_for_owner(owner_id, ids)
    if not targets or len(targets) != len(set(ids)):
        raise RuleError("no_targets")
    return targets


# ---------- the owner's rules ----------


@dataclass(frozen=True)
class DryRun:
    runs: list[datetime]
    output: RuleOutput | None
    error: GenerationError | None


class RuleService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        waker: Waker | None = None,
        *,
        bounds: RuleBounds | None = None,
        quota: AiQuota | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.waker = waker or NullWaker()
        # None: no bounds (a service built without settings, as in tests of other rules);
        # the app's container always passes the operator's.
        self.bounds = bounds
        self.quota = quota

    def bounds_for(self, owner_id: int) -> RuleBounds | None:
        """The bounds that hold for this owner; None for an exempt admin or no bounds."""
        return self.bounds.for_user(owner_id) if self.bounds is not None else None

    def check_fixed_text(self, owner_id: int, draft: RuleDraft) -> None:
        """The dialog's check of a fixed text as it is sent: RuleError("fixed_text_repeats")
        when it lacks the placeholder that makes each run differ."""
        if self.bounds_for(owner_id) is not None:
            check_fixed_text_varies(draft, self.clock.now())

    def check_schedule(self, owner_id: int, draft: RuleDraft) -> None:
        """The dialog's check of a schedule as it is chosen: RuleError("too_frequent") or
        ("bad_schedule") with the reason, the same the save would give."""
        if draft.schedule is None:
            raise RuleError("bad_schedule", "no schedule yet")
        bounds = self.bounds_for(owner_id)
        now = self.clock.now()
        try:
            schedule = Schedule.of(draft.schedule, draft.timezone)
            validate_schedule(schedule, now)
            if bounds is not None:
                check_min_interval(schedule, bounds.min_interval_minutes, now)
        except TooFrequentError as exc:
            raise RuleError("too_frequent", str(exc.minimum_minutes)) from exc
        except (KeyError, ValueError) as exc:
            raise RuleError("bad_schedule", str(exc)) from exc

    async def count(self, owner_id: int) -> int:
        async with self.db.read() as session:
            return await _rule_count(session, owner_id)

    async def check_room(self, owner_id: int) -> None:
        """RuleError("too_many_rules") when the owner may not create another rule."""
        bounds = self.bounds_for(owner_id)
        if bounds is not None and await self.count(owner_id) >= bounds.max_rules_per_user:
            raise RuleError("too_many_rules", str(bounds.max_rules_per_user))

    def new_draft(self, owner_id: int, **values: object) -> RuleDraft:
        """An empty draft with the owner's default daily cap."""
        return bounded_draft(RuleDraft.model_validate(values), self.bounds_for(owner_id))

    def next_runs(self, draft: RuleDraft, count: int = 5) -> list[datetime]:
        schedule = draft.in_zone()
        try:
            return next_runs(schedule, self.clock.now(), count)
        except (KeyError, ValueError) as exc:  # ScheduleError, or an unknown time zone
            raise RuleError("bad_schedule", str(exc)) from exc

    async def create(self, owner_id: int, draft: RuleDraft) -> AutoPostingRule:
        now = self.clock.now()
        bounds = self.bounds_for(owner_id)
        draft = bounded_draft(draft, bounds)
        validate_draft(draft, now, bounds)
        assert draft.schedule is not None  # validate_draft refuses a draft without one
        async with self.db.write() as session:
            # Counted in the write unit: two saves at once cannot both pass the limit.
            if bounds is not None and (
                await _rule_count(session, owner_id) >= bounds.max_rules_per_user
            ):
                raise RuleError("too_many_rules", str(bounds.max_rules_per_user))
            targets = await _owned_targets(session, owner_id, draft.target_ids)
            rule = await RuleRepository(session).create(
                owner_id,
                name=draft.name.strip(),
                schedule_type=draft.schedule.kind,
                schedule_config=draft.schedule,
                content_config=content_to_store(draft),
                timezone=draft.timezone,
                targets=targets,
                next_execution_at=next_run(draft.in_zone(), now),
                approval_required=draft.approval_required,
                approval_policy=draft.approval_policy,
                daily_cap=draft.daily_cap,
                quiet_hours=draft.quiet_hours,
                monthly_token_budget=draft.monthly_token_budget,
            )
        self.waker.wake_rules()
        return rule

    async def update(self, owner_id: int, rule_id: int, draft: RuleDraft) -> AutoPostingRule:
        now = self.clock.now()
        bounds = self.bounds_for(owner_id)
        draft = bounded_draft(draft, bounds)
        validate_draft(draft, now, bounds)
        assert draft.schedule is not None
        async with self.db.write() as session:
            rule = await _owned_rule(session, owner_id, rule_id)
            targets = await _owned_targets(session, owner_id, draft.target_ids)
            before = (parse_schedule(rule.schedule_type, rule.schedule_config), rule.timezone)
            values: dict[str, object] = {
                "name": draft.name.strip(),
                "schedule_type": draft.schedule.kind,
                "schedule_config": draft.schedule,
                "content_config": content_to_store(draft),
                "timezone": draft.timezone,
                "approval_required": draft.approval_required,
                "approval_policy": draft.approval_policy,
                "daily_cap": draft.daily_cap,
                "quiet_hours": draft.quiet_hours,
                "monthly_token_budget": draft.monthly_token_budget,
            }
            if before != (draft.schedule, draft.timezone) and rule.is_active:
                values.update(
                    next_execution_at=next_run(draft.in_zone(), now),
                    retry_slot_at=None,
                    retry_attempts=0,
                )
            runs = RuleRunRepository(session)
            await runs.update_for_owner(owner_id, rule_id, **values)
            await runs.set_targets_for_owner(owner_id, rule, targets)
            rule = await _owned_rule(session, owner_id, rule_id)
        self.waker.wake_rules()
        return rule

    async def get(self, owner_id: int, rule_id: int) -> AutoPostingRule:
        async with self.db.read() as session:
            return await _owned_rule(session, owner_id, rule_id)

    async def list(self, owner_id: int) -> Sequence[AutoPostingRule]:
        async with self.db.read() as session:
            return await RuleRepository(session).list_for_owner(owner_id)

    async def set_active(self, owner_id: int, rule_id: int, active: bool) -> AutoPostingRule:
        async with self.db.write() as session:
            rule = await _owned_rule(session, owner_id, rule_id)
            try:
                next_at = next_run(rule_schedule(rule), self.clock.now()) if active else None
            except (ScheduleError, ValueError) as exc:
                raise RuleError("bad_schedule", str(exc)) from exc
            await RuleRunRepository(session).update_for_owner(
                owner_id,
                rule_id,
                is_active=active,
                next_execution_at=next_at,
                retry_slot_at=None,
                retry_attempts=0,
            )
            rule = await _owned_rule(session, owner_id, rule_id)
        if active:
            self.waker.wake_rules()
        return rule

    async def run_now(self, owner_id: int, rule_id: int) -> AutoPostingRule:
        """The rule becomes due now; the worker runs it on its next pass (woken at once).
        Its regular schedule continues after that run."""
        async with self.db.write() as session:
            rule = await _owned_rule(session, owner_id, rule_id)
            if not rule.is_active:
                raise RuleError("paused")
            await RuleRunRepository(session).update_for_owner(
                owner_id,
                rule_id,
                next_execution_at=self.clock.now(),
                retry_slot_at=None,
                retry_attempts=0,
            )
            rule = await _owned_rule(session, owner_id, rule_id)
        self.waker.wake_rules()
        return rule

    async def delete(self, owner_id: int, rule_id: int) -> bool:
        async with self.db.write() as session:
            return await RuleRepository(session).delete_for_owner(owner_id, rule_id)

    async def dry_run(
        self,
        owner_id: int,
        draft: RuleDraft,
        generator: ContentGenerator,
        *,
        rule_id: int | None = None,
    ) -> DryRun:
        """Next five run times and a sample generated now: nothing is saved or published.
        The sample is written with no unit open; an AI sample spends one request of the
        owner's daily AI quota first (AiQuotaExceeded when it is used up)."""
        runs = self.next_runs(draft)
        if self.quota is not None and draft.content.fixed_text is None:
            await self.quota.spend(owner_id)
        async with self.db.read() as session:
            targets = await TargetRepository(session).get_many_for_owner(
                owner_id, draft.target_ids
            )
            user = await UserRepository(session).get(owner_id)
            recent: list[str] = []
            if rule_id is not None and await session.scalar(_rule_query(owner_id, rule_id)):
                recent = await RuleRunRepository(session).recent_texts(rule_id)
            platforms = rule_platforms(targets)
        try:
            output = await make_rule_posts(
                generator,
                content_to_store(draft),
                platforms,
                user.language if user else "en",
                recent,
                moment=runs[0] if runs else self.clock.now(),
            )
        except GenerationError as exc:
            return DryRun(runs, None, exc)
        return DryRun(runs, output, None)


# ---------- approval ----------


@dataclass(frozen=True)
class ApprovalDraft:
    content: Content
    rule: AutoPostingRule | None
    posts: list[tuple[ScheduledPost, Target]]

    @property
    def waiting(self) -> bool:
        return any(p.status == PostStatus.AWAITING_APPROVAL for p, _t in self.posts)

    @property
    def publish_at(self) -> datetime | None:
        times = [p.scheduled_time for p, _t in self.posts]
        return min(times) if times else None

    @property
    def platform(self) -> str:
        return self.posts[0][1].platform if self.posts else "telegram"

    @property
    def regenerable(self) -> bool:
        """Only drafts a rule wrote with the AI can be written again."""
        return self.rule is not None and self.rule.content_config.fixed_text is None


@dataclass(frozen=True)
class Approved:
    post_ids: list[int]
    publish_at: datetime


@dataclass(frozen=True)
class _RegenerationInput:
    """What the read unit of `regenerate` saw; the write unit checks it still holds."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    config: ContentConfig
    platform: str
    language: str
    recent: list[str]


async def _load_draft(
    session: AsyncSession, owner_id: int, content_id: int
) -> ApprovalDraft | None:
    content = await session.scalar(
        select(Content)
        .where(Content.id == content_id, Content.owner_id == owner_id)
        .execution_options(populate_existing=True)
    )
    if content is None:
        return None
    posts = await RuleRunRepository(session).posts_of_content_for_owner(owner_id, content_id)
    rule = None
    if content.rule_id is not None:
        rule = await session.scalar(_rule_query(owner_id, content.rule_id))
    return ApprovalDraft(content, rule, posts)


async def _waiting_draft(session: AsyncSession, owner_id: int, content_id: int) -> ApprovalDraft:
    found = await _load_draft(session, owner_id, content_id)
    if found is None or not found.waiting:
        raise RuleError("not_waiting")
    return found


class ApprovalService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        waker: Waker | None = None,
        *,
        quota: AiQuota | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.waker = waker or NullWaker()
        self.quota = quota

    async def load(self, owner_id: int, content_id: int) -> ApprovalDraft | None:
        async with self.db.read() as session:
            return await _load_draft(session, owner_id, content_id)

    async def contents_of_posts(self, owner_id: int, post_ids: Sequence[int]) -> list[int]:
        """The distinct contents of these posts of the owner, in the posts' order."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(ScheduledPost.id, ScheduledPost.content_id).where(
                    ScheduledPost.owner_id == owner_id, ScheduledPost.id.in_(list(post_ids))
                )
            )
            by_post = {post_id: content_id for post_id, content_id in rows.all()}
        contents: list[int] = []
        for post_id in post_ids:
            content_id = by_post.get(post_id)
            if content_id is not None and content_id not in contents:
                contents.append(content_id)
        return contents

    async def approve(self, owner_id: int, content_id: int) -> Approved | None:
        """Awaiting posts become scheduled for their planned time (or now, if it passed);
        None when there was nothing left to approve."""
        now = self.clock.now()
        async with self.db.write() as session:
            found = await _load_draft(session, owner_id, content_id)
            if found is None or not found.waiting:
                return None
            moment = max(found.publish_at or now, now)
            moved = await RuleRunRepository(session).decide_approval_for_owner(
                owner_id, content_id, PostStatus.SCHEDULED, moment
            )
        if not moved:
            return None
        self.waker.wake_posts()
        return Approved(moved, moment)

    async def skip(self, owner_id: int, content_id: int) -> list[int]:
        async with self.db.write() as session:
            return await RuleRunRepository(session).decide_approval_for_owner(
                owner_id, content_id, PostStatus.SKIPPED, None
            )

    async def replace_text(self, owner_id: int, content_id: int, text: str) -> ApprovalDraft:
        """The owner's own version of the draft; it still awaits approval."""
        async with self.db.write() as session:
            found = await _waiting_draft(session, owner_id, content_id)
            # Kept as Telegram HTML whatever the platform, as every content's text is: X and
            # Instagram read it as plain text (links kept) when they publish it.
            problems = [
                t.platform
                for _p, t in found.posts
                if not fit_for_platform(t.platform, text, title=found.content.title).ok
            ]
            if problems:
                raise RuleError("does_not_fit", ", ".join(sorted(set(problems))))
            await RuleRunRepository(session).update_content_for_owner(
                owner_id, content_id, text=text
            )
            return await _waiting_draft(session, owner_id, content_id)

    async def regenerate(
        self, owner_id: int, content_id: int, generator: ContentGenerator
    ) -> ApprovalDraft:
        """A new AI version of the draft: read, write the text with no unit open, then
        replace it only if the draft still awaits approval unchanged (else `not_waiting` or
        `changed`: the owner decided or edited it meanwhile). The request is counted in the
        owner's daily AI quota before the model is called (AiQuotaExceeded when used up)."""
        seen = await self._regeneration_input(owner_id, content_id)
        if self.quota is not None:
            await self.quota.spend(owner_id)
        output = await make_rule_posts(
            generator, seen.config, [seen.platform], seen.language, seen.recent
        )
        new = output.texts[0].generated
        new_text = stored_text(output.texts[0], seen.config)
        async with self.db.write() as session:
            found = await _waiting_draft(session, owner_id, content_id)
            content = found.content
            if (content.text, content.prompt_tokens, content.completion_tokens) != (
                seen.text,
                seen.prompt_tokens,
                seen.completion_tokens,
            ):
                raise RuleError("changed")
            await RuleRunRepository(session).update_content_for_owner(
                owner_id,
                content_id,
                text=new_text,
                title=new.title,
                prompt_tokens=content.prompt_tokens + new.prompt_tokens,
                completion_tokens=content.completion_tokens + new.completion_tokens,
            )
            return await _waiting_draft(session, owner_id, content_id)

    async def _regeneration_input(self, owner_id: int, content_id: int) -> _RegenerationInput:
        async with self.db.read() as session:
            found = await _waiting_draft(session, owner_id, content_id)
            rule = found.rule
            if rule is None:
                raise RuleError("not_found")
            if rule.monthly_token_budget:
                used = await ContentRepository(session).tokens_for_rule_since(
                    rule.id, month_start(self.clock.now(), rule.timezone)
                )
                if used >= rule.monthly_token_budget:
                    raise RuleError("over_budget", f"{used} / {rule.monthly_token_budget}")
            user = await UserRepository(session).get(owner_id)
            recent = await RuleRunRepository(session).recent_texts(rule.id)
        content = found.content
        return _RegenerationInput(
            text=content.text,
            prompt_tokens=content.prompt_tokens,
            completion_tokens=content.completion_tokens,
            config=rule.content_config,
            platform=found.platform,
            language=user.language if user else "en",
            recent=[content.text, *recent],
        )


__all__ = [
    "AiQuotaExceeded",
    "ApprovalDraft",
    "ApprovalService",
    "Approved",
    "DryRun",
    "PlatformText",
    "RuleBounds",
    "RuleDraft",
    "RuleError",
    "RuleOutput",
    "RuleService",
    "approval_window",
    "bounded_draft",
    "brief_for",
    "check_fits",
    "day_start",
    "make_rule_posts",
    "month_start",
    "rule_platforms",
    "rule_schedule",
    "stored_text",
    "usable_targets",
    "validate_draft",
]
