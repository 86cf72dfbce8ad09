"""Alembic migrations of the bot's schema (env.py, versions/).

`HEAD_REVISION` lets start-up tell whether the database is current with one query and without
importing Alembic (storage.db.ensure_schema). Whoever adds a migration updates it; a test
compares it with Alembic's own head (tests/foundation/test_migrations.py).
"""

HEAD_REVISION = "0011_notify_published"
