"""Market sharding: ``--shard i/n`` splits the symbols by CRC-32 of the symbol, mod n.

The reference is the rule as documented, computed with :func:`binascii.crc32`
(the same CRC-32 as zlib's, from another module), and, for the bundled
sample, the hand-checked split written out below.
"""

from __future__ import annotations

import binascii
import subprocess
import sys
from pathlib import Path

import pytest

from avd.exceptions import ConfigError
from avd.services.market.settings import MarketSection
from avd.services.market.shards import Shard, shard_of

SAMPLE = ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
#: 500 made-up symbols, the size of Binance's USDT pairs
MANY = [f"C{i:03d}USDT" for i in range(500)]


def test_the_rule_is_crc32_mod_n() -> None:
    for n in (1, 2, 3, 7):
        for s in SAMPLE + MANY:
            assert shard_of(s, n) == binascii.crc32(s.encode()) % n


def test_the_sample_splits_as_documented_in_the_readme() -> None:
    # crc32: BNBUSDT 0x...0, BTCUSDT odd, ETHUSDT even, SOLUSDT even, XRPUSDT even
    assert Shard(0, 2).select(SAMPLE) == ["BNBUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    assert Shard(1, 2).select(SAMPLE) == ["BTCUSDT"]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8])
def test_every_symbol_is_in_exactly_one_shard(n: int) -> None:
    parts = [Shard(i, n).select(MANY) for i in range(n)]
    assert sorted(s for p in parts for s in p) == sorted(MANY)
    # independent of the list each shard was given: a shard given a subset keeps its own
    assert Shard(1, n).select(MANY[::-1]) == parts[1][::-1] if n > 1 else True


def test_bad_shards_are_clear_errors() -> None:
    assert Shard.parse(" 1/3 ") == Shard(1, 3)
    for bad in ("3/3", "1", "a/b", "-1/2", "0/0", "1/2/3"):
        with pytest.raises(ConfigError, match="--shard"):
            Shard.parse(bad)
    with pytest.raises(ConfigError, match="gets none of BTCUSDT"):
        Shard(0, 2).select(["BTCUSDT"])
    with pytest.raises(ValueError, match=r"i must be in 0\.\.n-1"):
        MarketSection(shard="2/2")


def test_serve_market_refuses_a_bad_shard_in_one_line(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "avd", "serve", "market", "--shard", "2/2",
         "--data-dir", str(tmp_path), "--port", "0"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "--shard '2/2'" in errors[0], r.stderr
