"""``tools/ring_phase.py``'s transfers-only ring (the CL scale model with idle producers) on a
small DRAM scenario: every device's DMA finishes each of its ``(devices - 1) x tiles`` transfers,
in order, for both ways of timing the local contributions. Guards the idle producer against the
scale model's producer interface (it broke once when the model learned the producer's direct
step-1 mode)."""
import pytest

from sim import scale as sc
from tools.ring_phase import ring_transfers

SMALL_DRAM = {
    "devices": 3, "tiles": 4, "beats": 8, "reads": 2, "compute": 4, "slices": 2,
    "memory": {"latency": 4}, "link": {"latency": 8, "bandwidth": [1, 1]},
    "policy": {"mca_threshold": 4, "mca_starvation": 32},
    "hardware": {"data_width": 64, "addr_width": 10, "tracker_entries": 32, "len_width": 8,
                 "input_window": 16, "memory": "dram"},
}


@pytest.mark.parametrize("source", ["step", "gemm"])
def test_transfers_only_ring_finishes(source):
    s = sc.from_dict(SMALL_DRAM, "small_dram")
    ends = ring_transfers(s, "t3", source, limit=200_000)
    assert len(ends) == s.devices
    for g, e in enumerate(ends):
        assert len(e) == (s.devices - 1) * s.tiles, (g, e)
        assert e == sorted(e) and e[0] > 0, (g, e)
