"""Libraries whose debug output carries credentials (tweepy prints OAuth headers, requests-
oauthlib its tokens, instagrapi request bodies and session data). Their DEBUG records are
dropped at the logger, before any handler, so that no log configuration can let them through."""

from __future__ import annotations

import logging


class _DropDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def drop_debug_records(*logger_names: str) -> None:
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropDebug) for f in logger.filters):
            logger.addFilter(_DropDebug())


X_LOGGERS = (
    "tweepy.api",
    "tweepy.auth",
    "tweepy.client",
    "tweepy.asynchronous.client",
    "requests_oauthlib.oauth1_auth",
    "requests_oauthlib.oauth1_session",
    "oauthlib.oauth1.rfc5849",
)
INSTAGRAM_LOGGERS = (
    "instagrapi",
    "instagrapi.mixins.user",
    "private_request",
    "public_request",
    "graphql_request",
)
