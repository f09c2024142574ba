"""Peers that cannot be installed beside AVD's dev extra run in their own
virtualenv under ``.venv-peers/NAME``, created on first use, and are timed
in a subprocess on the same bars (handed over as an ``.npz`` file).

Each peer script in ``benchmarks/peers/`` reads ``--data FILE --repeat N``
and prints one JSON line: ``{"seconds": best wall time, "trades": n}``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO / ".venv-peers"
SCRIPTS = Path(__file__).resolve().parent / "peers"

# name -> (python to create the venv with, pip requirements)
SPECS: dict[str, tuple[list[str], list[str]]] = {
    "vectorbt": ([sys.executable], ["vectorbt==1.2.0"]),
    # NautilusTrader needs Python >= 3.12.
    "nautilus": (
        [str(Path.home() / ".pyenv" / "versions" / "3.12.1" / "bin" / "python"), "python3.12"],
        # pandas 3 hands read-only buffers its bar wrangler cannot take.
        ["nautilus_trader==1.231.0", "pandas<3"],
    ),
}


def _python(name: str) -> Path:
    return PEERS / name / "bin" / "python"


def ensure(name: str) -> Path | None:
    """The peer venv's python, created on first use; None if it cannot be made."""
    py = _python(name)
    ok = PEERS / name / ".ready"
    if ok.exists():
        return py
    pythons, reqs = SPECS[name]
    base = next((p for p in pythons if shutil.which(p) or Path(p).exists()), None)
    if base is None:
        return None
    shutil.rmtree(PEERS / name, ignore_errors=True)
    PEERS.mkdir(exist_ok=True)
    try:
        subprocess.run([base, "-m", "venv", str(PEERS / name)], check=True, capture_output=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", *reqs],
            check=True,
            capture_output=True,
            timeout=1200,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    ok.touch()
    return py


def run(name: str, data: Path, repeat: int) -> dict[str, Any] | None:
    """Time the peer in its venv; None if the venv or the run fails."""
    py = ensure(name)
    if py is None:
        return None
    r = subprocess.run(
        [str(py), str(SCRIPTS / f"{name}_sma.py"), "--data", str(data), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if r.returncode != 0:
        sys.stderr.write(f"peer {name} failed:\n{r.stderr[-2000:]}\n")
        return None
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


if __name__ == "__main__":
    for n in sys.argv[1:]:
        print(n, ensure(n))
