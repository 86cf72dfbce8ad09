"""aiogram FSM storage in the project's database, so a dialog survives a restart.

Every call is its own short unit: reads are read-only units, and writes start with their
write (an UPSERT), so the storage never holds a connection across an update and never
upgrades a read transaction into a write one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import delete, select

from storage.models import FsmRecord, utcnow
from storage.uow import Database


class DatabaseFsmStorage(BaseStorage):
    def __init__(self, db: Database, key_builder: KeyBuilder | None = None):
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        # Only this database's dialect: PostgreSQL's costs 2 MiB in a bot running on SQLite.
        self._insert: Any
        if db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            self._insert = sqlite_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            self._insert = pg_insert

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def _upsert(self, key: str, **values: Any) -> None:
        """Writes `values` (state or data) first; then drops the row if nothing is left.

        Clearing a key that has no row costs one read and no write: aiogram_dialog saves an
        empty dialog stack after every update, and on SQLite a write takes the process's
        one writer turn."""
        if all(not value for value in values.values()):
            async with self.db.read() as session:
                exists = await session.scalar(select(FsmRecord.key).where(FsmRecord.key == key))
            if exists is None:
                return
        statement = self._insert(FsmRecord).values(
            key=key, state=values.get("state"), data=values.get("data", {}), updated_at=utcnow()
        )
        statement = statement.on_conflict_do_update(
            index_elements=[FsmRecord.key], set_={**values, "updated_at": utcnow()}
        )
        async with self.db.write() as session:
            await session.execute(statement)
            row = (
                await session.execute(
                    select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key)
                )
            ).first()
            if row is not None and row.state is None and not row.data:
                await session.execute(delete(FsmRecord).where(FsmRecord.key == key))

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._upsert(self._key(key), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.db.read() as session:
            return await session.scalar(
                select(FsmRecord.state).where(FsmRecord.key == self._key(key))
            )

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._upsert(self._key(key), data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.db.read() as session:
            data = await session.scalar(
                select(FsmRecord.data).where(FsmRecord.key == self._key(key))
            )
            return dict(data) if data else {}

    async def close(self) -> None:
        return None
