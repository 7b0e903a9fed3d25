"""Fast checks of the DRAM model's parameters and of its cycle-level reference (no simulator).

Expected cycles below are worked out by hand from the timing rules in ``hw/dram.py``'s docstring
(rule numbers in the comments), with the default HBM2 parameters.
"""

import math

import pytest

from hw.dram import DramModel
from hw.dram_params import HBM2_NS, MODEL_CYCLE_NS, DramParams, Scheduler
from sim.ref.dram import DramRef

IDLE = dict(awvalid=0, awid=0, awaddr=0, awlen=0, awsize=3, awburst=1, wvalid=0, wdata=0,
            wstrb=0xFF, wlast=0, bready=1, arvalid=0, arid=0, araddr=0, arlen=0, arsize=3,
            arburst=1, rready=1)


def run(ref, script, cycles):
    """Feed ``script[c]`` (input overrides) in cycle ``c``; return the outputs per cycle."""
    return [ref.step({**IDLE, **script.get(c, {})}) for c in range(cycles)]


def test_default_timing_is_hbm2_rounded_up():
    p = DramParams()
    for name, ns in HBM2_NS.items():
        assert getattr(p, name) == max(1, math.ceil(ns / MODEL_CYCLE_NS)), name
    assert (p.tRCD, p.tCL, p.tRAS, p.tREFI, p.tRFC) == (7, 7, 17, 1950, 130)
    assert p.capacity == 4096


@pytest.mark.parametrize("field, value, exc", [
    ("banks", 3, ValueError), ("tCL", 1, ValueError), ("queue_depth", 0, ValueError),
    ("channels", 2, ValueError), ("age_cap", 1.5, TypeError), ("interleave", 64, ValueError),
    ("max_burst", 64, ValueError), ("addr_width", 10, ValueError), ("tRP", True, TypeError),
])
def test_bad_parameters_name_the_field(field, value, exc):
    with pytest.raises(exc, match=field):
        DramParams(**{field: value})


def test_component_checks_its_arguments():
    with pytest.raises(TypeError, match="params"):
        DramModel({"banks": 4})
    with pytest.raises(ValueError, match="init"):
        DramModel(DramParams(), init=[0] * 5000)


def test_single_read_latency():
    p = DramParams()
    ref = DramRef(p, init=[0x1234])
    out = run(ref, {0: dict(arvalid=1, araddr=0, arlen=0, arid=5)}, 30)
    assert out[0]["arready"] == 1
    # in the queue from cycle 1 (rule 1); ACT at 1 (bank closed); RD at 1 + tRCD = 8 (rule 3);
    # beat 0 presentable from 8 + tCL + 1 = 16 (rule 7)
    first = next(c for c, o in enumerate(out) if o["rvalid"])
    assert first == 1 + p.tRCD + p.tCL + 1 == 16
    assert (out[first]["rdata"], out[first]["rid"], out[first]["rlast"]) == (0x1234, 5, 1)
    assert out[1]["occupancy"] == 1 and out[9]["occupancy"] == 0   # issued in cycle 8


def test_row_hit_follows_at_burst_rate_and_conflict_pays_pre_act():
    p = DramParams()
    ref = DramRef(p)
    n = 4
    same_row = (n * p.beat_bytes)                    # next 4 beats, same bank and row
    other_row = p.banks * p.cols * p.beat_bytes      # same bank, next row
    out = run(ref, {0: dict(arvalid=1, araddr=0, arlen=n - 1, arid=0),
                    1: dict(arvalid=1, araddr=same_row, arlen=n - 1, arid=1),
                    2: dict(arvalid=1, araddr=other_row, arlen=n - 1, arid=2)}, 80)
    firsts = [c for c, o in enumerate(out) if o["rvalid"] and
              (c == 0 or not out[c - 1]["rvalid"] or out[c - 1]["rlast"])]
    # RD0 at 8, RD1 at 8 + n (tCCD = 1 after the burst), RD2: PRE at max(ACT + tRAS,
    # RD1 + n - 1 + tRTP) = max(18, 17) = 18, ACT at 25, RD at 32
    assert firsts == [16, 16 + n, 32 + p.tCL + 1]


def test_write_then_b_response():
    p = DramParams()
    ref = DramRef(p)
    n = 2
    script = {0: dict(awvalid=1, awaddr=8, awlen=n - 1, awid=3),
              1: dict(wvalid=1, wdata=0xAA, wstrb=0x01),
              2: dict(wvalid=1, wdata=0xBBCC, wstrb=0x03, wlast=1)}
    out = run(ref, script, 40)
    assert out[0]["wready"] == 0 and out[1]["wready"] == 1
    # ACT at 1, data complete at the end of cycle 2, WR at max(3, 1 + tRCD) = 8,
    # B presentable from 8 + tCWL + n = 12 (rule 7)
    assert next(c for c, o in enumerate(out) if o["bvalid"]) == 8 + p.tCWL + n
    assert ref.mem[1] == 0xAA and ref.mem[2] == 0xBBCC


def test_illegal_burst_gets_slverr():
    p = DramParams()
    ref = DramRef(p)
    out = run(ref, {0: dict(arvalid=1, araddr=0, arlen=1, arburst=0, arid=1)}, 30)
    beats = [o for o in out if o["rvalid"]]
    assert [b["rresp"] for b in beats] == [2, 2] and beats[-1]["rlast"] == 1


def test_fcfs_serialises_where_fr_fcfs_reorders():
    cycles = {}
    for s in Scheduler:
        p = DramParams(scheduler=s)
        ref = DramRef(p)
        row = p.banks * p.cols * p.beat_bytes
        # row 0, row 1 (conflict), row 0 again (hit for FR-FCFS once row 0 is open)
        out = run(ref, {0: dict(arvalid=1, araddr=0, arlen=15, arid=0),
                        1: dict(arvalid=1, araddr=row, arlen=15, arid=1),
                        2: dict(arvalid=1, araddr=128, arlen=15, arid=2)}, 200)
        cycles[s] = max(c for c, o in enumerate(out) if o["rvalid"])
    assert cycles[Scheduler.FR_FCFS] < cycles[Scheduler.FCFS]
