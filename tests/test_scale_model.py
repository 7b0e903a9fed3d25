"""The cycle-level model of the scale ring (:mod:`sim.xval.scale_model`) on tiny instances.

Its cycles are compared with the RTL's in ``make validate`` (``tools/validate_scale.py``) and, on
``ring4_64``, in ``tests/test_validate_scale.py``. Here, in a few seconds: the beat counts of a
run are the ones the protocol implies (:func:`sim.xval.model.expected_counts`, a closed form
written from the protocol, and the producer's own counters from its definition in
``hw/producer.py``); the fast DRAM reference decides as :class:`sim.ref.dram.DramRef` does, cycle
by cycle; a perturbed platform (a DRAM with a slower tRCD, one reduction credit, fewer memory
port slots) changes the cycles, so the platform numbers are used; the paper's step 1 (scenario
``direct``) saves exactly one chunk of local writes and DMA reads per device, in the CL model and
the fluid engine alike, and leaves the link beats as they were."""
import random
from dataclasses import replace

import pytest

from hw.dram_params import DramParams, Scheduler
from sim import scale as sc
from sim.ref.dram import DramRef
from sim.xval.model import expected_counts
from sim.xval.scale_model import fast_dram_ref, model_scale, scale_platform


def _tiny_dict(memory="ideal", tiles=4, beats=4, reads=2, devices=4):
    return {
        "devices": devices, "tiles": tiles, "beats": beats, "slices": 2, "reads": reads,
        "compute": 4, "memory": {"latency": 4}, "link": {"latency": 8, "bandwidth": [1, 1]},
        "policy": {"mca_threshold": 4, "mca_starvation": 32},
        "hardware": {"data_width": 64, "addr_width": 12, "tracker_entries": 64, "len_width": 8,
                     "input_window": 64, "memory": memory}}


def tiny(memory="ideal", tiles=4, beats=4, reads=2, devices=4):
    return sc.from_dict(_tiny_dict(memory, tiles, beats, reads, devices), name=f"tiny_{memory}")


@pytest.mark.parametrize("memory", ["ideal", "dram"])
@pytest.mark.parametrize("mode", sc.MODES)
def test_beat_counts_are_the_protocols(memory, mode):
    s = tiny(memory)
    r = model_scale(s, mode)
    want = expected_counts(s, mode)
    assert r["mem_reads"] == want["mem_reads"]
    assert r["mem_writes"] == want["mem_writes"]
    assert r["link_beats"] == want["link_beats"]
    n, T, B, R = s.devices, s.tiles, s.beats, s.reads
    fused = mode in ("t3", "t3-mca")
    for p in r["producer"]:
        assert p["GEMM_RD"] == n * T * R and p["GEMM_WR"] == n * T * B
        assert p["RED_RD"] == (0 if fused else 2 * (n - 1) * T * B)
        assert p["RED_WR"] == (0 if fused else (n - 1) * T * B)
        assert p["CLR_WR"] == (n * T * B if fused else 0)       # CTRL.clear in T3 only
        assert p["CHK_RD"] == T * B                              # its own reduced chunk
        # doorbells: chunk g-1, then every reduced tile but the last step's
        assert p["CSR_WR"] >= (0 if fused else (n - 1) * T)
        assert 0 < p["CYC_GEMM"] <= p["CYC_TOTAL"] <= r["cycles"]
    assert r["cycles"] == max(p["CYC_TOTAL"] for p in r["producer"])


def test_fast_dram_reference_decides_as_the_reference():
    for sched in Scheduler:
        p = DramParams(scheduler=sched, age_cap=40, tREFI=300)
        a, b = DramRef(p), fast_dram_ref(p)
        rnd = random.Random(sched.value)
        rows = [rnd.randrange(p.rows) for _ in range(3)]       # a few rows: hits and conflicts
        for c in range(3000):
            beat = rnd.choice(rows) * p.banks * p.cols + rnd.randrange(p.banks * p.cols)
            inp = dict(arvalid=rnd.random() < 0.4, araddr=beat * 8, arlen=0, arsize=3, arburst=1,
                       arid=rnd.randrange(4), awvalid=rnd.random() < 0.3,
                       awaddr=rnd.randrange(p.capacity) * 8, awlen=0, awsize=3, awburst=1,
                       awid=0, wvalid=rnd.random() < 0.5, wdata=c, wstrb=255, wlast=1,
                       rready=rnd.random() < 0.8, bready=rnd.random() < 0.8)
            assert a.step(inp) == b.step(inp), f"{sched}: cycle {c}"
        assert a.stats == b.stats and a.stats["act"] > 10 and a.stats["pre"] > 5


def test_perturbed_platform_changes_cycles():
    s = tiny("dram", tiles=4, beats=8)
    base = scale_platform(s)
    t3 = model_scale(s, "t3")["cycles"]
    slow = replace(base.dram, tRCD=4 * base.dram.tRCD)
    assert model_scale(s, "t3", scale_platform(s, dram=slow))["cycles"] > t3
    seq = model_scale(s, "sequential")["cycles"]
    assert model_scale(s, "sequential", scale_platform(s, reduce_credits=1))["cycles"] > seq
    si = tiny("ideal", tiles=4, beats=8, reads=8)
    t3i = model_scale(si, "t3")["cycles"]
    assert model_scale(si, "t3", scale_platform(si, outstanding=2))["cycles"] > t3i


@pytest.mark.parametrize("memory", ["ideal", "dram"])
def test_direct_step1_saves_a_chunk_of_local_traffic(memory):
    """The paper's step 1 (scenario ``direct``): per device, the tiles of the chunk it originates
    go to the neighbour as remote packets instead of being stored and read back by the DMA, so
    the ring saves ``devices x tiles x beats`` local writes (compute class) and as many DMA reads
    (comm class); the link carries the same beats (one packet per tile either way, now from the
    producer's remote port: ``tiles x (1 + beats)`` per device) and the receivers apply the same
    updates. The CL model and the fluid engine count the same beats; sequential is untouched."""
    from sim.model.rtl import simulate
    s = tiny(memory)
    d = sc.from_dict({**_tiny_dict(memory), "direct": True}, name=f"tiny_{memory}_direct")
    n, T, B = s.devices, s.tiles, s.beats
    chunk = n * T * B
    for mode in ("t3", "t3-mca"):
        a, b = model_scale(s, mode), model_scale(d, mode)
        ca, cb = a["counters"], b["counters"]
        assert a["mem_writes"] - b["mem_writes"] == chunk
        assert a["mem_reads"] - b["mem_reads"] == chunk
        assert ca["wr_beats_compute"] - cb["wr_beats_compute"] == chunk
        assert ca["rd_beats_comm"] - cb["rd_beats_comm"] == chunk
        assert b["link_beats"] == a["link_beats"] == n * (n - 1) * T * (1 + B)
        assert cb["updates_applied"] == ca["updates_applied"]
        assert cb["dma_commands"] == ca["dma_commands"] - n * T
        for p in b["producer"]:
            assert p["GEMM_WR"] == (n - 1) * T * B and p["GEMM_RMT"] == T * (1 + B)
        if memory == "ideal":
            fa, fb = simulate(s, mode), simulate(d, mode)
            assert fa["mem_beats"] == a["mem_reads"] + a["mem_writes"]
            assert fb["mem_beats"] == b["mem_reads"] + b["mem_writes"]
            assert fb["link_beats"] == fa["link_beats"] == b["link_beats"]
    seq_a, seq_b = model_scale(s, "sequential"), model_scale(d, "sequential")
    assert (seq_a["cycles"], seq_a["mem_reads"]) == (seq_b["cycles"], seq_b["mem_reads"])
