"""One minute of mixed load (the 30-minute run's little brother): RSS and fds stay flat."""

from __future__ import annotations

import pytest

from bench.soak import soak

pytestmark = pytest.mark.slow


async def test_a_minute_of_mixed_load_leaves_rss_and_fds_flat() -> None:
    result = await soak(60, robots=10)
    verdict = result["verdict"]
    assert result["errors"] == 0
    assert result["connects"] > 20 and result["updates"] > 0 and result["writes"] > 0
    assert verdict["fds_growth"] <= 5, "a descriptor leaks per tablet or per write"
    assert verdict["rss_growth_mb"] < 15, "memory grows with traffic after warm-up"
    assert verdict["queued_frames_max"] < 100
    assert result["exit_s"] < 10
