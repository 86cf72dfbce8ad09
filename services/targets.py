"""Where posts go: the owner's Telegram channels, X and Instagram accounts."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence

from services.clock import Clock, SystemClock
from storage.models import Target
from storage.repositories import TargetRepository, Unlinked
from storage.uow import Database

PLATFORM_ORDER = ("telegram", "x", "instagram")


class TargetService:
    """Targets for their owner; there is no lookup by id alone here (see DESIGN.md)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    async def list(self, owner_id: int, platform: str | None = None) -> Sequence[Target]:
        async with self.db.read() as session:
            return await TargetRepository(session).list_for_owner(owner_id, platform)

    async def get(self, owner_id: int, target_id: int) -> Target | None:
        async with self.db.read() as session:
            return await TargetRepository(session).get_for_owner(owner_id, target_id)

    async def get_many(self, owner_id: int, target_ids: Iterable[int]) -> Sequence[Target]:
        async with self.db.read() as session:
            return await TargetRepository(session).get_many_for_owner(owner_id, target_ids)

    async def platforms(self, owner_id: int, chosen: Sequence[int] = ()) -> builtins.list[str]:
        """The chosen targets' platforms; before a choice, those of all the owner's targets
        (Telegram when there are none, so a preview always shows something)."""
        targets = await (self.get_many(owner_id, chosen) if chosen else self.list(owner_id))
        found = {t.platform for t in targets if t.platform in PLATFORM_ORDER}
        return sorted(found, key=PLATFORM_ORDER.index) or ["telegram"]

    async def link(
        self,
        owner_id: int,
        platform: str,
        external_id: str,
        title: str,
        handle: str | None = None,
    ) -> Target:
        """Stores a target whose checks the caller has already passed (on the network, before
        this unit opened)."""
        async with self.db.write() as session:
            return await TargetRepository(session).link(
                owner_id, platform, external_id, title, handle
            )

    async def unlink(self, owner_id: int, target_id: int) -> Unlinked | None:
        """Soft-deletes the target (history kept, waiting posts cancelled, rules lose it);
        None when it is not the owner's or already unlinked."""
        async with self.db.write() as session:
            return await TargetRepository(session).unlink_for_owner(
                owner_id, target_id, self.clock.now()
            )
