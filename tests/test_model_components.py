"""Timing of the system model's components on small cases.

Every expected time below is worked out by hand in the comments (not taken from the model).
The tiny system: 4 CUs x 1 GHz x 1000 flop/clk at efficiency 1 -> 1e12 flop/s per CU; HBM 1 GB/s
(1e9 B/s, fully usable); link 2 GB/s bidirectional -> 1e9 B/s one way, 500 ns latency.
"""
import pytest

from sim.model.config import SystemConfig
from sim.model.dataflows import _Builder, _sync, gemm_costs
from sim.model.engine import Engine, Job, Kernel, queue_factor

US = 1e-6


def tiny(**kw):
    base = dict(name="tiny", n_cu=4, clock_ghz=1.0, flops_per_cu_per_clk=1000.0,
                hbm_bandwidth_gbps=1.0, link_bandwidth_gbps=2.0, link_latency_ns=500.0,
                comm_cus=2, gemm_efficiency=1.0, hbm_max_utilization=1.0, interference=2.0,
                mca_interference=1.0, mca_starvation_share=0.1, mca_leak=0.0,
                launch_overhead_us=0.0, link_bulk_efficiency=1.0, link_store_efficiency=1.0,
                comm_gbps_per_cu=1.0, gemm_stall_fraction=0.0)
    base.update(kw)
    return SystemConfig(**base).validate()


def test_queue_factor_md1():
    # M/D/1 mean latency relative to idle: 1 + rho / (2 (1 - rho))
    assert queue_factor(0.0) == 1.0
    assert queue_factor(0.5) == pytest.approx(1.5)
    assert queue_factor(0.8) == pytest.approx(3.0)
    assert queue_factor(2.0) == queue_factor(0.95)       # capped


def test_compute_units_gemm_alone():
    e = Engine(tiny())
    g = e.add(Job("g", "gemm", cu_s=4 * US))               # 4 CU-us on 4 CUs -> 1 us
    assert e.run() == pytest.approx(1.0 * US)
    assert g.t_start == 0.0 and g.t_end == pytest.approx(1.0 * US)
    assert e.cu.busy_cu_s == pytest.approx(4 * US)


def test_gemm_stall_at_idle_memory():
    e = Engine(tiny())
    g = e.add(Job("g", "gemm", cu_s=4 * US, stall_s=1 * US))   # 1 us math + 1 us stall x Q(0)
    e.run()
    assert g.t_end == pytest.approx(2.0 * US)


def test_comm_kernel_reserves_cus():
    # a 2-CU comm kernel runs 2 CU-us (1 us); meanwhile the GEMM has 2 CUs: after 1 us it has
    # done 2 of its 4 CU-us, then 4 CUs finish the rest in 0.5 us -> GEMM ends at 1.5 us
    e = Engine(tiny())
    k = Kernel("rs", 2)
    c = e.add(Job("c", "local", "comm", cu_s=2 * US, kernel=k))
    g = e.add(Job("g", "gemm", cu_s=4 * US))
    e.run()
    assert c.t_end == pytest.approx(1.0 * US)
    assert g.t_end == pytest.approx(1.5 * US)
    assert k.t_start == 0.0 and k.t_end == pytest.approx(1.0 * US)


def test_link_bandwidth_and_latency():
    # 1000 B at 1e9 B/s = 1 us; the dependent send starts on arrival (1 us + 0.5 us latency)
    e = Engine(tiny())
    a = e.add(Job("a", "link", "comm", link_bytes=1000, link_payload=1000))
    b = e.add(Job("b", "link", "comm", link_bytes=1000, link_payload=1000).after(a, 0.5 * US))
    e.run()
    assert a.t_end == pytest.approx(1.0 * US)
    assert b.t_start == pytest.approx(1.5 * US)
    assert b.t_end == pytest.approx(2.5 * US)
    assert e.link.bytes == 2000
    assert e.link.busy_s == pytest.approx(2.0 * US)


def _contention(policy):
    # compute job: 2 CU-us on 4 CUs = 0.5 us alone, 1000 B of memory -> demands 2e9 B/s;
    # comm job: 1000 B of memory only -> bounded by the whole memory: 1e9 B/s
    e = Engine(tiny(), policy)
    g = e.add(Job("g", "gemm", "compute", cu_s=2 * US, dram_c=1000, rd=1000))
    c = e.add(Job("c", "local", "comm", dram_m=1000, rd=1000))
    e.run()
    return g, c, e


def test_memory_fr_fcfs_interference():
    # mixed: cost = 2e9 + 2 x 1e9 = 4e9 > 1e9 -> both at 1/4 rate: GEMM takes 0.5/0.25 = 2 us,
    # comm did 1/4 x 2 us x 1e9 = 500 B by then; alone (no interference) the last 500 B take
    # 0.5 us -> 2.5 us
    g, c, e = _contention("fr-fcfs")
    assert g.t_end == pytest.approx(2.0 * US)
    assert c.t_end == pytest.approx(2.5 * US)
    assert e.mem.rd == 2000


def test_memory_compute_first_starves_comm():
    # compute gets min(2e9, 1e9) = 1e9 -> 1 us; comm gets nothing meanwhile, then 1 us alone
    g, c, _ = _contention("compute-first")
    assert g.t_end == pytest.approx(1.0 * US)
    assert c.t_end == pytest.approx(2.0 * US)


def test_memory_t3_mca_starvation_floor():
    # comm floor = 0.1 x 1e9 = 1e8 B/s; compute gets 1e9 - 1e8 = 9e8 of its 2e9 -> rate 0.45:
    # ends at 0.5/0.45 = 1.111 us; comm did 1e8 x 1.111e-6 = 111.1 B, the other 888.9 B take
    # 0.8889 us alone -> 2.0 us
    g, c, _ = _contention("t3-mca")
    assert g.t_end == pytest.approx(0.5 / 0.45 * US)
    assert c.t_end == pytest.approx(2.0 * US)


def test_dma_trigger_waits_for_both_contributions():
    # T3 step s: the DMA of a tile group is triggered when the local GEMM store (done at 1 us)
    # and the neighbour's contribution (sent 0..1 us, +0.5 us latency = 1.5 us) both arrived
    for gemm_cu_s, start in ((4 * US, 1.5 * US), (8 * US, 2.0 * US)):
        e = Engine(tiny())
        g = e.add(Job("gemm[2,0]", "gemm", cu_s=gemm_cu_s))
        s = e.add(Job("send[1,0]", "link", "comm", link_bytes=1000))
        d = e.add(Job("dma[2,0]", "link", "comm", link_bytes=1000))
        d.after(g)
        d.after(s, 0.5 * US)
        e.run()
        assert d.t_start == pytest.approx(start)
        assert d.t_end == pytest.approx(start + 1.0 * US)


def test_ready_first_stream_prefers_priority():
    # two sends ready at 0: the one with the smaller prio goes first regardless of creation order
    e = Engine(tiny())
    late = e.add(Job("late", "link", "comm", link_bytes=1000, prio=(1,)))
    early = e.add(Job("early", "link", "comm", link_bytes=1000, prio=(0,)))
    e.run()
    assert early.t_end == pytest.approx(1.0 * US)
    assert late.t_end == pytest.approx(2.0 * US)


def test_ring_reduce_scatter_kernel_timing():
    # N = 4, one group of 1000 B per chunk, HBM fast. Each send: 1 us on the link (it needs
    # 1 CU at 1 GB/s/CU, the 2-CU kernel has it). Step s+1 starts on arrival of step s:
    # sends at [0,1], [1.5,2.5], [3,4]; the final local reduction starts at 4.5 and, with the
    # kernel's 2 CUs, takes 1000 B / 2e9 B/s = 0.5 us -> 5.0 us = (N-1)(1 + 0.5) + 0.5
    sysc = tiny(hbm_bandwidth_gbps=100.0)
    b = _Builder(sysc, 4, 8, 8, 8, "fr-fcfs", False)
    start = _sync(b.e, "start", [])
    finals = b.ring_rs_kernel(4000 / 4, 1, start)
    done = _sync(b.e, "done", finals)
    b.e.run()
    sends = sorted(b.e.streams["link"], key=lambda j: j.t_start)
    assert [round(j.t_start / US, 9) for j in sends] == [0.0, 1.5, 3.0]
    assert [round(j.t_end / US, 9) for j in sends] == [1.0, 2.5, 4.0]
    assert done.t_end == pytest.approx(5.0 * US)
    # accounting: reads 1 + 2 + 2 (sends) + 2 (final) chunks, writes 3 received + 1 result
    assert b.e.mem.rd == pytest.approx(7000)
    assert b.e.mem.wr == pytest.approx(4000)


def test_gemm_costs_by_hand():
    from sim.systems import get_system
    s = get_system("t3-paper")
    c = gemm_costs(s, 1024, 1024, 1024)
    flops = 2 * 1024 ** 3
    assert c["tiles"] == 64
    # 64 tiles on 80 CUs: 0.8 waves -> one full wave: factor 1.25
    assert c["quant"] == pytest.approx(1.25)
    assert c["cu_s"] == pytest.approx(flops / (1.4e9 * 1024 * s.gemm_efficiency) * 1.25)
    # blocked I/O bound 2 m n k / sqrt(S): S = 16 MiB x 0.25 / 2 B = 2 Mi elements -> below
    # the compulsory (m k + k n) x 2 B = 4 MiB, so reads are compulsory
    assert c["reads"] == pytest.approx(2 * 1024 * 1024 * 2)
    assert c["writes"] == 1024 * 1024 * 2


def test_engine_line_trace_and_deadlock():
    e = Engine(tiny())
    a = e.add(Job("a", "gemm", cu_s=4 * US))
    b = e.add(Job("b", "link", "comm", link_bytes=10))
    a.after(b)
    b.after(a)                      # a cycle: nothing can run
    with pytest.raises(RuntimeError, match="deadlock"):
        e.run()
    assert "gemm:" in e.line_trace() and "trk" in e.line_trace()


def test_tracker_back_pressure():
    # 2-entry tracker. G1 (GEMM, 1 us) and X (1000 B of memory at 1e9 B/s, 1 us) are the two
    # contributions to group k1 (2 tiles); L1 (a 1 us send) is the first contribution to k2 and
    # must wait until both contributions to k1 completed at 1 us -> L1 runs 1..2 us
    e = Engine(tiny(tracker_entries=2))
    g1 = e.add(Job("g1", "gemm", cu_s=4 * US, entry=("k1", 2)))
    l1 = e.add(Job("l1", "link", "comm", link_bytes=1000, entry=("k2", 2)))
    x = e.add(Job("x", "local", "comm", dram_m=1000, entry=("k1", 2)))
    e.run()
    assert g1.t_end == pytest.approx(1.0 * US) and x.t_end == pytest.approx(1.0 * US)
    assert l1.t_start == pytest.approx(1.0 * US) and l1.t_end == pytest.approx(2.0 * US)
    assert e.tracker.peak == 2 and e.tracker.stalls == 1 and e.tracker.spills == 0
    assert e.tracker.fires == 2          # k1 fired; k2 has only one contribution


def test_tracker_full_without_a_fallback_is_a_deadlock():
    # G1 holds both entries (k1); G2 (k2) cannot start, and k1's other contribution waits for
    # G2: a deadlock, and G2 is a local job, so the hardware's fallback (a remote store sent by
    # a DMA instead) does not apply: the engine says so instead of spilling for free.
    e = Engine(tiny(tracker_entries=2))
    e.add(Job("g1", "gemm", cu_s=4 * US, entry=("k1", 2)))
    g2 = e.add(Job("g2", "gemm", cu_s=4 * US, entry=("k2", 2)))
    e.add(Job("s", "link", "comm", link_bytes=1000, entry=("k1", 2)).after(g2))
    with pytest.raises(RuntimeError, match="deadlock"):
        e.run()


def test_tracker_full_ring_deadlock_takes_the_hardware_fallback():
    # As on the ring: G1's and G2's outputs go straight to the neighbour (remote stores, the
    # first contributions of k1 and k2); k1's second contribution is the in-order GEMM's G3,
    # behind G2. With 2 entries k1 fills the table, G2 cannot start, G3 is behind it: every
    # device waits. The fallback: G2 stores locally (no entry, no link) and a DMA that needs
    # k2's entries reads and sends it once G3 has freed k1's.
    e = Engine(tiny(tracker_entries=2))
    e.add(Job("g1", "gemm", cu_s=4 * US, link_bytes=1000, link_payload=1000, wr=1000,
              entry=("k1", 2)))
    g2 = e.add(Job("g2", "gemm", cu_s=4 * US, link_bytes=1000, link_payload=1000, wr=1000,
                   entry=("k2", 2)))
    arrival = e.add(Job("arrived", "sync").after(g2, 0.5 * US))    # the neighbour's copy landed
    g3 = e.add(Job("g3", "gemm", cu_s=4 * US, entry=("k1", 2)))
    g4 = e.add(Job("g4", "gemm", cu_s=4 * US, entry=("k2", 2)))
    e.run()
    assert e.tracker.spills == 1 and e.tracker.spilled == ["k2"]
    dma = next(j for lst in e.streams.values() for j in lst if j.name == "g2-fallback-dma")
    assert g2.link_bytes == 0 and g2.entry is None and dma.entry == ("k2", 2)
    assert dma.t_start >= g3.t_end - 1e-12, "the DMA must wait until k1's entries are freed"
    assert arrival.t_end == pytest.approx(dma.t_end + 0.5 * US), "arrival follows the DMA"
    assert dma.rd == 1000 and g2.dram_c >= 1000, "local store and DMA read are charged"
    assert not e.tracker.overflow and g4.done
