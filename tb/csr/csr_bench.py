"""cocotb bench of the AXI4-Lite CSR block (``hw/t3csr.py``) through cocotbext-axi's AxiLiteMaster.

Every address, field position, access mode, reset value and legality rule comes from
``hw.regmap.build(params)``; nothing is hard-coded, so a register added to the map is tested too. A
register-level model (RW storage, W1C flags, the RO input values the bench drives) predicts every
read. Checked:

* every register: reset value; RO ports read back what is driven, constants read their value;
  reserved bits read 0 (also after writing all ones); RW fields read back and drive their ports;
  WS fields read 0, the ``CTRL.soft_reset`` strobe is one cycle per write;
* W1C: an event pulse sets the flag, writing 0 keeps it, writing 1 clears only that flag, an event
  held during the clearing write keeps it set; ``irq`` = ``irq_enable`` and any flag;
* stream registers (``ARM``, ``DOORBELL``, ``CMD_COMMIT``): exactly one transfer per successful
  write with the written fields (the staged command for ``CMD_COMMIT``), with the streams stalled
  at random; the write response never waits for the stream (a write while the stream's one-entry
  buffer is full is refused with ``ERR.stream_full``, and ``STATUS.<stream>_ready`` tells when it is
  free);
* errors (SLVERR + the ``ERR`` flag named by the map + no effect + no transfer): unmapped and
  unaligned addresses (read and write), partial ``WSTRB``, writes to read-only registers, illegal
  enum/min/max values, malformed commands (``src_addr + length`` or ``dst_addr + length`` beyond
  the memory), out-of-range table indices; invalidating (``valid = 0``) is never malformed;
* AXI stress: pipelined writes and reads issued concurrently with random pauses on all five
  channels.

Coverage (``build/coverage/csr-<sim>.json``): per register read / write, per error kind, per W1C
flag set and cleared, stream transfers under back-pressure, irq, soft-reset pulses.
"""

import logging
import random

import cocotb
from cocotb.triggers import ClockCycles, Combine, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from hw import regmap
from hw.t3csr import RESP_OKAY, RESP_SLVERR, cmd_write_layout, doorbell_layout
from hw.params import T3Params
from hw.regmap import Access
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.coverage import Coverage
from tb.common.stream import StreamSink

TIMEOUT_US = 3000

PARAMS = T3Params(**bench_env("T3_PARAMS", {}))
RMAP = regmap.build(PARAMS)
ERR = RMAP["ERR"]
STREAM_REGS = [r for r in RMAP if r.stream is not None]

COV = Coverage("csr", {
    **{f"read.{r.name}": 1 for r in RMAP},
    **{f"write_ok.{r.name}": 1 for r in RMAP if r.writable},
    **{f"w1c.set.{r.name}.{f.name}": 1 for r in RMAP for f in r.fields.values()
       if f.access is Access.W1C},
    **{f"w1c.clear.{r.name}.{f.name}": 1 for r in RMAP for f in r.fields.values()
       if f.access is Access.W1C},
    **{f"stream.{r.stream}.stalled_transfer": 3 for r in STREAM_REGS},
    "err.unmapped_read": 3, "err.unmapped_write": 3, "err.unaligned_read": 2,
    "err.unaligned_write": 2, "err.partial_wstrb": 3, "err.read_only_write": 3,
    "err.illegal_value": 2, "err.cmd_src_overflow": 2, "err.cmd_dst_overflow": 2,
    "err.index_out_of_range": 2, "cmd.invalidate_unchecked": 1,
    "irq.asserted": 2, "w1c.event_wins_clear": 5, "ctrl.soft_reset_pulse": 2, "axi.concurrent_ops": 50,
})


def port_of(dut, reg, f):
    return getattr(dut, reg.port_name(f))


class CsrTB:
    def __init__(self, dut):
        self.dut = dut
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        for name in ("cocotb.csr.s_axil", "cocotb.s_axil"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.axil.write_if.log.setLevel(logging.WARNING)
        self.axil.read_if.log.setLevel(logging.WARNING)
        self.sinks = {
            "arm": StreamSink(dut, "arm", dut.clk, PARAMS.arm_layout),
            "cmd_write": StreamSink(dut, "cmd_write", dut.clk, cmd_write_layout(PARAMS)),
            "doorbell": StreamSink(dut, "doorbell", dut.clk, doorbell_layout(PARAMS)),
        }
        self.rw = {}        # (reg, field) -> stored value
        self.ro = {}        # (reg, field) -> value driven on the RO input port
        self.internal = {}  # (reg, field) -> RO value the CSR computes (read when streams drained)
        self.flags = {}     # (reg, field) -> W1C flag
        self.pulses = 0     # soft-reset pulse cycles seen
        for reg in RMAP:
            for f in reg.fields.values():
                key = (reg.name, f.name)
                if f.access is Access.RW:
                    self.rw[key] = f.reset
                elif f.access is Access.W1C:
                    self.flags[key] = f.reset
                    if f.port:
                        port_of(dut, reg, f).value = 0
                elif f.access is Access.RO and f.const is None and not f.port:
                    self.internal[key] = 1       # STATUS.<stream>_ready: buffers empty
                elif f.access is Access.RO and f.const is None:
                    self.ro[key] = 0
                    port_of(dut, reg, f).value = 0

    async def start(self):
        await start_clock_reset(self.dut)
        cocotb.start_soon(self._monitor())
        for name, sink in self.sinks.items():
            sink.on_transfer.append(lambda item, n=name: self._stream_seen(n))

    def _stream_seen(self, name):
        if self.sinks[name]._pause is not None and self._stalled.get(name):
            COV.hit(f"stream.{name}.stalled_transfer")

    async def _monitor(self):
        dut = self.dut
        self._stalled = {}
        soft = getattr(dut, "ctrl_soft_reset", None)
        prev = 0
        while True:
            await RisingEdge(dut.clk)
            for name, sink in self.sinks.items():
                if sink.valid.value and not sink.ready.value:
                    self._stalled[name] = True
                elif sink.valid.value and sink.ready.value:
                    pass
                elif not sink.valid.value:
                    self._stalled[name] = False
            if soft is not None:
                v = int(soft.value)
                if v:
                    self.pulses += 1
                    assert not prev, "soft_reset pulse longer than one cycle"
                prev = v
            if int(dut.irq.value):
                COV.hit("irq.asserted")

    async def pulse_when_write_executes(self, port):
        """Pulse ``port`` for one cycle: the cycle in which the CSR executes the write now being
        issued (the first cycle after both its AW and W handshakes, no B outstanding)."""
        dut = self.dut
        aw = w = False
        while not (aw and w):
            await RisingEdge(dut.clk)
            aw = aw or bool(dut.s_axil_awvalid.value and dut.s_axil_awready.value)
            w = w or bool(dut.s_axil_wvalid.value and dut.s_axil_wready.value)
        assert not dut.s_axil_bvalid.value
        port.value = 1
        await RisingEdge(dut.clk)
        port.value = 0

    # -- model ---------------------------------------------------------------------------------
    def expected(self, reg):
        word = 0
        for f in reg.fields.values():
            key = (reg.name, f.name)
            if f.access is Access.RW:
                v = self.rw[key]
            elif f.access is Access.W1C:
                v = self.flags[key]
            elif key in self.internal:
                v = self.internal[key]
            elif f.access is Access.RO:
                v = f.const if f.const is not None else self.ro[key]
            else:
                v = 0
            word |= v << f.offset
        return word

    # -- bus -----------------------------------------------------------------------------------
    async def read(self, addr):
        r = await self.axil.read(addr, 4)
        return int.from_bytes(r.data, "little"), int(r.resp)

    async def write(self, addr, word, nbytes=4):
        r = await self.axil.write(addr, (word & 0xFFFFFFFF).to_bytes(4, "little")[:nbytes])
        return int(r.resp)

    async def check_reg(self, reg):
        word, resp = await self.read(reg.offset)
        COV.hit(f"read.{reg.name}")
        assert resp == RESP_OKAY, f"read {reg.name}: resp {resp}"
        exp = self.expected(reg)
        assert word == exp, f"read {reg.name}: {word:#010x} != expected {exp:#010x}"
        assert word & ~reg.defined_mask == 0, f"{reg.name}: reserved bits read {word:#x}"

    async def check_all(self):
        for reg in RMAP:
            await self.check_reg(reg)

    async def expect_error(self, flag, coro_factory, what):
        """Run a bus access that must answer SLVERR and set ``ERR.<flag>``; clear the flag."""
        counts = {n: s.count for n, s in self.sinks.items()}
        resp = await coro_factory()
        assert resp == RESP_SLVERR, f"{what}: resp {resp}, expected SLVERR"
        await ClockCycles(self.dut.clk, 2)
        assert {n: s.count for n, s in self.sinks.items()} == counts, f"{what}: a stream fired"
        self.flags[("ERR", flag)] = 1
        COV.hit(f"w1c.set.ERR.{flag}")
        await self.check_reg(ERR)
        assert await self.write(ERR.offset, ERR.encode(**{flag: 1})) == RESP_OKAY
        self.apply_write(ERR, ERR.encode(**{flag: 1}))
        await self.check_reg(ERR)

    def legal_random(self, reg, rng):
        """A random word writing legal values into every writable field (reserved bits random)."""
        word = rng.getrandbits(32) & ~reg.defined_mask
        for f in reg.fields.values():
            if f.access is Access.RO:
                continue
            if f.access is Access.W1C or (f.access is Access.WS and reg.stream is None):
                v = 0                               # flags / strobes: tested separately
            elif f.enum is not None:
                v = rng.choice([m.value for m in f.enum])
            else:
                lo = f.min if f.min is not None else 0
                hi = f.max if f.max is not None else (1 << f.width) - 1
                v = rng.randint(lo, hi)
            word |= v << f.offset
        return word

    def apply_write(self, reg, word):
        """Update the model after a successful (OKAY) write of ``word`` to ``reg``."""
        COV.hit(f"write_ok.{reg.name}")
        for f in reg.fields.values():
            if f.access is Access.RW:
                self.rw[(reg.name, f.name)] = (word >> f.offset) & ((1 << f.width) - 1)
            elif f.access is Access.W1C and (word >> f.offset) & 1:
                self.flags[(reg.name, f.name)] = 0
                COV.hit(f"w1c.clear.{reg.name}.{f.name}")

    async def check_ports(self):
        await ClockCycles(self.dut.clk, 2)
        for reg in RMAP:
            for f in reg.fields.values():
                if f.access is Access.RW and f.port:
                    got = int(port_of(self.dut, reg, f).value)
                    assert got == self.rw[(reg.name, f.name)], f"port {reg.port_name(f)} = {got}"
        any_flag = any(self.flags.values())
        irq_en = self.rw.get(("CTRL", "irq_enable"), 1)
        assert int(self.dut.irq.value) == int(bool(irq_en and any_flag)), "irq"

    def staged_command(self):
        g = lambda reg, f="value": self.rw[(reg, f)]
        return {"src_addr": g("CMD_SRC_ADDR"), "dst_addr": g("CMD_DST_ADDR"),
                "length": g("CMD_LEN_OP_DEV", "length"), "op": g("CMD_LEN_OP_DEV", "op"),
                "dst_dev": g("CMD_LEN_OP_DEV", "dst_dev"), "tile": g("CMD_TILE")}

    async def wait_sink(self, sink, count, what):
        for _ in range(1000):
            if sink.count >= count:
                return
            await RisingEdge(self.dut.clk)
        raise AssertionError(f"{what}: transfer not delivered")

    async def stream_write(self, reg, word):
        """A successful stream-register write (to an empty buffer): OKAY, then one transfer with
        the written fields once the consumer is ready."""
        sink = self.sinks[reg.stream]
        n = sink.count
        assert await self.write(reg.offset, word) == RESP_OKAY, f"{reg.name} {word:#x}: SLVERR"
        COV.hit(f"write_ok.{reg.name}")
        assert sink.count <= n + 1, f"{reg.name}: {sink.count - n} transfers"
        await self.wait_sink(sink, n + 1, reg.name)
        await ClockCycles(self.dut.clk, 2)
        assert sink.count == n + 1, f"{reg.name}: {sink.count - n} transfers"
        item = sink.queue.pop()
        fields = reg.decode(word)
        if reg.stream == "cmd_write":
            assert item["index"] == fields["index"] and item["valid"] == fields["valid"]
            if fields["valid"]:
                assert item["command"] == self.staged_command(), \
                    f"command {item['command']} != staged {self.staged_command()}"
        else:
            for name, v in fields.items():
                assert item[name] == v, f"{reg.name}.{name}: sent {item[name]}, wrote {v}"


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def reset_and_read_only(dut):
    """Reset values of every register; RO inputs read back (random values), constants; reserved
    bits 0; writes to read-only registers are refused with no effect."""
    tb = CsrTB(dut)
    await tb.start()
    await tb.check_all()
    rng = random.Random(1)
    for _ in range(3):
        for reg in RMAP:
            for f in reg.fields.values():
                if (reg.name, f.name) in tb.ro:
                    v = rng.getrandbits(f.width)
                    tb.ro[(reg.name, f.name)] = v
                    port_of(dut, reg, f).value = v
        await RisingEdge(dut.clk)
        await tb.check_all()
    for reg in RMAP:
        if not reg.writable:
            await tb.expect_error("bad_write", lambda r=reg: tb.write(r.offset, 0xFFFFFFFF),
                                  f"write to read-only {reg.name}")
            COV.hit("err.read_only_write")
    await tb.check_all()
    COV.write()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def read_write_registers(dut):
    """Random legal values (reserved bits set at random) into every non-stream writable register,
    read back, ports follow; CTRL.soft_reset gives one one-cycle pulse per write."""
    tb = CsrTB(dut)
    await tb.start()
    rng = random.Random(2)
    regs = [r for r in RMAP if r.writable and r.stream is None and r is not ERR
            and any(f.access is Access.RW for f in r.fields.values())]
    for _ in range(6):
        for reg in rng.sample(regs, len(regs)):
            word = tb.legal_random(reg, rng)
            assert await tb.write(reg.offset, word) == RESP_OKAY, f"write {reg.name} {word:#x}"
            tb.apply_write(reg, word)
            await tb.check_reg(reg)
        await tb.check_ports()
        await tb.check_all()
    ctrl = RMAP["CTRL"]
    if "soft_reset" in ctrl.fields:
        before = tb.pulses
        for k in range(3):
            word = tb.legal_random(ctrl, rng) | ctrl.encode(soft_reset=1)
            assert await tb.write(ctrl.offset, word) == RESP_OKAY
            tb.apply_write(ctrl, word)
            await ClockCycles(dut.clk, 3)
            assert tb.pulses == before + k + 1, "soft_reset: not exactly one pulse per write"
            COV.hit("ctrl.soft_reset_pulse")
        await tb.check_reg(ctrl)
    COV.write()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def w1c_flags_and_irq(dut):
    """Every W1C flag with an event port: set by a one-cycle pulse, kept by writing 0, cleared by
    writing 1 (alone), kept when the event is held during the clearing write; irq follows."""
    tb = CsrTB(dut)
    await tb.start()
    ctrl = RMAP["CTRL"]
    for irq_enable in (0, 1):
        word = ctrl.encode(irq_enable=irq_enable, enable=1)
        assert await tb.write(ctrl.offset, word) == RESP_OKAY
        tb.apply_write(ctrl, word)
        for reg in RMAP:
            for f in reg.fields.values():
                if f.access is not Access.W1C or not f.port:
                    continue
                key, port = (reg.name, f.name), port_of(dut, reg, f)
                port.value = 1
                await RisingEdge(dut.clk)
                port.value = 0
                tb.flags[key] = 1
                COV.hit(f"w1c.set.{reg.name}.{f.name}")
                await tb.check_reg(reg)
                await tb.check_ports()
                assert await tb.write(reg.offset, 0) == RESP_OKAY       # writing 0: no change
                await tb.check_reg(reg)
                # an event pulse in the very cycle the clearing write executes wins
                pulser = cocotb.start_soon(tb.pulse_when_write_executes(port))
                assert await tb.write(reg.offset, 1 << f.offset) == RESP_OKAY
                await pulser
                await tb.check_reg(reg)
                COV.hit("w1c.event_wins_clear")
                assert await tb.write(reg.offset, 1 << f.offset) == RESP_OKAY
                tb.apply_write(reg, 1 << f.offset)
                await tb.check_reg(reg)
                await tb.check_ports()
    # several flags at once, clear one by one
    w1c = [(r, f) for r in RMAP for f in r.fields.values() if f.access is Access.W1C and f.port]
    for r, f in w1c:
        port_of(dut, r, f).value = 1
    await RisingEdge(dut.clk)
    for r, f in w1c:
        port_of(dut, r, f).value = 0
        tb.flags[(r.name, f.name)] = 1
    await tb.check_all()
    for r, f in w1c:
        assert await tb.write(r.offset, 1 << f.offset) == RESP_OKAY
        tb.apply_write(r, 1 << f.offset)
        await tb.check_reg(r)
        await tb.check_ports()
    COV.write()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(p_stall=[0.0, 0.6])
async def stream_registers(dut, p_stall):
    """ARM, DOORBELL and CMD_COMMIT with random legal values: exactly one transfer each, carrying
    the written fields (the staged command for CMD_COMMIT), the streams stalled at random."""
    tb = CsrTB(dut)
    await tb.start()
    for i, sink in enumerate(tb.sinks.values()):
        sink.set_pause_generator(random_pause(40 + i, p_stall))
    rng = random.Random(3 + int(10 * p_stall))
    depth = 1 << PARAMS.addr_width
    lmax = (1 << PARAMS.len_width) - 1
    for _ in range(15):
        for reg in STREAM_REGS:
            if reg.stream == "cmd_write":
                length = rng.randint(1, lmax)
                stage = {"CMD_SRC_ADDR": {"value": rng.randint(0, depth - length)},
                         "CMD_DST_ADDR": {"value": rng.randint(0, depth - length)},
                         "CMD_LEN_OP_DEV": {"length": length, "op": rng.randrange(2),
                                            "dst_dev": rng.randrange(1 << PARAMS.dev_width)},
                         "CMD_TILE": {"value": rng.randrange(1 << PARAMS.tile_width)}}
                for name, fields in stage.items():
                    r = RMAP[name]
                    word = r.encode(**fields)
                    assert await tb.write(r.offset, word) == RESP_OKAY
                    tb.apply_write(r, word)
            await tb.stream_write(reg, tb.legal_random(reg, rng))
        await tb.check_all()
    COV.write()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def stream_buffer_full_is_refused(dut):
    """Each stream register with its consumer stalled: the first write answers OKAY and waits in
    the one-entry buffer (STATUS.<stream>_ready reads 0); the next legal write is refused within
    the response bound (SLVERR, ERR.stream_full, nothing sent, the buffered transfer unchanged);
    once the consumer takes the transfer the register takes writes again."""
    tb = CsrTB(dut)
    await tb.start()
    rng = random.Random(5)
    status = RMAP["STATUS"]
    ready_field = {"arm": "arm_ready", "doorbell": "doorbell_ready", "cmd_write": "cmd_ready"}
    for reg in STREAM_REGS:
        sink = tb.sinks[reg.stream]
        sink.set_pause_generator(iter(lambda: True, None))
        n = sink.count
        first = tb.legal_random(reg, rng)
        if reg.stream == "cmd_write":
            first = reg.encode(index=reg.decode(first)["index"], valid=0)   # no staged-command check
        assert await tb.write(reg.offset, first) == RESP_OKAY
        COV.hit(f"write_ok.{reg.name}")
        tb.internal[("STATUS", ready_field[reg.stream])] = 0
        await tb.check_reg(status)
        t0 = cocotb.utils.get_sim_time("ns")
        await tb.expect_error("stream_full", lambda r=reg, w=tb.legal_random(reg, rng) if
                              reg.stream != "cmd_write" else reg.encode(index=1, valid=0):
                              tb.write(r.offset, w), f"{reg.name} with its buffer full")
        assert sink.count == n
        assert cocotb.utils.get_sim_time("ns") > t0
        sink.clear_pause_generator()
        await tb.wait_sink(sink, n + 1, reg.name)
        item = sink.queue.pop()
        for name, v in reg.decode(first).items():
            if name in item:
                assert item[name] == v, f"{reg.name}.{name}: buffered transfer changed"
        tb.internal[("STATUS", ready_field[reg.stream])] = 1
        await tb.check_reg(status)
        await tb.stream_write(reg, first)
    COV.write()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def bus_errors(dut):
    """Unmapped and unaligned addresses, partial WSTRB, illegal field values, malformed commands
    and out-of-range indices: SLVERR, the right ERR flag, no effect, no transfer."""
    tb = CsrTB(dut)
    await tb.start()
    rng = random.Random(4)
    mapped = {r.offset for r in RMAP}
    unmapped = [a for a in range(0, 1 << regmap.ADDR_WIDTH, 4) if a not in mapped]
    for addr in rng.sample(unmapped, 4) + [unmapped[-1]]:
        async def rd(a=addr):
            return (await tb.read(a))[1]
        await tb.expect_error("bad_address", rd, f"read unmapped {addr:#x}")
        COV.hit("err.unmapped_read")
        await tb.expect_error("bad_address", lambda a=addr: tb.write(a, 0xFFFFFFFF),
                              f"write unmapped {addr:#x}")
        COV.hit("err.unmapped_write")
    ctrl = RMAP["CTRL"]
    for off in (1, 2, 3):
        async def rd(a=ctrl.offset + off):
            return (await tb.read(a))[1]
        await tb.expect_error("bad_address", rd, f"unaligned read +{off}")
        COV.hit("err.unaligned_read")
        # one byte at an unaligned address: unaligned AWADDR and a partial strobe
        r = await tb.write(ctrl.offset + off, 0xFF, nbytes=1)
        assert r == RESP_SLVERR, f"unaligned write +{off}: resp {r}"
        COV.hit("err.unaligned_write")
        word, _ = await tb.read(ERR.offset)
        assert ERR.decode(word)["bad_address"] or ERR.decode(word)["bad_write"]
        assert await tb.write(ERR.offset, ERR.encode(bad_address=1, bad_write=1)) == RESP_OKAY
    await tb.check_all()
    # partial write strobes on every writable register: nothing changes, no transfer
    for reg in RMAP:
        if reg.writable:
            for nbytes in (1, 2, 3):
                word = tb.legal_random(reg, rng)
                await tb.expect_error("bad_write", lambda r=reg, w=word, n=nbytes:
                                      tb.write(r.offset, w, nbytes=n),
                                      f"{reg.name} with {nbytes}-byte strobe")
                COV.hit("err.partial_wstrb")
    await tb.check_all()
    # illegal field values (enum members, min, max), per the map
    for reg in RMAP:
        for f in reg.fields.values():
            if not f.checked or reg.stream == "cmd_write" and f.name != "index":
                continue
            bad = []
            if f.enum is not None:
                bad += [v for v in range(1 << f.width) if v not in {m.value for m in f.enum}]
            if f.min is not None and f.min > 0:
                bad.append(f.min - 1)
            if f.max is not None and f.max < (1 << f.width) - 1:
                bad += [f.max + 1, (1 << f.width) - 1]
            for v in bad:
                word = (tb.legal_random(reg, rng) & ~f.mask) | (v << f.offset)
                await tb.expect_error(reg.err_flag, lambda r=reg, w=word: tb.write(r.offset, w),
                                      f"{reg.name}.{f.name} = {v}")
                COV.hit("err.index_out_of_range" if f.name == "index" else "err.illegal_value")
    await tb.check_all()
    # malformed commands: src/dst + length beyond the memory (length 0 is not tested here)
    depth, lmax = 1 << PARAMS.addr_width, (1 << PARAMS.len_width) - 1
    commit = RMAP["CMD_COMMIT"]
    for which in ("src", "dst", "src", "dst"):
        length = rng.randint(1, lmax)
        over = rng.randint(depth - length + 1, depth - 1)
        ok = rng.randint(0, depth - length)
        stage = {"CMD_SRC_ADDR": {"value": over if which == "src" else ok},
                 "CMD_DST_ADDR": {"value": over if which == "dst" else ok},
                 "CMD_LEN_OP_DEV": {"length": length, "op": 1, "dst_dev": 1},
                 "CMD_TILE": {"value": 5}}
        for name, fields in stage.items():
            r = RMAP[name]
            assert await tb.write(r.offset, r.encode(**fields)) == RESP_OKAY
            tb.apply_write(r, r.encode(**fields))
        index = rng.randrange(PARAMS.tracker_entries)
        await tb.expect_error("bad_command", lambda: tb.write(
            commit.offset, commit.encode(index=index, valid=1)), f"malformed {which} command")
        COV.hit(f"err.cmd_{which}_overflow")
        await tb.check_all()                     # staging registers keep their values
        # invalidating an entry is not checked against the staged command
        await tb.stream_write(commit, commit.encode(index=index, valid=0))
        COV.hit("cmd.invalidate_unchecked")
    # boundary: src + length == depth exactly is legal
    length = rng.randint(1, lmax)
    for name, fields in {"CMD_SRC_ADDR": {"value": depth - length},
                         "CMD_DST_ADDR": {"value": depth - length},
                         "CMD_LEN_OP_DEV": {"length": length, "op": 0, "dst_dev": 0}}.items():
        r = RMAP[name]
        assert await tb.write(r.offset, r.encode(**fields)) == RESP_OKAY
        tb.apply_write(r, r.encode(**fields))
    await tb.stream_write(commit, commit.encode(index=0, valid=1))
    await tb.check_all()
    COV.write()


@cocotb.test(timeout_time=300, timeout_unit="us")
async def axi_concurrent_stress(dut):
    """Writes and reads issued concurrently (pipelined by the master), random pauses on all five
    AXI channels and on the streams: every response right, every register as modelled."""
    tb = CsrTB(dut)
    await tb.start()
    w, r = tb.axil.write_if, tb.axil.read_if
    for i, ch in enumerate((w.aw_channel, w.w_channel, w.b_channel, r.ar_channel, r.r_channel)):
        ch.set_pause_generator(random_pause(60 + i, 0.3))
    for i, sink in enumerate(tb.sinks.values()):
        sink.set_pause_generator(random_pause(70 + i, 0.4))
    rng = random.Random(6)
    rw_regs = [g for g in RMAP if g.stream is None and
               any(f.access is Access.RW for f in g.fields.values())]
    const_regs = [g for g in RMAP if all(f.const is not None for f in g.fields.values())]
    arm = RMAP["ARM"]
    for rnd in range(8):
        # a batch of writes to distinct registers (and ARMs), all in flight together
        batch = rng.sample(rw_regs, min(5, len(rw_regs)))
        words = {g.name: tb.legal_random(g, rng) for g in batch}
        arms = [tb.legal_random(arm, rng) for _ in range(3)]
        n_arm = tb.sinks["arm"].count
        tasks = [cocotb.start_soon(tb.write(g.offset, words[g.name])) for g in batch]
        tasks += [cocotb.start_soon(tb.write(arm.offset, a)) for a in arms]
        read_regs = rng.choices(const_regs, k=4)
        reads = [cocotb.start_soon(tb.read(g.offset)) for g in read_regs]
        await Combine(*tasks, *reads)
        arm_resps = [t.result() for t in tasks[len(batch):]]
        for t in tasks[:len(batch)]:
            assert t.result() == RESP_OKAY, "concurrent write refused"
        # an ARM finding the arm buffer still full is refused (SLVERR, ERR.stream_full); the
        # first of a batch always finds it empty
        assert arm_resps[0] == RESP_OKAY and set(arm_resps) <= {RESP_OKAY, RESP_SLVERR}
        taken = [a for a, resp in zip(arms, arm_resps) if resp == RESP_OKAY]
        if RESP_SLVERR in arm_resps:
            tb.flags[("ERR", "stream_full")] = 1
            COV.hit("w1c.set.ERR.stream_full")
        for t, g in zip(reads, read_regs):
            word, resp = t.result()
            assert resp == RESP_OKAY and word == tb.expected(g), f"concurrent read of {g.name}"
        COV.hit("axi.concurrent_ops", len(tasks) + len(reads))
        for g in batch:
            tb.apply_write(g, words[g.name])
        await tb.wait_sink(tb.sinks["arm"], n_arm + len(taken), "ARM")
        await ClockCycles(dut.clk, 3)
        sent = [tb.sinks["arm"].queue.popleft() for _ in range(tb.sinks["arm"].count - n_arm)]
        assert [(s["tile"], s["threshold"]) for s in sent] == \
            [(arm.decode(a)["tile"], arm.decode(a)["threshold"]) for a in taken], \
            "ARM transfers lost, duplicated or reordered under concurrency"
        await tb.check_all()
        if tb.flags[("ERR", "stream_full")]:
            assert await tb.write(ERR.offset, ERR.encode(stream_full=1)) == RESP_OKAY
            tb.apply_write(ERR, ERR.encode(stream_full=1))
    for reg in const_regs:
        await tb.check_reg(reg)
    COV.write()
