"""Logging: JSON lines in a file, plus a readable console log.

Every record in the file is one JSON object with ``ts`` (ISO 8601 UTC),
``level``, ``logger``, ``msg`` and any ``extra`` fields; exceptions carry
their traceback under ``exc``. Secrets never reach the logs: they are not
logged by the code, and :class:`RedactingFilter` masks values that look like
bearer tokens or API secrets in any message as a second line of defence.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

# the attributes of every record, and those a formatter adds: never "extra" fields
_STD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

_SECRETS = re.compile(
    r"(?i)(bearer\s+|api[_-]?secret[\"'=:\s]+|secret[\"'=:\s]+|signature=|password[\"'=:\s]+)([A-Za-z0-9._~+/=-]{6,})"
)


class RedactingFilter(logging.Filter):
    """Masks what looks like a token, secret, signature or password."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message with secrets masked; never drops a record."""
        msg = record.getMessage()
        masked = _SECRETS.sub(lambda m: m.group(1) + "***", msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


class _CleanCloseFilter(logging.Filter):
    """python-binance logs a normal close (1000 both ways) as an ERROR: drop that one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but a clean close."""
        return "ConnectionClosedOK" not in record.getMessage()


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STD and not k.startswith("_"):
                out.setdefault(k, v)  # an extra never replaces ts, level, logger or msg
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def setup_logging(log_file: Path | None, level: str = "INFO", *, console: bool = True) -> None:
    """Send logs to a JSON-lines file (if given) and a readable console."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(level.upper())
    redact = RedactingFilter()
    if console:
        ch = logging.StreamHandler(sys.stderr)
        ch.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
        ch.addFilter(redact)
        root.addHandler(ch)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(JsonLinesFormatter())
        fh.addFilter(redact)
        root.addHandler(fh)
    for noisy in ("websockets", "aiohttp.access", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    reconnecting = logging.getLogger("binance.ws.reconnecting_websocket")
    if not any(isinstance(f, _CleanCloseFilter) for f in reconnecting.filters):
        reconnecting.addFilter(_CleanCloseFilter())
