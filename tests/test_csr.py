"""Unit tests of the AXI4-Lite CSR block (hw/t3csr.py) and the register map (hw/regmap.py).

The expected values come from :class:`RefCsr`, a small reference model written here from the
register map's *metadata* (offsets, field positions, access modes, legal ranges) and the documented
rules; it does not use the RTL or the map's own encode/legal helpers for its decisions.
"""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.sim import Simulator

from hw import regmap
from hw.t3csr import Csr, RESP_OKAY, RESP_SLVERR
from hw.params import ArbPolicy, Kind, LaneType, T3Params
from hw.regmap import Access

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 200          # cycles any single handshake may take before the test fails (never hangs)
SMALL = T3Params(tracker_entries=16, addr_width=8, dev_width=8, len_width=6, tile_width=8,
                 count_width=12, lane=LaneType.BF16, data_width=128)


# -- independent reference model ------------------------------------------------------------------

class RefCsr:
    """What software should see: responses, read values, stream transfers, flags."""

    def __init__(self, params):
        self.p = params
        self.rmap = regmap.build(params)
        self.stored = {}        # (reg, field) -> value, RW fields
        self.flags = {}         # (reg, field) -> 0/1, W1C fields
        self.inputs = {}        # port name -> value, RO inputs
        self.full = set()       # streams whose one-entry buffer holds an untaken transfer
        for reg in self.rmap:
            for f in reg.fields.values():
                if f.access is Access.RW:
                    self.stored[(reg.name, f.name)] = f.reset
                elif f.access is Access.W1C:
                    self.flags[(reg.name, f.name)] = 0

    def _reg(self, addr):
        for reg in self.rmap:
            if reg.offset == addr:
                return reg
        return None

    def _malformed(self):
        depth = 1 << self.p.addr_width
        length = self.stored[("CMD_LEN_OP_DEV", "length")]
        return (self.stored[("CMD_SRC_ADDR", "value")] + length > depth
                or self.stored[("CMD_DST_ADDR", "value")] + length > depth)

    def set_flag(self, name):
        self.flags[("ERR", name)] = 1

    @staticmethod
    def _get(word, f):
        return (word >> f.offset) & ((1 << f.width) - 1)

    def read(self, addr):
        reg = self._reg(addr)
        if reg is None:
            self.set_flag("bad_address")
            return RESP_SLVERR, 0
        word = 0
        for f in reg.fields.values():
            key = (reg.name, f.name)
            if f.access is Access.RW:
                v = self.stored[key]
            elif f.access is Access.W1C:
                v = self.flags[key]
            elif f.access is Access.WS:
                v = 0
            elif f.const is not None:
                v = f.const
            elif reg.name == "STATUS" and f.name.endswith("_ready"):
                v = int({"arm_ready": "arm", "doorbell_ready": "doorbell",
                         "cmd_ready": "cmd_write"}[f.name] not in self.full)
            else:
                v = self.inputs.get(reg.port_name(f), 0)
            word |= v << f.offset
        return RESP_OKAY, word

    def write(self, addr, data, strb=0xF):
        """Return ``(resp, stream_name or None, payload dict or None, pulses)``."""
        reg = self._reg(addr)
        if reg is None:
            self.set_flag("bad_address")
            return RESP_SLVERR, None, None, []
        if all(f.access is Access.RO for f in reg.fields.values()) or strb != 0xF:
            self.set_flag("bad_write")
            return RESP_SLVERR, None, None, []
        v = {f.name: self._get(data, f) for f in reg.fields.values()}
        for f in reg.fields.values():
            x = v[f.name]
            ok = ((f.enum is None or x in [e.value for e in f.enum])
                  and (f.min is None or x >= f.min) and (f.max is None or x <= f.max))
            if not ok:
                self.set_flag("bad_command" if reg.name in ("DOORBELL", "CMD_COMMIT") else
                              "bad_arm" if reg.name == "ARM" else "bad_write")
                return RESP_SLVERR, None, None, []
        p = self.p
        stream = {"ARM": "arm", "DOORBELL": "doorbell", "CMD_COMMIT": "cmd_write"}.get(reg.name)
        if stream in self.full and not (stream == "cmd_write" and v["valid"] and self._malformed()):
            self.set_flag("stream_full")
            return RESP_SLVERR, None, None, []
        if reg.name == "ARM":
            return RESP_OKAY, "arm", {"tile": v["tile"], "threshold": v["threshold"]}, []
        if reg.name == "DOORBELL":
            return RESP_OKAY, "doorbell", {"index": v["index"]}, []
        if reg.name == "CMD_COMMIT":
            cmd = {
                "src_addr": self.stored[("CMD_SRC_ADDR", "value")],
                "dst_addr": self.stored[("CMD_DST_ADDR", "value")],
                "length": self.stored[("CMD_LEN_OP_DEV", "length")],
                "op": self.stored[("CMD_LEN_OP_DEV", "op")],
                "dst_dev": self.stored[("CMD_LEN_OP_DEV", "dst_dev")],
                "tile": self.stored[("CMD_TILE", "value")],
            }
            depth = 1 << p.addr_width
            if v["valid"] and (cmd["src_addr"] + cmd["length"] > depth
                               or cmd["dst_addr"] + cmd["length"] > depth):
                self.set_flag("bad_command")
                return RESP_SLVERR, None, None, []
            return RESP_OKAY, "cmd_write", {"index": v["index"], "valid": v["valid"], **cmd}, []
        pulses = []
        for f in reg.fields.values():
            key = (reg.name, f.name)
            if f.access is Access.RW:
                self.stored[key] = v[f.name]
            elif f.access is Access.W1C and v[f.name]:
                self.flags[key] = 0
            elif f.access is Access.WS and v[f.name]:
                pulses.append(reg.port_name(f))
        return RESP_OKAY, None, None, pulses


def payload_dict(name, pl):
    if name == "arm":
        return {"tile": int(pl.tile), "threshold": int(pl.threshold)}
    if name == "doorbell":
        return {"index": int(pl.index)}
    c = pl.command
    op = c.op
    return {"index": int(pl.index), "valid": int(pl.valid), "src_addr": int(c.src_addr),
            "dst_addr": int(c.dst_addr), "length": int(c.length),
            "op": op.value if isinstance(op, Kind) else int(op),
            "dst_dev": int(c.dst_dev), "tile": int(c.tile)}


# -- AXI4-Lite master (test helper) ---------------------------------------------------------------

class Master:
    """AXI4-Lite master with random (seeded) delays on every channel."""

    def __init__(self, dut, rng, max_delay=3):
        self.dut = dut
        self.rng = rng
        self.max_delay = max_delay

    def _d(self):
        return self.rng.randint(0, self.max_delay) if self.max_delay else 0

    async def write(self, ctx, addr, data, strb=0xF, order=None):
        """Write; ``order`` is "aw" (AW strictly first), "w" (W strictly first), "same" or None
        (random delays). Returns BRESP."""
        d = self.dut
        if order == "aw":
            aw_delay, w_delay = 0, None
        elif order == "w":
            aw_delay, w_delay = None, 0
        elif order == "same":
            aw_delay = w_delay = 0
        else:
            aw_delay, w_delay = self._d(), self._d()
        ctx.set(d.s_axil_awaddr, addr)
        ctx.set(d.s_axil_awprot, self.rng.randint(0, 7))
        ctx.set(d.s_axil_wdata, data)
        ctx.set(d.s_axil_wstrb, strb)
        aw_done = w_done = False
        for cyc in range(TIMEOUT):
            if aw_done and w_done:
                break
            # strict orders: the second channel starts only after the first handshake
            if aw_delay is None and w_done:
                aw_delay = cyc + self._d()
            if w_delay is None and aw_done:
                w_delay = cyc + self._d()
            awv = not aw_done and aw_delay is not None and cyc >= aw_delay
            wv = not w_done and w_delay is not None and cyc >= w_delay
            ctx.set(d.s_axil_awvalid, awv)
            ctx.set(d.s_axil_wvalid, wv)
            _, _, awr, wr, bv = await ctx.tick().sample(d.s_axil_awready, d.s_axil_wready,
                                                        d.s_axil_bvalid)
            assert not bv, "B response before both AW and W were accepted"
            aw_done |= bool(awv and awr)
            w_done |= bool(wv and wr)
        else:
            raise AssertionError(f"write 0x{addr:03x}: AW/W not accepted")
        ctx.set(d.s_axil_awvalid, 0)
        ctx.set(d.s_axil_wvalid, 0)
        resp, = await self._resp(ctx, d.s_axil_bready, d.s_axil_bvalid, (d.s_axil_bresp,))
        return resp

    async def _resp(self, ctx, ready, valid, data):
        delay = self._d()
        seen = False
        held = None
        for cyc in range(TIMEOUT):
            rdy = cyc >= delay
            ctx.set(ready, rdy)
            _, _, v, *vals = await ctx.tick().sample(valid, *data)
            if seen:
                assert v, "valid dropped before ready"
                assert vals == held, "response changed while waiting for ready"
            if v:
                seen, held = True, vals
                if rdy:
                    ctx.set(ready, 0)
                    return vals
        raise AssertionError("no response")

    async def read(self, ctx, addr):
        """Read; returns ``(rresp, rdata)``."""
        d = self.dut
        delay = self._d()
        ctx.set(d.s_axil_araddr, addr)
        ctx.set(d.s_axil_arprot, self.rng.randint(0, 7))
        for cyc in range(TIMEOUT):
            arv = cyc >= delay
            ctx.set(d.s_axil_arvalid, arv)
            _, _, arr = await ctx.tick().sample(d.s_axil_arready)
            if arv and arr:
                break
        else:
            raise AssertionError(f"read 0x{addr:03x}: AR not accepted")
        ctx.set(d.s_axil_arvalid, 0)
        resp, data = await self._resp(ctx, d.s_axil_rready, d.s_axil_rvalid,
                                      (d.s_axil_rresp, d.s_axil_rdata))
        return resp, data


# -- harness -------------------------------------------------------------------------------------

class Harness:
    """DUT + stream consumers (random stalls) + pulse monitors, run in one simulation."""

    def __init__(self, params=None, seed=0, max_delay=3, stall=0.5):
        self.params = params or T3Params()
        self.dut = Csr(self.params)
        self.rng = random.Random(seed)
        self.bus = Master(self.dut, self.rng, max_delay)
        self.ref = RefCsr(self.params)
        self.stall = stall
        self.got = {"arm": [], "doorbell": [], "cmd_write": []}
        self.sent = {n: 0 for n in self.got}        # transfers the reference accepted
        self.pulses = {p.name: 0 for p in self.dut.regmap.ports()
                       if p.direction == "out" and self._is_ws(p)}

    def _is_ws(self, port):
        return self.dut.regmap[port.register][port.field].access is Access.WS

    def run(self, body):
        sim = Simulator(self.dut)
        sim.add_clock(1e-9)
        rng = random.Random(self.rng.random())

        def consumer(name):
            s = getattr(self.dut, name)

            async def proc(ctx):
                async for _, _, valid, payload in ctx.tick().sample(s.valid, s.payload):
                    # `ready` was set before this edge: the transfer happened iff both were high
                    if valid and ctx.get(s.ready):
                        self.got[name].append(payload_dict(name, payload))
                    ctx.set(s.ready, rng.random() >= self.stall)
            return proc

        async def monitor(ctx):
            names = list(self.pulses)
            sigs = [getattr(self.dut, n) for n in names]
            async for _, _, *vals in ctx.tick().sample(*sigs):
                for n, v in zip(names, vals):
                    self.pulses[n] += int(v)

        for name in self.got:
            sim.add_testbench(consumer(name), background=True)
        sim.add_testbench(monitor, background=True)

        async def main(ctx):
            await body(ctx, self)
        sim.add_testbench(main)
        waves = os.environ.get("T3_WAVES")
        if waves:
            Path(waves).mkdir(parents=True, exist_ok=True)
            with sim.write_vcd(str(Path(waves) / f"csr_{body.__name__}.vcd")):
                sim.run()
        else:
            sim.run()

    # checked operations: compare with the reference model
    async def drain(self, ctx):
        """Wait until every accepted stream transfer was taken by its consumer (what software
        does by polling STATUS.<stream>_ready before a stream write)."""
        for _ in range(TIMEOUT):
            if all(len(self.got[n]) == self.sent[n] for n in self.got):
                return
            await ctx.tick()
        raise AssertionError(f"stream transfers not delivered: {self.sent} sent, got "
                             f"{ {n: len(v) for n, v in self.got.items()} }")

    async def write(self, ctx, addr, data, strb=0xF, order=None):
        await self.drain(ctx)
        before = {k: len(v) for k, v in self.got.items()}
        pulses_before = dict(self.pulses)
        resp = await self.bus.write(ctx, addr, data, strb, order)
        eresp, stream, payload, pulses = self.ref.write(addr, data, strb)
        assert resp == eresp, f"write 0x{addr:03x} = 0x{data:08x} strb {strb:#x}: BRESP {resp} != {eresp}"
        if stream:
            self.sent[stream] += 1
        await ctx.tick()        # let the monitors see the last cycle
        await self.drain(ctx)
        for name, lst in self.got.items():
            n = 1 if name == stream else 0
            assert len(lst) - before[name] == n, f"write 0x{addr:03x}: {name} transfers"
            if n:
                assert lst[-1] == payload, f"{name} payload {lst[-1]} != {payload}"
        for name, count in self.pulses.items():
            assert count - pulses_before[name] == (1 if name in pulses else 0), f"{name} pulses"
        return resp

    async def read(self, ctx, addr):
        await self.drain(ctx)
        resp, data = await self.bus.read(ctx, addr)
        eresp, edata = self.ref.read(addr)
        assert (resp, data) == (eresp, edata), \
            f"read 0x{addr:03x}: got ({resp}, 0x{data:08x}), expected ({eresp}, 0x{edata:08x})"
        return data

    def set_input(self, ctx, name, value):
        ctx.set(getattr(self.dut, name), value)
        self.ref.inputs[name] = value


REGS = regmap.REGS


async def wait_until(ctx, cond, *sample):
    """Like ``ctx.tick().sample(*sample).until(cond)`` but fails after TIMEOUT cycles."""
    for _ in range(TIMEOUT):
        _, _, c, *vals = await ctx.tick().sample(cond, *sample)
        if c:
            return vals
    raise AssertionError("timeout")


def addr(name):
    return REGS[name].offset


# -- tests ----------------------------------------------------------------------------------------

def test_regmap_helpers_and_layout():
    ctrl = REGS["CTRL"]
    assert ctrl.offset == 0x010
    assert ctrl.encode(enable=1, irq_enable=1, dev_id=3) == 0b1 | 0b100 | (3 << 8)
    assert ctrl.decode(0xffff_ffff) == {"enable": 1, "soft_reset": 1, "irq_enable": 1, "dev_id": 0xf}
    assert REGS["ARB_POLICY"].encode(value=ArbPolicy.T3_MCA) == 2
    with pytest.raises(ValueError):
        ctrl.encode(dev_id=16)
    with pytest.raises(KeyError):
        ctrl.encode(nope=1)
    # counters: contiguous window in COUNTERS order, one port each
    for i, (name, _) in enumerate(regmap.COUNTERS):
        assert REGS[f"CNT_{name.upper()}"].offset == regmap.COUNTER_BASE + 4 * i
    names = {p.name for p in regmap.DEFAULT.ports()}
    for n in ("ctrl_enable", "ctrl_soft_reset", "arb_policy", "arb_threshold", "status_busy",
              "err_unarmed", "done", "cnt_fires", "cnt_cycles"):
        assert n in names
    # no overlapping offsets, all in the 4 KiB map
    offs = [r.offset for r in regmap.DEFAULT]
    assert len(set(offs)) == len(offs) and max(offs) < 4096


def test_parameter_checks():
    with pytest.raises(TypeError):
        Csr("T3Params")
    with pytest.raises(TypeError):
        regmap.build(42)
    with pytest.raises(ValueError, match="tile_width"):
        Csr(T3Params(tile_width=20))
    with pytest.raises(ValueError, match="count_width"):
        Csr(T3Params(count_width=17))
    with pytest.raises(ValueError):
        regmap.Field("X", 0, 1, Access.RW, "upper-case name")
    with pytest.raises(ValueError):
        regmap.Field("x", 30, 4, Access.RW, "does not fit")
    with pytest.raises(ValueError):
        regmap.Register("R", 0x2, "unaligned", [regmap.Field("a", 0, 1, Access.RW, "a")])
    with pytest.raises(ValueError):
        regmap.Register("R", 0x0, "overlap", [regmap.Field("a", 0, 2, Access.RW, "a"),
                                              regmap.Field("b", 1, 1, Access.RW, "b")])


def test_exports_convert():
    from amaranth.back import verilog
    from hw.t3csr import EXPORTS
    text = verilog.convert(EXPORTS["csr"](), name="csr", emit_src=False)
    for port in ("s_axil_awaddr", "s_axil_awvalid", "s_axil_awready", "s_axil_awprot",
                 "s_axil_wdata", "s_axil_wstrb", "s_axil_wvalid", "s_axil_wready", "s_axil_bresp",
                 "s_axil_bvalid", "s_axil_bready", "s_axil_araddr", "s_axil_arprot",
                 "s_axil_arvalid", "s_axil_arready", "s_axil_rdata", "s_axil_rresp",
                 "s_axil_rvalid", "s_axil_rready", "arm__valid", "cmd_write__payload", "irq"):
        assert f" {port};" in text or f" {port}," in text or f"] {port};" in text, port


@pytest.mark.parametrize("params", [T3Params(), SMALL], ids=["default", "small"])
def test_reset_values_constants_and_rw(params):
    async def body(ctx, h):
        p = h.params
        dut = h.dut
        # constants, from the parameters directly
        assert await h.read(ctx, addr("ID")) == 0x54330003
        lane = 0 if p.lane is LaneType.INT32 else 1
        assert await h.read(ctx, addr("PARAMS0")) == (
            (p.tracker_entries.bit_length() - 1) | (p.data_width // 32) << 8 | p.dev_width << 16
            | lane << 24)
        assert await h.read(ctx, addr("PARAMS1")) == (
            p.addr_width | p.len_width << 8 | p.tile_width << 16 | p.count_width << 24)
        # every register's reset value
        for reg in h.ref.rmap:
            await h.read(ctx, reg.offset)
        assert ctx.get(dut.arb_threshold) == 8 and ctx.get(dut.arb_starvation) == 64
        # RW registers: random words, reserved bits set too, read back masked; Out ports follow
        for reg in h.ref.rmap:
            if reg.stream or not any(f.access is Access.RW for f in reg.fields.values()):
                continue
            for _ in range(3):
                word = h.rng.getrandbits(32)
                if reg.name == "CTRL":
                    word &= ~0b10                            # soft_reset tested separately
                await h.write(ctx, reg.offset, word)
                await h.read(ctx, reg.offset)
            for f in reg.fields.values():
                port = h.ref.rmap.ports()
                names = {pt.field: pt.name for pt in port if pt.register == reg.name}
                if f.access is Access.RW and f.name in names:
                    v = ctx.get(getattr(dut, names[f.name]))
                    v = v.value if hasattr(v, "value") else v
                    assert v == h.ref.stored[(reg.name, f.name)], names[f.name]
    Harness(params, seed=1).run(body)


def test_errors_unmapped_ro_partial_strobe_illegal():
    async def body(ctx, h):
        err = addr("ERR")
        # unmapped and unaligned reads and writes
        for a in (0x00c, 0x02c, 0x060, 0x0fc, 0x100 + 4 * len(regmap.COUNTERS), 0xffc, 0x011, 0x002):
            await h.read(ctx, a)
            await h.write(ctx, a, 0xffff_ffff)
        assert REGS["ERR"].decode(await h.read(ctx, err))["bad_address"] == 1
        await h.write(ctx, err, REGS["ERR"].encode(bad_address=1))
        assert await h.read(ctx, err) == 0
        # writes to read-only registers: SLVERR, bad_write, no effect
        for name in ("ID", "PARAMS0", "STATUS", "CNT_FIRES", "CNT_CYCLES"):
            await h.write(ctx, addr(name), 0x1234_5678)
            await h.read(ctx, addr(name))
        assert REGS["ERR"].decode(await h.read(ctx, err))["bad_write"] == 1
        await h.write(ctx, err, 0xffff_ffff)
        # partial strobes: no effect on RW, W1C, WS
        await h.write(ctx, addr("ARB_THRESHOLD"), 0x55)
        for strb in (0x0, 0x1, 0x7, 0xe, 0x8):
            await h.write(ctx, addr("ARB_THRESHOLD"), 0xaa, strb=strb)
            await h.write(ctx, addr("ARM"), 0x0001_0005, strb=strb)
            await h.write(ctx, addr("CTRL"), 0x7, strb=strb)
        assert await h.read(ctx, addr("ARB_THRESHOLD")) == 0x55
        assert REGS["ERR"].decode(await h.read(ctx, err))["bad_write"] == 1
        await h.write(ctx, err, 0xffff_ffff)
        # illegal enum value: ARB_POLICY = 3 is refused, the old value stays
        await h.write(ctx, addr("ARB_POLICY"), ArbPolicy.T3_MCA.value)
        await h.write(ctx, addr("ARB_POLICY"), 3)
        await h.write(ctx, addr("ARB_POLICY"), 0xffff_fff3)
        assert await h.read(ctx, addr("ARB_POLICY")) == ArbPolicy.T3_MCA.value
        assert ctx.get(h.dut.arb_policy) == ArbPolicy.T3_MCA
        assert REGS["ERR"].decode(await h.read(ctx, err))["bad_write"] == 1
        assert REGS["ERR"].decode(await h.read(ctx, err))["bad_command"] == 0
    Harness(seed=2).run(body)


def test_w1c_flags_done_and_irq():
    async def body(ctx, h):
        dut = h.dut
        err, done = addr("ERR"), addr("DONE")
        events = [p.name for p in h.ref.rmap.ports() if p.register == "ERR"]
        assert len(events) == 6
        assert ctx.get(dut.irq) == 0
        # pulse each event for one cycle: its flag is set and stays set
        for i, name in enumerate(events):
            ctx.set(getattr(dut, name), 1)
            await ctx.tick()
            ctx.set(getattr(dut, name), 0)
            h.ref.flags[("ERR", name[len("err_"):])] = 1
            await h.read(ctx, err)
        assert ctx.get(dut.irq) == 0            # irq_enable is 0
        await h.write(ctx, addr("CTRL"), REGS["CTRL"].encode(irq_enable=1))
        await ctx.tick()
        assert ctx.get(dut.irq) == 1
        # writing 0 changes nothing; writing 1 clears only those bits
        await h.write(ctx, err, 0)
        await h.read(ctx, err)
        await h.write(ctx, err, REGS["ERR"].encode(unarmed=1, misroute=1))
        await h.read(ctx, err)
        # an event held during the clearing write wins
        ctx.set(dut.err_collision, 1)
        await h.write(ctx, err, REGS["ERR"].encode(collision=1))
        ctx.set(dut.err_collision, 0)
        h.ref.flags[("ERR", "collision")] = 1     # still set: the held event re-set it
        assert REGS["ERR"].decode(await h.read(ctx, err))["collision"] == 1
        await h.write(ctx, err, 0xffff_ffff)
        await h.read(ctx, err)
        await ctx.tick()
        assert ctx.get(dut.irq) == 0
        # DONE
        ctx.set(dut.done, 1)
        await ctx.tick()
        ctx.set(dut.done, 0)
        h.ref.flags[("DONE", "value")] = 1
        await h.read(ctx, done)
        assert ctx.get(dut.irq) == 1
        await h.write(ctx, addr("CTRL"), 0)
        await ctx.tick()
        assert ctx.get(dut.irq) == 0
        await h.write(ctx, done, 1)
        await h.read(ctx, done)
    Harness(seed=3).run(body)


def test_soft_reset_pulse():
    async def body(ctx, h):
        c = REGS["CTRL"]
        await h.write(ctx, addr("CTRL"), c.encode(enable=1, soft_reset=1, dev_id=5))
        assert h.pulses["ctrl_soft_reset"] == 1
        await h.read(ctx, addr("CTRL"))        # soft_reset reads 0, the rest was written
        await h.write(ctx, addr("CTRL"), c.encode(enable=1, dev_id=5))
        await h.write(ctx, addr("CTRL"), c.encode(soft_reset=1), order="w")
        assert h.pulses["ctrl_soft_reset"] == 2
        assert ctx.get(h.dut.ctrl_enable) == 0
    Harness(seed=4).run(body)


@pytest.mark.parametrize("params", [T3Params(), SMALL], ids=["default", "small"])
@pytest.mark.parametrize("stall", [0.0, 0.8])
def test_stream_registers(params, stall):
    async def body(ctx, h):
        p = h.params
        arm, db, commit = addr("ARM"), addr("DOORBELL"), addr("CMD_COMMIT")
        rng = h.rng
        tmax, cmax = (1 << p.tile_width) - 1, (1 << p.count_width) - 1
        # ARM: exactly one transfer each; threshold 0 refused; bits above the fields ignored
        for tile, thr in [(0, 1), (tmax, cmax), (rng.randint(0, tmax), rng.randint(1, cmax))]:
            await h.write(ctx, arm, tile | thr << 16)
        await h.write(ctx, arm, 7)                      # threshold 0
        await h.write(ctx, arm, 7 | 3 << 16, order="w")
        # DOORBELL: range check on the 16-bit index
        for idx in (0, p.tracker_entries - 1, p.tracker_entries, 0xffff):
            await h.write(ctx, db, idx, order=rng.choice(["aw", "w", "same", None]))
        # DMA command staging + commit
        depth = 1 << p.addr_width
        lmax = (1 << p.len_width) - 1

        async def stage(src, dst, length, op, dev, tile):
            await h.write(ctx, addr("CMD_SRC_ADDR"), src)
            await h.write(ctx, addr("CMD_DST_ADDR"), dst)
            await h.write(ctx, addr("CMD_LEN_OP_DEV"), length | op << 16 | dev << 24)
            await h.write(ctx, addr("CMD_TILE"), tile)
            for n in ("CMD_SRC_ADDR", "CMD_DST_ADDR", "CMD_LEN_OP_DEV", "CMD_TILE"):
                await h.read(ctx, addr(n))

        good = [
            (0, 0, 1, 0, 0, 0),
            (0, 0, 0, 0, 0, 0),                              # length 0: a notification
            (depth - lmax, depth - lmax, lmax, 1, (1 << p.dev_width) - 1, (1 << p.tile_width) - 1),
            (rng.randint(0, depth - 8), rng.randint(0, depth - 8), rng.randint(1, 8), 1, 1, 3),
        ]
        bad = [
            (depth - 3, 0, 4, 0, 0, 0),                      # src + length > depth
            (0, depth - 1, 2, 1, 0, 0),                      # dst + length > depth
        ]
        for cmd in good:
            await stage(*cmd)
            await h.write(ctx, commit, rng.randint(0, p.tracker_entries - 1) | 1 << 16)
            await h.write(ctx, commit, p.tracker_entries | 1 << 16)      # index out of range
        for cmd in bad:
            await stage(*cmd)
            await h.write(ctx, commit, 1 | 1 << 16, order=rng.choice(["aw", "w"]))
            await h.write(ctx, commit, 2)                   # invalidate: no command check
        flags = REGS["ERR"].decode(await h.read(ctx, addr("ERR")))
        assert flags["bad_command"] == 1 and flags["bad_arm"] == 1 and flags["bad_write"] == 0
        assert len(h.got["arm"]) == 4 and len(h.got["doorbell"]) == 2
        assert len(h.got["cmd_write"]) == 4 + 2
    Harness(params, seed=5, stall=stall).run(body)


def test_status_and_counters():
    async def body(ctx, h):
        for port in h.ref.rmap.ports():
            if port.direction == "in" and (port.register == "STATUS" or port.register.startswith("CNT_")):
                h.set_input(ctx, port.name, h.rng.getrandbits(port.shape.width))
        await h.read(ctx, addr("STATUS"))
        for name, _ in regmap.COUNTERS:
            await h.read(ctx, addr(f"CNT_{name.upper()}"))
        # inputs are sampled when the read is accepted
        h.set_input(ctx, "cnt_cycles", 0xdead_beef)
        h.set_input(ctx, "status_tracker_pending", 0x1234)
        await h.read(ctx, addr("CNT_CYCLES"))
        assert REGS["STATUS"].decode(await h.read(ctx, addr("STATUS")))["tracker_pending"] == 0x1234
    Harness(seed=6).run(body)


def test_write_orders_and_no_delay_throughput():
    """AW strictly before W, W strictly before AW, both together; zero-delay master."""
    async def body(ctx, h):
        for order in ("aw", "w", "same", None) * 3:
            await h.write(ctx, addr("ARB_STARVATION"), h.rng.getrandbits(16), order=order)
            await h.read(ctx, addr("ARB_STARVATION"))
            await h.write(ctx, addr("ARM"), 1 | 2 << 16, order=order)
    Harness(seed=7, max_delay=0, stall=0.0).run(body)


def test_stream_write_never_holds_the_bus():
    """With the tracker side stalled (arm.ready low), an ARM write is answered OKAY at once and
    its transfer waits in the one-entry buffer; a second ARM write is refused (SLVERR,
    ERR.stream_full, buffer unchanged) within the response bound; reads and other writes are
    answered meanwhile; once the consumer takes the transfer, STATUS.arm_ready is 1 again and the
    next ARM write is taken."""
    dut = Csr()
    got = []
    bound = regmap.RESPONSE_BOUND
    status, err = REGS["STATUS"], REGS["ERR"]

    async def write(ctx, a, data):
        """Zero-delay write with BREADY high: returns (bresp, cycles from AWVALID to BVALID)."""
        ctx.set(dut.s_axil_awaddr, a)
        ctx.set(dut.s_axil_wdata, data)
        ctx.set(dut.s_axil_wstrb, 0xf)
        ctx.set(dut.s_axil_bready, 1)
        ctx.set(dut.s_axil_awvalid, 1)
        ctx.set(dut.s_axil_wvalid, 1)
        aw = w = False
        for cyc in range(1, TIMEOUT):
            _, _, awr, wr, bv, br = await ctx.tick().sample(dut.s_axil_awready, dut.s_axil_wready,
                                                            dut.s_axil_bvalid, dut.s_axil_bresp)
            if awr:
                aw = True
                ctx.set(dut.s_axil_awvalid, 0)
            if wr:
                w = True
                ctx.set(dut.s_axil_wvalid, 0)
            if bv:
                assert aw and w
                return br, cyc
        raise AssertionError("no B response")

    async def main(ctx):
        ctx.set(dut.arm.ready, 0)
        m = Master(dut, random.Random(8), 0)
        resp, cycles = await write(ctx, addr("ARM"), 9 | 4 << 16)
        assert resp == RESP_OKAY and cycles <= bound + 1
        await ctx.tick()
        assert ctx.get(dut.arm.valid) == 1
        resp, data = await m.read(ctx, addr("STATUS"))
        assert resp == RESP_OKAY and status.decode(data)["arm_ready"] == 0
        assert status.decode(data)["doorbell_ready"] == 1 and status.decode(data)["cmd_ready"] == 1
        for _ in range(3):
            resp, cycles = await write(ctx, addr("ARM"), 3 | 2 << 16)
            assert resp == RESP_SLVERR and cycles <= bound + 1
            resp, data = await m.read(ctx, addr("ID"))
            assert (resp, data) == (RESP_OKAY, 0x54330003)
            ctx.set(dut.s_axil_rready, 0)
            assert ctx.get(dut.arm.valid) == 1
            assert ctx.get(dut.arm.payload.tile) == 9 and ctx.get(dut.arm.payload.threshold) == 4
        # other stream registers are independent
        resp, _ = await write(ctx, addr("DOORBELL"), 1)
        assert resp == RESP_OKAY and ctx.get(dut.doorbell.valid) == 1
        resp, data = await m.read(ctx, addr("ERR"))
        assert err.decode(data) == {**{f: 0 for f in err.fields}, "stream_full": 1}
        ctx.set(dut.arm.ready, 1)
        await ctx.tick()
        ctx.set(dut.arm.ready, 0)
        assert ctx.get(dut.arm.valid) == 0
        resp, data = await m.read(ctx, addr("STATUS"))
        assert status.decode(data)["arm_ready"] == 1 and status.decode(data)["doorbell_ready"] == 0
        resp, _ = await write(ctx, addr("ARM"), 5 | 1 << 16)
        assert resp == RESP_OKAY
        await ctx.tick()
        assert ctx.get(dut.arm.payload.tile) == 5 and ctx.get(dut.arm.valid) == 1
        got.append(1)

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(main)
    sim.run()
    assert got == [1]


def test_random_traffic_against_reference():
    """Random reads and writes over the whole map (mapped, unmapped, RO, illegal values, partial
    strobes), random channel delays and stream stalls; every response checked."""
    async def body(ctx, h):
        rng = h.rng
        for port in h.ref.rmap.ports():
            if port.direction == "in" and port.register != "ERR" and port.register != "DONE":
                h.set_input(ctx, port.name, rng.getrandbits(port.shape.width))
        offsets = [r.offset for r in h.ref.rmap] + [0x00c, 0x02c, 0x058, 0x200, 0xffc, 0x006]
        interesting = [0, 1, 2, 3, 0xffff_ffff, 0x0001_0000, 0x0000_ffff]
        for _ in range(120):
            a = rng.choice(offsets)
            if rng.random() < 0.4:
                await h.read(ctx, a)
            else:
                data = rng.choice(interesting) if rng.random() < 0.4 else rng.getrandbits(32)
                strb = 0xf if rng.random() < 0.9 else rng.randint(0, 14)
                if a == addr("CTRL"):
                    data &= ~0b10
                await h.write(ctx, a, data, strb)
        for reg in h.ref.rmap:
            await h.read(ctx, reg.offset)
    Harness(seed=9, max_delay=4, stall=0.5).run(body)


def test_generated_docs_up_to_date(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    tool = [sys.executable, str(ROOT / "tools" / "regs.py")]
    r = subprocess.run(tool + ["--check", "docs"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # the check does fail on a stale or missing file
    r = subprocess.run(tool + ["--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    h = tmp_path / "t3_regs.h"
    h.write_text(h.read_text().replace("#define T3__CTRL__DEV_ID_bp 8", "#define T3__CTRL__DEV_ID_bp 9"))
    (tmp_path / "tg_regs.rdl").unlink()
    r = subprocess.run(tool + ["--check", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                       text=True)
    assert r.returncode == 1 and "t3_regs.h" in r.stderr and "tg_regs.rdl" in r.stderr
    assert "registers.md" not in r.stderr


def test_pipelined_independent_channels():
    """AR, AW and W driven by separate producers that never wait for responses, R and B taken by
    separate consumers with random ready: exactly one response per command, in order, all data
    correct (a handshake the slave cannot honour would lose a response and fail here)."""
    params = T3Params()
    dut = Csr(params)
    rng = random.Random(10)
    ref = RefCsr(params)
    n = 24
    # writes: ARB_THRESHOLD values, some partial strobes, some to read-only ID
    writes = []
    for i in range(n):
        kind = rng.random()
        a = addr("ID") if kind < 0.2 else addr("ARB_THRESHOLD")
        strb = 0x3 if 0.2 <= kind < 0.35 else 0xf
        writes.append((a, rng.getrandbits(32), strb))
    exp_b = [ref.write(a, d, s)[0] for a, d, s in writes]
    reads = [rng.choice([addr("ID"), addr("PARAMS1"), 0x0f0]) for _ in range(n)]
    exp_r = [ref.read(a) for a in reads]
    got_b, got_r = [], []

    def producer(items, valid, fields):
        async def proc(ctx):
            for item in items:
                for _ in range(rng.randint(0, 2)):
                    await ctx.tick()
                for sig, v in zip(fields, item):
                    ctx.set(sig, v)
                ctx.set(valid[0], 1)
                for _ in range(TIMEOUT):
                    _, _, rdy = await ctx.tick().sample(valid[1])
                    if rdy:
                        break
                else:
                    raise AssertionError(f"{valid[0].name}: not accepted")
                ctx.set(valid[0], 0)
        return proc

    def consumer(out, ready, valid, fields, count):
        async def proc(ctx):
            for _ in range(TIMEOUT * count):
                r = rng.random() < 0.4
                ctx.set(ready, r)
                _, _, v, *vals = await ctx.tick().sample(valid, *fields)
                if v and r:
                    out.append(tuple(vals) if len(vals) > 1 else vals[0])
                    if len(out) == count:
                        ctx.set(ready, 0)
                        return
        return proc

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(producer([(a,) for a, _, _ in writes], (dut.s_axil_awvalid, dut.s_axil_awready),
                               (dut.s_axil_awaddr,)))
    sim.add_testbench(producer([(d, s) for _, d, s in writes], (dut.s_axil_wvalid, dut.s_axil_wready),
                               (dut.s_axil_wdata, dut.s_axil_wstrb)))
    sim.add_testbench(producer([(a,) for a in reads], (dut.s_axil_arvalid, dut.s_axil_arready),
                               (dut.s_axil_araddr,)))
    sim.add_testbench(consumer(got_b, dut.s_axil_bready, dut.s_axil_bvalid, (dut.s_axil_bresp,), n))
    sim.add_testbench(consumer(got_r, dut.s_axil_rready, dut.s_axil_rvalid,
                               (dut.s_axil_rresp, dut.s_axil_rdata), n))
    sim.run()
    assert got_b == exp_b
    assert got_r == exp_r
