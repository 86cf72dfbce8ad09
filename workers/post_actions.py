"""PostActionsWorker: runs the timed actions on published posts (issue 12): the auto-delete
a post was given, the end of a timed pin.

The actions live in `post_actions` (they survive restarts) and are claimed with a lease in
one conditional statement, as posts are, so that any number of processes run each once. The
claim is committed before the platform is called; the outcome is recorded in its own unit
(services/post_life.py), and the owner is told when an action could not be done."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.clock import Clock, SystemClock
from services.notify import NullNotifier, OwnerNotifier
from services.post_life import PostLifeService
from storage.post_life import ClaimedAction, PostLifeRepository
from storage.uow import Database
from workers.scheduled_posts import make_worker_id

log = logging.getLogger("PostActionsWorker")


@dataclass
class ActionsReport:
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    expired: int = 0


class PostActionsWorker:
    name = "PostActionsWorker"

    def __init__(
        self,
        db: Database,
        service: PostLifeService,
        *,
        clock: Clock | None = None,
        notifier: OwnerNotifier | None = None,
        worker_id: str | None = None,
        lease: timedelta = timedelta(seconds=120),
        batch_size: int = 50,
        concurrency: int = 4,
        max_batches: int = 20,
    ) -> None:
        self.db = db
        self.service = service
        self.clock = clock or SystemClock()
        self.notifier = notifier or NullNotifier()
        self.worker_id = worker_id or make_worker_id()
        self.lease = lease
        self.batch_size = batch_size
        self.max_batches = max_batches
        self._semaphore = asyncio.Semaphore(concurrency)
        self._run_lock = asyncio.Lock()

    async def run_once(self) -> ActionsReport:
        report = ActionsReport()
        async with self._run_lock:
            now = self.clock.now()
            async with self.db.write() as session:
                report.expired = await PostLifeRepository(session).expire_leases(now)
            for _ in range(self.max_batches):
                async with self.db.write() as session:
                    claimed = await PostLifeRepository(session).claim_due(
                        self.clock.now(), self.worker_id, self.lease, self.batch_size
                    )
                if not claimed:
                    break
                report.claimed += len(claimed)
                await asyncio.gather(*(self._run(action, report) for action in claimed))
        return report

    async def _run(self, action: ClaimedAction, report: ActionsReport) -> None:
        async with self._semaphore:
            try:
                result, final = await self.service.execute(action, self.worker_id)
            except Exception:
                # The lease runs out and the action is tried again.
                log.exception("Действие %d (пост %d) не выполнено", action.id, action.post_id)
                report.failed += 1
                return
        if result.ok:
            report.succeeded += 1
            log.info("Пост %d: %s выполнено", action.post_id, action.kind)
            return
        if not final:
            report.retried += 1
            log.warning("Пост %d: %s отложено (%s)", action.post_id, action.kind, result.code)
            return
        report.failed += 1
        log.warning("Пост %d: %s не выполнено (%s)", action.post_id, action.kind, result.code)
        # The failure is recorded beside the post (its view shows it); a notifier that has
        # a wording for it tells the owner now as well.
        tell = getattr(self.notifier, "post_action_failed", None)
        if tell is None:
            return
        try:
            await tell(action.owner_id, action.post_id, action.kind, result.code)
        except Exception:
            log.exception("Не удалось сообщить владельцу")

    async def next_due_at(self) -> datetime | None:
        async with self.db.read() as session:
            return await PostLifeRepository(session).next_due_at()
