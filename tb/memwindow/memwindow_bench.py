"""cocotb bench: the memory window (hw/memwindow.py) between a unit-side AXI4 master and a memory.

cocotbext-axi on every port: an ``AxiMaster`` plays the unit on ``s_axi`` (bursts, IDs), an
``AxiRam`` is the memory on ``m_axi``, an ``AxiLiteMaster`` is the host on ``s_axil``. The
reference is a Python dict of the beats each side wrote, from the register map in the module's
docstring:

1. the unit writes region A in bursts while the host writes region B beat by beat through the
   window, concurrently (the unit pausing between its bursts, so the window can be granted);
2. each then reads the other's region: the unit's bursts must return the host's beats and the
   window's reads the unit's;
3. a monitor checks that no handshake happens on the unit's channels while the window owns the
   memory, and that the window never takes the memory with a unit transaction open;
4. refused writes (unknown offset, partial ``WSTRB``, ``ADDR`` too wide, a bad ``CMD``) answer
   SLVERR, set ``ERR`` bit 0, change nothing and issue nothing (``COUNT`` unchanged).
"""

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiMaster, AxiRam

from hw.memwindow import MW_CMD_INCR, MW_CMD_READ, MW_CMD_WRITE, MW_ERR_REG, MW_REGS
from tb.common.bench import bench_env, start_clock_reset

BEAT = 8
LANES = 2


async def reg_write(host, off, value, nbytes=4):
    """A register write; ``nbytes`` < 4 gives a partial ``WSTRB``."""
    return int((await host.write(off, value.to_bytes(4, "little")[:nbytes])).resp)


async def reg_read(host, off):
    r = await host.read(off, 4)
    return int.from_bytes(r.data, "little"), int(r.resp)


async def host_write_beats(host, addr, beats):
    assert await reg_write(host, MW_REGS["ADDR"], addr) == 0
    for v in beats:
        for k in range(LANES):
            assert await reg_write(host, MW_REGS["DATA"] + 4 * k, (v >> (32 * k)) & 0xFFFF_FFFF) == 0
        assert await reg_write(host, MW_REGS["CMD"], MW_CMD_WRITE | MW_CMD_INCR) == 0


async def host_read_beats(host, addr, n):
    assert await reg_write(host, MW_REGS["ADDR"], addr) == 0
    out = []
    for _ in range(n):
        assert await reg_write(host, MW_REGS["CMD"], MW_CMD_READ | MW_CMD_INCR) == 0
        v = 0
        for k in range(LANES):
            lane, resp = await reg_read(host, MW_REGS["DATA"] + 4 * k)
            assert resp == 0
            v |= lane << (32 * k)
        out.append(v)
    return out


async def monitor(dut, state):
    """Every cycle: while the window owns the memory, no unit handshake; the window takes the
    memory only with no unit transaction open."""
    owned = False
    while True:
        await RisingEdge(dut.clk)
        own = int(dut.host_owns.value)
        for ch in ("ar", "aw", "w"):
            if int(getattr(dut, f"s_axi__{ch}valid").value) and int(
                    getattr(dut, f"s_axi__{ch}ready").value):
                assert not own, f"unit {ch} handshake while the window owns the memory"
                if ch == "ar":
                    state["open"] += 1
                if ch == "aw":
                    state["open"] += 1
        if int(dut.s_axi__rvalid.value) and int(dut.s_axi__rready.value) and int(
                dut.s_axi__rlast.value):
            assert not own
            state["open"] -= 1
        if int(dut.s_axi__bvalid.value) and int(dut.s_axi__bready.value):
            assert not own
            state["open"] -= 1
        if own and not owned:
            assert state["open"] == 0, "window took the memory with a unit transaction open"
            state["grants"] += 1
        owned = own


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def memwindow(dut):
    cfg = bench_env("T3_MW", {"addr_width": 10})
    depth = 1 << cfg["addr_width"]
    unit = AxiMaster(AxiBus.from_prefix(dut, "s_axi_"), dut.clk, dut.rst)
    AxiRam(AxiBus.from_prefix(dut, "m_axi_"), dut.clk, dut.rst, size=depth * BEAT)
    host = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    for log in (unit.write_if.log, unit.read_if.log, host.write_if.log, host.read_if.log):
        log.setLevel("WARNING")
    await start_clock_reset(dut)          # the drivers exist first: no X on the inputs after reset
    state = {"open": 0, "grants": 0}
    cocotb.start_soon(monitor(dut, state))
    rng = random.Random(7)

    a_base, a_n = 0, 96               # the unit's region, in 6 bursts of 16 beats
    b_base, b_n = 512, 12             # the host's region
    a_data = [rng.getrandbits(64) for _ in range(a_n)]
    b_data = [rng.getrandbits(64) for _ in range(b_n)]

    async def unit_writes():
        for i in range(0, a_n, 16):
            blob = b"".join(v.to_bytes(BEAT, "little") for v in a_data[i:i + 16])
            await unit.write((a_base + i) * BEAT, blob, awid=i // 16 % 4)
            await ClockCycles(dut.clk, rng.randrange(0, 4))

    # 1. concurrently: the unit's bursts and the host's window writes
    w = cocotb.start_soon(unit_writes())
    await host_write_beats(host, b_base, b_data)
    await w
    count, _ = await reg_read(host, MW_REGS["COUNT"])
    assert count == b_n, count

    # 2. each reads the other's region (again concurrently)
    async def unit_reads():
        got = (await unit.read(b_base * BEAT, b_n * BEAT, arid=1)).data
        return [int.from_bytes(got[i:i + BEAT], "little") for i in range(0, len(got), BEAT)]
    r = cocotb.start_soon(unit_reads())
    got_a = await host_read_beats(host, a_base + 16, 24)
    assert got_a == a_data[16:40], "window reads differ from the unit's writes"
    assert await r == b_data, "unit reads differ from the window's writes"
    assert state["grants"] == b_n + 24, state
    addr, _ = await reg_read(host, MW_REGS["ADDR"])
    assert addr == a_base + 40, addr                       # INCR after each command
    err, _ = await reg_read(host, MW_REGS["ERR"])
    assert err == 0

    # 3. refused writes: SLVERR, ERR bit 0, nothing changed or issued
    before, _ = await reg_read(host, MW_REGS["COUNT"])
    for off, value, nbytes in ((0x0F0, 1, 4),                      # unknown offset
                               (MW_REGS["DATA"], 0x1234, 2),        # partial WSTRB
                               (MW_REGS["ADDR"], depth, 4),         # address too wide
                               (MW_REGS["CMD"], 3, 4),              # bad command
                               (MW_REGS["CMD"], 0, 4)):
        assert await reg_write(host, off, value, nbytes) == 2, (off, value, nbytes)
        err, _ = await reg_read(host, MW_REGS["ERR"])
        assert err & MW_ERR_REG, (off, value)
        assert await reg_write(host, MW_REGS["ERR"], MW_ERR_REG) == 0        # W1C
        assert (await reg_read(host, MW_REGS["ERR"]))[0] == 0
    assert await reg_read(host, MW_REGS["ADDR"]) == (a_base + 40, 0)
    assert (await reg_read(host, MW_REGS["COUNT"]))[0] == before
    lane0, _ = await reg_read(host, MW_REGS["DATA"])
    assert lane0 == a_data[39] & 0xFFFF_FFFF, "a refused DATA write changed DATA"
    assert (await reg_read(host, 0x0F0))[1] == 2               # unknown offset read: SLVERR
    assert state["grants"] == b_n + 24
    dut._log.info(f"window grants {state['grants']}, all data exact")
