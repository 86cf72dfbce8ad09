from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,}$")


class AccessMode(StrEnum):
    OPEN = "open"
    ALLOWLIST = "allowlist"


class RateLimitBackend(StrEnum):
    AUTO = "auto"
    MEMORY = "memory"
    DATABASE = "database"
    REDIS = "redis"


def _int_list(value: object) -> object:
    if isinstance(value, str):
        return [int(part) for part in re.split(r"[,\s]+", value.strip()) if part]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    """Everything the process reads from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    bot_token: SecretStr
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    access: AccessMode = AccessMode.OPEN

    database_url: str = "sqlite+aiosqlite:///data/curator.db"
    redis_url: str | None = None
    # SQLite: the longest a write may wait for its turn before the user is told to retry.
    db_write_timeout: float = Field(default=30.0, gt=0, le=600)
    # Fairness: a user's updates beyond `burst` at once and `rate` per second are dropped
    # (told once to slow down); at most `max_concurrent_updates` are handled at once.
    throttle_rate: float = Field(default=2.0, ge=0)
    throttle_burst: int = Field(default=8, ge=1, le=1000)
    max_concurrent_updates: int = Field(default=32, ge=1, le=1024)
    telegram_api_base: str | None = None

    disable_workers: bool = False
    scheduled_posts_interval: float = Field(default=60.0, gt=0)
    auto_posting_interval: float = Field(default=300.0, gt=0)
    # The notification outbox's drainer (issue 14): how often it looks (enqueues wake it at
    # once), and how long a burst of failures for one owner may keep growing before it is
    # sent as one message.
    notifications_interval: float = Field(default=10.0, gt=0)
    notify_group_seconds: float = Field(default=2.0, ge=0, le=60)
    publish_max_attempts: int = Field(default=3, ge=1, le=20)
    publish_backoff_base: float = Field(default=30.0, gt=0)
    publish_lease_seconds: float = Field(default=120.0, gt=0)
    publish_timeout: float = Field(default=30.0, gt=0)
    # How long a channel owner's "may still post there" answer is trusted before publishing.
    owner_rights_ttl_seconds: float = Field(default=300.0, ge=0, le=3600)
    missed_grace_seconds: float = Field(default=900.0, ge=0)
    publish_concurrency: int = Field(default=16, ge=1, le=256)
    telegram_global_rate: float = Field(default=30.0, gt=0)
    telegram_channel_per_minute: int = Field(default=20, ge=1)
    telegram_hourly_cap: int = Field(default=30, ge=0)
    instagram_hourly_cap: int = Field(default=25, ge=0)
    x_hourly_cap: int = Field(default=300, ge=0)
    # The send limits every process of the bot shares (issue 14): "auto" keeps them in Redis
    # when REDIS_URL is set, else in the database on PostgreSQL, else in memory (SQLite,
    # one process). RATE_LIMIT_MARGIN widens every window a little for network jitter.
    rate_limit_backend: RateLimitBackend = RateLimitBackend.AUTO
    rate_limit_margin: float = Field(default=0.02, ge=0, le=0.5)
    # First part of the limiter's keys (then a hash of the token): bots sharing one Redis
    # or database are kept apart by the token already; tests set their own.
    rate_limit_namespace: str = Field(default="cc", min_length=1, max_length=40)
    alert_failed_runs: int = Field(default=3, ge=1)
    alert_lateness_seconds: float = Field(default=60.0, gt=0)

    log_level: str = "INFO"
    log_file: Path | None = Path("logs/app.log")
    # Loopback by default: the health and metrics server has no authentication. The Docker
    # image sets 0.0.0.0 (the container's own network), published on 127.0.0.1 by compose.
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8080, ge=0, le=65535)
    default_timezone: str = "UTC"
    default_language: str = "en"
    run_mode: str = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Files the bot keeps beside its database: the generated webhook secret.
    data_dir: Path = Path("data")
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8081
    # The Mini App (issue 13): the calendar page and its API. Served when MINIAPP_URL (the
    # public HTTPS address that reaches /app/ on this process, e.g. https://bot.example.org/app/)
    # is set: under /app/ on the health server, or on its own MINIAPP_HOST:MINIAPP_PORT when
    # MINIAPP_PORT is set (0 = any free port). initData older than MINIAPP_AUTH_MAX_AGE
    # seconds is refused.
    miniapp_url: str | None = None
    miniapp_host: str = "127.0.0.1"
    miniapp_port: int | None = Field(default=None, ge=0, le=65535)
    miniapp_auth_max_age: int = Field(default=86400, ge=60, le=30 * 86400)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout: float = Field(default=60.0, gt=0)
    openai_max_retries: int = Field(default=2, ge=0)

    # Auto-posting rules (issue 4): a transient AI failure retries the same execution after
    # RULE_RETRY_DELAY seconds (doubling), at most RULE_MAX_RETRIES times per execution.
    rule_retry_delay: float = Field(default=300.0, gt=0)
    rule_max_retries: int = Field(default=3, ge=0, le=10)

    # Bounds (issue 11): how often a rule may run, how many rules a user may have, the daily
    # cap a new rule gets (the owner may change it within 1..MAX_RULE_DAILY_CAP), and the AI
    # requests a user may make per day for /new AI, Try it and Regenerate (0 = unlimited).
    # Admins (ADMIN_IDS) are exempt from all of them unless ADMINS_EXEMPT_FROM_LIMITS=false.
    rule_min_interval_minutes: int = Field(default=15, ge=1, le=1440)
    max_rules_per_user: int = Field(default=20, ge=1, le=10_000)
    default_rule_daily_cap: int = Field(default=10, ge=1, le=1440)
    max_rule_daily_cap: int = Field(default=48, ge=1, le=1440)
    ai_daily_quota_per_user: int = Field(default=30, ge=0, le=1_000_000)
    admins_exempt_from_limits: bool = True

    x_consumer_key: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    x_api_base: str | None = None
    instagram_hashtag_limit: int = Field(default=30, ge=0, le=30)
    instagram_delay_min: float = 1.0
    instagram_delay_max: float = 3.0

    # Fernet keys (comma-separated, the first encrypts) or one passphrase (commas included),
    # stretched with scrypt and a salt kept in DATA_DIR/secret_salt. PREVIOUS_SECRET_KEY
    # only decrypts, until `python -m bot rotate-secrets` has re-encrypted everything.
    secret_key: SecretStr | None = None
    previous_secret_key: SecretStr | None = None

    @model_validator(mode="after")
    def _caps_in_order(self) -> Settings:
        if self.default_rule_daily_cap > self.max_rule_daily_cap:
            raise ValueError("DEFAULT_RULE_DAILY_CAP must not exceed MAX_RULE_DAILY_CAP")
        return self

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError(
                "BOT_TOKEN does not look like a Telegram bot token "
                "(expected '<digits>:<35 characters>' from @BotFather)"
            )
        return SecretStr(value.get_secret_value().strip())

    @field_validator("admin_ids", "allowed_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        return _int_list(value)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("en", "ru"):
            raise ValueError("DEFAULT_LANGUAGE must be 'en' or 'ru'")
        return value

    @field_validator("miniapp_url")
    @classmethod
    def _https_miniapp(cls, value: str | None) -> str | None:
        # Telegram opens Mini Apps over HTTPS only (a web_app button with http:// is refused).
        if value is not None and not re.match(r"^https://[^\s/?#]+(?:/\S*)?$", value):
            raise ValueError("MINIAPP_URL must be an https:// URL (Telegram requires HTTPS)")
        return value

    @field_validator("log_file", mode="before")
    @classmethod
    def _empty_log_file(cls, value: object) -> object:
        return None if value in ("", None) else value

    @property
    def ai_enabled(self) -> bool:
        return self.openai_api_key is not None or self.openai_base_url is not None

    @property
    def x_enabled(self) -> bool:
        return self.x_consumer_key is not None and self.x_consumer_secret is not None


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
