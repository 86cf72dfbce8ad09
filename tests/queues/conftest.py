"""The chat's fixtures (tests/ux/conftest.py) for the queues' chat tests."""

from tests.ux.conftest import generator, harness, migrated_sqlite, sqlite_harness

__all__ = ["generator", "harness", "migrated_sqlite", "sqlite_harness"]
