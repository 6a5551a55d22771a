"""Splitting numbered work between machines: ``--shard k/N`` of ``lyra-sim sdg`` and ``generate --prompts``.

Item ``i`` (a scene, a world) belongs to shard ``i mod N``, so shards are disjoint, together
cover the run, and what an item is does not depend on which shard made it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lyra_sim.errors import InvalidInputError


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based): the items with ``i % count == index``."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str | None) -> "Shard":
        """From ``"k/N"`` (0 <= k < N, white space around the numbers allowed); None gives the whole run.

        Raises:
            InvalidInputError: anything else.
        """
        if text is None:
            return cls()
        try:
            k, n = (int(v) for v in text.split("/"))
        except ValueError:
            raise InvalidInputError(f"--shard must look like k/N (e.g. 0/4), got {text!r}") from None
        if not (n >= 1 and 0 <= k < n):
            raise InvalidInputError(f"--shard k/N needs N >= 1 and 0 <= k < N, got {text!r}")
        return cls(k, n)

    def owns(self, i: int) -> bool:
        """Whether item ``i`` is this shard's."""
        return i % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
