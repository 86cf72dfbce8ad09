from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.__main__ import explain_settings_error
from bot.settings import Settings
from tests.conftest import TEST_TOKEN, make_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_seed() -> None:
    settings = make_settings()
    assert settings.scheduled_posts_interval == 60
    assert settings.auto_posting_interval == 300
    assert settings.database_url.startswith("sqlite+aiosqlite:///data/")
    assert settings.disable_workers is False


def test_lists_and_flags_parse_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("ADMIN_IDS", "1, 2 3")
    monkeypatch.setenv("DISABLE_WORKERS", "true")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    settings = Settings()  # type: ignore[call-arg]
    assert settings.admin_ids == [1, 2, 3]
    assert settings.disable_workers is True
    assert settings.openai_api_key is None  # empty means "not set"


def test_missing_token_is_explained() -> None:
    with pytest.raises(ValidationError) as error:
        Settings()  # type: ignore[call-arg]
    text = explain_settings_error(error.value)
    assert "BOT_TOKEN is missing" in text
    assert "@BotFather" in text


@pytest.mark.parametrize("token", ["abc", "123:short", "not a token at all 1234567890"])
def test_malformed_token_is_explained(token: str) -> None:
    with pytest.raises(ValidationError) as error:
        make_settings(bot_token=token)
    assert "does not look like a Telegram bot token" in explain_settings_error(error.value)
    assert token not in explain_settings_error(error.value) or len(token) < 10


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        make_settings(default_timezone="Mars/Olympus")


def test_process_without_token_exits_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in {"BOT_TOKEN"}}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "BOT_TOKEN is missing" in result.stderr
    assert "Traceback" not in result.stderr
