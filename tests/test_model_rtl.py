"""The fluid engine's RTL platform (sim/model/rtl.py), its arbitrated memory and the DRAM
measurements it uses: expected values from the arbitration rules and the DRAM timing."""
import pytest

from hw.dram_params import DramParams
from sim import scale as sc
from sim.model import dram_curve
from sim.model import rtl
from sim.model.engine import ArbitratedMemory


def test_round_robin_shares():
    m = ArbitratedMemory(1.0, "round-robin")
    assert m._shares(0.3, 0.4) == (0.3, 0.4)            # under capacity: both served
    assert m._shares(1.0, 1.0) == (0.5, 0.5)            # both saturating: alternate
    c, k = m._shares(1.0, 0.2)                          # the light class gets all it asks
    assert k == pytest.approx(0.2) and c == pytest.approx(0.8)


def test_t3_mca_floor_and_free_rate():
    m = ArbitratedMemory(1.0, "t3-mca", starvation=32, comm_free_rate=0.25)
    c, k = m._shares(1.0, 1.0)          # compute saturates: comm gets the starvation floor
    assert k == pytest.approx(1 / 33) and c == pytest.approx(1 - 1 / 33)
    c, k = m._shares(0.0, 1.0)          # compute idle: comm limited by its own occupancy
    assert (c, k) == (0.0, pytest.approx(0.25))
    with pytest.raises(ValueError, match="policy"):
        ArbitratedMemory(1.0, "fifo")


def test_mix_factor_lowers_capacity():
    class J:
        def __init__(self, cls, tag):
            self.cls, self.tag = cls, tag
    m = ArbitratedMemory(1.0, "round-robin", mix_factor={("gemm", "dma"): 1.25})
    m.observe([J("compute", ("gemm", 0)), J("comm", ("dma", 0))])
    assert m.Beff == pytest.approx(0.8)
    m.observe([J("compute", ("gemm", 0))])
    assert m.Beff == pytest.approx(1.0)


def test_dram_patterns_follow_the_timing():
    p = DramParams()
    per_row = p.banks * p.cols
    # a tile's stores in one open row: about one beat per cycle plus the fixed costs
    t = dram_curve.gemm_tile(0, 1, 32, [0] * 3, [0, 32, 64], False)
    assert 32 <= t < 64
    # updates (read, then write of the same beat) cost more than stores
    u = dram_curve.gemm_tile(0, 1, 32, [0] * 3, [0, 32, 64], True)
    assert u > 1.5 * t
    # the reduction's two reads in the same bank, different rows: every access a row conflict,
    # at least tRP + tRCD per access pair; in different banks far cheaper
    same = dram_curve.reduction(32, 0, 4 * per_row, 8)
    other = dram_curve.reduction(32, 0, 4 * per_row + p.cols, 8)
    assert same > 32 * (p.tRP + p.tRCD) and other < same / 2


def test_dma_takes_its_next_command_before_the_receive_lands():
    # hw/dma.py takes the next fired command once the previous one's beats are on the link; the
    # receive of the upstream's send lands on its own. So in a run of transfers the second one's
    # first read comes before the first one's last received beat is written, and a transfer's
    # memory time in the steady state is below one transfer's latency, but at least its 2 x 32
    # requests at one per cycle. (Transfers serialised on the receive fail the first check.)
    p = DramParams()
    per_row = p.banks * p.cols
    B = 32
    x = dram_curve._Transfers(B, ((0, 4 * per_row, True), (p.cols, 4 * per_row + p.cols, True)),
                              16, 1.0, 1)
    seen = {"read2": None, "land1": None}
    src, land = x.source, x._land

    def source(pt):
        r = src(pt)
        if r is not None and r[0] == "R" and r[1] == p.cols and seen["read2"] is None:
            seen["read2"] = pt.c
        return r

    def landed(c):
        land(c)
        if x.landed == B and seen["land1"] is None:
            seen["land1"] = c
    x.source, x._land = source, landed
    dram_curve._run(x)
    assert seen["read2"] is not None and seen["land1"] is not None
    assert seen["read2"] < seen["land1"]
    one = dram_curve._run(dram_curve._Transfers(B, ((0, 4 * per_row, True),), 16, 1.0, 1))
    steady = dram_curve.transfer(B, 0, 4 * per_row + p.cols, True, 16)
    assert 2 * B <= steady < one


def test_platform_from_hardware_attributes():
    from hw.memport import MemPort
    from hw.sram import AxiSram
    s = sc.load_all(names=["ring4_64"])[0]
    plat = rtl.RtlPlatform.from_scenario(s)
    assert plat.gemm_rtt == (MemPort.ISSUE_LATENCY + s.mem_latency + AxiSram.READ_EXTRA
                             + MemPort.RESP_LATENCY + 2)
    assert plat.link_bw == 1.0 and plat.beat_bytes == 8 and plat.capacity == 1.0


def test_counts_are_the_protocols():
    # closed forms per device: GEMM R+B per tile; software: DMA read + receive write per
    # tile sent, reduction 3B per tile reduced; T3: DMA read + incoming update per tile sent
    s = sc.load_all(names=["toy4_ringbench"])[0]
    n, T, B, R = s.devices, s.tiles, s.beats, s.reads
    gemm = n * T * (R + B)
    sent = (n - 1) * T
    want = {"sequential": gemm + sent * 2 * B + (n - 1) * T * 3 * B,
            "t3": gemm + sent * 2 * B}
    for mode, per_dev in want.items():
        r = rtl.simulate(s, mode)
        assert r["mem_beats"] == n * per_dev, mode
        assert r["link_beats"] == n * sent * (B + 1), mode
    with pytest.raises(ValueError, match="mode"):
        rtl.simulate(s, "nccl")


def test_t3_mca_gate_closed_by_a_shadow():
    # while a compute burst's requests still hold the occupancy register at the threshold
    # (a "shadow" job runs), comm gets only the starvation floor even with compute idle
    class J:
        def __init__(self, cls, tag):
            self.cls, self.tag = cls, tag
    m = ArbitratedMemory(1.0, "t3-mca", starvation=32, comm_free_rate=0.25)
    m.observe([J("compute", ("shadow", 1, 0)), J("comm", ("dma", 0))])
    assert m._shares(0.0, 1.0)[1] == pytest.approx(1 / 33)
    m.observe([J("comm", ("dma", 0))])
    assert m._shares(0.0, 1.0)[1] == pytest.approx(0.25)


def test_after_start_follows_the_start():
    from sim.model.config import SystemConfig
    from sim.model.engine import Engine, Job
    e = Engine(SystemConfig(name="t", n_cu=2, comm_cus=1).validate(),
               memory=ArbitratedMemory(1e9, "round-robin"))
    e.cu.fixed_reserved = 1                  # one CU: a job's cu_s is its time
    a = e.add(Job("a", "gemm", cu_s=20e-9))
    b = e.add(Job("b", "link", cu_s=1e-9))
    e.add(Job("w", "local", cu_s=3e-9))
    a.after(e.streams["local"][0])           # a starts at 3 ns, b 5 ns after that
    b.after_start(a, 5e-9)
    e.run()
    assert a.t_start == pytest.approx(3e-9) and b.t_start == pytest.approx(8e-9)
    assert b.t_end < a.t_end


def test_fluid_tracks_the_cycle_level_model_on_small_tiles():
    # 64-byte tiles: the software engine's states between reduction kernels, the DMA traffic
    # landing in the kernels' and the GEMM's bursts, the receive after the send (the fluid
    # graph of sim/model/rtl.py) decide the time; the CL model is the cycle-exact reference
    from sim.xval.scale_model import model_scale
    from tools.validate_scale import BOUND
    s = sc.from_dict({"devices": 4, "tiles": 8, "beats": 8, "slices": 4, "reads": 4,
                      "compute": 16, "memory": {"latency": 4},
                      "link": {"latency": 8, "bandwidth": [1, 1]},
                      "policy": {"mca_threshold": 4, "mca_starvation": 32},
                      "hardware": {"data_width": 64, "addr_width": 14, "tracker_entries": 64,
                                   "len_width": 8}}, "small")
    for mode in ("domino", "t3"):
        c = model_scale(s, mode)["cycles"]
        f = rtl.simulate(s, mode)["cycles"]
        assert abs(f - c) / c <= BOUND, f"{mode}: fluid {f:.0f} vs CL {c} cycles"
