"""`/health`, `/health/workers` and `/metrics` on an aiohttp server in the bot's loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.worker_stats import WorkerStats


def create_health_app(
    stats: Callable[[], list[WorkerStats]], workers_enabled: bool = True
) -> web.Application:
    async def health(_request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        healthy = all(s.healthy(now) for s in stats()) if workers_enabled else True
        return web.json_response(
            {"status": "ok" if healthy else "degraded"}, status=200 if healthy else 503
        )

    async def health_workers(_request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        items = stats()
        body = {
            "workers_enabled": workers_enabled,
            **{_key(s.name): s.as_dict(now) for s in items},
        }
        healthy = all(s.healthy(now) for s in items)
        return web.json_response(body, status=200 if healthy or not workers_enabled else 503)

    async def metrics(_request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest())
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/health/workers", health_workers)
    app.router.add_get("/metrics", metrics)
    return app


def _key(name: str) -> str:
    # The seed's keys: scheduled_posts_worker, auto_posting_worker.
    out = ""
    for ch in name:
        if ch.isupper() and out:
            out += "_"
        out += ch.lower()
    return out


async def start_health_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
