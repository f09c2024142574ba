"""The JSON-lines log: one object per record, its own fields first, secrets masked."""

from __future__ import annotations

import io
import json
import logging

from avd.logs import JsonLinesFormatter, RedactingFilter


def test_extras_never_replace_the_record_fields_and_console_fields_stay_out() -> None:
    console, lines = io.StringIO(), io.StringIO()
    logger = logging.getLogger("avd.test.logs")
    logger.propagate = False
    readable = logging.StreamHandler(console)
    readable.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    as_json = logging.StreamHandler(lines)
    as_json.setFormatter(JsonLinesFormatter())
    as_json.addFilter(RedactingFilter())
    for h in (readable, as_json):  # the console formats first, as in setup_logging
        logger.addHandler(h)
    try:
        logger.warning(
            "fill at %s with Bearer abcdef123456", "1.5", extra={"ts": 5, "event": "fill"}
        )
    finally:
        for h in (readable, as_json):
            logger.removeHandler(h)
    rec = json.loads(lines.getvalue())
    assert isinstance(rec["ts"], str) and rec["ts"].endswith("+00:00")
    assert (rec["level"], rec["logger"], rec["event"]) == ("WARNING", "avd.test.logs", "fill")
    assert rec["msg"] == "fill at 1.5 with Bearer ***"
    assert "message" not in rec and "asctime" not in rec
