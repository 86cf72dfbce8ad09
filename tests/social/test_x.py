"""X: the PIN flow and publishing against the fake X API, through tweepy's real code."""

from __future__ import annotations

import itertools
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from content.fitting import x_weighted_length
from platforms.base import ErrorClass, MediaItem, PublishError, PublishRequest
from platforms.x import XAuthorizer, XLinkError, XPublisher
from tests.fakes.x_server import FakeXServer, XFault, XUser, rate_limited
from tests.social.conftest import X_CONSUMER_KEY, X_CONSUMER_SECRET, assert_no_secrets, log_text

JPEG = b"\xff\xd8\xff\xe0fake-jpeg-body"


def publisher(server: FakeXServer, timeout: float = 5.0) -> XPublisher:
    return XPublisher(X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=server.base_url, timeout=timeout)


def credentials(server: FakeXServer, user_id: str = "42") -> dict[str, str]:
    token, token_secret = server.add_account(user_id, "anna_codes", "Anna")
    return {
        "access_token": token,
        "access_token_secret": token_secret,
        "user_id": user_id,
        "username": "anna_codes",
    }


def request(text: str, creds: dict[str, str], **extra: Any) -> PublishRequest:
    return PublishRequest(
        post_id=1, target_external_id="42", text=text, credentials=creds, **extra
    )


async def load_media(item: MediaItem) -> bytes:
    return JPEG + (item.telegram_file_id or "").encode()


# ---------- linking ----------


async def test_pin_flow_links_the_account_the_user_authorised(x_server: FakeXServer) -> None:
    x_server.users["42"] = XUser("42", "anna_codes", "Anna")
    authorizer = XAuthorizer(X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=x_server.base_url)

    authorization = await authorizer.start()
    token = authorization.request_token["oauth_token"]
    assert authorization.url == f"https://api.twitter.com/oauth/authorize?oauth_token={token}"

    pin = x_server.approve(token, "42")
    account = await authorizer.finish(authorization.request_token, pin)

    assert (account.user_id, account.username, account.name) == ("42", "anna_codes", "Anna")
    assert x_server.access_tokens[account.access_token] == (account.access_token_secret, "42")


async def test_wrong_pin_is_rejected_and_the_right_one_still_works(
    x_server: FakeXServer,
) -> None:
    x_server.users["42"] = XUser("42", "anna_codes", "Anna")
    authorizer = XAuthorizer(X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=x_server.base_url)
    authorization = await authorizer.start()
    pin = x_server.approve(authorization.request_token["oauth_token"], "42")

    with pytest.raises(XLinkError) as error:
        await authorizer.finish(authorization.request_token, "0000000")
    assert error.value.code == "rejected"
    account = await authorizer.finish(authorization.request_token, pin)
    assert account.user_id == "42"


async def test_linking_without_app_keys_says_x_is_not_configured() -> None:
    authorizer = XAuthorizer(None, None)
    assert not authorizer.configured
    with pytest.raises(XLinkError) as error:
        await authorizer.start()
    assert error.value.code == "not_configured"


async def test_unreachable_x_while_linking_is_reported() -> None:
    authorizer = XAuthorizer(X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=_closed_port_url())
    with pytest.raises(XLinkError) as error:
        await authorizer.start()
    assert error.value.code == "unreachable"


# ---------- publishing ----------


async def test_text_post_is_published_with_a_signed_request(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    result = await publisher(x_server).publish(request("Hello from the curator", creds))

    (tweet,) = x_server.tweets
    assert tweet.text == "Hello from the curator"
    assert tweet.user_id == "42"
    assert tweet.media_ids == []
    assert result.external_id == tweet.id
    assert result.url == f"https://x.com/anna_codes/status/{tweet.id}"


async def test_title_and_html_become_plain_text(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    await publisher(x_server).publish(
        PublishRequest(1, "42", "<b>Bold</b> &amp; plain", title="News", credentials=creds)
    )
    assert x_server.tweets[0].text == "News\n\nBold & plain"


async def test_picture_post_uploads_the_pictures_first_and_attaches_them(
    x_server: FakeXServer,
) -> None:
    creds = credentials(x_server)
    media = (MediaItem("photo", "p1"), MediaItem("photo", "p2"))
    await publisher(x_server).publish(
        request("Two pictures", creds, media=media, load_media=load_media)
    )

    (tweet,) = x_server.tweets
    assert len(tweet.media_ids) == 2
    assert [x_server.media[m] for m in tweet.media_ids] == [JPEG + b"p1", JPEG + b"p2"]
    paths = [c.path for c in x_server.calls]
    assert paths == ["/2/media/upload", "/2/media/upload", "/2/tweets"]


async def test_long_text_becomes_a_reply_chain_when_the_user_chose_a_thread(
    x_server: FakeXServer,
) -> None:
    creds = credentials(x_server)
    text = " ".join(f"Sentence number {i} about Python." for i in range(40))
    result = await publisher(x_server).publish(
        request(
            text,
            creds,
            options={"x_thread": True},
            media=(MediaItem("photo", "p"),),
            load_media=load_media,
        )
    )

    tweets = x_server.tweets
    assert len(tweets) >= 3
    assert all(x_weighted_length(t.text or "") <= 280 for t in tweets)
    assert tweets[0].in_reply_to is None and tweets[0].media_ids
    for previous, tweet in itertools.pairwise(tweets):
        assert tweet.in_reply_to == previous.id
        assert tweet.media_ids == []
    assert tweets[0].text.endswith(f"(1/{len(tweets)})")  # type: ignore[union-attr]
    assert result.external_id == tweets[0].id


async def test_long_text_without_a_thread_is_refused_before_sending(
    x_server: FakeXServer,
) -> None:
    creds = credentials(x_server)
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("word " * 100, creds))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert "280" in error.value.reason
    assert x_server.calls == []


async def test_rate_limit_is_transient_and_waits_until_the_reset(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_server.fail_next("tweets", rate_limited(600))
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.TRANSIENT
    assert error.value.retry_after is not None
    assert 590 <= error.value.retry_after <= 601
    assert x_server.tweets == []


async def test_rate_limited_picture_upload_is_transient(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_server.fail_next("media", rate_limited(120))
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(
            request("pic", creds, media=(MediaItem("photo", "p"),), load_media=load_media)
        )
    assert error.value.error_class == ErrorClass.TRANSIENT
    assert error.value.retry_after is not None and 110 <= error.value.retry_after <= 121
    assert x_server.tweets == []


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_after_sending_are_ambiguous(
    x_server: FakeXServer, status: int
) -> None:
    """X may have created the post before failing: resending could publish it twice."""
    creds = credentials(x_server)
    x_server.fail_next(
        "tweets", XFault(status=status, body={"title": "Service Unavailable"}, deliver=True)
    )
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS
    assert error.value.code == "server_error_sent"
    assert len(x_server.tweets) == 1


async def test_a_reset_after_sending_is_ambiguous(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_server.fail_next("tweets", XFault(reset=True, deliver=True))
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS
    assert "ClientOSError" in error.value.reason  # "Connection reset by peer"
    assert len(x_server.tweets) == 1


async def test_a_server_error_of_a_picture_upload_is_transient(x_server: FakeXServer) -> None:
    """Nothing is published before the post itself: a failed upload is safe to retry."""
    creds = credentials(x_server)
    x_server.fail_next("media", XFault(status=503))
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(
            request("pic", creds, media=(MediaItem("photo", "p"),), load_media=load_media)
        )
    assert error.value.error_class == ErrorClass.TRANSIENT
    assert x_server.tweets == []


async def test_network_error_before_sending_is_transient() -> None:
    creds = {"access_token": "t", "access_token_secret": "s", "username": "a"}
    x_pub = XPublisher(X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=_closed_port_url())
    with pytest.raises(PublishError) as error:
        await x_pub.publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.TRANSIENT


async def test_timeout_after_sending_is_ambiguous(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_server.fail_next("tweets", XFault(delay=3.0, deliver=True))
    with pytest.raises(PublishError) as error:
        await publisher(x_server, timeout=0.5).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS
    # X did publish it: exactly why the worker must not send it again by itself.
    assert [t.text for t in x_server.tweets] == ["hello"]


async def test_dropped_connection_after_sending_is_ambiguous(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_server.fail_next("tweets", XFault(drop=True))
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS


async def test_revoked_authorisation_is_permanent_and_breaks_the_target(
    x_server: FakeXServer,
) -> None:
    creds = credentials(x_server)
    x_server.revoke(creds["access_token"])
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert error.value.target_broken
    assert "Link the X account again" in error.value.reason


async def test_duplicate_content_is_permanent_and_not_retried(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_pub = publisher(x_server)
    await x_pub.publish(request("same words", creds))
    with pytest.raises(PublishError) as error:
        await x_pub.publish(request("same words", creds))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert not error.value.target_broken
    assert "duplicates" in error.value.reason
    assert len(x_server.tweets) == 1


async def test_other_forbidden_answers_are_permanent(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_server.fail_next(
        "tweets",
        XFault(
            status=403,
            body={"detail": "You are not permitted to perform this action.", "title": "Forbidden"},
        ),
    )
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert "not permitted" in error.value.reason


async def test_a_thread_broken_halfway_is_ambiguous_never_resent(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    text = " ".join(f"Sentence number {i} about Python." for i in range(40))
    x_server.fail_next("tweets", XFault(status=503, after=1))
    x_pub = publisher(x_server)
    with pytest.raises(PublishError) as error:
        await x_pub.publish(request(text, creds, options={"x_thread": True}))
    assert error.value.error_class == ErrorClass.AMBIGUOUS
    assert "Only 1 of" in error.value.reason
    assert len(x_server.tweets) == 1


async def test_missing_tokens_break_the_target(x_server: FakeXServer) -> None:
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", {}))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert error.value.target_broken


def test_publishers_are_registered_lazily_without_importing_their_libraries() -> None:
    code = (
        "import sys\n"
        "from types import SimpleNamespace\n"
        "from platforms.base import PublisherRegistry\n"
        "from platforms.registry import register_optional_publishers\n"
        "s = SimpleNamespace(x_consumer_key=None, x_consumer_secret=None, x_api_base=None,\n"
        "    instagram_delay_min=1.0, instagram_delay_max=3.0, instagram_hashtag_limit=30,\n"
        "    publish_timeout=30.0)\n"
        "r = PublisherRegistry()\n"
        "register_optional_publishers(r, s)\n"
        "assert r.platforms() == {'x', 'instagram'}, r.platforms()\n"
        "assert 'tweepy' not in sys.modules and 'instagrapi' not in sys.modules\n"
        "assert r.get('x').platform == 'x'\n"
        "assert 'instagrapi' not in sys.modules\n"
        "assert r.get('instagram').platform == 'instagram'\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Give the port back to the kernel: nothing listens there now.
    time.sleep(0)
    return f"http://127.0.0.1:{port}"


async def test_tweepy_debug_output_never_carries_tokens_into_the_log(
    x_server: FakeXServer, app_log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    creds = credentials(x_server)
    secrets = [creds["access_token"], creds["access_token_secret"], X_CONSUMER_SECRET]
    tweepy_log = logging.getLogger("tweepy")
    level = tweepy_log.level
    # Someone turns tweepy's debug output on to chase a problem, and captures everything.
    tweepy_log.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        await publisher(x_server).publish(request("loud on purpose", creds))
    finally:
        tweepy_log.setLevel(level)
    logged = log_text(app_log) + caplog.text
    assert "X: published 1 post(s)" in logged  # our own lines are there
    assert "Making API request" not in logged  # tweepy's header dump is not
    assert_no_secrets(logged, secrets)


def test_quoted_oauth_headers_are_redacted_if_they_ever_reach_a_handler() -> None:
    from bot.logging_setup import redact

    line = (
        'Headers: {\'Authorization\': \'OAuth oauth_nonce="1", oauth_consumer_key="ck", '
        'oauth_token="42-SECRET", oauth_signature="c2ln%3D"\'}'
    )
    assert "42-SECRET" not in redact(line)
    assert "c2ln" not in redact('oauth_token="42-SECRET", oauth_signature="c2ln%3D"')


async def test_a_proxy_error_page_is_judged_by_its_status(x_server: FakeXServer) -> None:
    creds = credentials(x_server)
    x_server.fail_next("tweets", XFault(status=502, html="<html>Bad Gateway</html>"))
    with pytest.raises(PublishError) as error:
        await publisher(x_server).publish(request("hello", creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS  # the proxy may have passed it on
    assert "502" in error.value.reason


async def test_a_silent_x_while_linking_times_out_instead_of_hanging(
    x_server: FakeXServer,
) -> None:
    x_server.fail_next("request_token", XFault(delay=3.0))
    authorizer = XAuthorizer(
        X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=x_server.base_url, timeout=0.5
    )
    with pytest.raises(XLinkError) as error:
        await authorizer.start()
    assert error.value.code == "unreachable"
