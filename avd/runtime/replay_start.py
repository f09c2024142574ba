"""Where the in-process simulator's replay starts, on a first run and after a restart.

On a fresh data folder the replay starts far enough into the data for the
engine to warm up on what lies before (served over REST). After a restart
on the same data folder it **resumes right after the newest stored closed
candle**, so the collector's warm-up and live stream continue where they
stopped: no candle is replayed twice and none is older than what is stored.

When the tracked symbols' newest stored candles differ (a shutdown between
two symbols' writes), the replay resumes after the newest of them; a symbol
behind catches up through the collector's warm-up, which fetches its missing
candles over REST as after any outage. Replaying from the oldest instead
would freeze every other symbol until the replay caught up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from avd import _core
from avd.exceptions import ConfigError
from avd.exchange.simulator.config import SimConfig
from avd.exchange.simulator.series import replay_files
from avd.history import IntervalChoice, read_candles, sample_dir, utc_text
from avd.services.market.candle_history import CandleHistory

log = logging.getLogger(__name__)

#: candles past the warm-up the first replay starts at (contexts are ready at once)
EXTRA_WARMUP_CANDLES = 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ms(ms: int) -> datetime:
    """Epoch ms as an aware UTC datetime (exact: no float on the way)."""
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True)
class ReplayPlan:
    """What the simulator replays, from when, and why."""

    #: the simulator's configuration, with ``interval`` and ``start`` set
    config: SimConfig
    choice: IntervalChoice
    #: the replay start, ms
    start: int
    #: newest stored open time of the tracked streams, if any (the replay resumes after it)
    resumed_after: int | None
    #: tracked symbols whose data holds no candle from the start on
    ended: list[str]
    #: the tracked symbols
    tracked: list[str]

    @property
    def at_end(self) -> bool:
        """True when no tracked symbol has a candle left to replay."""
        return bool(self.tracked) and len(self.ended) == len(self.tracked)


async def plan_replay(
    sim: SimConfig,
    history: CandleHistory,
    *,
    symbols: list[str],
    intervals: list[str],
    warmup_bars: int,
) -> ReplayPlan:
    """Choose the replayed interval and the replay start.

    Parameters
    ----------
    sim
        The simulator's configuration (its ``start``, if set, is kept on a
        fresh data folder, or when it lies after the stored candles).
    history
        The stored closed candles.
    symbols, intervals
        What the platform tracks (``[]``: every replayed symbol; the
        replayed interval). The simulator replays one interval.
    warmup_bars
        Candles the collector warms each stream up with.

    Raises
    ------
    ConfigError
        If more than one interval is asked for.
    DataError
        If the data lacks a tracked symbol or the interval.
    """
    if len(intervals) > 1:
        raise ConfigError(
            f"the simulator replays one interval, not {', '.join(intervals)}: "
            "give one (--interval 1m)"
        )
    data = sim.data if sim.data is not None else sample_dir()
    wanted = intervals[0] if intervals else sim.interval
    # the choice is made over what the platform tracks
    choice, files = replay_files(data, symbols or sim.symbols, wanted)
    tracked = list(choice.symbols)
    iv = choice.interval
    columns = {s: read_candles(files[s]).open_time for s in tracked}
    # a fresh start leaves warm-up candles before the start in every series
    default = max(
        int(ot[min(warmup_bars + EXTRA_WARMUP_CANDLES, len(ot) - 1)]) for ot in columns.values()
    )
    newest: list[int] = []
    for s in tracked:
        stored = await history.tail(s, iv, 1)
        if stored is not None and len(stored):
            newest.append(int(stored.open_time[-1]))
    resumed_after = max(newest) if newest else None
    start = default if sim.start_ms is None else sim.start_ms
    if resumed_after is not None:
        resume = _core.next_open_time(iv, resumed_after)
        if start < resume:
            if sim.start_ms is not None:
                log.info(
                    "sim.start %s is before the stored candles: resuming after them",
                    utc_text(sim.start_ms),
                )
            start = resume
    ended = [s for s in tracked if int(columns[s][-1]) < start]
    config = sim.model_copy(update={"interval": iv, "start": from_ms(start)})
    return ReplayPlan(config, choice, start, resumed_after, ended, tracked)


def report(plan: ReplayPlan) -> None:
    """Say what is replayed, from when, and whether anything is left to stream."""
    log.info("replaying %s", plan.choice.note())
    if plan.resumed_after is not None:
        log.info(
            "resuming the replay after the newest stored candle (%s UTC)",
            utc_text(plan.resumed_after),
        )
    if plan.at_end:
        where = (
            f"the newest stored candle ({utc_text(plan.resumed_after)} UTC) is its last"
            if plan.resumed_after is not None
            else f"it has no candle after the start ({utc_text(plan.start)} UTC)"
        )
        log.warning(
            "the replay is at the end of its data: %s; nothing new will stream "
            "(--restart-replay starts over on a fresh data folder)",
            where,
        )
    elif plan.ended:
        log.warning(
            "%s: no candle after %s UTC in the data; not streaming",
            ", ".join(plan.ended),
            utc_text(plan.start),
        )
