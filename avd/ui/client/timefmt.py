"""Times as the trade pages show them: UTC timestamps and how long a trade has run."""

from __future__ import annotations

from datetime import UTC, datetime


def parse(text: str) -> datetime:
    """An API timestamp (ISO 8601 with ``Z`` or an offset), aware."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(text: str | None) -> str:
    """``2026-12-07 04:33:28`` (UTC) for an API timestamp; a dash for none."""
    if not text:
        return "—"
    return parse(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def span(seconds: float) -> str:
    """``3d 4h``, ``2h 05m``, ``4m 07s``, ``12s``: a duration, two units at most."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def since(text: str | None, now: datetime | None = None) -> str:
    """How long ago ``text`` was (the time a trade has been open)."""
    if not text:
        return "—"
    now = now or datetime.now(UTC)
    return span((now - parse(text)).total_seconds())


def between(start: str | None, end: str | None) -> str:
    """How long from ``start`` to ``end`` (a closed trade's duration)."""
    if not start or not end:
        return "—"
    return span((parse(end) - parse(start)).total_seconds())


def now_iso() -> str:
    """Now, as the API writes times."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
