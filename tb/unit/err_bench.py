"""One cocotb test per ``ERR`` bit of a T3Unit, driven through its AXI4-Lite port.

The list of bits and their descriptions come from the register map (``hw.regmap.REGS["ERR"]``):
every field must have a scenario here (import fails otherwise), and every scenario names the
phrases of the field's description it checks (the test fails if the description no longer says
them, so the documentation and this bench cannot drift apart). Each test causes the bit's event
through the unit's ports (AXI4-Lite, the compute port, the link), checks that the flag, and only
that flag, is set, and checks the behaviour the description promises (what was counted, sent,
written or refused); then it clears the flag (W1C) and checks ``irq`` followed it.
"""

import cocotb
from cocotb.triggers import ClockCycles

from hw import regmap
from hw.params import Kind
from tb.common.bench import start_clock_reset
from tb.common.stream import pack
from tb.unit.unit_bench import UnitTB

ERR = regmap.REGS["ERR"]
STATUS = regmap.REGS["STATUS"]
OKAY, SLVERR = 0, 2
SETTLE = 30            # cycles for an event to reach the flag (pipelines are a few cycles deep)

#: ERR field -> (phrases of its description the scenario checks, scenario coroutine)
SCENARIOS = {}


def scenario(name, *claims):
    def deco(fn):
        SCENARIOS[name] = (claims, fn)
        return fn
    return deco


def description(name):
    return " ".join(ERR[name].desc.split())


class ErrTB(UnitTB):
    async def raw_write(self, offset, word):
        return int((await self.csr.axil.write(offset, word.to_bytes(4, "little"))).resp)

    async def err(self):
        return ERR.decode(await self.csr.read("ERR"))

    async def status(self):
        return STATUS.decode(await self.csr.read("STATUS"))

    async def expect_only(self, name, what):
        """After the event settled: ERR has exactly ``name`` set; irq is up (irq_enable); clear."""
        await ClockCycles(self.dut.clk, SETTLE)
        flags = await self.err()
        want = {f: int(f == name) for f in ERR.fields}
        assert flags == want, f"{what}: ERR {flags}, expected only {name}"
        assert int(self.dut.irq.value) == 1, f"{what}: irq not raised"
        assert await self.raw_write(ERR.offset, ERR.encode(**{name: 1})) == OKAY
        assert await self.csr.read("ERR") == 0, f"{what}: {name} not cleared by W1C"
        done = await self.csr.read("DONE")               # notifications raise irq too
        await ClockCycles(self.dut.clk, 2)
        assert int(self.dut.irq.value) == done, f"{what}: irq {int(self.dut.irq.value)} after the clear"

    async def expect_clean(self, what):
        await ClockCycles(self.dut.clk, SETTLE)
        assert await self.csr.read("ERR") == 0, f"{what}: ERR {await self.err()}"

    def header(self, **fields):
        h = {"dst_dev": 1, "src_dev": 0, "op": Kind.STORE.value, "length": 1, "dst_addr": 0,
             "tile": 0}
        h.update(fields)
        return pack(self.params.link_header_layout, h)


async def setup(dut, sweep=True):
    tb = ErrTB(dut)
    if sweep:
        await tb.start()
    else:
        await start_clock_reset(dut)
    await tb.csr.write("CTRL", enable=1, irq_enable=1, dev_id=1)
    return tb


@scenario("unarmed", "not counted", "not armed", "never armed", "already fired",
          "holds another tile")
async def _unarmed(dut):
    tb = await setup(dut)
    E = tb.params.tracker_entries
    assert await tb.csr.program(5, src_addr=0, length=0, dst_dev=1, dst_addr=0, tile=0) == OKAY
    assert await tb.csr.arm(5, 2) == OKAY
    tb.compute.write(100, 1, tile=7, tracked=True)               # never armed
    await tb.expect_only("unarmed", "write to a never-armed tile")
    tb.compute.write(101, 1, tile=5 + E, tracked=True)           # entry 5 holds tile 5
    await tb.expect_only("unarmed", "write to a tile sharing an armed entry")
    assert await tb.csr.read("CNT_TRACKED_BEATS") == 0, "an unarmed write was counted"
    tb.compute.write(102, 1, tile=5, tracked=True)
    tb.compute.write(103, 1, tile=5, tracked=True)               # tile 5 reaches 2: fires
    await tb.expect_clean("tile 5 completing")
    assert await tb.csr.read("CNT_FIRES") == 1, "the entry's own tile lost a count"
    tb.compute.write(104, 1, tile=5, tracked=True)               # already fired
    await tb.expect_only("unarmed", "write to a fired tile")
    assert await tb.csr.read("CNT_TRACKED_BEATS") == 2
    assert await tb.csr.read("CNT_FIRES") == 1


@scenario("collision", "refused an arm", "already armed", "live tile", "keeps counting, unchanged",
          "another tile sharing", "waits until", "CNT_ARM_STALL")
async def _collision(dut):
    tb = await setup(dut)
    E = tb.params.tracker_entries
    assert await tb.csr.program(5, src_addr=0, length=0, dst_dev=1, dst_addr=0, tile=0) == OKAY
    assert await tb.csr.arm(5, 3) == OKAY
    assert await tb.csr.arm(5, 1) == OKAY            # the CSR takes it; the tracker refuses it
    await tb.expect_only("collision", "second arm of the same tile")
    assert await tb.csr.arm(5 + E, 1) == OKAY        # entry 5 holds tile 5: waits, no error
    await tb.expect_clean("arm of another tile sharing the entry")
    assert await tb.csr.read("CNT_ARMS") == 1
    assert await tb.csr.read("CNT_ARM_STALL") > 0, "the waiting arm is not counted"
    # the armed tile keeps its threshold of 3 (the refused arm's threshold 1 does not apply)
    tb.compute.write(200, 1, tile=5, tracked=True)
    tb.compute.write(201, 1, tile=5, tracked=True)
    await tb.expect_clean("two beats on tile 5")
    assert await tb.csr.read("CNT_FIRES") == 0, "a refused arm changed the armed threshold"
    tb.compute.write(202, 1, tile=5, tracked=True)   # tile 5 fires, tile 5 + E is installed
    await tb.expect_clean("third beat on tile 5")
    assert await tb.csr.read("CNT_FIRES") == 1
    assert await tb.csr.read("CNT_ARMS") == 2, "the waiting arm was not installed by the fire"
    stall = await tb.csr.read("CNT_ARM_STALL")
    tb.compute.write(203, 1, tile=5 + E, tracked=True)
    await tb.expect_clean("the installed tile's beat")
    assert await tb.csr.read("CNT_FIRES") == 2
    assert await tb.csr.read("CNT_TRACKED_BEATS") == 4
    assert await tb.csr.read("CNT_ARM_STALL") == stall, "counted after the arm was installed"


@scenario("bad_arm", "ARM write with threshold 0", "refused", "SLVERR", "nothing sent")
async def _bad_arm(dut):
    tb = await setup(dut)
    assert await tb.csr.arm(5, 0) == SLVERR
    await tb.expect_only("bad_arm", "ARM with threshold 0")
    assert await tb.csr.read("CNT_ARMS") == 0, "a refused ARM reached the tracker"
    assert (await tb.status())["tracker_pending"] == 0


@scenario("no_command", "fired", "doorbell", "no valid command", "nothing is sent")
async def _no_command(dut):
    tb = await setup(dut)
    assert await tb.csr.write("CMD_COMMIT", index=3, valid=0) == OKAY
    assert await tb.csr.arm(3, 1) == OKAY
    tb.compute.write(10, 5, tile=3, tracked=True)
    await tb.expect_only("no_command", "fire of a tile without a command")
    assert await tb.csr.read("CNT_FIRES") == 1
    assert await tb.csr.doorbell(3) == OKAY
    await tb.expect_only("no_command", "doorbell of an empty entry")
    assert tb.tx.count == 0, "a packet left without a command"
    assert await tb.csr.read("CNT_DMA_COMMANDS") == 0


@scenario("misroute", "another device", "dst_dev != CTRL.dev_id", "dropped", "nothing is written")
async def _misroute(dut):
    tb = await setup(dut)
    tb.loop_enabled = False
    tb.compute.write(12, 1234)
    tb.compute.write(13, 4321)
    assert await tb.csr.arm(9, 100) == OKAY          # the packets' tile: tracked, never fires
    tb.rx.send_nowait({"data": tb.header(dst_dev=2, length=2, dst_addr=12, tile=9), "last": 0})
    tb.rx.send_nowait({"data": 77, "last": 0})
    tb.rx.send_nowait({"data": 78, "last": 1})
    await tb.expect_only("misroute", "packet for device 2 at device 1")
    assert await tb.compute.read_many([12, 13]) == [1234, 4321], "a misrouted packet was written"
    assert await tb.csr.read("CNT_TRACKED_BEATS") == 0


@scenario("malformed_packet", "framing", "length", "within the length are written",
          "the rest up to the next `last` is dropped")
async def _malformed(dut):
    tb = await setup(dut)
    tb.loop_enabled = False
    for a in (20, 21, 22):
        tb.compute.write(a, 1000 + a)
    assert await tb.csr.arm(9, 100) == OKAY
    # length 3, `last` on the second data beat: two beats written, the third never comes
    tb.rx.send_nowait({"data": tb.header(length=3, dst_addr=20, tile=9), "last": 0})
    tb.rx.send_nowait({"data": 55, "last": 0})
    tb.rx.send_nowait({"data": 56, "last": 1})
    await tb.expect_only("malformed_packet", "early last")
    assert await tb.compute.read_many([20, 21, 22]) == [55, 56, 1022]
    # length 1 with two data beats: the first written, the second dropped up to its `last`
    tb.rx.send_nowait({"data": tb.header(length=1, dst_addr=21, tile=9), "last": 0})
    tb.rx.send_nowait({"data": 66, "last": 0})
    tb.rx.send_nowait({"data": 67, "last": 1})
    await tb.expect_only("malformed_packet", "missing last")
    # the next packet is framed correctly again
    tb.rx.send_nowait({"data": tb.header(length=1, dst_addr=22, tile=9), "last": 0})
    tb.rx.send_nowait({"data": 68, "last": 1})
    await tb.expect_clean("a good packet after the resynchronisation")
    assert await tb.compute.read_many([20, 21, 22]) == [55, 66, 68]
    assert await tb.csr.read("CNT_TRACKED_BEATS") == 4


@scenario("bad_write", "read-only register", "partial strobe", "illegal value")
async def _bad_write(dut):
    tb = await setup(dut)
    assert await tb.raw_write(regmap.REGS["ID"].offset, 0) == SLVERR
    await tb.expect_only("bad_write", "write to ID")
    assert await tb.csr.read("ID") == regmap.ID_VALUE
    assert await tb.csr.write("ARB_THRESHOLD", value=20) == OKAY
    resp = await tb.csr.axil.write(regmap.REGS["ARB_THRESHOLD"].offset, b"\x05\x00")
    assert int(resp.resp) == SLVERR
    await tb.expect_only("bad_write", "partial strobe")
    assert await tb.csr.read("ARB_THRESHOLD") == 20
    assert await tb.raw_write(regmap.REGS["ARB_POLICY"].offset, 3) == SLVERR
    await tb.expect_only("bad_write", "ARB_POLICY = 3")
    assert await tb.csr.read("ARB_POLICY") == 0


@scenario("bad_command", "CMD_COMMIT or DOORBELL", "refused", "malformed command",
          "index out of range")
async def _bad_command(dut):
    tb = await setup(dut)
    E = tb.params.tracker_entries
    assert await tb.raw_write(regmap.REGS["DOORBELL"].offset, E) == SLVERR
    await tb.expect_only("bad_command", "DOORBELL index out of range")
    assert await tb.csr.write("CMD_COMMIT", index=3, valid=0) == OKAY
    depth = 1 << tb.params.addr_width
    assert await tb.csr.program(3, src_addr=depth - 4, length=16, dst_dev=1, dst_addr=0,
                                tile=3) == SLVERR
    await tb.expect_only("bad_command", "malformed command")
    commit = regmap.REGS["CMD_COMMIT"]
    assert await tb.raw_write(commit.offset, commit.encode(index=0, valid=1) | E) == SLVERR
    await tb.expect_only("bad_command", "CMD_COMMIT index out of range")
    # nothing was installed: entry 3 is still empty
    assert await tb.csr.doorbell(3) == OKAY
    await tb.expect_only("no_command", "doorbell after the refused commit")
    assert tb.tx.count == 0


@scenario("bad_address", "unmapped", "unaligned")
async def _bad_address(dut):
    tb = await setup(dut)
    assert int((await tb.csr.axil.read(0xFF0, 4)).resp) == SLVERR
    await tb.expect_only("bad_address", "read of an unmapped address")
    assert await tb.raw_write(0xFF0, 1) == SLVERR
    await tb.expect_only("bad_address", "write of an unmapped address")
    assert int((await tb.csr.axil.read(regmap.REGS["CTRL"].offset + 2, 4)).resp) == SLVERR
    await tb.expect_only("bad_address", "read of an unaligned address")
    assert await tb.csr.read("CTRL") == regmap.REGS["CTRL"].encode(enable=1, irq_enable=1,
                                                                   dev_id=1)


@scenario("stream_full", "legal ARM, DOORBELL or CMD_COMMIT write was refused",
          "one-entry stream buffer still held the previous transfer", "SLVERR", "nothing sent",
          "STATUS.<stream>_ready")
async def _stream_full(dut):
    # Right after reset: the tracker clears its table for tracker_entries cycles and takes no
    # arm meanwhile, so the first ARM waits in the CSR's buffer.
    tb = await setup(dut, sweep=False)
    arm = regmap.REGS["ARM"]
    assert (await tb.status())["arm_ready"] == 1
    assert await tb.raw_write(arm.offset, arm.encode(tile=5, threshold=1)) == OKAY
    assert (await tb.status())["arm_ready"] == 0
    assert await tb.raw_write(arm.offset, arm.encode(tile=6, threshold=1)) == SLVERR
    await tb.expect_only("stream_full", "second ARM while the tracker sweeps")
    for _ in range(100):
        if (await tb.status())["arm_ready"]:
            break
        await ClockCycles(dut.clk, 10)
    else:
        raise AssertionError("STATUS.arm_ready never came back")
    await tb.expect_clean("sweep over")
    st = await tb.status()
    assert st["tracker_pending"] == 1 and await tb.csr.read("CNT_ARMS") == 1, \
        "the buffered ARM was lost or the refused one was sent"
    # tile 5 (buffered) is armed, tile 6 (refused) is not
    assert await tb.csr.program(5, src_addr=0, length=0, dst_dev=1, dst_addr=0, tile=0) == OKAY
    tb.compute.write(30, 1, tile=5, tracked=True)
    await tb.expect_clean("tile 5")
    assert await tb.csr.read("CNT_FIRES") == 1
    tb.compute.write(31, 1, tile=6, tracked=True)
    await tb.expect_only("unarmed", "tile 6 (its ARM was refused)")


@scenario("bad_burst", "answered a burst SLVERR", "not INCR", "partial WSTRB",
          "Nothing of a refused burst is issued", "CNT_BAD_BURSTS")
async def _bad_burst(dut):
    from cocotbext.axi import AxiBurstType, AxiResp
    tb = await setup(dut)
    axi, beat = tb.compute.axi, tb.params.data_width // 8
    tb.ram.write(40 * beat, bytes(range(2 * beat)))
    before = tb.ram.read(40 * beat, 2 * beat)
    r = await axi.write(40 * beat, bytes([0xA5] * 2 * beat), burst=AxiBurstType.FIXED)
    assert r.resp == AxiResp.SLVERR, f"FIXED write burst: {r.resp}"
    await tb.expect_only("bad_burst", "FIXED write burst")
    r = await axi.read(40 * beat, 2 * beat, burst=AxiBurstType.FIXED)
    assert r.resp == AxiResp.SLVERR, f"FIXED read burst: {r.resp}"
    await tb.expect_only("bad_burst", "FIXED read burst")
    assert await tb.csr.read("CNT_BAD_BURSTS") == 2
    assert tb.ram.read(40 * beat, 2 * beat) == before, "a refused burst wrote the memory"
    assert await tb.csr.read("CNT_WR_BEATS_COMPUTE") == 0, "a refused burst was issued"
    assert await tb.csr.read("CNT_RD_BEATS_COMPUTE") == 0, "a refused burst was issued"
    r = await axi.write(40 * beat, bytes([0x5A] * beat))              # a good one: no flag
    assert r.resp == AxiResp.OKAY
    await tb.expect_clean("a good burst after the refused ones")
    assert await tb.csr.read("CNT_BAD_BURSTS") == 2


missing = set(ERR.fields) - set(SCENARIOS)
extra = set(SCENARIOS) - set(ERR.fields)
if missing or extra:
    raise RuntimeError(f"ERR fields without a test: {sorted(missing)}; tests of no ERR field: "
                       f"{sorted(extra)}")


def _make_test(name, claims, fn):
    async def test(dut):
        desc = description(name)
        for phrase in claims:
            assert phrase in desc, f"ERR.{name}: the description no longer says {phrase!r}: {desc!r}"
        dut._log.info(f"ERR.{name}: {desc}")
        await fn(dut)
    test.__name__ = test.__qualname__ = f"err_{name}"
    test.__doc__ = f"ERR.{name}: {ERR[name].desc}"
    return cocotb.test(timeout_time=2000, timeout_unit="us")(test)


for _name, (_claims, _fn) in SCENARIOS.items():
    globals()[f"err_{_name}"] = _make_test(_name, _claims, _fn)
