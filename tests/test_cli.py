"""The ``avd`` command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

import avd
from avd.cli import app

AVD = [sys.executable, "-m", "avd"]


def avd_cmd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AVD, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_help_and_version() -> None:
    r = avd_cmd("--help")
    assert r.returncode == 0
    assert "engine" in r.stdout
    r = avd_cmd("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"avd {avd.__version__}"


def test_engine_on_the_bundled_sample_prints_every_symbol() -> None:
    r = avd_cmd("engine")
    assert r.returncode == 0, r.stderr
    for sym in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"):
        assert sym in r.stdout
    assert "Latest context" in r.stdout


def test_engine_json_on_a_shared_data_file(shared_data: Path) -> None:
    r = avd_cmd(
        "engine", "--data", str(shared_data / "ETHUSDT-5m.csv.gz"), "--json", "--signals", "3"
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert len(report) == 1
    eth = report[0]
    assert (eth["symbol"], eth["interval"], eth["candles"]) == ("ETHUSDT", "5m", 28966)
    assert 0 <= eth["context"]["score"] <= 100
    assert len(eth["signals"]) == 3
    assert eth["signal_count"] >= 3


def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    r = avd_cmd("engine", "--data", str(tmp_path / "missing"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "no such file" in r.stderr
    cfg = tmp_path / "engine.json"
    cfg.write_text('{"signals": {"entry_threshold": 500}}')
    r = avd_cmd("engine", "--config", str(cfg))
    assert r.returncode == 2
    assert "entry_threshold" in r.stderr and r.stderr.strip().count("\n") == 0


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of ``avd``, as argument lists."""
    root = typer.main.get_command(app)
    out: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        out.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(root, [])
    return out


def test_dash_h_is_help_for_every_command_and_sub_command() -> None:
    paths = _command_paths()
    for expected in (["run"], ["serve", "market"], ["serve", "trade"], ["backtest"], ["db"]):
        assert expected in paths
    runner = CliRunner()
    for path in paths:
        short = runner.invoke(app, [*path, "-h"])
        long = runner.invoke(app, [*path, "--help"])
        assert long.exit_code == 0, path
        assert (short.exit_code, short.output) == (0, long.output), path
        assert "Usage: avd" in short.output


def test_serve_market_help_describes_the_service_alone() -> None:
    r = avd_cmd("serve", "market", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "serve market [OPTIONS]" in text
    assert "Serve the MarketContext service alone" in text
    # how it differs from `avd run`, which serves every service together
    assert "no accounts and no trading" in text and "avd run" in text
    run_help = " ".join(avd_cmd("run", "--help").stdout.split())
    assert "Run the whole platform in one process" in run_help
    assert "Run the whole platform" not in text


@pytest.fixture
def silent_proxy() -> Iterator[str]:
    """A proxy that accepts connections and never answers: Binance out of reach.

    Stands for a network that swallows packets, whatever this machine's real
    connectivity; a start must give up after its short timeout.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def _env_without_binance(proxy: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"HTTPS_PROXY": proxy, "https_proxy": proxy, "AVD_DATA_DIR": str(home)})
    return env


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--symbols", "BTCUSDT"],
        ["serve", "market", "--symbols", "BTCUSDT"],
        ["serve", "trade"],
    ],
    ids=["run", "serve-market", "serve-trade"],
)
def test_binance_out_of_reach_is_one_line_within_a_short_timeout(
    command: list[str], silent_proxy: str, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    r = subprocess.run(
        [*AVD, *command, "--exchange", "binance", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env_without_binance(silent_proxy, tmp_path),
    )
    assert time.monotonic() - t0 < 30
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Binance" in lines[0]


@pytest.mark.parametrize("command", [["run"], ["serve", "market"]], ids=["run", "serve-market"])
def test_a_bad_symbol_is_one_line(command: list[str], tmp_path: Path) -> None:
    r = avd_cmd(*command, "--symbols", "BTC-USDT", "--port", "0", "--data-dir", str(tmp_path))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "BTC-USDT" in lines[0] and "*USDT" in lines[0], r.stderr


def test_a_failure_while_the_platform_starts_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # DOGEUSDT is not in the replayed data: found only once the server starts
    r = avd_cmd("run", "--symbols", "DOGEUSDT", "--port", "0", "--data-dir", str(tmp_path))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    errors = [x for x in r.stderr.splitlines() if x.startswith("error:") or "ERROR" in x]
    assert len(errors) == 1 and "DOGEUSDT" in errors[0], r.stderr
