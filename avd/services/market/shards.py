"""Market sharding: several ``avd serve market --shard i/n`` split the symbols.

The rule is a stable hash, independent of the list each shard is given and of
the process: symbol ``s`` belongs to shard ``crc32(s) mod n`` (CRC-32 of the
symbol's ASCII bytes, as :func:`zlib.crc32` computes it). Every shard may be
given the same full list (or none: the simulator's); each tracks, scores and
publishes its own part only, so every symbol is scored exactly once per
closed candle across the shards. Adding a shard moves symbols: restart every
shard with the new ``n``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from avd.exceptions import ConfigError

_SHARD = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (``0 <= index < count``)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` as a shard.

        Raises
        ------
        ConfigError
            Not ``i/n`` with ``0 <= i < n``.
        """
        m = _SHARD.match(text.strip())
        if m is None:
            raise ConfigError(f"--shard {text!r}: give i/n, e.g. 0/2 (shards 0/2 and 1/2)")
        index, count = int(m.group(1)), int(m.group(2))
        if count < 1 or index >= count:
            raise ConfigError(f"--shard {text!r}: i must be in 0..n-1 (n >= 1)")
        return cls(index, count)

    def owns(self, symbol: str) -> bool:
        """Whether ``symbol`` is this shard's."""
        return shard_of(symbol, self.count) == self.index

    def select(self, symbols: Iterable[str]) -> list[str]:
        """The part of ``symbols`` this shard owns, in their order.

        Raises
        ------
        ConfigError
            None of them is this shard's.
        """
        given = list(symbols)
        mine = [s for s in given if self.owns(s)]
        if given and not mine:
            raise ConfigError(
                f"shard {self.index}/{self.count} gets none of {', '.join(given)} "
                "(fewer shards, or more symbols)"
            )
        return mine

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(symbol: str, count: int) -> int:
    """The shard of ``symbol`` among ``count``: ``crc32(symbol) mod count``."""
    return zlib.crc32(symbol.encode("ascii")) % count
