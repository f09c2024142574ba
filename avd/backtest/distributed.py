"""Sweeps and walk-forward analyses on a Dask cluster: chunks of work, each a Rust run.

``Backtest.sweep(..., scheduler="tcp://host:8786")`` (and ``avd sweep
--scheduler``) sends the sweep here instead of the local rayon pool:

- the candles go to every worker once (``Client.scatter(broadcast=True)``);
  each task names that scattered copy, so a task ships only its chunk's
  bounds, never the candles;
- a task runs the combinations ``lo..hi`` of the sweep in Rust
  (``_core.run_sweep_chunk``, the GIL released, ``threads`` rayon threads)
  and returns its rows in combination order with each score's total-order
  key; the client ranks all rows the way the local sweep does (score
  descending, ties in combination order), so the result is the local one,
  row for row;
- a result is fetched as soon as its task ends, so a worker lost later costs
  only the chunks it was running: the scheduler gives them to another worker
  (up to ``distributed.scheduler.allowed-failures`` losses per task, default
  3); a task that raised is retried ``retries`` times.

A walk-forward analysis goes the same way, one task per window (its sweep on
the train part, the best combination on the test part): the windows are
independent, and put back in order they are the local analysis's.

Dask is optional (``pip install 'avd[distributed]'``); nothing here imports
it until a sweep is sent to a cluster.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from avd import _core
from avd.exceptions import ConfigError

#: How long to try to reach the scheduler before giving up (seconds).
CONNECT_TIMEOUT_S = 10.0
#: How long the connection may take in all, handshake included (seconds).
ANSWER_DEADLINE_S = CONNECT_TIMEOUT_S + 5.0
#: Chunks per worker thread when no chunk size is given: small enough to
#: balance the load and to lose little with a worker, large enough that the
#: per-task overhead (a few ms) stays negligible.
CHUNKS_PER_THREAD = 4
#: Times a chunk whose task raised is run again.
DEFAULT_RETRIES = 2

Progress = Callable[[int, int], None]


def _client(scheduler: Any) -> tuple[Any, bool]:
    """A connected ``distributed.Client`` and whether we opened it (and must close it)."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "sweeps on a Dask cluster need Dask: pip install 'avd[distributed]'"
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    address = str(scheduler)
    _check_address(address)
    try:
        return _connect_within(Client, address), True
    except (OSError, TimeoutError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"--scheduler {address}: cannot reach the Dask scheduler ({first})"
        ) from None


def _connect_within(client_class: Any, address: str) -> Any:
    """``Client(address)``, or ``TimeoutError`` once ``ANSWER_DEADLINE_S`` passed.

    ``Client``'s own timeout covers a scheduler that does not accept the
    connection, not one that accepts it and never completes the handshake
    (a Dask worker's port, a silent service): ``Client()`` then waits
    forever. It is built on a helper thread here; one still waiting at the
    deadline is abandoned, and closes its client if it ever gets one.
    """
    got: dict[str, Any] = {}
    abandoned = threading.Event()

    def connect() -> None:
        try:
            client = client_class(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except BaseException as exc:  # handed to the caller's thread
            got["error"] = exc
            return
        if abandoned.is_set():
            client.close()
        else:
            got["client"] = client

    helper = threading.Thread(target=connect, name="dask-connect", daemon=True)
    helper.start()
    helper.join(ANSWER_DEADLINE_S)
    if helper.is_alive():
        abandoned.set()
        raise TimeoutError(
            f"nothing answered as a scheduler within {ANSWER_DEADLINE_S:.0f} s: "
            "the port of a worker, or of another service?"
        )
    if "error" in got:
        raise got["error"]
    return got["client"]


#: The candles of the latest sweeps on this worker, ready for Rust, by sweep id.
_PREPARED: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
_PREPARED_KEEP = 2
_PREPARED_LOCK = threading.Lock()


def _aligned(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return np.require(v, requirements=["C", "A"])
    if isinstance(v, dict):
        return {k: _aligned(x) for k, x in v.items()}
    return v


def _prepared(run: str, series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The candles as this worker holds them, aligned once per sweep.

    A copy a worker got from a peer may be deserialized at an address that is
    not a multiple of 8 (numpy marks it unaligned, Rust refuses it): such
    columns are copied once, here, not in every task.
    """
    with _PREPARED_LOCK:
        got = _PREPARED.get(run)
        if got is None:
            got = [_aligned(s) for s in series]
            _PREPARED[run] = got
            while len(_PREPARED) > _PREPARED_KEEP:
                _PREPARED.popitem(last=False)
        return got


def _check_address(address: str) -> None:
    """Refuse an address Dask cannot dial before a ``Client`` is made of it.

    (A ``Client`` of an unknown scheme fails, then spends seconds closing.)
    """
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, loc = parse_address(address)
        get_backend(scheme)
    except ValueError as exc:
        raise ConfigError(f"--scheduler {address}: not a Dask address ({exc})") from None
    if not loc:
        raise ConfigError(f"--scheduler {address}: not a Dask address (no host)")


def run_chunk(
    run: str,
    config_json: str,
    spec_json: str,
    series: list[dict[str, Any]],
    lo: int,
    hi: int,
    start: int | None,
    end: int | None,
    threads: int,
) -> list[dict[str, Any]]:
    """One task: the combinations ``lo..hi`` of the sweep on this worker's copy of the candles."""
    out = _core.run_sweep_chunk(
        config_json,
        spec_json,
        _prepared(run, series),
        lo,
        hi,
        start=start,
        end=end,
        threads=threads,
    )
    rows: list[dict[str, Any]] = json.loads(out)["rows"]
    return rows


def chunks(count: int, size: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` bounds cutting ``count`` combinations into chunks of ``size``."""
    return [(lo, min(lo + size, count)) for lo in range(0, count, size)]


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All chunks' rows in the local sweep's order, without the merge keys.

    The local sweep sorts stably by score descending in IEEE total order;
    ``rank_key`` is that order as an integer and ``index`` the combination's
    position, so ``(-rank_key, index)`` gives the same order.
    """
    ordered = sorted(rows, key=lambda r: (-r["rank_key"], r["index"]))
    return [{"values": r["values"], "score": r["score"], "stats": r["stats"]} for r in ordered]


def sweep_on_dask(
    config_json: str,
    spec_json: str,
    series: list[dict[str, Any]],
    scheduler: Any,
    *,
    start: int | None = None,
    end: int | None = None,
    chunk_size: int | None = None,
    threads: int = 1,
    retries: int = DEFAULT_RETRIES,
    on_progress: Progress | None = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run a sweep on a Dask cluster; the same result as the local sweep, row for row.

    Parameters
    ----------
    scheduler
        The scheduler's address (``tcp://host:8786``) or a connected
        ``distributed.Client``.
    chunk_size
        Combinations per task (default: the count spread over
        ``CHUNKS_PER_THREAD`` tasks per worker thread).
    threads
        Rayon threads inside each task (default 1: Dask runs as many tasks
        at once on a worker as it has threads).
    on_progress
        Called with ``(combinations done, total)`` as chunks finish.
    on_start
        Called once with ``{"workers", "threads", "chunks", "count"}`` before
        the first chunk runs.

    Raises
    ------
    ConfigError
        For a bad sweep, a missing Dask, an unreachable scheduler or a
        cluster without workers.
    """
    plan = json.loads(_core.sweep_plan(config_json, spec_json))
    count: int = plan["count"]
    client, owned = _client(scheduler)
    try:
        nthreads = client.nthreads()
        if not nthreads:
            raise ConfigError(f"the Dask cluster at {client.scheduler.address} has no workers")
        total_threads = sum(nthreads.values())
        size = chunk_size or max(1, math.ceil(count / (CHUNKS_PER_THREAD * total_threads)))
        if size < 1:
            raise ConfigError(f"chunk size must be >= 1, got {size}")
        bounds = chunks(count, size)
        if on_start is not None:
            on_start(
                {
                    "workers": len(nthreads),
                    "threads": total_threads,
                    "chunks": len(bounds),
                    "count": count,
                }
            )
        return {
            "metric": plan["metric"],
            "params": plan["params"],
            "rows": rank(
                _run(
                    client,
                    config_json,
                    spec_json,
                    series,
                    bounds,
                    start,
                    end,
                    threads,
                    retries,
                    on_progress,
                )
            ),
        }
    finally:
        if owned:
            client.close()


def _run(
    client: Any,
    config_json: str,
    spec_json: str,
    series: list[dict[str, Any]],
    bounds: list[tuple[int, int]],
    start: int | None,
    end: int | None,
    threads: int,
    retries: int,
    on_progress: Progress | None,
) -> list[dict[str, Any]]:
    from distributed import as_completed

    count = bounds[-1][1] if bounds else 0
    # A list is scattered element by element: wrap it to scatter it whole.
    [candles] = client.scatter([series], broadcast=True, hash=False)
    run = uuid.uuid4().hex[:12]
    futures = [
        client.submit(
            run_chunk,
            run,
            config_json,
            spec_json,
            candles,
            lo,
            hi,
            start,
            end,
            threads,
            key=f"avd-sweep-{run}-{lo}",
            retries=retries,
            pure=False,
        )
        for lo, hi in bounds
    ]
    rows: list[dict[str, Any]] = []
    done = 0
    if on_progress is not None:
        on_progress(0, count)
    try:
        pending = as_completed(futures, with_results=True, loop=client.loop)
        # Dropped once fetched: the scheduler then forgets the result, so a
        # worker lost later is not asked to recompute it.
        futures.clear()
        for fut, part in pending:
            fut.release()
            rows.extend(part)
            done += len(part)
            if on_progress is not None:
                on_progress(done, count)
    finally:
        for f in futures:
            f.release()
        candles.release()
    return rows


def run_window(
    run: str,
    config_json: str,
    spec_json: str,
    series: list[dict[str, Any]],
    k: int,
    threads: int,
) -> dict[str, Any]:
    """One task: walk-forward window ``k`` on this worker's copy of the candles."""
    out = _core.walk_forward(
        config_json, spec_json, _prepared(run, series), threads=threads, windows=(k, k + 1)
    )
    window: dict[str, Any] = json.loads(out)["windows"][0]
    return window


def walk_forward_on_dask(
    config_json: str,
    spec_json: str,
    series: list[dict[str, Any]],
    scheduler: Any,
    *,
    threads: int = 1,
    retries: int = DEFAULT_RETRIES,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """A walk-forward analysis on a Dask cluster, one task per window; the local result.

    Raises
    ------
    ConfigError
        As :func:`sweep_on_dask`, and for a spec without ``walk_forward`` or
        data shorter than one train window.
    """
    plan = json.loads(_core.walk_forward(config_json, spec_json, series, windows=(0, 0)))
    count: int = plan["count"]
    client, owned = _client(scheduler)
    try:
        if not client.nthreads():
            raise ConfigError(f"the Dask cluster at {client.scheduler.address} has no workers")
        from distributed import as_completed

        [candles] = client.scatter([series], broadcast=True, hash=False)
        run = uuid.uuid4().hex[:12]
        futures = {
            client.submit(
                run_window,
                run,
                config_json,
                spec_json,
                candles,
                k,
                threads,
                key=f"avd-walk-{run}-{k}",
                retries=retries,
                pure=False,
            ): k
            for k in range(count)
        }
        windows: dict[int, dict[str, Any]] = {}
        if on_progress is not None:
            on_progress(0, count)
        try:
            for fut, window in as_completed(list(futures), with_results=True, loop=client.loop):
                windows[futures.pop(fut)] = window
                fut.release()
                if on_progress is not None:
                    on_progress(len(windows), count)
        finally:
            for f in futures:
                f.release()
            candles.release()
        return {
            "metric": plan["metric"],
            "params": plan["params"],
            "windows": [windows[k] for k in range(count)],
        }
    finally:
        if owned:
            client.close()
