"""The register bridge's deferred writes, strict registers, owner-loaded (``hw_write``) fields and
shared error flags (hw/csr), cycle by cycle in Amaranth's simulator against the rules in
hw/csr/reg.py's docstring, and the elaboration checks of those declarations.

* A successful write to a ``deferred`` stream register sends its transfer and is answered
  (``BVALID``) the cycle after the owner pulses ``<stream>_done``, not before; with
  ``<stream>_error`` high: SLVERR and the register's ``done_err_flag``.
* While it is outstanding no other write is taken (AWREADY/WREADY low, nothing changes) and reads
  are answered as usual, the cycle after their AR handshake.
* A ``done`` pulse with nothing outstanding does nothing.
* A ``strict`` register refuses a word with a reserved bit set; several errors set one flag.
* Inconsistent declarations are refused, naming the register or field.
"""

import pytest
from amaranth.hdl import Fragment

from hw.csr import Access, AXI4LiteRegisterBridge, Field as F, Register, RegisterMap
from hw.lib.axil import RESP_OKAY, RESP_SLVERR
from tests.simutil import axil_read, axil_write, run_sim

RW, RO, WS, W1C = Access.RW, Access.RO, Access.WS, Access.W1C
ERR, GO, R, CNT = 0x0, 0x4, 0x8, 0xC
REFUSED, FAILED = 1, 2          # ERR bits


def err_reg(refused_errors=("bad_address", "bad_write", "stream_full")):
    return Register("ERR", ERR, "errors", [
        F("refused", 0, 1, W1C, "refused", port=False, driver="bridge", errors=refused_errors),
        F("failed", 1, 1, W1C, "failed", port=False, driver="bridge")])


def build(**go):
    regs = [err_reg(),
            Register("GO", GO, "go", [F("n", 0, 4, WS, "n")], stream="go", strict=True,
                     deferred=True, done_err_flag="failed", **go),
            Register("R", R, "r", [F("value", 0, 8, RW, "r", hw_write=True)]),
            Register("CNT", CNT, "cnt", [F("value", 0, 8, RO, "cnt")])]
    return AXI4LiteRegisterBridge(RegisterMap(None, regs, errors="ERR"), buffered=False)


def run(dut, tb, name):
    """Run ``tb`` for at most 2 us (a write that is never answered must fail, not hang)."""
    finished = []

    async def body(ctx):
        await tb(ctx)
        finished.append(True)

    run_sim(dut, body, name=name, deadline=2e-6)
    assert finished, "the testbench did not finish (an AXI4-Lite response never came)"


async def present_write(ctx, dut, addr, value):
    """Drive AW and W (held); returns once they are taken (the write executes in that cycle)."""
    ctx.set(dut.s_axil_awaddr, addr)
    ctx.set(dut.s_axil_wdata, value)
    ctx.set(dut.s_axil_wstrb, 0xF)
    ctx.set(dut.s_axil_awvalid, 1)
    ctx.set(dut.s_axil_wvalid, 1)
    await ctx.tick().until(dut.s_axil_awready & dut.s_axil_wready)
    ctx.set(dut.s_axil_awvalid, 0)
    ctx.set(dut.s_axil_wvalid, 0)


async def take_transfer(ctx, dut):
    """The owner takes the ``go`` transfer (already valid); returns its ``n``."""
    assert ctx.get(dut.go.valid), "the write did not send its transfer the cycle after"
    n = ctx.get(dut.go.payload.n)
    ctx.set(dut.go.ready, 1)
    await ctx.tick()
    ctx.set(dut.go.ready, 0)
    return n


async def pulse_done(ctx, dut, error=0):
    ctx.set(dut.go_done, 1)
    ctx.set(dut.go_error, error)
    assert not ctx.get(dut.s_axil_bvalid), "B before done"
    await ctx.tick()
    ctx.set(dut.go_done, 0)
    ctx.set(dut.go_error, 0)


async def take_b(ctx, dut):
    """BVALID must be high now; take B (one cycle); returns BRESP."""
    assert ctx.get(dut.s_axil_bvalid), "B not the cycle after done"
    resp = ctx.get(dut.s_axil_bresp)
    ctx.set(dut.s_axil_bready, 1)
    await ctx.tick()
    ctx.set(dut.s_axil_bready, 0)
    assert not ctx.get(dut.s_axil_bvalid)
    return resp


@pytest.mark.parametrize("wait", [0, 5])
def test_b_held_until_done_then_okay(wait):
    dut = build()

    async def tb(ctx):
        await present_write(ctx, dut, GO, 5)
        assert await take_transfer(ctx, dut) == 5
        for _ in range(wait):
            assert not ctx.get(dut.s_axil_bvalid), "B before done"
            await ctx.tick()
        await pulse_done(ctx, dut)
        assert await take_b(ctx, dut) == RESP_OKAY
        assert (await axil_read(ctx, dut, ERR))[0] == 0
        assert await axil_write(ctx, dut, R, 0x33) == RESP_OKAY     # writes taken again
        assert ctx.get(dut.r) == 0x33

    run(dut, tb, name="deferred_ok")


def test_done_with_error_is_slverr_and_flagged():
    dut = build()

    async def tb(ctx):
        await present_write(ctx, dut, GO, 1)
        await take_transfer(ctx, dut)
        ctx.set(dut.go_done, 1)
        ctx.set(dut.go_error, 1)
        assert ctx.get(dut.write_error), "write_error not raised by a failed deferred write"
        await ctx.tick()
        ctx.set(dut.go_done, 0)
        ctx.set(dut.go_error, 0)
        assert await take_b(ctx, dut) == RESP_SLVERR
        assert (await axil_read(ctx, dut, ERR))[0] == FAILED
        assert await axil_write(ctx, dut, ERR, FAILED) == RESP_OKAY
        assert (await axil_read(ctx, dut, ERR))[0] == 0

    run(dut, tb, name="deferred_error")


def test_second_write_waits_and_reads_are_served():
    dut = build()

    async def tb(ctx):
        assert await axil_write(ctx, dut, R, 0x11) == RESP_OKAY
        ctx.set(dut.cnt, 0x77)
        await present_write(ctx, dut, GO, 2)
        await take_transfer(ctx, dut)
        # a second write, presented while the first is outstanding: not taken
        ctx.set(dut.s_axil_awaddr, R)
        ctx.set(dut.s_axil_wdata, 0x22)
        ctx.set(dut.s_axil_wstrb, 0xF)
        ctx.set(dut.s_axil_awvalid, 1)
        ctx.set(dut.s_axil_wvalid, 1)
        for _ in range(4):
            assert not ctx.get(dut.s_axil_awready) and not ctx.get(dut.s_axil_wready)
            await ctx.tick()
        # reads meanwhile: AR taken at once, R the next cycle, with the current values
        for addr, want in ((R, 0x11), (CNT, 0x77), (GO, 0)):
            ctx.set(dut.s_axil_araddr, addr)
            ctx.set(dut.s_axil_arvalid, 1)
            assert ctx.get(dut.s_axil_arready)
            assert not ctx.get(dut.s_axil_awready)
            await ctx.tick()
            ctx.set(dut.s_axil_arvalid, 0)
            assert ctx.get(dut.s_axil_rvalid)
            assert (ctx.get(dut.s_axil_rdata), ctx.get(dut.s_axil_rresp)) == (want, RESP_OKAY)
            ctx.set(dut.s_axil_rready, 1)
            await ctx.tick()
            ctx.set(dut.s_axil_rready, 0)
        assert ctx.get(dut.r) == 0x11, "the waiting write changed R"
        await pulse_done(ctx, dut)
        # the first write's B; the second write is taken only once that B is taken
        assert ctx.get(dut.s_axil_bvalid) and not ctx.get(dut.s_axil_awready)
        ctx.set(dut.s_axil_bready, 1)
        await ctx.tick()
        assert ctx.get(dut.s_axil_awready) and ctx.get(dut.s_axil_wready)
        await ctx.tick()
        ctx.set(dut.s_axil_awvalid, 0)
        ctx.set(dut.s_axil_wvalid, 0)
        assert ctx.get(dut.s_axil_bvalid) and ctx.get(dut.s_axil_bresp) == RESP_OKAY
        assert ctx.get(dut.r) == 0x22
        await ctx.tick()
        ctx.set(dut.s_axil_bready, 0)

    run(dut, tb, name="deferred_second_write")


def test_done_without_outstanding_write_is_ignored():
    dut = build()

    async def tb(ctx):
        ctx.set(dut.s_axil_bready, 1)
        ctx.set(dut.go_done, 1)
        ctx.set(dut.go_error, 1)
        await ctx.tick()
        ctx.set(dut.go_done, 0)
        ctx.set(dut.go_error, 0)
        for _ in range(3):
            assert not ctx.get(dut.s_axil_bvalid), "a B with no write"
            await ctx.tick()
        assert (await axil_read(ctx, dut, ERR))[0] == 0
        # done in the cycle the write executes (not yet outstanding): ignored too
        ctx.set(dut.go_done, 1)
        await present_write(ctx, dut, GO, 3)
        ctx.set(dut.go_done, 0)
        await take_transfer(ctx, dut)
        for _ in range(3):
            assert not ctx.get(dut.s_axil_bvalid), "B before done"
            await ctx.tick()
        await pulse_done(ctx, dut)
        assert await take_b(ctx, dut) == RESP_OKAY

    run(dut, tb, name="deferred_spurious_done")


def test_strict_refusals_share_one_flag_and_send_nothing():
    dut = build()

    async def tb(ctx):
        for addr, value, strb in ((GO, 0x15, 0xF),      # reserved bit 4 set (strict)
                                  (GO, 1 << 31, 0xF),
                                  (GO, 1, 0x1),         # partial strobe
                                  (0x40, 1, 0xF),       # unmapped
                                  (CNT, 1, 0xF)):       # read-only
            assert await axil_write(ctx, dut, addr, value, strb) == RESP_SLVERR, hex(addr)
            assert not ctx.get(dut.go.valid), "a refused write sent a transfer"
            assert (await axil_read(ctx, dut, ERR))[0] == REFUSED
            assert await axil_write(ctx, dut, ERR, REFUSED) == RESP_OKAY
        assert (await axil_read(ctx, dut, 0x40)) == (0, RESP_SLVERR)
        assert (await axil_read(ctx, dut, ERR))[0] == REFUSED, "bad_address read: no flag"
        # the owner did not take the transfer before done: the next write finds the buffer full
        await present_write(ctx, dut, GO, 0xF)
        await pulse_done(ctx, dut)
        assert await take_b(ctx, dut) == RESP_OKAY
        assert await axil_write(ctx, dut, GO, 1) == RESP_SLVERR
        assert ctx.get(dut.go.payload.n) == 0xF

    run(dut, tb, name="strict")


def test_hw_write_loads_and_software_wins_a_tie():
    dut = build()

    async def tb(ctx):
        ctx.set(dut.r_next, 0x5A)
        ctx.set(dut.r_we, 1)
        await ctx.tick()
        ctx.set(dut.r_we, 0)
        assert ctx.get(dut.r) == 0x5A
        assert (await axil_read(ctx, dut, R))[0] == 0x5A
        ctx.set(dut.r_next, 0x66)
        ctx.set(dut.s_axil_awaddr, R)
        ctx.set(dut.s_axil_wdata, 0x99)
        ctx.set(dut.s_axil_wstrb, 0xF)
        ctx.set(dut.s_axil_awvalid, 1)
        ctx.set(dut.s_axil_wvalid, 1)
        ctx.set(dut.r_we, 1)
        assert ctx.get(dut.s_axil_awready)    # the write executes in this cycle
        await ctx.tick()
        ctx.set(dut.r_we, 0)
        ctx.set(dut.s_axil_awvalid, 0)
        ctx.set(dut.s_axil_wvalid, 0)
        assert ctx.get(dut.r) == 0x99, "software must win a tie with an owner load"

    run(dut, tb, name="hw_write")


def test_declarations_checked_at_elaboration():
    with pytest.raises(ValueError, match="register GO: deferred needs a stream register"):
        Register("GO", GO, "go", [F("n", 0, 4, WS, "n")], deferred=True)
    with pytest.raises(TypeError, match="deferred of register GO"):
        Register("GO", GO, "go", [F("n", 0, 4, WS, "n")], stream="go", deferred=1)
    with pytest.raises(ValueError, match="done_err_flag of register GO"):
        Register("GO", GO, "go", [F("n", 0, 4, WS, "n")], stream="go", deferred=True,
                 done_err_flag="no such")
    # the error register must have a flag for the deferred register's done_err_flag
    with pytest.raises(ValueError, match=r"no bridge-driven flag for \['oops'\]"):
        AXI4LiteRegisterBridge(RegisterMap(None, [
            err_reg(), Register("GO", GO, "go", [F("n", 0, 4, WS, "n")], stream="go",
                                deferred=True, done_err_flag="oops")], errors="ERR"))
    # the hooks' names must not collide with field ports
    with pytest.raises(ValueError, match="go_done"):
        RegisterMap(None, [Register("GO", GO, "go", [F("n", 0, 4, WS, "n")], stream="go",
                                    deferred=True),
                           Register("GO_DONE", R, "x", [F("value", 0, 1, RW, "x")])])
    with pytest.raises(ValueError, match="field 'v': only an RW field can be hw_write"):
        F("v", 0, 1, RO, "v", hw_write=True)
    with pytest.raises(ValueError, match="field 'v': errors needs a W1C field"):
        F("v", 0, 1, RW, "v", errors=("bad_write",))
    with pytest.raises(ValueError, match="'bad_write' is collected by both"):
        RegisterMap(None, [Register("ERR", 0, "e", [
            F("a", 0, 1, W1C, "a", port=False, driver="bridge", errors=("bad_write",)),
            F("bad_write", 1, 1, W1C, "b", port=False, driver="bridge")])], errors="ERR")
    with pytest.raises(ValueError, match=r"no bridge-driven flag for \['stream_full'\]"):
        AXI4LiteRegisterBridge(RegisterMap(None, [
            err_reg(("bad_address", "bad_write")),
            Register("GO", GO, "go", [F("n", 0, 4, WS, "n")], stream="go", deferred=True,
                     done_err_flag="failed")], errors="ERR"))
    Fragment.get(build(), None)                   # the consistent map elaborates
