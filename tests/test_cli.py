"""The ``avd`` command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import avd

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
