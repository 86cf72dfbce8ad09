"""The Mini App's JSON API (acceptance 2): initData on every call, one user's posts only,
and the chat's own checks on every change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.factory import App, create_app
from bot.miniapp import miniapp_config
from services.clock import ManualClock
from storage.db import create_session_factory
from storage.models import PostStatus
from tests.conftest import OTHER_USER_ID, USER_ID, make_settings
from tests.webapp.support import (
    MINIAPP_URL,
    NOW,
    Seeded,
    auth,
    init_data,
    load_post,
    moscow,
    seed_calendar,
)
from webapp.server import create_miniapp_app


@dataclass
class Api:
    client: TestClient
    app: App
    seeded: Seeded
    clock: ManualClock
    session_factory: Any

    async def get(self, path: str, user_id: int = USER_ID, **kw: Any) -> tuple[int, Any]:
        response = await self.client.get(
            "/app/api/" + path, headers=auth(init_data(user_id, auth_date=self.clock.now())), **kw
        )
        return response.status, await response.json()

    async def post(self, path: str, body: Any = None, user_id: int = USER_ID) -> tuple[int, Any]:
        response = await self.client.post(
            "/app/api/" + path,
            json=body if body is not None else {},
            headers=auth(init_data(user_id, auth_date=self.clock.now())),
        )
        return response.status, await response.json()


async def _api(
    url: str, engine: AsyncEngine, tmp_path: Path, **settings: Any
) -> AsyncIterator[Api]:
    clock = ManualClock(NOW)
    session_factory = create_session_factory(engine)
    seeded = await seed_calendar(session_factory, clock)
    app = create_app(
        make_settings(database_url=url, miniapp_url=MINIAPP_URL, data_dir=tmp_path, **settings),
        clock=clock,
        engine=engine,
    )
    web_app = create_miniapp_app(app.services, app.i18n, miniapp_config(app.settings))
    async with TestClient(TestServer(web_app)) as client:
        yield Api(client, app, seeded, clock, session_factory)
    await app.bot.session.close()


@pytest.fixture
async def api(db: tuple[str, AsyncEngine], tmp_path: Path) -> AsyncIterator[Api]:
    async for value in _api(db[0], db[1], tmp_path):
        yield value


# ---------- who is asking ----------


async def test_forged_altered_expired_or_missing_init_data_is_401(api: Api) -> None:
    good = init_data(USER_ID, auth_date=NOW)
    forged = init_data(USER_ID, token="999999:" + "A" * 35, auth_date=NOW)
    altered = good.replace("%22id%22%3A111", "%22id%22%3A222")
    assert altered != good
    expired = init_data(USER_ID, auth_date=NOW - timedelta(days=1, seconds=1))
    for headers, code in [
        (auth(forged), "init_data_invalid"),
        (auth(altered), "init_data_invalid"),
        (auth(expired), "init_data_expired"),
        ({}, "init_data_missing"),
        ({"Authorization": good}, "init_data_missing"),  # no "tma" scheme
    ]:
        response = await api.client.get("/app/api/me", headers=headers)
        assert response.status == 401, (headers, code)
        assert (await response.json())["error"]["code"] == code
    response = await api.client.post(
        f"/app/api/posts/{api.seeded.today}/cancel", headers=auth(forged), json={}
    )
    assert response.status == 401
    assert (await load_post(api.session_factory, api.seeded.today)).status == "scheduled"


async def test_a_user_who_never_started_the_bot_is_403(api: Api) -> None:
    status, body = await api.get("me", user_id=424242)
    assert (status, body["error"]["code"]) == (403, "unknown_user")


async def test_allowlist_mode_refuses_those_not_on_it(
    db: tuple[str, AsyncEngine], tmp_path: Path
) -> None:
    async for api in _api(db[0], db[1], tmp_path, access="allowlist", allowed_user_ids=[USER_ID]):
        assert (await api.get("me"))[0] == 200
        status, body = await api.get("me", user_id=OTHER_USER_ID)
        assert (status, body["error"]["code"]) == (403, "not_allowed")


async def test_me_speaks_the_users_language_and_zone(api: Api) -> None:
    status, body = await api.get("me")
    assert status == 200
    assert body["timezone"] == "Europe/Moscow"
    assert body["now_local"] == "2026-12-01T12:00"
    assert body["strings"]["week"] == "Week"
    status, body = await api.get("me", user_id=OTHER_USER_ID)
    assert body["language"] == "ru"
    assert body["strings"]["week"] == "Неделя"
    # A failed post's reason reads as the chat words it, not as its code.
    from handlers.failures import failure_text
    from platforms.errors import ErrorCode

    with api.app.i18n.context(), api.app.i18n.use_locale("ru"):
        expected = failure_text(ErrorCode.BOT_KICKED)
        assert expected != failure_text(None)
    assert body["failures"]["bot_kicked"] == expected
    assert "bot_kicked" not in expected


# ---------- one user's calendar ----------


async def test_the_week_holds_the_users_posts_in_their_zone_and_no_one_elses(api: Api) -> None:
    s = api.seeded
    status, body = await api.get("posts?from=2026-11-30&to=2026-12-06")
    assert status == 200
    by_id = {p["id"]: p for p in body["posts"]}
    assert set(by_id) == {s.today, s.published, s.failed, s.awaiting, s.hostile}
    assert s.theirs not in by_id
    assert by_id[s.today]["local"] == "2026-12-01T15:00"
    assert by_id[s.today]["at"] == "2026-12-01T12:00:00Z"
    assert by_id[s.published]["local"] == "2026-11-30T10:00"
    assert by_id[s.awaiting]["status"] == "awaiting_approval"
    assert by_id[s.today]["draggable"] and not by_id[s.published]["draggable"]
    # The rule's runs to come: 20:00 in Moscow from today on (none in the past).
    ghosts = [g["local"] for g in body["ghosts"]]
    assert ghosts == [f"2026-12-0{d}T20:00" for d in range(1, 7)]
    # Per target.
    status, body = await api.get(
        f"posts?from=2026-11-30&to=2026-12-06&target={s.second_target_id}"
    )
    assert [p["id"] for p in body["posts"]] == [s.awaiting]
    assert body["ghosts"] == []
    # The other user sees only theirs.
    status, body = await api.get("posts?from=2026-11-30&to=2026-12-06", user_id=OTHER_USER_ID)
    assert [p["id"] for p in body["posts"]] == [s.theirs]
    assert body["posts"][0]["local"] == "2026-12-02T08:00"  # their zone is UTC


async def test_ranges_and_ids_are_bounded(api: Api) -> None:
    for query, code in [
        ("posts?from=2026-01-01&to=2026-12-31", "range_too_long"),
        ("posts?from=2026-12-06&to=2026-12-01", "range_reversed"),
        ("posts?from=yesterday&to=2026-12-01", "bad_range"),
        ("posts?from=2026-12-01&to=2026-12-02&target=abc", "bad_id"),
        ("posts/abc", "bad_id"),
        ("posts/99999999999999999999", "bad_id"),
    ]:
        status, body = await api.get(query)
        assert (status, body["error"]["code"]) == (400, code), query
    status, _ = await api.get("posts?from=2026-11-01&to=2027-01-01")  # 62 days
    assert status == 200


async def test_another_users_post_is_not_found(api: Api) -> None:
    theirs = api.seeded.theirs
    status, body = await api.get(f"posts/{theirs}")
    assert (status, body["error"]["code"]) == (404, "not_found")
    for action, payload in [
        ("cancel", {}),
        ("reschedule", {"local": "2026-12-05T10:00"}),
        ("publish-now", {}),
        ("duplicate", {"local": "2026-12-05T10:00"}),
        ("retry", {}),
    ]:
        status, body = await api.post(f"posts/{theirs}/{action}", payload)
        assert (status, body["error"]["code"]) == (404, "not_found"), action
    post = await load_post(api.session_factory, theirs)
    assert post.status == "scheduled" and post.scheduled_time == moscow(2, 11)


async def test_a_post_shows_as_its_channel_will(api: Api) -> None:
    status, body = await api.get(f"posts/{api.seeded.hostile}")
    assert status == 200
    assert body["html"].startswith("<b>Launch day</b> &lt;script&gt;alert(1)&lt;/script&gt;")
    assert '<span class="tg-spoiler">secret</span>' in body["html"]
    assert body["target"]["title"] == "Tech news"
    assert body["actions"] == ["publish-now", "reschedule", "cancel", "duplicate"]
    status, body = await api.get(f"posts/{api.seeded.failed}")
    assert body["actions"] == ["retry", "cancel", "duplicate"]
    assert body["error_code"] == "forbidden"


# ---------- changes, with the chat's checks ----------


async def test_reschedule_into_the_past_is_refused_with_the_reason(api: Api) -> None:
    post_id = api.seeded.today
    status, body = await api.post(f"posts/{post_id}/reschedule", {"local": "2026-12-01T11:00"})
    assert (status, body["error"]["code"]) == (400, "time_in_past")
    status, body = await api.post(f"posts/{post_id}/reschedule", {"local": "2031-01-01T11:00"})
    assert (status, body["error"]["code"]) == (400, "time_too_far")
    for bad in [{}, {"local": "tomorrow"}, {"local": "2026-12-02T10:00+03:00"}, {"local": 5}]:
        status, body = await api.post(f"posts/{post_id}/reschedule", bad)
        assert (status, body["error"]["code"]) == (400, "bad_time"), bad
    post = await load_post(api.session_factory, post_id)
    assert post.scheduled_time == moscow(1, 15)


async def test_reschedule_moves_the_post_in_the_users_zone(api: Api) -> None:
    post_id = api.seeded.today
    status, body = await api.post(f"posts/{post_id}/reschedule", {"local": "2026-12-02T15:00"})
    assert status == 200
    assert body["local"] == "2026-12-02T15:00"
    assert body["item"]["local"] == "2026-12-02T15:00"
    post = await load_post(api.session_factory, post_id)
    assert post.scheduled_time == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert post.status == PostStatus.SCHEDULED
    # Awaiting approval stays awaiting approval, as in the chat.
    status, body = await api.post(
        f"posts/{api.seeded.awaiting}/reschedule", {"local": "2026-12-05T09:00"}
    )
    assert (status, body["status"]) == (200, "awaiting_approval")


async def test_actions_follow_the_posts_state(api: Api) -> None:
    s = api.seeded
    # A published post can only be copied.
    status, body = await api.post(f"posts/{s.published}/cancel")
    assert (status, body["error"]["code"]) == (409, "not_allowed")
    status, body = await api.post(f"posts/{s.published}/reschedule", {"local": "2026-12-09T10:00"})
    assert (status, body["error"]["code"]) == (409, "not_allowed")
    # Retry: due now.
    status, body = await api.post(f"posts/{s.failed}/retry")
    assert (status, body["status"]) == (200, "scheduled")
    assert (await load_post(api.session_factory, s.failed)).due_at == NOW
    # Publish now.
    status, body = await api.post(f"posts/{s.hostile}/publish-now")
    assert status == 200
    assert (await load_post(api.session_factory, s.hostile)).scheduled_time == NOW
    # Duplicate at a chosen time: a new post, the original untouched.
    status, body = await api.post(f"posts/{s.today}/duplicate", {"local": "2026-12-03T09:00"})
    assert status == 201 and body["id"] != s.today
    copy = await load_post(api.session_factory, body["id"])
    assert copy.scheduled_time == moscow(3, 9) and copy.content_id == body["content_id"]
    status, body = await api.post(f"posts/{s.today}/duplicate", {})
    assert (status, body["error"]["code"]) == (400, "bad_time")
    # Cancel: gone from the calendar.
    status, _ = await api.post(f"posts/{s.today}/cancel")
    assert status == 200
    _, week = await api.get("posts?from=2026-11-30&to=2026-12-06")
    assert s.today not in {p["id"] for p in week["posts"]}
    status, body = await api.post(f"posts/{s.today}/cancel")
    assert (status, body["error"]["code"]) == (409, "not_allowed")


async def test_a_broken_target_refuses_the_move_with_its_reason(api: Api) -> None:
    from storage.repositories import TargetRepository

    async with api.session_factory() as session, session.begin():
        await TargetRepository(session).mark_broken(api.seeded.target_id, "kicked", "forbidden")
    status, body = await api.post(
        f"posts/{api.seeded.today}/reschedule", {"local": "2026-12-02T15:00"}
    )
    assert (status, body["error"]["code"]) == (409, "target_broken")


async def test_bodies_are_bounded_and_must_be_json_objects(api: Api) -> None:
    headers = auth(init_data(USER_ID, auth_date=NOW))
    url = f"/app/api/posts/{api.seeded.today}/reschedule"
    response = await api.client.post(url, data=b"x" * 10_000, headers=headers)
    assert response.status == 413
    for raw in (b"not json", b"[1, 2]"):
        response = await api.client.post(
            url, data=raw, headers={**headers, "Content-Type": "application/json"}
        )
        assert (response.status, (await response.json())["error"]["code"]) == (400, "bad_json")


async def test_the_page_and_its_files_are_served_without_authentication(api: Api) -> None:
    response = await api.client.get("/app/")
    assert response.status == 200
    assert "script-src 'self' https://telegram.org" in response.headers["Content-Security-Policy"]
    page = await response.text()
    assert 'src="static/app.js"' in page
    for name in ("app.js", "app.css"):
        assert (await api.client.get(f"/app/static/{name}")).status == 200
    assert (await api.client.get("/app/static/../server.py")).status == 404
    assert (await api.client.get("/app/static/secret.txt")).status == 404


async def test_a_queued_post_is_marked(api: Api) -> None:
    from storage.models import ScheduledPost

    async with api.session_factory() as session, session.begin():
        post = await session.get(ScheduledPost, api.seeded.today)
        assert post is not None
        post.queue_position = 1  # issue 12: the target's queue gave it its time
    _, week = await api.get("posts?from=2026-11-30&to=2026-12-06")
    queued = {p["id"]: p["queued"] for p in week["posts"]}
    assert queued[api.seeded.today] is True
    assert queued[api.seeded.hostile] is False
    _, body = await api.get(f"posts/{api.seeded.today}")
    assert body["queued"] is True


async def test_without_a_port_of_its_own_it_shares_the_health_server(
    sqlite_db: tuple[str, AsyncEngine], tmp_path: Path
) -> None:
    import aiohttp

    from bot.factory import start_health
    from tests.reliability.support import free_port

    url, engine = sqlite_db
    port = free_port()
    app = create_app(
        make_settings(
            database_url=url, miniapp_url=MINIAPP_URL, health_port=port, data_dir=tmp_path
        ),
        engine=engine,
    )
    await start_health(app)
    assert app.health_runner is not None
    try:
        async with aiohttp.ClientSession() as http:
            for path, status in [("/health", 200), ("/app/", 200), ("/app/api/me", 401)]:
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == status, path
    finally:
        await app.health_runner.cleanup()
        await app.bot.session.close()


def test_miniapp_url_must_be_https() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="https"):
        make_settings(miniapp_url="http://bot.example.org/app/")
    assert make_settings(miniapp_url=MINIAPP_URL).miniapp_url == MINIAPP_URL
