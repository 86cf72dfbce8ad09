"""Did a failed request leave this machine? (DESIGN.md, "Outcome classes".)

Only a failure before the request was sent is safe to send again: the connection was refused,
the name did not resolve, the TLS handshake failed, connecting timed out. A reset, a timeout
or a server error after sending may hide a published post, so it is ambiguous.

Libraries wrap the transport's error in their own (aiogram's TelegramNetworkError, instagrapi's
ClientConnectionError, requests' ConnectionError around urllib3's MaxRetryError): the chain of
causes is followed through those wrappers only, and the first error that is not a wrapper
decides. The error's English text is never read: "Connection reset by peer" contains
"connect" too."""

from __future__ import annotations

import socket
import ssl

import aiohttp

# Raised only while connecting, so the request never left.
_BEFORE_SENDING: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,  # refused, DNS, TLS handshake and certificate, proxy connect
    aiohttp.ConnectionTimeoutError,  # connecting took too long
    aiohttp.ServerFingerprintMismatch,  # the pinned certificate check, before any byte is sent
    ConnectionRefusedError,
    socket.gaierror,
    ssl.SSLCertVerificationError,
)


def failed_before_sending(
    exc: BaseException,
    *,
    wrappers: tuple[type[BaseException], ...] = (),
    before: tuple[type[BaseException], ...] = (),
) -> bool:
    """True when `exc` (or what it wraps, through `wrappers`) proves the request never left.
    `before` adds a library's own "could not connect" classes."""
    decisive = _BEFORE_SENDING + before
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, decisive):
            return True
        if not isinstance(link, wrappers):
            return False
        link = link.__cause__ or link.__context__
    return False
