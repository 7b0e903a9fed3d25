"""Launches the T3Unit cocotb bench (link looped back) on Icarus Verilog and Verilator, and the
random soak on Verilator (20,000 cycles in ``make test``; the environment variable
T3_SOAK_CYCLES sets a longer one)."""

import json
import os

import pytest

from hw.params import T3Params
from hw.unit import T3Unit
from tb.common.runner import ROOT, SIMULATORS, run_bench

SOAK_CYCLES = int(os.environ.get("T3_SOAK_CYCLES", 20_000))


@pytest.mark.parametrize("sim", SIMULATORS)
def test_unit(sim):
    run_bench("t3_unit", T3Unit(T3Params()), "tb.unit.unit_bench", sim,
              # a parametrised cocotb test is named <test>/<param>=<value>
              testcase=["tiles_loop_back_through_dma_and_nmc/stall=0.0",
                        "tiles_loop_back_through_dma_and_nmc/stall=0.3",
                        "bad_input_is_flagged_and_loses_nothing",
                        "soft_reset_mid_traffic_then_a_clean_run", "link_stalled_10000_cycles",
                        "remote_bursts_go_to_the_link"])


@pytest.mark.parametrize("sim", SIMULATORS)
def test_err_bits(sim):
    """One cocotb test per ERR field of the register map (tb/unit/err_bench.py), each passed."""
    import xml.etree.ElementTree as ET
    from hw import regmap
    build = run_bench("t3_unit", T3Unit(T3Params()), "tb.unit.err_bench", sim)
    ran = {tc.get("name"): not any(c.tag in ("failure", "error", "skipped") for c in tc)
           for tc in ET.parse(build / "results.xml").iter("testcase")}
    assert ran == {f"err_{name}": True for name in regmap.REGS["ERR"].fields}


@pytest.mark.heavy(60)
def test_soak_verilator():
    out = ROOT / "build" / "soak.json"
    out.unlink(missing_ok=True)
    # The build of test_unit[verilator] (run_bench locks the build directory while in use).
    run_bench("t3_unit", T3Unit(T3Params()), "tb.unit.unit_bench", "verilator", testcase="soak",
              env={"T3_SOAK_CYCLES": SOAK_CYCLES, "T3_SOAK_OUT": str(out)})
    res = json.loads(out.read_text())
    assert res["cycles"] >= SOAK_CYCLES
    assert res["updates_applied"] == res["contributions"], "every contribution applied once"


if os.environ.get("T3_TRACKER_LONG") == "1":      # a long run: collected by make scale only
    @pytest.mark.parametrize("sim", SIMULATORS)
    def test_chunk_larger_than_the_table(sim):
        """272 tiles on the 256-entry table through the whole unit, exact sums (make scale)."""
        out = ROOT / "build" / f"chunk272_{sim}.json"
        out.unlink(missing_ok=True)
        run_bench("t3_unit", T3Unit(T3Params()), "tb.unit.unit_bench", sim,
                  testcase="chunk_larger_than_the_table", env={"T3_CHUNK_OUT": str(out)})
        res = json.loads(out.read_text())
        print(f"\n{sim}: {res}")
        assert res["beats_exact"] == res["tiles"] * 2 and res["arm_stall"] > 0
