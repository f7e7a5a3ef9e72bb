"""Keeps tokens out of every log record: app tokens, bearer credentials and `api_key` values.

Installed as a log-record factory (`install()`), not as a handler filter, so it covers every logger
and every handler at every level, including the ones libraries add: uvicorn logs WebSocket request
lines with their query string at info, and the websockets library logs handshake headers at debug.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

REDACTED = "[REDACTED]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a whole Authorization header value, however it is printed (header line, tuple, dict repr)
    (re.compile(r"(?i)(authorization['\"]?\s*[:=,]\s*(?-i:b)?['\"]?)[^'\"\r\n]+"), rf"\1{REDACTED}"),
    # a bearer credential anywhere else
    (re.compile(r"(?i)(bearer)(\s+|['\"],\s*b?['\"])[^\s'\"&,;)\]}]+"), rf"\1\2{REDACTED}"),
    # api_key=..., in a query string or form body, and "api_key": "..." in JSON
    (re.compile(r"(?i)(api_key=)[^\s&'\"#]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(['\"]api_key['\"]\s*:\s*['\"])[^'\"]*"), rf"\1{REDACTED}"),
    # the daemon's own tokens, wherever else they show up
    (re.compile(r"ast_[A-Za-z0-9_-]{8,}"), REDACTED),
)
_FORMATTER = logging.Formatter()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """Return text with every token-looking value replaced by [REDACTED]."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def install() -> None:
    """Wrap the process's log-record factory so every record is redacted once, when it is made.

    Records are made only for enabled levels, so disabled debug logging costs nothing. Idempotent.
    """
    global _installed
    with _lock:
        if _installed:
            return
        make = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: leave it for logging's own error report
                return record
            clean = redact(message)
            if clean != message:
                if isinstance(record.args, tuple) and record.name == "uvicorn.access":
                    # uvicorn's access formatter unpacks args: keep their shape
                    record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
                else:
                    record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[0] is not None:
                # formatted now, so the traceback's text is redacted too (formatters reuse exc_text)
                record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
