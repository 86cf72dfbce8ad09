"""JSON shapes of the Mini App's API (plain dicts: what the page reads)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.calendar import (
    DRAGGABLE,
    CalendarPost,
    CalendarView,
    RuleRun,
    actions_for,
    is_queued,
    local_wall_time,
    shows_error,
)
from services.posts import PostOptions
from webapp.html import safe_post_html

if TYPE_CHECKING:
    from storage.models import Content, ScheduledPost, Target


def wall(value: datetime, timezone: str) -> str:
    return local_wall_time(value, timezone).strftime("%Y-%m-%dT%H:%M")


def utc(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def post_item(post: CalendarPost, timezone: str) -> dict[str, Any]:
    return {
        "id": post.id,
        "content_id": post.content_id,
        "target_id": post.target_id,
        "target": post.target_title,
        "platform": post.platform,
        "status": post.status,
        "queued": post.queued,
        "at": utc(post.at),
        "local": wall(post.at, timezone),
        "snippet": post.snippet,
        "rule_id": post.rule_id,
        "draggable": post.status in DRAGGABLE,
    }


def ghost_item(run: RuleRun, timezone: str) -> dict[str, Any]:
    return {
        "rule_id": run.rule_id,
        "rule": run.rule_name,
        "at": utc(run.at),
        "local": wall(run.at, timezone),
        "target_ids": list(run.target_ids),
    }


def calendar_body(view: CalendarView, timezone: str) -> dict[str, Any]:
    return {
        "from": utc(view.start),
        "to": utc(view.end),
        "posts": [post_item(p, timezone) for p in view.posts],
        "ghosts": [ghost_item(g, timezone) for g in view.ghosts],
        "truncated": view.truncated,
    }


def target_item(target: Target) -> dict[str, Any]:
    return {
        "id": target.id,
        "platform": target.platform,
        "title": target.title,
        "handle": target.handle,
        "status": target.status,
    }


def post_detail(
    post: ScheduledPost, content: Content, target: Target, timezone: str
) -> dict[str, Any]:
    options = PostOptions.from_stored(post.options)
    media = content.media or []
    return {
        "id": post.id,
        "content_id": content.id,
        "status": post.status,
        "queued": is_queued(post),
        "at": utc(post.scheduled_time),
        "local": wall(post.scheduled_time, timezone),
        "published_local": wall(post.published_at, timezone) if post.published_at else None,
        "target": target_item(target),
        "title": content.title,
        # The post as the channel will show it: Telegram's tags only, the rest escaped.
        "html": safe_post_html(content.text or ""),
        "pictures": sum(
            1 for m in media if isinstance(m, dict) and m.get("kind", "photo") == "photo"
        ),
        "silent": options.silent,
        "pinned": options.pin,
        "buttons": [{"text": b.text, "url": b.url} for b in options.buttons],
        "external_url": post.external_url,
        "error_code": post.error_code if shows_error(post) else None,
        "attempts": post.attempts,
        "rule_id": post.rule_id,
        "actions": actions_for(post.status),
        "draggable": post.status in DRAGGABLE,
    }
