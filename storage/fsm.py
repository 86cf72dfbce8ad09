"""aiogram FSM storage in the project's database, so a dialog survives a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import delete

from storage.db import SessionFactory
from storage.models import FsmRecord


class DatabaseFsmStorage(BaseStorage):
    def __init__(self, session_factory: SessionFactory, key_builder: KeyBuilder | None = None):
        self.session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self.session_factory() as session, session.begin():
            record = await session.get(FsmRecord, self._key(key))
            if record is None:
                if value is None:
                    return
                session.add(FsmRecord(key=self._key(key), state=value, data={}))
            else:
                record.state = value
                if value is None and not record.data:
                    await session.execute(delete(FsmRecord).where(FsmRecord.key == record.key))

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.session_factory() as session:
            record = await session.get(FsmRecord, self._key(key))
            return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self.session_factory() as session, session.begin():
            record = await session.get(FsmRecord, self._key(key))
            if record is None:
                if not data:
                    return
                session.add(FsmRecord(key=self._key(key), state=None, data=dict(data)))
            elif not data and record.state is None:
                await session.execute(delete(FsmRecord).where(FsmRecord.key == record.key))
            else:
                record.data = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.session_factory() as session:
            record = await session.get(FsmRecord, self._key(key))
            return dict(record.data) if record and record.data else {}

    async def close(self) -> None:
        return None
