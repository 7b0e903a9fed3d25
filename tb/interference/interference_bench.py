"""cocotb bench of :class:`tb.interference.top.InterferenceTop`: each configuration is set on the
top's ports, started, and run to ``c_done`` with no Python per cycle; the counters are written to
``T3_INTERFERENCE_OUT`` (JSON lines, one per run).

``T3_INTERFERENCE_RUNS`` (JSON) lists the runs: ``{"name", "policy", "threshold", "starvation",
"m_num", "m_den", "c_gap"}``; ``T3_INTERFERENCE_WORK`` gives ``{"c_reads", "c_beats", "c_tiles"}``.
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from hw.params import ArbPolicy
from tb.common.bench import reset, start_clock_reset

POLICIES = {"round-robin": ArbPolicy.ROUND_ROBIN, "compute-first": ArbPolicy.COMPUTE_FIRST,
            "t3-mca": ArbPolicy.T3_MCA}


@cocotb.test(timeout_time=600, timeout_unit="sec")
async def interference_runs(dut):
    runs = json.loads(os.environ["T3_INTERFERENCE_RUNS"])
    work = json.loads(os.environ["T3_INTERFERENCE_WORK"])
    out = os.environ["T3_INTERFERENCE_OUT"]
    await start_clock_reset(dut)
    addr_span = 1 << (len(dut.c_in_base))
    quarter = addr_span // 4
    dut.c_in_base.value = 0
    dut.c_out_base.value = quarter
    dut.m_send_base.value = 2 * quarter
    dut.m_recv_base.value = 3 * quarter
    dut.m_span.value = quarter
    for k, v in work.items():
        getattr(dut, k).value = v
    results = []
    for run in runs:
        dut.policy.value = POLICIES[run["policy"]].value
        dut.threshold.value = run.get("threshold", 0)
        dut.starvation.value = run.get("starvation", 0)
        dut.m_num.value = run["m_num"]
        dut.m_den.value = run["m_den"]
        dut.c_gap.value = run["c_gap"]
        stall_c0, stall_m0 = int(dut.stall_c.value), int(dut.stall_m.value)
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        await RisingEdge(dut.clk)
        if not int(dut.c_done.value):
            await RisingEdge(dut.c_done)
        res = dict(run)
        res.update({
            "c_cycles": int(dut.c_cycles.value),
            "c_issued": int(dut.c_issued.value),
            "m_issued": int(dut.m_issued.value),
            "m_wait_sum": int(dut.m_wait_sum.value),
            "stall_c": int(dut.stall_c.value) - stall_c0,
            "stall_m": int(dut.stall_m.value) - stall_m0,
        })
        expect = work["c_tiles"] * (work["c_reads"] + work["c_beats"])
        assert res["c_issued"] == expect, f"{run['name']}: {res['c_issued']} != {expect}"
        results.append(res)
        # drain the communication requests still pending, then reset the unit and the memory:
        # every run starts from the same state (rows closed, refresh timer at zero), so a run's
        # result does not depend on which runs came before it
        dut.m_num.value = 0
        await ClockCycles(dut.clk, 2000)
        await reset(dut)
    with open(out, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
