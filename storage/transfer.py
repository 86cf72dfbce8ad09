"""Copies every row of one database into another of the same schema: moving from the single
SQLite process to PostgreSQL (`python -m bot migrate-data`).

Both sides are migrated to the current schema first; the target must be empty (nothing is
merged or overwritten). The copy goes table by table in foreign-key order and is one
transaction on the target: it lands whole or not at all. PostgreSQL's id sequences are moved
past the copied ids so that new rows do not collide with them. Rows pass through SQLAlchemy's
column types, so times stay UTC and typed JSON stays valid on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Integer, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import create_engine, upgrade_database
from storage.models import Base

BATCH_ROWS = 1000


class TargetNotEmptyError(RuntimeError):
    """The target database already holds rows: refusing to mix two bots' data."""


@dataclass
class TransferReport:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


async def _count(connection: AsyncConnection, table: Table) -> int:
    return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def _non_empty_tables(connection: AsyncConnection) -> list[str]:
    return [table.name for table in _tables() if await _count(connection, table)]


async def _advance_sequences(connection: AsyncConnection) -> None:
    for table in _tables():
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer) or column.autoincrement is False:
                continue
            sequence = (
                await connection.execute(
                    text("SELECT pg_get_serial_sequence(:table, :column)"),
                    {"table": table.name, "column": column.name},
                )
            ).scalar_one()
            if sequence is None:
                continue
            highest = (await connection.execute(select(func.max(column)))).scalar_one()
            if highest is not None:
                await connection.execute(
                    text("SELECT setval(:sequence, :value)"),
                    {"sequence": sequence, "value": int(highest)},
                )


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    progress: Callable[[str, int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> TransferReport:
    """Copies everything from `source_url` into the empty database at `target_url`."""
    if source_url == target_url:
        raise ValueError("the source and the target are the same database")
    await upgrade_database(source_url)
    await upgrade_database(target_url)
    source = create_engine(source_url)
    target = create_engine(target_url)
    report = TransferReport()
    try:
        async with source.connect() as reader, target.begin() as writer:
            occupied = await _non_empty_tables(writer)
            if occupied:
                raise TargetNotEmptyError(
                    "the target database already holds data (" + ", ".join(occupied) + ")"
                )
            for table in _tables():
                copied = 0
                ordered = select(table).order_by(*table.primary_key.columns)
                result = await reader.stream(ordered)
                async for rows in result.mappings().partitions(batch_rows):
                    await writer.execute(insert(table), [dict(row) for row in rows])
                    copied += len(rows)
                report.rows[table.name] = copied
                if progress is not None:
                    progress(table.name, copied)
            if writer.dialect.name == "postgresql":
                await _advance_sequences(writer)
            # Checked before the commit: a short copy is rolled back, not kept.
            for table in _tables():
                landed = await _count(writer, table)
                if landed != report.rows[table.name]:
                    raise RuntimeError(
                        f"{table.name}: copied {report.rows[table.name]} rows, found {landed}"
                    )
    finally:
        await source.dispose()
        await target.dispose()
    return report
