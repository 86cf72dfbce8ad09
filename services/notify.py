"""What the workers tell people. The chat layer implements it (it knows languages and
buttons); the composition root hands that implementation to the workers."""

from __future__ import annotations

from typing import Protocol


class OwnerNotifier(Protocol):
    async def post_published(self, owner_id: int, post_id: int, url: str | None) -> None: ...

    async def post_failed(self, owner_id: int, post_id: int, reason: str) -> None: ...

    async def post_needs_decision(self, owner_id: int, post_id: int, kind: str) -> None:
        """`kind` is "unknown" or "missed": the owner gets Retry / Mark published / Cancel."""

    async def target_broken(self, owner_id: int, target_id: int, reason: str) -> None: ...

    async def rule_failed(self, owner_id: int, rule_id: int, error: str) -> None: ...

    async def approval_requested(
        self, owner_id: int, rule_id: int, post_ids: list[int]
    ) -> None: ...

    async def admin_alert(self, text: str) -> None: ...


class NullNotifier:
    """For workers-only processes without a bot, and for tests that do not look."""

    async def post_published(self, owner_id: int, post_id: int, url: str | None) -> None:
        return None

    async def post_failed(self, owner_id: int, post_id: int, reason: str) -> None:
        return None

    async def post_needs_decision(self, owner_id: int, post_id: int, kind: str) -> None:
        return None

    async def target_broken(self, owner_id: int, target_id: int, reason: str) -> None:
        return None

    async def rule_failed(self, owner_id: int, rule_id: int, error: str) -> None:
        return None

    async def approval_requested(self, owner_id: int, rule_id: int, post_ids: list[int]) -> None:
        return None

    async def admin_alert(self, text: str) -> None:
        return None


class Waker(Protocol):
    """Tells the workers that something became due earlier than they planned to look."""

    def wake_posts(self) -> None: ...

    def wake_rules(self) -> None: ...


class NullWaker:
    def wake_posts(self) -> None:
        return None

    def wake_rules(self) -> None:
        return None
