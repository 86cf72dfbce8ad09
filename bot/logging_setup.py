from __future__ import annotations

import logging
import re
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"

_SECRET_PATTERNS = [
    # A whole quoted Authorization header (tweepy's debug log prints OAuth 1.0a headers).
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*')[^']*"),
    re.compile(r'(?i)(authorization[\"\']?\s*[:=]\s*")[^"]*'),
    re.compile(r'(?i)(oauth_(?:token|token_secret|signature|verifier)=")[^"]*'),
    re.compile(r"\d{6,12}:[A-Za-z0-9_-]{30,}"),  # Telegram bot tokens (also inside API URLs)
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer|oauth|basic)?\s*[^\s\"',]+"),
    re.compile(r"(?i)(oauth_(?:token|signature|verifier)=)[^&\s\"']+"),
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"(?i)(sessionid[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"),
    re.compile(
        r"(?i)((?:password|passwd|secret|api_key|access_token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+"
    ),
]


def redact(text: str, extra: list[str] | None = None) -> str:
    for secret in extra or []:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(
            lambda m: (m.group(1) if m.re.groups and m.group(1) else "") + "***", text
        )
    return text


class RedactingFilter(logging.Filter):
    """Secrets never reach a log line, whatever a library decides to print."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, instead of letting the formatter do it.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info), self.secrets)
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(
    level: str = "INFO", log_file: Path | None = None, secrets: list[str] | None = None
) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_curator", False):
            root.removeHandler(handler)
            handler.close()
    formatter = logging.Formatter(FORMAT)
    redactor = RedactingFilter(secrets)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            RotatingFileHandler(
                log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        handler._curator = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # Libraries that print request details (and so credentials) at debug level stay quiet.
    for noisy in (
        "tweepy",
        "requests_oauthlib",
        "oauthlib",
        "urllib3",
        "httpx",
        "httpcore",
        "instagrapi",
        "public_request",
        "private_request",
        "openai",
    ):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
