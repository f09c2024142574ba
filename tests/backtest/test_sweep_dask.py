"""Sweeps on a real Dask cluster: a scheduler and two workers, each its own process on loopback.

The reference is the local sweep (rayon, one process) on the same candles:
the cluster must give the same rows in the same order, also when a worker
is killed with SIGKILL in the middle of the sweep.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from avd.backtest import Backtest
from avd.backtest.data import load
from avd.history import Candles
from avd.net import free_port
from tests.polling import wait_until

distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parents[2]
GRID = {
    "metric": "sharpe",
    "grid": {
        "stops.stop_atr": [1.5, 2, 3],
        "stops.trail_pct": [0, 1, 2, 3],
        "engine.signals.entry_threshold": [60, 65],
    },
}
RANDOM = {
    "metric": "max_drawdown",
    "random": {
        "n": 10,
        "seed": 5,
        "params": {"stops.stop_atr": {"min": 1, "max": 4}, "intrabar": ["worst", "direction"]},
    },
}


SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--no-dashboard"]
WORKER_CMD = [sys.executable, "-m", "distributed.cli.dask_worker"]
#: one thread each; no nanny, so a SIGKILL is final (a nanny would restart the worker)
WORKER = ["--nthreads", "1", "--no-nanny", "--no-dashboard"]


class Cluster:
    """A ``dask scheduler`` and ``dask worker --no-nanny`` processes (a kill is final)."""

    def __init__(self, workers: int) -> None:
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.procs: list[subprocess.Popen[bytes]] = []
        # The scheduler listens before any worker starts: a worker picks its
        # own port at random, and one that took the scheduler's port first
        # made the scheduler exit and the client wait on a worker forever.
        # A port taken by another process in between: another port.
        for _ in range(5):
            port = free_port()
            scheduler = subprocess.Popen(
                [*SCHEDULER, "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_until(
                lambda s=scheduler, p=port: s.poll() is not None or _listening(p),  # type: ignore[misc]
                f"the Dask scheduler listening on port {port}",
                timeout=60,
            )
            if scheduler.poll() is None:
                break
        else:
            raise RuntimeError("no Dask scheduler could listen on a free port (5 tries)")
        self.address = f"tcp://127.0.0.1:{port}"
        self.procs.append(scheduler)
        self.workers = [
            subprocess.Popen(
                [*WORKER_CMD, self.address, "--host", "127.0.0.1", *WORKER],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        self.procs.extend(self.workers)

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster(2)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def client(cluster: Cluster) -> Iterator[Any]:
    cl = wait_until(
        lambda: _connect(cluster.address), f"the Dask scheduler at {cluster.address}", timeout=60
    )
    try:
        cl.wait_for_workers(2, timeout=60)
        yield cl
    finally:
        cl.close()


def _connect(address: str) -> Any:
    try:
        return distributed.Client(address, timeout=2, set_as_default=False)
    except OSError:
        return None


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> list[Candles]:
    return load([shared_data / "BTCUSDT-1h.csv.gz", shared_data / "ETHUSDT-1h.csv.gz"])


def test_a_two_worker_sweep_equals_the_local_one_row_for_row(
    client: Any, candles: list[Candles]
) -> None:
    bt = Backtest({"fills": {"slippage_bps": 2}})
    seen: list[tuple[int, int]] = []
    with distributed.get_task_stream(client) as ts:
        remote = bt.sweep(
            GRID,
            *candles,
            scheduler=client,
            chunk_size=3,
            on_progress=lambda d, n: seen.append((d, n)),
        )
    local = bt.sweep(GRID, *candles, threads=1)
    assert len(local["rows"]) == 24
    assert any(r["stats"]["trades"] > 0 for r in local["rows"])
    assert remote == local
    # eight chunks of three, shared by both workers
    chunks = [t for t in ts.data if str(t["key"]).startswith("avd-sweep-")]
    assert len(chunks) == 8
    assert len({t["worker"] for t in chunks}) == 2
    assert seen[0] == (0, 24) and seen[-1] == (24, 24)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_random_sweep_on_dask_ranks_as_the_local_one(client: Any, candles: list[Candles]) -> None:
    bt = Backtest()
    remote = bt.sweep(RANDOM, *candles, scheduler=client.scheduler.address, chunk_size=4)
    assert remote == bt.sweep(RANDOM, *candles, threads=2)
    assert remote["metric"] == "max_drawdown" and len(remote["rows"]) == 10


def test_a_walk_forward_on_dask_equals_the_local_one_window_for_window(
    client: Any, candles: list[Candles], shared_data: Path, tmp_path: Path
) -> None:
    spec = {
        "metric": "sharpe",
        "grid": {"stops.stop_atr": [1.5, 3]},
        "walk_forward": {"train_bars": 8000, "test_bars": 6000},
    }
    bt = Backtest()
    seen: list[tuple[int, int]] = []
    with distributed.get_task_stream(client) as ts:
        remote = bt.walk_forward(
            spec, *candles, scheduler=client, on_progress=lambda d, n: seen.append((d, n))
        )
    local = bt.walk_forward(spec, *candles, threads=1)
    assert len(local["windows"]) >= 5
    assert remote == local
    windows = [t for t in ts.data if str(t["key"]).startswith("avd-walk-")]
    assert len(windows) == len(local["windows"])
    assert seen[-1] == (len(local["windows"]), len(local["windows"]))
    # the command line: the same walk_forward.json
    f = tmp_path / "wf.json"
    f.write_text(json.dumps(spec))
    data = shared_data / "BTCUSDT-1h.csv.gz"
    args = ("sweep", "--data", data, "--spec", f, "--walk-forward")
    r = _avd(*args, "--out", tmp_path / "d", "--scheduler", client.scheduler.address)
    assert r.returncode == 0, r.stderr
    r = _avd(*args, "--out", tmp_path / "l")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "d" / "walk_forward.json").read_text()) == json.loads(
        (tmp_path / "l" / "walk_forward.json").read_text()
    )


def test_a_worker_killed_mid_sweep_costs_only_its_chunk(
    cluster: Cluster, client: Any, candles: list[Candles]
) -> None:
    bt = Backtest({"fills": {"slippage_bps": 2}})
    pids = {w.pid: w for w in cluster.workers}
    pid_of: dict[str, int] = client.run(os.getpid)
    assert set(pid_of.values()) == set(pids)
    killed: dict[str, Any] = {}

    def kill_one(done: int, total: int) -> None:
        if done == 0 or killed:
            return
        # a worker running a chunk right now
        busy = [a for a, keys in client.processing().items() if keys]
        if not busy:
            return
        pid = pid_of[busy[0]]
        killed.update(address=busy[0], pid=pid, running=client.processing()[busy[0]])
        os.kill(pid, signal.SIGKILL)
        pids[pid].wait(timeout=30)

    remote = bt.sweep(GRID, *candles, scheduler=client, chunk_size=2, on_progress=kill_one)
    assert killed, "no worker was running a chunk after the first one finished"
    assert killed["running"]
    assert pids[killed["pid"]].returncode == -signal.SIGKILL
    assert remote == bt.sweep(GRID, *candles, threads=1)
    assert list(client.scheduler_info()["workers"]) != [killed["address"]]
    assert len(client.scheduler_info()["workers"]) == 1


def test_sweep_cli_on_dask_writes_the_local_result(
    client: Any, shared_data: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps(GRID))
    data = shared_data / "BTCUSDT-1h.csv.gz"
    r = _avd("sweep", "--data", data, "--spec", spec, "--out", tmp_path / "d",
             "--scheduler", client.scheduler.address, "--chunk-size", "5")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "dask: 24 runs" in r.stdout
    r = _avd("sweep", "--data", data, "--spec", spec, "--out", tmp_path / "l")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "d" / "sweep.json").read_text()) == json.loads(
        (tmp_path / "l" / "sweep.json").read_text()
    )


def test_an_unreachable_scheduler_is_one_line_and_exit_2(shared_data: Path, tmp_path: Path) -> None:
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps(GRID))
    data = shared_data / "BTCUSDT-1h.csv.gz"
    for address, why in (
        (f"tcp://127.0.0.1:{free_port()}", "cannot reach the Dask scheduler"),
        ("nonsense://x", "not a Dask address"),
    ):
        r = _avd("sweep", "--data", data, "--spec", spec, "--scheduler", address)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith(f"error: --scheduler {address}: {why}")


def test_a_port_that_never_answers_as_a_scheduler_is_one_line_and_exit_2(
    shared_data: Path, tmp_path: Path
) -> None:
    # A service that accepts the connection and says nothing (as a Dask
    # worker's port did to the client once): distributed's Client waits on it
    # forever; the sweep gives up after its deadline with one line.
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps(GRID))
    with socket.create_server(("127.0.0.1", 0)) as silent:
        held: list[socket.socket] = []

        def accept() -> None:
            with contextlib.suppress(OSError):
                while True:
                    held.append(silent.accept()[0])

        threading.Thread(target=accept, daemon=True).start()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        data = shared_data / "BTCUSDT-1h.csv.gz"
        r = _avd("sweep", "--data", data, "--spec", spec, "--scheduler", address)
        for c in held:
            c.close()
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(
        f"error: --scheduler {address}: cannot reach the Dask scheduler "
        "(nothing answered as a scheduler within 15 s"
    ), lines[0]


def _avd(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avd", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
