"""`make build` gives a wheel that installs into a fresh virtualenv and works
without the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import avd
from avd.store.migrate import alembic_config

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    maturin = Path(sys.executable).parent / "maturin"
    subprocess.run(
        [str(maturin), "build", "--release", "--out", str(dist), "-q"],
        cwd=REPO,
        check=True,
        timeout=1800,
    )
    wheels = list(dist.glob("avd-*.whl"))
    assert len(wheels) == 1
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheels[0])], check=True, timeout=900)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    code = (
        "import avd, avd.indicators as ind, numpy as np;"
        "print(avd.__version__, ind.sma(np.arange(5.0), 2)[-1])"
    )
    out = subprocess.run(
        [str(py), "-c", code],
        cwd=elsewhere,
        env=clean_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [avd.__version__, "3.5"]
    assert (
        str(REPO)
        not in subprocess.run(
            [str(py), "-c", "import avd; print(avd.__file__)"],
            cwd=elsewhere,
            env=clean_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    cli = subprocess.run(
        [str(env_dir / "bin" / "avd"), "engine", "--json", "--signals", "0"],
        cwd=elsewhere,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    assert '"BTCUSDT"' in cli.stdout
    # the migrations ship in the wheel too
    db = subprocess.run(
        [str(env_dir / "bin" / "avd"), "db", "upgrade", "--data-dir", str(elsewhere / "data")],
        cwd=elsewhere,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert db.returncode == 0, db.stderr
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"at revision {head}" in db.stdout
