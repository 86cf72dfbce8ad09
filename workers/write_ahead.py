"""Write-ahead "sending" marks (DESIGN.md, "A post's life"; issue 14).

Right before a claimed post's request leaves, the worker marks it as being sent. After a
crash, the lease expiry sends claimed posts that were never marked back to `scheduled` (they
were never sent) and makes only the marked ones `unknown`.

A mark is one more write per post: marks that arrive while one is being committed share the
next transaction and one UPDATE, so a burst at Telegram's 30/s costs a few commits a second,
not thirty, and the publishing pace holds.
"""

from __future__ import annotations

import asyncio
import logging

from platforms.base import ErrorClass, PublishError
from platforms.errors import ErrorCode
from services.clock import Clock
from storage.repositories import PostRepository
from storage.uow import Database

log = logging.getLogger("ScheduledPostsWorker")


class SendingMarks:
    """Batches `PostRepository.mark_sending` for one worker (one lease owner)."""

    def __init__(self, db: Database, worker_id: str, clock: Clock) -> None:
        self.db = db
        self.worker_id = worker_id
        self.clock = clock
        self._pending: list[tuple[int, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # How many marks each commit carried (the bench reads it; bounded, newest kept).
        self.batch_sizes: list[int] = []

    async def mark(self, post_id: int) -> None:
        """Returns once the mark is committed. Raises PublishError when the request must not
        leave: TRANSIENT when the mark could not be written (nothing was sent, so a retry is
        safe), and `lost_lease` when this worker no longer holds the post."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((post_id, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        try:
            held = await future
        except Exception as exc:
            raise PublishError(
                ErrorClass.TRANSIENT,
                f"could not mark the post as being sent: {type(exc).__name__}",
                code=ErrorCode.NETWORK,
            ) from exc
        if not held:
            raise LostLease(post_id)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            ids = [post_id for post_id, _future in batch]
            try:
                async with self.db.write() as session:
                    held = await PostRepository(session).mark_sending(
                        ids, self.worker_id, self.clock.now()
                    )
            except Exception as exc:
                log.warning("could not write %d sending mark(s): %r", len(ids), exc)
                for _post_id, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batch_sizes.append(len(ids))
            del self.batch_sizes[:-1000]
            for post_id, future in batch:
                if not future.done():
                    future.set_result(post_id in held)


class LostLease(Exception):
    """The post's lease ran out before its request left, and the lease expiry already gave
    it back to `scheduled`: another claim publishes it; this worker must not."""

    def __init__(self, post_id: int) -> None:
        super().__init__(f"post {post_id}: lease lost before sending")
        self.post_id = post_id
