"""--shard k/N: parsing and which items a shard owns."""

import pytest

from lyra_sim.errors import InvalidInputError
from lyra_sim.io.shards import Shard


def test_shard_parsing_and_ownership():
    assert Shard.parse(None) == Shard(0, 1)
    s = Shard.parse("1/3")
    assert [i for i in range(8) if s.owns(i)] == [1, 4, 7]
    for bad in ("3/3", "-1/2", "1/0", "x", "1-2"):
        with pytest.raises(InvalidInputError):
            Shard.parse(bad)
    assert Shard.parse(" 1 / 3 ") == Shard(1, 3) and str(Shard(1, 3)) == "1/3"
