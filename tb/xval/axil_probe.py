"""Measure the AXI4-Lite access costs the model assumes (``sim.xval.model.AXIL_*``).

A cocotb bench on :class:`hw.t3csr.Csr` driven by the ring bench's own driver
(``tb.common.t3.CsrDriver``, cocotbext-axi ``AxiLiteMaster``): for DOORBELL/ARM writes it
measures the cycles from the call to the arm/doorbell stream transfer and to the call's return;
for a counter read, the cycles from the call to the AR handshake (the register is sampled in
that cycle) and to the return. Writes ``$XVAL_AXIL_OUT`` (JSON). Run by
``python -m tb.xval.axil_probe`` (Verilator).
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from hw import regmap
from hw.params import T3Params
from hw.regmap import Access
from tb.common.bench import start_clock_reset
from tb.common.stream import StreamSink
from tb.common.t3 import CsrDriver

PARAMS = T3Params()


@cocotb.test()
async def axil_costs(dut):
    from hw.t3csr import doorbell_layout
    for reg in regmap.DEFAULT:
        for f in reg.fields.values():
            if f.port and (f.access is Access.W1C or (f.access is Access.RO and f.const is None)):
                getattr(dut, reg.port_name(f)).value = 0
    sinks = {"arm": StreamSink(dut, "arm", dut.clk, PARAMS.arm_layout),
             "doorbell": StreamSink(dut, "doorbell", dut.clk, doorbell_layout(PARAMS))}
    await start_clock_reset(dut)
    await ClockCycles(dut.clk, 4)
    cycle = [0]
    seen = {k: [] for k in sinks}
    ar = []

    async def count():
        while True:
            await RisingEdge(dut.clk)
            cycle[0] += 1
            if int(dut.s_axil_arvalid.value) and int(dut.s_axil_arready.value):
                ar.append(cycle[0])
    cocotb.start_soon(count())
    for k, s in sinks.items():
        s.on_transfer.append(lambda item, k=k: seen[k].append(cycle[0]))
    csr = CsrDriver(dut, "s_axil", dut.clk, dut.rst)
    await ClockCycles(dut.clk, 4)
    out = {"doorbell": [], "arm": [], "read": []}
    for _ in range(4):
        t0 = cycle[0]
        await csr.doorbell(1)
        out["doorbell"].append({"effect": seen["doorbell"][-1] - t0, "return": cycle[0] - t0})
        await ClockCycles(dut.clk, 3)
        t0 = cycle[0]
        await csr.arm(5, 8)
        out["arm"].append({"effect": seen["arm"][-1] - t0, "return": cycle[0] - t0})
        await ClockCycles(dut.clk, 3)
        t0 = cycle[0]
        await csr.read("CNT_NOTIFICATIONS")
        out["read"].append({"sample": ar[-1] - t0, "return": cycle[0] - t0})
        await ClockCycles(dut.clk, 3)
    dut._log.info(f"AXI4-Lite costs (cycles from the call): {out}")
    path = os.environ.get("XVAL_AXIL_OUT")
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=2)


def measure(sim="verilator"):
    from hw.t3csr import Csr
    from tb.common.runner import ROOT, run_bench
    path = ROOT / "build" / "validate" / "axil_costs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    run_bench("csr", Csr(PARAMS), "tb.xval.axil_probe", sim, tag="xval_axil",
              env={"XVAL_AXIL_OUT": str(path)})
    return json.loads(path.read_text())


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
