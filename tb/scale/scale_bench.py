"""cocotb bench of the scale top (T3Ring + one RTL producer per device): Python only programs the
registers (the list from :func:`sim.scale.plan`), pulses ``start`` and waits on ``done``; the run
itself has no Python per cycle. Each device's checksum must equal :func:`sim.scale.expected`.

One cocotb test per mode, and one per mode in the configuration's ``direct_modes`` (T3, T3-MCA)
with the scenario's ``direct`` set (the paper's step 1: the producers' remote packets). Memory
contents survive between tests (no reset of memories): T3 runs clear their output region first
(``CTRL.clear``), the other modes overwrite theirs with stores.
"""

import json
import logging
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from sim import scale as sc
from tb.common.bench import CLOCK_NS, bench_env


def _master(dut, prefix):
    m = AxiLiteMaster(AxiLiteBus.from_prefix(dut, prefix), dut.clk, None)
    m.write_if.log.setLevel(logging.WARNING)
    m.read_if.log.setLevel(logging.WARNING)
    return m


@cocotb.test(timeout_time=600, timeout_unit="sec")
@cocotb.parametrize(mode=list(sc.MODES))
async def scale_run(dut, mode):
    cfg = bench_env("T3_SCALE")
    if mode not in cfg.get("modes", sc.MODES):
        return
    s = sc.from_dict(cfg["scenario"], cfg.get("name", "bench"))
    await _scale(dut, cfg, s, mode, os.environ.get("T3_SCALE_OUT"))


@cocotb.test(timeout_time=600, timeout_unit="sec")
@cocotb.parametrize(mode=["t3", "t3-mca"])
async def scale_run_direct(dut, mode):
    """The scenario with ``direct = true`` (the paper's step 1), for ``direct_modes``; its JSON
    goes to ``$T3_SCALE_OUT_direct.<mode>.json``."""
    cfg = bench_env("T3_SCALE")
    if mode not in cfg.get("direct_modes", ()):
        return
    s = sc.from_dict({**cfg["scenario"], "direct": True}, cfg.get("name", "bench") + "_direct")
    out = os.environ.get("T3_SCALE_OUT")
    await _scale(dut, cfg, s, mode, out and out + "_direct")


async def _scale(dut, cfg, s, mode, out):
    Clock(dut.clk, CLOCK_NS, unit="ns").start()     # cocotb ends every task after a test
    dut.start.value = 0
    dut.host_sel.value = 1
    dut.reset.value = 1
    await ClockCycles(dut.clk, 8)
    dut.reset.value = 0
    await ClockCycles(dut.clk, s.tracker_entries + 16)
    u = [_master(dut, f"d{g}_u_s_axil") for g in range(s.devices)]
    p = [_master(dut, f"d{g}_p_s_axil") for g in range(s.devices)]
    for g, writes in enumerate(sc.plan(s, mode)):
        for tgt, off, val in writes:
            resp = await (u if tgt == "u" else p)[g].write(off, val.to_bytes(4, "little"))
            assert resp.resp == 0, f"device {g}: {tgt} write 0x{off:03x} = 0x{val:x}: {resp.resp}"
    dut.host_sel.value = 0
    await RisingEdge(dut.clk)
    dut.start.value = (1 << s.devices) - 1       # every device in the same cycle
    await RisingEdge(dut.clk)
    dut.start.value = 0
    t0, c0, p0 = time.perf_counter(), cocotb.utils.get_sim_time("ns"), time.process_time()
    await with_timeout(RisingEdge(dut.done), cfg.get("timeout_us", 20000), "us")
    wall = time.perf_counter() - t0
    cpu = time.process_time() - p0           # the simulator runs in this process
    cycles = int(cocotb.utils.get_sim_time("ns") - c0) // CLOCK_NS
    dut.host_sel.value = 1
    await RisingEdge(dut.clk)

    async def rd(m, off):
        r = await m.read(off, 4)
        assert r.resp == 0
        return int.from_bytes(r.data, "little")

    regs = []
    for g in range(s.devices):
        for name, off in sc.readback(s).items():
            regs.append([g, "p", name, await rd(p[g], off)])
        for name, off in sc.unit_readback(s).items():
            regs.append([g, "u", name, await rd(u[g], off)])
    raw = {"done": True, "run_cycles": cycles, "run_seconds": wall, "total_seconds": wall,
           "run_cpu_seconds": cpu,
           "errors": [], "regs": regs}
    res = sc.summarize(s, mode, raw)
    if out:
        with open(f"{out}.{mode}.json", "w") as f:
            json.dump(res, f, indent=1)
    dut._log.info(f"{mode}: {res['cycles']} cycles, checksums {res['checksums']}")
    assert all(c == 0 for c in res["err_code"]), f"producer error codes {res['err_code']}"
    assert all(e == 0 for e in res["unit_err"]), f"unit ERR {res['unit_err']}"
    assert res["checksums"] == res["expected"], \
        f"checksums {res['checksums']} != expected {res['expected']}"
