"""AutoPostingWorker: runs due auto-posting rules (content → scheduled_posts → next run)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from content.generator import (
    Brief,
    ContentGenerator,
    Generated,
    GenerationError,
    UnavailableGenerator,
    rule_text,
)
from services.clock import Clock, SystemClock
from services.notify import NullNotifier, NullWaker, OwnerNotifier, Waker
from services.schedule import Schedule, ScheduleError, next_run
from storage.db import SessionFactory
from storage.models import AutoPostingRule, PostStatus, TargetStatus
from storage.repositories import ContentRepository, PostRepository, RuleRepository, UserRepository
from workers import metrics

log = logging.getLogger("AutoPostingWorker")


@dataclass
class RuleRunReport:
    due: int = 0
    executed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0


def rule_schedule(rule: AutoPostingRule) -> Schedule:
    return Schedule(rule.schedule_type, rule.schedule_config or {}, rule.timezone)


class AutoPostingWorker:
    name = "AutoPostingWorker"

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        generator: ContentGenerator | None = None,
        clock: Clock | None = None,
        notifier: OwnerNotifier | None = None,
        waker: Waker | None = None,
        grace: timedelta = timedelta(minutes=15),
    ) -> None:
        self.session_factory = session_factory
        self.generator = generator or UnavailableGenerator()
        self.clock = clock or SystemClock()
        self.notifier = notifier or NullNotifier()
        self.waker = waker or NullWaker()
        self.grace = grace

    async def run_once(self) -> RuleRunReport:
        report = RuleRunReport()
        now = self.clock.now()
        async with self.session_factory() as session:
            due = await RuleRepository(session).due_ids(now)
        report.due = len(due)
        if due:
            log.info("Найдено %d правил для выполнения", len(due))
        for rule_id, expected in due:
            try:
                await self._run_rule(rule_id, expected, now, report)
            except Exception as exc:
                report.failed += 1
                log.exception("Правило %d: ошибка выполнения", rule_id)
                async with self.session_factory() as session, session.begin():
                    await RuleRepository(session).record_failure(
                        rule_id, f"internal error: {type(exc).__name__}"
                    )
        return report

    async def next_due_at(self) -> datetime | None:
        async with self.session_factory() as session:
            return await RuleRepository(session).next_due_at()

    async def _run_rule(
        self, rule_id: int, expected: datetime, now: datetime, report: RuleRunReport
    ) -> None:
        async with self.session_factory() as session:
            async with session.begin():
                rules = RuleRepository(session)
                rule = await rules.get(rule_id)
                if rule is None:
                    return
                try:
                    new_next = next_run(rule_schedule(rule), max(now, expected), expected)
                except (ScheduleError, ValueError) as exc:
                    new_next = None
                    await rules.record_failure(rule_id, f"schedule error: {exc}")
                if not await rules.claim(rule_id, expected, new_next, now):
                    return  # another process runs this execution
            report.executed += 1
            if now - expected > self.grace:
                report.skipped += 1
                log.warning(
                    "Правило %d: пропущено выполнение %s (бот не работал)",
                    rule_id,
                    expected.isoformat(),
                )
                return
            log.info("Выполнение правила %d '%s'", rule.id, rule.name)
            targets = [t for t in rule.targets if t.status != TargetStatus.BROKEN]
            owner = await UserRepository(session).get(rule.owner_id)
            language = owner.language if owner else "en"
        try:
            generated = await self._generate(
                rule, language, targets[0].platform if targets else "telegram"
            )
        except GenerationError as exc:
            await self._fail(rule, exc.reason, report)
            return
        if not targets:
            await self._fail(rule, "the rule has no usable targets", report)
            return
        async with self.session_factory() as session, session.begin():
            content = await ContentRepository(session).create(
                rule.owner_id,
                generated.text,
                title=generated.title,
                source="rule",
                prompt=rule.content_config.get("description"),
                rule_id=rule.id,
                ai_model=generated.model,
                prompt_tokens=generated.prompt_tokens,
                completion_tokens=generated.completion_tokens,
            )
            approval = rule.approval_required
            publish_at = now
            if approval:
                window = int(rule.schedule_config.get("approval_window_minutes", 60))
                publish_at = now + timedelta(minutes=window)
            posts = await PostRepository(session).create(
                content,
                targets,
                publish_at,
                status=PostStatus.AWAITING_APPROVAL if approval else PostStatus.SCHEDULED,
                rule_id=rule.id,
            )
            await RuleRepository(session).record_success(rule.id)
        log.info("Создан контент %d для правила %d", content.id, rule.id)
        metrics.RULES_EXECUTED.labels("success").inc()
        if generated.prompt_tokens or generated.completion_tokens:
            metrics.AI_TOKENS.labels("prompt").inc(generated.prompt_tokens)
            metrics.AI_TOKENS.labels("completion").inc(generated.completion_tokens)
        report.succeeded += 1
        if approval:
            await self._safe(
                self.notifier.approval_requested(rule.owner_id, rule.id, [p.id for p in posts])
            )
        else:
            self.waker.wake_posts()
        log.info("Правило %d успешно выполнено", rule.id)

    async def _generate(self, rule: AutoPostingRule, language: str, platform: str) -> Generated:
        config = rule.content_config or {}
        fixed = rule_text(config)
        if fixed is not None:
            return Generated(text=fixed, title=config.get("title"))
        brief = Brief(
            title=config.get("title"),
            description=str(config.get("description") or config.get("prompt") or ""),
            platform=platform,
            language=str(config.get("language") or language),
            style=config.get("style"),
        )
        if not brief.description:
            raise GenerationError("the rule has neither text nor an AI brief", transient=False)
        return await self.generator.generate(brief)

    async def _fail(self, rule: AutoPostingRule, reason: str, report: RuleRunReport) -> None:
        async with self.session_factory() as session, session.begin():
            await RuleRepository(session).record_failure(rule.id, reason)
        report.failed += 1
        metrics.RULES_EXECUTED.labels("failure").inc()
        log.error("Правило %d: ошибка создания контента: %s", rule.id, reason)
        await self._safe(self.notifier.rule_failed(rule.owner_id, rule.id, reason))

    async def _safe(self, coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except Exception:
            log.exception("Не удалось отправить уведомление владельцу")
