"""AutoPostingWorker: runs due auto-posting rules (content → scheduled_posts → next run).

One execution of a rule, in order:

1. Quiet hours: a rule due inside its quiet hours (rule time zone) is postponed to the end of
   them; nothing runs and nothing is counted.
2. Claim: `RuleRepository.claim` moves `next_execution_at` to the next regular fire time
   (APScheduler trigger, DST-safe) in one compare-and-swap; whoever loses does not run it.
   The claim counts the execution and sets `last_executed_at`.
3. Missed: an execution found later than the grace window (the bot was down) is skipped.
4. Daily cap: when the rule already produced `daily_cap` posts today (rule zone), it skips.
5. Monthly token budget: when the rule's contents used `monthly_token_budget` tokens since
   the 1st of this month (rule zone), it fails without calling the model (owner told once).
6. Generation, one text per platform of the rule's targets, with the near-duplicate
   guardrail (`services.rules.make_rule_posts`): a repeat is generated once more; a text that
   still repeats a recent post is flagged: saved (its tokens count) but never published, the
   execution counts as a failure and the owner is told.
7. Fitting re-check (`content.fitting.fit_for_platform`), then one content per platform and
   one `scheduled_posts` row per target: `scheduled` now, or `awaiting_approval` with a
   publish time `approval_window_minutes` (default 60) later and the draft sent to the owner.

"Retried on the next run": a transient generation failure (timeout, 5xx, connection error,
malformed or empty answer) records a failure and re-arms the same execution ("slot") at
now + retry_delay × 2^(attempt-1), at most `max_retries` times and never at or after the
next regular fire time, so a retry never doubles a slot. A permanent failure (bad key, bad
request) or exhausted retries leave the regular schedule alone. The owner hears of a slot's
first failure and of giving it up, not of every retry.

Recovery: the claim also records the slot it stands for (`claimed_slot_at`) and every end of
the execution (saved, failed, skipped, re-armed) clears it. A process that stops in between
(a crash, a kill during the model call) leaves it set. Every pass first looks for such claims
older than `claim_lease` (a live process finishes well within it, so another process's run in
flight is never taken): an execution still within `grace` + `claim_lease` of its slot, whose
next regular run is not due yet, is re-armed now as a retry of its slot; any other is given up
and its owner told (ErrorCode.RULE_RUN_LOST). None is dropped silently.

Units of work (`storage.uow.Database`): the claim (2) is one write unit that reads the rule and
swaps it; the checks (4, 5) read in one read unit; generation (6) runs with no unit open, since
a model call takes seconds; saving (7) or recording a failure is one write unit; the owner is
told after it is committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from content.generator import ContentGenerator, GenerationError, UnavailableGenerator
from platforms.errors import ErrorCode
from services.clock import Clock, SystemClock
from services.notify import NullNotifier, NullWaker, OwnerNotifier, Waker
from services.rules import (
    RuleOutput,
    approval_window,
    check_fits,
    day_start,
    make_rule_posts,
    month_start,
    rule_platforms,
    rule_schedule,
    stored_text,
    usable_targets,
)
from services.schedule import ScheduleError, next_run, quiet_hours_end
from storage.models import AutoPostingRule, PostStatus, Target
from storage.repositories import ContentRepository, PostRepository, RuleRepository, UserRepository
from storage.rule_runs import ClaimedRun, RuleRunRepository
from storage.uow import Database
from workers import metrics

log = logging.getLogger("AutoPostingWorker")

BUDGET_ERROR = "monthly token budget used up"

__all__ = ["AutoPostingWorker", "RuleRunReport", "rule_schedule"]


@dataclass
class RuleRunReport:
    due: int = 0
    executed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    postponed: int = 0
    retries_armed: int = 0
    recovered: int = 0  # abandoned executions re-armed
    lost: int = 0  # abandoned executions given up (owner told)


@dataclass(frozen=True)
class _Claimed:
    rule: AutoPostingRule
    slot: datetime  # the scheduled moment this execution stands for
    new_next: datetime | None
    attempt: int  # 0 for the first try of the slot
    schedule_error: str | None = None


@dataclass(frozen=True)
class _RunContext:
    """What one execution reads before it calls the model."""

    language: str
    recent_texts: list[str]
    done_today: int | None  # slots produced today (rule zone), when the rule has a daily cap
    tokens_used: int | None  # tokens this month (rule zone), when the rule has a budget


class AutoPostingWorker:
    name = "AutoPostingWorker"

    def __init__(
        self,
        db: Database,
        *,
        generator: ContentGenerator | None = None,
        clock: Clock | None = None,
        notifier: OwnerNotifier | None = None,
        waker: Waker | None = None,
        grace: timedelta = timedelta(minutes=15),
        retry_delay: timedelta = timedelta(minutes=5),
        max_retries: int = 3,
        claim_lease: timedelta = timedelta(minutes=10),
    ) -> None:
        self.db = db
        self.generator = generator or UnavailableGenerator()
        self.clock = clock or SystemClock()
        self.notifier = notifier or NullNotifier()
        self.waker = waker or NullWaker()
        self.grace = grace
        self.retry_delay = retry_delay
        self.max_retries = max_retries
        self.claim_lease = claim_lease

    async def run_once(self) -> RuleRunReport:
        report = RuleRunReport()
        now = self.clock.now()
        await self._recover_abandoned(now, report)
        async with self.db.read() as session:
            due = await RuleRepository(session).due_ids(now)
        report.due = len(due)
        if due:
            log.info("Найдено %d правил для выполнения", len(due))
        for rule_id, expected in due:
            try:
                await self._run_rule(rule_id, expected, now, report)
            except Exception as exc:
                # One broken rule must not stop the others, nor the worker.
                report.failed += 1
                log.exception("Правило %d: ошибка выполнения", rule_id)
                async with self.db.write() as session:
                    await RuleRepository(session).record_failure(
                        rule_id, f"internal error: {type(exc).__name__}", ErrorCode.INTERNAL
                    )
                    await RuleRunRepository(session).release_claim(rule_id)
        return report

    async def next_due_at(self) -> datetime | None:
        async with self.db.read() as session:
            return await RuleRepository(session).next_due_at()

    # ---------- one rule ----------

    async def _claim(
        self, rule_id: int, expected: datetime, now: datetime, report: RuleRunReport
    ) -> _Claimed | None:
        # One write unit reads the rule and claims it, so the rule that decides this
        # execution (quiet hours, retry slot, schedule) is the one the claim swaps: on SQLite
        # the unit is the only writer, on PostgreSQL the row stays locked until the commit.
        # The claim is still a compare-and-swap on `next_execution_at`: whoever read the
        # same `expected` and lost the swap does not run it.
        postponed_to: datetime | None = None
        claimed: _Claimed | None = None
        async with self.db.write() as session:
            rule = await _lock_rule(session, rule_id)
            if rule is None:
                return None
            quiet_end = quiet_hours_end(now, rule.quiet_hours, rule.timezone)
            if quiet_end is not None:
                if await RuleRunRepository(session).postpone(rule_id, expected, quiet_end):
                    postponed_to = quiet_end
            else:
                retrying = rule.retry_slot_at is not None and rule.retry_attempts > 0
                slot = rule.retry_slot_at if retrying and rule.retry_slot_at else expected
                schedule_error = None
                try:
                    new_next = next_run(rule_schedule(rule), max(now, expected), slot)
                except (ScheduleError, ValueError) as exc:
                    # The rule stops (no next run) until its owner fixes the schedule.
                    new_next, schedule_error = None, f"schedule error: {exc}"
                if not await RuleRepository(session).claim(rule_id, expected, new_next, now):
                    return None  # another process runs this execution
                if rule.retry_slot_at is not None or rule.retry_attempts:
                    # Cleared with the claim: only a new failure of this run re-arms a retry.
                    await RuleRunRepository(session).clear_retry(rule_id)
                attempt = rule.retry_attempts if retrying else 0
                await RuleRunRepository(session).mark_claimed(rule_id, slot)
                claimed = _Claimed(rule, slot, new_next, attempt, schedule_error)
        if postponed_to is not None:
            report.postponed += 1
            log.info(
                "Правило %d: тихие часы, выполнение перенесено на %s",
                rule_id,
                postponed_to.isoformat(),
            )
        return claimed

    async def _run_rule(
        self, rule_id: int, expected: datetime, now: datetime, report: RuleRunReport
    ) -> None:
        claimed = await self._claim(rule_id, expected, now, report)
        if claimed is None:
            return
        rule = claimed.rule
        report.executed += 1
        if now - expected > self.grace:
            report.skipped += 1
            await self._release(rule_id)
            log.warning(
                "Правило %d: пропущено выполнение %s (бот не работал)",
                rule_id,
                expected.isoformat(),
            )
            return
        if claimed.schedule_error:
            await self._fail(rule, claimed.schedule_error, report, code=ErrorCode.BAD_SCHEDULE)
            return
        log.info("Выполнение правила %d '%s'", rule.id, rule.name)
        context = await self._read_context(rule, now)
        done_today, used = context.done_today, context.tokens_used
        if rule.daily_cap and done_today is not None and done_today >= rule.daily_cap:
            report.skipped += 1
            await self._release(rule.id)
            log.info("Правило %d: дневной лимит (%d) исчерпан, пропуск", rule.id, done_today)
            return
        budget = rule.monthly_token_budget
        if budget and used is not None and used >= budget:
            reason = f"{BUDGET_ERROR} ({used} of {budget} tokens)"
            told = (rule.last_error or "").startswith(BUDGET_ERROR)
            await self._fail(rule, reason, report, notify=not told, code=ErrorCode.AI_BUDGET)
            return
        targets = usable_targets(rule)
        if not targets:
            # Its targets are broken (posting paused until they are linked again) or were
            # unlinked: the owner heard of that then, and of this once, not at every run.
            told = rule.error_code == ErrorCode.NO_TARGETS
            await self._fail(
                rule,
                "the rule has no usable targets",
                report,
                code=ErrorCode.NO_TARGETS,
                notify=not told,
            )
            return
        try:
            # The model call: seconds long, so no unit is open here.
            output = await make_rule_posts(
                self.generator,
                rule.content_config or {},
                rule_platforms(targets),
                context.language,
                context.recent_texts,
                # {date}/{time} in a fixed text are the slot's, not the (maybe late) run's.
                moment=claimed.slot,
            )
        except GenerationError as exc:
            await self._generation_failed(claimed, exc, now, report)
            return
        unfit = check_fits(output, rule.content_config or {})
        if unfit:
            await self._fail(
                rule,
                f"the text does not fit {', '.join(unfit)} even after fitting",
                report,
                code=ErrorCode.AI_UNFIT,
            )
            return
        await self._save(claimed, output, targets, now, report)

    async def _read_context(self, rule: AutoPostingRule, now: datetime) -> _RunContext:
        """The owner's language, recent texts (for the duplicate guardrail) and what the
        daily cap and the monthly budget count, read in one unit before the model call.
        The cap and the budget are checks before spending tokens; the claim already made
        this execution this process's own."""
        async with self.db.read() as session:
            owner = await UserRepository(session).get(rule.owner_id)
            runs = RuleRunRepository(session)
            recent = await runs.recent_texts(rule.id)
            done_today = None
            if rule.daily_cap:
                today = await runs.contents_since(rule.id, day_start(now, rule.timezone))
                done_today = len(
                    {
                        (c.variants or {}).get("slot") or c.id
                        for c in today
                        if not (c.variants or {}).get("flag")
                    }
                )
            tokens_used = None
            if rule.monthly_token_budget:
                tokens_used = await ContentRepository(session).tokens_for_rule_since(
                    rule.id, month_start(now, rule.timezone)
                )
        return _RunContext(
            language=owner.language if owner else "en",
            recent_texts=recent,
            done_today=done_today,
            tokens_used=tokens_used,
        )

    async def _save(
        self,
        claimed: _Claimed,
        output: RuleOutput,
        targets: list[Target],
        now: datetime,
        report: RuleRunReport,
    ) -> None:
        rule = claimed.rule
        config = rule.content_config
        approval = rule.approval_required
        publish_at = now + approval_window(rule) if approval else now
        created: list[tuple[int, list[int]]] = []
        flagged = None
        # Writes first (the contents and posts), then the rule's counters; the owner and the
        # posts worker hear of it once this unit is committed.
        async with self.db.write() as session:
            contents = ContentRepository(session)
            posts_repo = PostRepository(session)
            for item in output.texts:
                variants: dict[str, Any] = {
                    "platform": item.platform,
                    "slot": claimed.slot.isoformat(),
                }
                if item.duplicate_of is not None:
                    variants.update(flag="near_duplicate", similarity=round(item.similarity, 3))
                content = await contents.create(
                    rule.owner_id,
                    stored_text(item, config),
                    title=item.generated.title,
                    source="rule",
                    prompt=config.topic or None,
                    rule_id=rule.id,
                    ai_model=item.generated.model,
                    prompt_tokens=item.generated.prompt_tokens,
                    completion_tokens=item.generated.completion_tokens,
                )
                content.variants = variants
                # The worker's clock, not the database's: the daily cap and the monthly
                # budget count contents by this time.
                content.created_at = now
                if item.duplicate_of is not None:
                    flagged = item
                    continue
                thread = item.platform == "x" and config.x_thread
                options = {"x_thread": True} if thread else {}
                posts = await posts_repo.create(
                    content,
                    [t for t in targets if t.platform == item.platform],
                    publish_at,
                    status=PostStatus.AWAITING_APPROVAL if approval else PostStatus.SCHEDULED,
                    options=options,
                    rule_id=rule.id,
                )
                created.append((content.id, [p.id for p in posts]))
                log.info("Создан контент %d для правила %d", content.id, rule.id)
            rules = RuleRepository(session)
            if flagged is not None:
                await rules.record_failure(
                    rule.id,
                    f"the new {flagged.platform} text repeats a recent post "
                    f"({flagged.similarity:.0%} similar) even after regenerating; not published",
                    ErrorCode.AI_REPEAT,
                )
            else:
                await rules.record_success(rule.id)
            await RuleRunRepository(session).clear_retry(rule.id)
            await RuleRunRepository(session).release_claim(rule.id)
        self._count_tokens(output)
        if flagged is not None:
            report.failed += 1
            metrics.RULES_EXECUTED.labels("failure").inc()
            log.warning("Правило %d: текст повторяет недавний пост, не опубликован", rule.id)
            await self._safe(
                self.notifier.rule_failed(
                    rule.owner_id,
                    rule.id,
                    "the new post repeats a recent one even after regenerating, so it was "
                    "not published",
                )
            )
            if not created:
                return
        else:
            report.succeeded += 1
            metrics.RULES_EXECUTED.labels("success").inc()
        post_ids = [post_id for _content, ids in created for post_id in ids]
        if approval:
            await self._safe(self.notifier.approval_requested(rule.owner_id, rule.id, post_ids))
        else:
            self.waker.wake_posts()
        if flagged is None:
            log.info("Правило %d успешно выполнено", rule.id)

    # ---------- failures ----------

    async def _generation_failed(
        self, claimed: _Claimed, error: GenerationError, now: datetime, report: RuleRunReport
    ) -> None:
        rule = claimed.rule
        attempt = claimed.attempt + 1
        retry_at = now + self.retry_delay * (2 ** (attempt - 1))
        retry = (
            error.transient
            and attempt <= self.max_retries
            and (claimed.new_next is None or retry_at < claimed.new_next)
        )
        async with self.db.write() as session:
            await RuleRepository(session).record_failure(rule.id, error.reason, error.code.value)
            runs = RuleRunRepository(session)
            armed = retry and await runs.arm_retry(
                rule.id, claimed.new_next, retry_at, claimed.slot, attempt
            )
            if not armed:
                await runs.clear_retry(rule.id)
            await runs.release_claim(rule.id)
        report.failed += 1
        metrics.RULES_EXECUTED.labels("failure").inc()
        if armed:
            report.retries_armed += 1
            log.warning(
                "Правило %d: ошибка создания контента: %s; повтор %d из %d в %s",
                rule.id,
                error.reason,
                attempt,
                self.max_retries,
                retry_at.isoformat(),
            )
        else:
            log.error("Правило %d: ошибка создания контента: %s", rule.id, error.reason)
        # The owner hears of the first failure of a slot and of giving it up.
        if claimed.attempt == 0 or not armed:
            await self._safe(self.notifier.rule_failed(rule.owner_id, rule.id, error.reason))

    async def _fail(
        self,
        rule: AutoPostingRule,
        reason: str,
        report: RuleRunReport,
        *,
        code: ErrorCode,
        notify: bool = True,
    ) -> None:
        async with self.db.write() as session:
            await RuleRepository(session).record_failure(rule.id, reason, code.value)
            await RuleRunRepository(session).clear_retry(rule.id)
            await RuleRunRepository(session).release_claim(rule.id)
        report.failed += 1
        metrics.RULES_EXECUTED.labels("failure").inc()
        log.error("Правило %d: ошибка создания контента: %s", rule.id, reason)
        if notify:
            await self._safe(self.notifier.rule_failed(rule.owner_id, rule.id, reason))

    async def _release(self, rule_id: int) -> None:
        async with self.db.write() as session:
            await RuleRunRepository(session).release_claim(rule_id)

    # ---------- recovery ----------

    async def _recover_abandoned(self, now: datetime, report: RuleRunReport) -> None:
        """Executions claimed by a process that stopped before finishing them: re-armed
        while still on time, otherwise given up with the owner told (see the module's
        docstring, "Recovery")."""
        async with self.db.read() as session:
            abandoned = await RuleRunRepository(session).abandoned_claims(now - self.claim_lease)
        for run in abandoned:
            try:
                await self._recover(run, now, report)
            except Exception:
                log.exception("Правило %d: не удалось восстановить выполнение", run.rule_id)

    async def _recover(self, run: ClaimedRun, now: datetime, report: RuleRunReport) -> None:
        on_time = now - run.slot <= self.grace + self.claim_lease
        next_regular_pending = run.next_execution_at is None or run.next_execution_at > now
        if on_time and next_regular_pending:
            async with self.db.write() as session:
                rearmed = await RuleRunRepository(session).rearm_claimed(run, now)
            if rearmed:
                report.recovered += 1
                log.warning(
                    "Правило %d: выполнение %s было прервано (процесс остановился); перезапущено",
                    run.rule_id,
                    run.slot.isoformat(),
                )
                return
        reason = (
            f"the run scheduled for {run.slot.isoformat()} was interrupted (the bot stopped "
            "before it was done) and it was too late to run it again"
        )
        async with self.db.write() as session:
            runs = RuleRunRepository(session)
            given_up = await runs.drop_claim(run)
            if given_up:
                await RuleRepository(session).record_failure(
                    run.rule_id, reason, ErrorCode.RULE_RUN_LOST
                )
        if not given_up:
            return  # another process recovered it, or the owner changed the rule
        report.lost += 1
        metrics.RULES_EXECUTED.labels("failure").inc()
        log.error("Правило %d: %s", run.rule_id, reason)
        await self._safe(self.notifier.rule_failed(run.owner_id, run.rule_id, reason))

    def _count_tokens(self, output: RuleOutput) -> None:
        if output.prompt_tokens or output.completion_tokens:
            metrics.AI_TOKENS.labels("prompt").inc(output.prompt_tokens)
            metrics.AI_TOKENS.labels("completion").inc(output.completion_tokens)

    async def _safe(self, coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except Exception:
            log.exception("Не удалось отправить уведомление владельцу")


async def _lock_rule(session: AsyncSession, rule_id: int) -> AutoPostingRule | None:
    """The rule by id (workers only), on PostgreSQL locked until the unit ends (`FOR NO KEY
    UPDATE`: posts referring to the rule may still be inserted meanwhile). SQLite has no row
    locks and needs none: its write unit is the only writer."""
    return await session.get(AutoPostingRule, rule_id, with_for_update={"key_share": True})
