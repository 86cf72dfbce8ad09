"""Builds everything once, from settings: Bot, Dispatcher, scheduler, workers, services."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.i18n import I18n
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.health import create_health_app, start_health_server
from bot.miniapp import install_miniapp, mount_on_health, start_miniapp, stop_miniapp
from bot.notifier import TelegramNotifier
from bot.settings import AccessMode, RateLimitBackend, Settings
from content.generator import ContentGenerator, UnavailableGenerator
from handlers import build_root_router
from handlers.commands import set_bot_commands
from handlers.i18n import UserLanguageMiddleware, create_i18n
from handlers.middlewares import (
    AccessMiddleware,
    ConcurrencyMiddleware,
    PrivateChatsMiddleware,
    ThrottleMiddleware,
    UserMiddleware,
)
from platforms.base import MediaItem, PublisherRegistry
from platforms.credentials import SecretBox
from platforms.telegram import TelegramChannelVerifier, TelegramPublisher
from services.accounts import AccountLinkers
from services.clock import Clock, SystemClock
from services.container import ChatLimits, Services
from services.notify import NullWaker, OutboxNotifier, Waker
from services.post_life import PostLifeService
from services.ratelimit import (
    DatabaseLimiter,
    MemoryLimiter,
    RedisLimiter,
    SharedLimiter,
    token_prefix,
)
from services.rules import RuleBounds
from storage.db import SessionFactory, create_engine, create_session_factory
from storage.fsm import DatabaseFsmStorage
from storage.uow import Database
from workers.auto_posting import AutoPostingWorker
from workers.notifications import LimiterSlots, NotificationsWorker, coalesce_wakes
from workers.policy import RetryPolicy
from workers.post_actions import PostActionsWorker
from workers.runner import WorkerGroup, WorkerRunner
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

log = logging.getLogger("app")


class LateWaker:
    """Handed to handlers before the workers exist; forwards once they start."""

    def __init__(self) -> None:
        self.target: Waker = NullWaker()

    def wake_posts(self) -> None:
        self.target.wake_posts()

    def wake_rules(self) -> None:
        self.target.wake_rules()


@dataclass
class App:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    db: Database
    services: Services
    # Plain sessions for tests and tools that seed or inspect the database directly; the
    # application itself goes through `db` units only.
    session_factory: SessionFactory
    i18n: I18n
    clock: Clock
    publishers: PublisherRegistry
    secrets: SecretBox
    notifier: TelegramNotifier
    generator: ContentGenerator
    waker: LateWaker
    # The send limits shared by every process of this bot (services/ratelimit.py).
    limiter: SharedLimiter = field(default_factory=MemoryLimiter)
    # What the workers tell people goes through the outbox (issue 14); `notifier` renders
    # and sends the outbox's rows (and still sends at once for tools and tests).
    outbox: OutboxNotifier | None = None
    workers: WorkerGroup | None = None
    health_runner: web.AppRunner | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def create_bot(settings: Settings, session: AiohttpSession | None = None) -> Bot:
    if session is None and settings.telegram_api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_limiter(settings: Settings, db: Database) -> SharedLimiter:
    """Redis when REDIS_URL is set, the database on PostgreSQL, memory on SQLite (one
    process); RATE_LIMIT_BACKEND forces one. Keys carry a hash of the token, never it."""
    backend = settings.rate_limit_backend
    if backend == RateLimitBackend.AUTO:
        if settings.redis_url:
            backend = RateLimitBackend.REDIS
        elif db.engine.dialect.name == "postgresql":
            backend = RateLimitBackend.DATABASE
        else:
            backend = RateLimitBackend.MEMORY
    prefix = token_prefix(settings.bot_token.get_secret_value(), settings.rate_limit_namespace)
    if backend == RateLimitBackend.REDIS:
        if not settings.redis_url:
            raise ValueError("RATE_LIMIT_BACKEND=redis needs REDIS_URL")
        return RedisLimiter(settings.redis_url, prefix=prefix + "rl:")
    if backend == RateLimitBackend.DATABASE:
        return DatabaseLimiter(db, prefix=prefix)
    return MemoryLimiter()


def create_fsm_storage(settings: Settings, db: Database) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True)
        )
    return DatabaseFsmStorage(db)


def create_generator(settings: Settings) -> ContentGenerator:
    if not settings.ai_enabled:
        return UnavailableGenerator()
    try:
        from content.ai import OpenAIGenerator
    except ImportError:
        return UnavailableGenerator()
    return OpenAIGenerator.from_settings(settings)  # type: ignore[no-any-return]


def create_publishers(settings: Settings, bot: Bot, secrets: SecretBox) -> PublisherRegistry:
    registry = PublisherRegistry()
    registry.register(
        TelegramPublisher(
            bot,
            timeout=settings.publish_timeout,
            owner_rights_ttl=settings.owner_rights_ttl_seconds,
        )
    )
    try:
        from platforms.registry import register_optional_publishers
    except ImportError:
        return registry
    register_optional_publishers(registry, settings)
    return registry


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    bot_session: AiohttpSession | None = None,
    engine: AsyncEngine | None = None,
) -> App:
    clock = clock or SystemClock()
    engine = engine or create_engine(settings.database_url)
    db = Database(engine, write_timeout=settings.db_write_timeout)
    session_factory = create_session_factory(engine)
    bot = create_bot(settings, bot_session)
    i18n = create_i18n(settings.default_language)
    secrets = SecretBox(
        settings.secret_key.get_secret_value() if settings.secret_key else None,
        salt_dir=settings.data_dir,
        previous=(
            settings.previous_secret_key.get_secret_value()
            if settings.previous_secret_key
            else None
        ),
    )
    publishers = create_publishers(settings, bot, secrets)
    # The workers' messages to owners; approval requests carry the draft and its buttons.
    notifier = TelegramNotifier(bot, db, i18n, settings.admin_ids, clock=clock)
    generator = create_generator(settings)
    waker = LateWaker()

    services = Services.build(
        db,
        clock=clock,
        waker=waker,
        generator=generator,
        secrets=secrets,
        linkers=AccountLinkers.from_settings(settings),  # X and Instagram linking
        limits=ChatLimits(
            instagram_hashtag_limit=settings.instagram_hashtag_limit,
            admin_ids=frozenset(settings.admin_ids),
            rule_bounds=RuleBounds(
                min_interval_minutes=settings.rule_min_interval_minutes,
                max_rules_per_user=settings.max_rules_per_user,
                default_daily_cap=settings.default_rule_daily_cap,
                max_daily_cap=settings.max_rule_daily_cap,
            ),
            ai_daily_quota_per_user=settings.ai_daily_quota_per_user,
            limits_exempt=(
                frozenset(settings.admin_ids)
                if settings.admins_exempt_from_limits
                else frozenset()
            ),
        ),
        channel_verifier=TelegramChannelVerifier(bot),
    )
    services.post_life = PostLifeService(db, clock, publishers, secrets)
    if settings.redis_url and services.albums is not None:
        # Webhook replicas (issue 14): album parts in Redis, not one database write a photo.
        services.albums.use_redis(
            settings.redis_url,
            token_prefix(settings.bot_token.get_secret_value(), settings.rate_limit_namespace)
            + "album:",
        )

    fsm_storage = create_fsm_storage(settings, db)
    dp = Dispatcher(storage=fsm_storage)
    # Order matters (see handlers/middlewares.py): private chats only, drop a flood before
    # it costs anything, cap the updates in flight, refuse strangers before storing them,
    # then load the user.
    dp.update.outer_middleware(PrivateChatsMiddleware())
    dp.update.outer_middleware(ThrottleMiddleware(settings.throttle_rate, settings.throttle_burst))
    dp.update.outer_middleware(ConcurrencyMiddleware(settings.max_concurrent_updates))
    allowed = None
    if settings.access == AccessMode.ALLOWLIST:
        allowed = set(settings.admin_ids) | set(settings.allowed_user_ids)
    dp.update.outer_middleware(AccessMiddleware(allowed))
    dp.update.outer_middleware(
        UserMiddleware(
            services.users,
            set(settings.admin_ids),
            settings.default_language,
            settings.default_timezone,
        )
    )
    dp.update.outer_middleware(UserLanguageMiddleware(i18n))
    # With Redis, one user's dialog updates are serialised across every process (replicas
    # behind one webhook); otherwise aiogram_dialog's in-process lock is enough.
    isolation = fsm_storage.create_isolation() if settings.redis_url else None  # type: ignore[attr-defined]
    dp.include_router(build_root_router(isolation))

    app = App(
        settings=settings,
        bot=bot,
        dispatcher=dp,
        engine=engine,
        db=db,
        services=services,
        session_factory=session_factory,
        i18n=i18n,
        clock=clock,
        publishers=publishers,
        secrets=secrets,
        notifier=notifier,
        generator=generator,
        waker=waker,
        limiter=create_limiter(settings, db),
        outbox=OutboxNotifier(db, settings.admin_ids, clock=clock),
    )
    # Dependencies reach handlers by parameter name: `services` is the typed container.
    dp["services"] = services
    services.worker_stats = lambda: app.workers.stats() if app.workers else []
    dp["i18n"] = i18n  # the error handler and the middlewares speak the user's language
    install_miniapp(app)  # the main menu's Mini App button, when MINIAPP_URL is set

    async def _startup() -> None:
        await on_startup(app)

    async def _shutdown() -> None:
        await on_shutdown(app)

    dp.startup.register(_startup)
    dp.shutdown.register(_shutdown)
    return app


def create_workers(app: App, scheduler: AsyncIOScheduler) -> WorkerGroup:
    settings = app.settings
    # The workers enqueue what they tell people (one short write, no network); the
    # notifications worker below sends it through the shared limiter.
    told = app.outbox or app.notifier

    async def load_media(item: MediaItem) -> bytes:
        if item.path:
            return await asyncio.to_thread(_read_file, item.path)
        buffer = await app.bot.download(item.telegram_file_id or "")
        assert buffer is not None
        return buffer.read()

    posts = ScheduledPostsWorker(
        app.db,
        app.publishers,
        clock=app.clock,
        notifier=told,
        retry=RetryPolicy(
            max_attempts=settings.publish_max_attempts, base_delay=settings.publish_backoff_base
        ),
        limits=RateLimits(
            telegram_global_per_second=settings.telegram_global_rate,
            telegram_per_channel_per_minute=settings.telegram_channel_per_minute,
            hourly_caps={
                "telegram": settings.telegram_hourly_cap,
                "instagram": settings.instagram_hourly_cap,
                "x": settings.x_hourly_cap,
            },
            margin=settings.rate_limit_margin,
        ),
        limiter=app.limiter,
        secrets=app.secrets,
        media_loader=load_media,
        lease=timedelta(seconds=settings.publish_lease_seconds),
        grace=timedelta(seconds=settings.missed_grace_seconds),
        concurrency=settings.publish_concurrency,
        lateness_alert_seconds=settings.alert_lateness_seconds,
    )
    rules = AutoPostingWorker(
        app.db,
        generator=app.generator,
        clock=app.clock,
        notifier=told,
        waker=app.waker,
        grace=timedelta(
            seconds=max(settings.missed_grace_seconds, settings.auto_posting_interval)
        ),
        retry_delay=timedelta(seconds=settings.rule_retry_delay),
        max_retries=settings.rule_max_retries,
    )
    runners = [
        WorkerRunner(
            posts,
            settings.scheduled_posts_interval,
            scheduler,
            clock=app.clock,
            notifier=told,
            alert_after_failures=settings.alert_failed_runs,
        ),
        WorkerRunner(
            rules,
            settings.auto_posting_interval,
            scheduler,
            clock=app.clock,
            notifier=told,
            alert_after_failures=settings.alert_failed_runs,
        ),
    ]
    if app.services.post_life is not None:
        # Auto-deletes and the ends of timed pins (issue 12): on time from the wake-up.
        actions = PostActionsWorker(
            app.db, app.services.post_life, clock=app.clock, notifier=app.notifier
        )
        runners.append(
            WorkerRunner(
                actions,
                settings.scheduled_posts_interval,
                scheduler,
                clock=app.clock,
                notifier=app.notifier,
                alert_after_failures=settings.alert_failed_runs,
            )
        )
    if app.outbox is not None:
        drainer = NotificationsWorker(
            app.db,
            app.notifier,
            slots=LimiterSlots(app.limiter, global_rate=settings.telegram_global_rate),
            clock=app.clock,
            group_quiet=settings.notify_group_seconds,
        )
        drain_runner = WorkerRunner(
            drainer,
            settings.notifications_interval,
            scheduler,
            clock=app.clock,
            # Its own failures are logged: alerting through the outbox it drains would loop.
            alert_after_failures=settings.alert_failed_runs,
        )
        runners.append(drain_runner)
        app.outbox.on_enqueued = coalesce_wakes(drain_runner.wake)
    return WorkerGroup(scheduler, runners)


def _read_file(path: str) -> bytes:
    with open(path, "rb") as fp:
        return fp.read()


async def start_workers(app: App) -> None:
    """Inside the running loop: the scheduler binds to the loop it is started in."""
    if app.settings.disable_workers:
        logging.getLogger("app").warning("⚠️ WORKERS DISABLED: Background workers отключены")
        return
    scheduler = AsyncIOScheduler(timezone="UTC")
    app.workers = create_workers(app, scheduler)
    app.workers.start()
    app.waker.target = app.workers


async def start_health(app: App) -> None:
    if app.settings.health_port == 0:
        return
    health = create_health_app(
        lambda: app.workers.stats() if app.workers else [],
        workers_enabled=not app.settings.disable_workers,
    )
    mount_on_health(app, health)  # the Mini App under /app/, unless it has its own port
    try:
        app.health_runner = await start_health_server(
            health, app.settings.health_host, app.settings.health_port
        )
    except OSError as exc:
        log.error("health server could not listen on port %s: %s", app.settings.health_port, exc)
        return
    log.info("Health server on %s:%s", app.settings.health_host, app.settings.health_port)


async def on_startup(app: App) -> None:
    await start_workers(app)
    await start_health(app)
    await start_miniapp(app)
    try:
        await set_bot_commands(app.bot, app.i18n)
    except Exception as exc:  # the menu is a nicety; never block start-up on it
        log.warning("could not register bot commands: %s", type(exc).__name__)
    # No dateparser warm-up here: it is loaded on the first typed time (about 0.15 s once),
    # so that a bot nobody writes to does not carry its import and memory.


async def on_shutdown(app: App) -> None:
    if app.workers is not None:
        app.workers.shutdown()
    if app.health_runner is not None:
        await app.health_runner.cleanup()
    await stop_miniapp(app)
    # The model's HTTP client closes with the loop still running (not at garbage collection,
    # when the loop may be gone).
    close_generator = getattr(app.generator, "close", None)
    if close_generator is not None:
        await close_generator()
    await app.limiter.close()
    if app.services.albums is not None:
        await app.services.albums.close()
    await app.engine.dispose()
