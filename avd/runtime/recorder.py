"""Recording and replay of the event stream (the seeds' event replay).

:class:`Recorder` is a hub subscriber writing every event as one JSON line to
``DIR/events.jsonl``. :func:`read_recording` reads them back as events, and
:func:`recorded_inputs` gives the recorded klines and warm-up batches through a fresh pipeline so
a session can be reproduced (and debugged) offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

from avd.domain.events import (
    CandleEvaluated,
    CandlesLoaded,
    Event,
    KlineReceived,
    event_from_dict,
)
from avd.exceptions import DataError
from avd.runtime.hub import EventHub, Subscription

FILE_NAME = "events.jsonl"


class Recorder:
    """Writes every event of the hub to ``directory/events.jsonl``.

    :class:`CandleEvaluated` is left out: it repeats a recorded kline.
    """

    def __init__(self, hub: EventHub, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self._file: IO[bytes] = self.path.open("ab")
        self.written = 0
        # not lossy: a recording must be complete; a large queue absorbs bursts
        self.subscription: Subscription = hub.subscribe("recorder", self._write, maxsize=100_000)

    async def _write(self, event: Event) -> None:
        if isinstance(event, CandleEvaluated):
            return  # derived from its recorded kline: a replay produces it again
        self._file.write(orjson.dumps(event.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        self.written += 1
        if self.written % 1000 == 0:
            self._file.flush()

    def close(self) -> None:
        """Flush and close the file."""
        self._file.flush()
        self._file.close()


def read_recording(directory: Path) -> Iterator[Event]:
    """The recorded events, in order.

    Raises
    ------
    FileNotFoundError
        If the folder holds no recording.
    DataError
        On a malformed line (with its number).
    """
    path = directory / FILE_NAME
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield event_from_dict(orjson.loads(line))
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"{path}:{n}: not a recorded event ({exc})") from None


def recorded_inputs(directory: Path) -> Iterator[KlineReceived | CandlesLoaded]:
    """What the market pipeline was fed (klines and warm-up batches), in order."""
    for e in read_recording(directory):
        if isinstance(e, KlineReceived | CandlesLoaded):
            yield e
