"""Runs the workers as jobs of one embedded AsyncIOScheduler, in the bot's event loop."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from services.clock import Clock, SystemClock
from services.notify import NullNotifier, OwnerNotifier
from services.worker_stats import WorkerStats
from workers import metrics

log = logging.getLogger("workers")


class Worker(Protocol):
    name: str

    async def run_once(self) -> Any: ...

    async def next_due_at(self) -> datetime | None: ...


class WorkerRunner:
    """Wraps one worker: never lets a failed run kill it, keeps its stats, and re-arms a
    one-off wake-up at the next due time so that posts go out on the second, not on the
    next poll."""

    def __init__(
        self,
        worker: Worker,
        interval: float,
        scheduler: AsyncIOScheduler,
        *,
        clock: Clock | None = None,
        notifier: OwnerNotifier | None = None,
        alert_after_failures: int = 3,
        precise: bool = True,
    ) -> None:
        self.worker = worker
        self.interval = interval
        self.scheduler = scheduler
        self.clock = clock or SystemClock()
        self.notifier = notifier or NullNotifier()
        self.alert_after_failures = alert_after_failures
        self.precise = precise
        self.stats = WorkerStats(name=worker.name, interval=interval)
        self.wake_job_id = f"{worker.name}:wake"

    def start(self) -> None:
        self.scheduler.add_job(
            self.run,
            IntervalTrigger(seconds=self.interval),
            id=self.worker.name,
            name=self.worker.name,
            max_instances=3,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )
        self.stats.is_running = True
        self.stats.started_at = datetime.now(UTC)
        logging.getLogger(self.worker.name).info(
            "✅ %s запущен (интервал: %ss)", self.worker.name, _fmt(self.interval)
        )

    def stop(self) -> None:
        self.stats.is_running = False

    async def run(self) -> None:
        started = time.perf_counter()
        self.stats.last_run = datetime.now(UTC)
        self.stats.runs += 1
        worker_log = logging.getLogger(self.worker.name)
        succeeded = False
        try:
            report = await self.worker.run_once()
            succeeded = True
        except Exception as exc:
            self.stats.failed_runs += 1
            self.stats.consecutive_failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"[:500]
            metrics.RUN_FAILURES.labels(self.worker.name).inc()
            worker_log.exception(
                "Ошибка выполнения %s; следующий запуск по расписанию", self.worker.name
            )
            if self.stats.consecutive_failures == self.alert_after_failures:
                await self._alert(
                    f"⚠️ {self.worker.name}: {self.stats.consecutive_failures} failed runs in a "
                    f"row. Last error: {self.stats.last_error}"
                )
        else:
            self.stats.consecutive_failures = 0
            self.stats.last_success = datetime.now(UTC)
            self.stats.last_error = None
            self._count(report)
        finally:
            duration = time.perf_counter() - started
            self.stats.last_duration = duration
            metrics.RUN_DURATION.labels(self.worker.name).observe(duration)
        if succeeded:
            # After a failure the interval job retries; an immediate wake could spin.
            await self.arm_wake()
        job = self.scheduler.get_job(self.worker.name)
        self.stats.next_run = job.next_run_time if job else None

    def _count(self, report: Any) -> None:
        for name in ("published", "succeeded"):
            self.stats.processed += int(getattr(report, name, 0) or 0)
        for name in ("failed", "unknown"):
            self.stats.failed += int(getattr(report, name, 0) or 0)

    async def arm_wake(self) -> None:
        """Schedule a one-off run at the next due time, if it is before the next poll."""
        if not self.precise or not self.stats.is_running:
            return
        try:
            due = await self.worker.next_due_at()
        except Exception:
            logging.getLogger(self.worker.name).exception("next due time unavailable")
            return
        if due is None:
            return
        # The clock may be a test clock; the scheduler runs on real time.
        delay = (due - self.clock.now()).total_seconds()
        if delay > self.interval:
            return
        when = datetime.now(UTC) + timedelta(seconds=max(0.0, delay))
        existing = self.scheduler.get_job(self.wake_job_id)
        if (
            existing is not None
            and existing.next_run_time is not None
            and (existing.next_run_time <= when)
        ):
            return
        self.scheduler.add_job(
            self.run,
            DateTrigger(run_date=when),
            id=self.wake_job_id,
            replace_existing=True,
            misfire_grace_time=None,
            # A run re-arms its own job id before it returns; with APScheduler's default of
            # one instance, a wake-up already due then would be skipped ("maximum number of
            # running instances reached") and the post would wait for the next poll. Runs
            # never overlap anyway: the worker serialises them.
            max_instances=3,
        )

    def wake(self) -> None:
        """Called when something became due (a post added or changed)."""
        if not self.stats.is_running:
            return
        import asyncio

        try:
            asyncio.get_running_loop().create_task(self.arm_wake())
        except RuntimeError:
            return

    async def _alert(self, text: str) -> None:
        try:
            await self.notifier.admin_alert(text)
        except Exception:
            log.exception("admin alert failed")


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


class WorkerGroup:
    """Both workers on one scheduler; implements `Waker` for the chat side."""

    def __init__(self, scheduler: AsyncIOScheduler, runners: list[WorkerRunner]) -> None:
        self.scheduler = scheduler
        self.runners = runners

    def start(self) -> None:
        log.info("Запуск background workers...")
        for runner in self.runners:
            runner.start()
        if not self.scheduler.running:
            self.scheduler.start()
        log.info("🚀 Все background workers успешно запущены")

    def shutdown(self) -> None:
        for runner in self.runners:
            runner.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def by_name(self, name: str) -> WorkerRunner | None:
        return next((r for r in self.runners if r.worker.name == name), None)

    def wake_posts(self) -> None:
        runner = self.by_name("ScheduledPostsWorker")
        if runner:
            runner.wake()

    def wake_rules(self) -> None:
        runner = self.by_name("AutoPostingWorker")
        if runner:
            runner.wake()

    def stats(self) -> list[WorkerStats]:
        return [r.stats for r in self.runners]
