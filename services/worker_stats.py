from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class WorkerStats:
    """What /health/workers and /workers report about one worker."""

    name: str
    interval: float
    is_running: bool = False
    started_at: datetime | None = None
    last_run: datetime | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None
    processed: int = 0
    failed: int = 0
    runs: int = 0
    failed_runs: int = 0
    consecutive_failures: int = 0
    last_duration: float | None = None
    last_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def healthy(self, now: datetime) -> bool:
        """Unhealthy when it is not running, or has not succeeded for three intervals."""
        if not self.is_running:
            return False
        reference = self.last_success or self.started_at
        if reference is None:
            return True
        return (now - reference).total_seconds() <= 3 * self.interval + 5

    def as_dict(self, now: datetime) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "is_running": self.is_running,
            "healthy": self.healthy(now),
            "interval_seconds": self.interval,
            "last_run": iso(self.last_run),
            "last_success": iso(self.last_success),
            "next_run": iso(self.next_run),
            "processed": self.processed,
            "failed": self.failed,
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            "consecutive_failures": self.consecutive_failures,
            "last_duration_seconds": self.last_duration,
            # The class only: exception text may carry URLs, ids or a platform's answer, and
            # this endpoint is for monitoring (the log and the admins' alert have the rest).
            "last_error": self.last_error.split(":", 1)[0] if self.last_error else None,
        }
