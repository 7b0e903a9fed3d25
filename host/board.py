"""Host-side driver of the FPGA prototype: the UART bridge's byte protocol and the register-level
helpers for the T3 unit, the traffic generator and the memory window (``hw/fpga_top.py``,
protocol in ``docs/fpga.md``).

Every :class:`Bridge` and :class:`T3Board` method is a coroutine, so that one copy of the host
sequences serves the board (pyserial, blocking: :func:`run_sync`), Amaranth's simulator (a port
whose ``read`` advances the simulation: :func:`run_sync`) and a cocotb bench (a port whose
``read``/``write`` are coroutines: ``await``). ``tools/fpga_host.py`` is the command line.
"""

import inspect
import struct
import time

from hw import regmap
from hw.fpga_top import FPGA_PARAMS, MEM_BASE, TG_BASE, UNIT_BASE
from hw.memwindow import MW_CMD_INCR, MW_CMD_READ, MW_CMD_WRITE, MW_REGS
from hw.params import Kind
from hw.trafficgen import TG_ID, TG_REGS
from hw.trafficgen import reference as tg_reference

__all__ = ["Bridge", "BridgeError", "DataError", "T3Board", "run_sync", "pack_write", "pack_read",
           "parse_read", "lanes_add", "pattern", "OK", "ERR"]

OK, ERR, UNKNOWN = b"K", b"E", b"?"


class BridgeError(Exception):
    """The board answered 'E' (SLVERR/DECERR) or something unexpected."""


class DataError(BridgeError):
    """Data read back through the memory window differs from what the run must have written."""


def pack_write(addr, value):
    """Bytes of a write command."""
    return b"W" + struct.pack(">HI", addr & 0xFFFF, value & 0xFFFF_FFFF)


def pack_read(addr):
    """Bytes of a read command."""
    return b"R" + struct.pack(">H", addr & 0xFFFF)


def parse_read(answer):
    """``(value, ok)`` of a 5-byte read answer."""
    if len(answer) != 5 or answer[4:] not in (OK, ERR):
        raise BridgeError(f"bad read answer {answer!r}")
    return struct.unpack(">I", answer[:4])[0], answer[4:] == OK


async def _maybe(value):
    return (await value) if inspect.isawaitable(value) else value


def run_sync(coro):
    """Run a :class:`Bridge`/:class:`T3Board` coroutine over a blocking port (pyserial, or a
    simulation that advances inside ``read``): it never suspends, so it runs to the end here."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the port's read() suspended: await the coroutine instead")


class Bridge:
    """The byte protocol over a serial-like object (``read(n)``, ``write(data)``; either may be a
    coroutine function, as in a cocotb bench, or a plain blocking one). The methods are
    coroutines: ``await`` them, or :func:`run_sync` them over a blocking port."""

    def __init__(self, port):
        self.port = port

    async def _read(self, n):
        data = await _maybe(self.port.read(n))
        if len(data) != n:
            raise BridgeError(f"timeout: got {data!r}, wanted {n} bytes")
        return data

    async def write(self, addr, value, *, check=True):
        await _maybe(self.port.write(pack_write(addr, value)))
        ans = await self._read(1)
        if check and ans != OK:
            raise BridgeError(f"write 0x{addr:04x} = 0x{value:08x}: answer {ans!r}")
        return ans == OK

    async def read(self, addr, *, check=True):
        await _maybe(self.port.write(pack_read(addr)))
        value, ok = parse_read(await self._read(5))
        if check and not ok:
            raise BridgeError(f"read 0x{addr:04x}: error answer")
        return value

    def sync(self):
        """Flush a half-sent command: wait past the bridge's timeout, drain the input."""
        time.sleep(0.05)
        if hasattr(self.port, "reset_input_buffer"):
            self.port.reset_input_buffer()


def lanes_add(a, b, lanes):
    """Lane-wise int32 addition (wrapping) of two beats: the NMC's UPDATE."""
    return sum((((a >> (32 * k)) + (b >> (32 * k))) & 0xFFFF_FFFF) << (32 * k)
               for k in range(lanes))


def pattern(addr, lanes):
    """A known pre-fill of beat ``addr``: distinct per address and per lane."""
    return sum(((0x5A00_0000 + lanes * addr + k) & 0xFFFF_FFFF) << (32 * k)
               for k in range(lanes))


class T3Board:
    """Register-level helpers: the T3 unit's map (hw.regmap), the traffic generator's, and the
    memory window (:mod:`hw.memwindow`). Every method is a coroutine (see :class:`Bridge`)."""

    def __init__(self, bridge, params=FPGA_PARAMS):
        self.b = bridge
        self.map = regmap.build(params)
        self.params = params
        self.lanes = params.data_width // 32

    async def reg(self, name, **fields):
        r = self.map[name]
        await self.b.write(UNIT_BASE + r.offset, r.encode(**fields))

    async def get(self, name):
        return await self.b.read(UNIT_BASE + self.map[name].offset)

    async def tg(self, name, value):
        await self.b.write(TG_BASE + TG_REGS[name], value)

    async def tg_get(self, name):
        return await self.b.read(TG_BASE + TG_REGS[name])

    async def check_ids(self):
        t3, tg = await self.get("ID"), await self.tg_get("ID")
        if t3 != regmap.ID_VALUE or tg != TG_ID:
            raise BridgeError(f"unexpected ids: T3 0x{t3:08x}, traffic generator 0x{tg:08x}")
        return t3, tg

    # -- the memory window ----------------------------------------------------------------------
    async def mem_write(self, addr, beats):
        """Write ``beats`` (ints of ``data_width`` bits) from beat address ``addr`` on."""
        await self.b.write(MEM_BASE + MW_REGS["ADDR"], addr)
        for v in beats:
            for k in range(self.lanes):
                await self.b.write(MEM_BASE + MW_REGS["DATA"] + 4 * k,
                                   (v >> (32 * k)) & 0xFFFF_FFFF)
            await self.b.write(MEM_BASE + MW_REGS["CMD"], MW_CMD_WRITE | MW_CMD_INCR)

    async def mem_read(self, addr, n):
        """``n`` beats read from beat address ``addr`` on."""
        await self.b.write(MEM_BASE + MW_REGS["ADDR"], addr)
        out = []
        for _ in range(n):
            await self.b.write(MEM_BASE + MW_REGS["CMD"], MW_CMD_READ | MW_CMD_INCR)
            v = 0
            for k in range(self.lanes):
                v |= await self.b.read(MEM_BASE + MW_REGS["DATA"] + 4 * k) << (32 * k)
            out.append(v)
        return out

    async def expect(self, addr, want, what):
        """Read ``len(want)`` beats from ``addr``; :class:`DataError` naming the first that
        differs. Returns the number of beats checked."""
        got = await self.mem_read(addr, len(want))
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        if bad:
            i = bad[0]
            raise DataError(f"{what}: {len(bad)} of {len(want)} beats differ, first at "
                            f"{addr + i}: read 0x{got[i]:x}, expected 0x{want[i]:x}")
        return len(want)

    async def _tg_wait(self, polls=100):
        for _ in range(polls):
            if await self.tg_get("STATUS") & 2:
                return
        raise BridgeError("the traffic generator did not finish")

    async def _tg_start(self, *, tiles, beats, first=0, base=0, gap=0, order=0, op=Kind.STORE,
                        tracked=False, seed=1):
        for name, value in (("NUM_TILES", tiles), ("BEATS", beats), ("FIRST_TILE", first),
                            ("TILE_STRIDE", 1), ("BASE_ADDR", base), ("GAP", gap),
                            ("MODE", (int(tracked) << 3) | (order << 2) | Kind(op).value),
                            ("SEED", seed)):
            await self.tg(name, value)
        await self.tg("CTRL", 1)

    async def traffic(self, tiles=4, beats=8, seed=0x1000, seed2=0x7777_0000):
        """The traffic generator's two runs, untracked, each checked beat by beat through the
        memory window: ``tiles x beats`` STOREs from address 0 (counter data from ``seed``),
        then UPDATEs of the same beats (from ``seed2``), whose result is the lane-wise sum."""
        n = tiles * beats
        if n > 2 ** self.params.addr_width:
            raise ValueError("the run does not fit the memory")
        await self.reg("CTRL", enable=1, dev_id=0)
        result = {}
        stored = [r["data"] for r in tg_reference(self.params, num_tiles=tiles, beats=beats,
                                                  seed=seed)]
        upd = [r["data"] for r in tg_reference(self.params, num_tiles=tiles, beats=beats,
                                               seed=seed2, op=1)]
        for label, op, sd, want in (
                ("store", Kind.STORE, seed, stored),
                ("update", Kind.UPDATE, seed2,
                 [lanes_add(a, b, self.lanes) for a, b in zip(stored, upd)])):
            await self._tg_start(tiles=tiles, beats=beats, op=op, seed=sd)
            await self._tg_wait()
            result[f"{label}_beats"] = await self.tg_get("BEATS_SENT")
            result[f"{label}_cycles"] = await self.tg_get("CYCLES")
            result[f"{label}_checked"] = await self.expect(0, want, f"{label} run")
        return result

    async def demo(self, tiles=4, beats=8, first=0, gap=0, order=0, op=Kind.STORE, seed=1,
                   check=True):
        """Tiles ``first..first+tiles-1`` produced at address 0 are sent to this device at
        ``2**(addr_width - 1)`` (counted against tiles ``first+tiles...``), each delivered tile
        notifies. ``op=Kind.UPDATE`` sends them as remote updates of a destination pre-filled
        with :func:`pattern` (one step of a reduce-scatter). With ``check``, the sources and the
        destination are read back through the memory window and compared beat by beat."""
        n = self.map.params.tracker_entries
        if 2 * tiles > n or tiles * beats * 2 > 2 ** self.map.params.addr_width:
            raise ValueError("demo does not fit the tracker / the memory")
        dst_first, dst_base = first + tiles, 2 ** (self.map.params.addr_width - 1)
        if op == Kind.UPDATE:
            await self.mem_write(dst_base, [pattern(dst_base + i, self.lanes)
                                            for i in range(tiles * beats)])
        await self.reg("CTRL", enable=0, dev_id=0)
        await self.reg("DONE", value=1)
        await self.b.write(UNIT_BASE + self.map["ERR"].offset, 0xFFFF_FFFF)
        await self.reg("CTRL", enable=1, irq_enable=1, dev_id=0)
        before = await self.get("CNT_NOTIFICATIONS")
        for i in range(tiles):
            await self.reg("CMD_SRC_ADDR", value=i * beats)
            await self.reg("CMD_DST_ADDR", value=dst_base + i * beats)
            await self.reg("CMD_LEN_OP_DEV", length=beats, op=op, dst_dev=0)
            await self.reg("CMD_TILE", value=dst_first + i)
            await self.reg("CMD_COMMIT", index=first + i, valid=1)
            await self.reg("CMD_LEN_OP_DEV", length=0, op=Kind.STORE, dst_dev=0)
            await self.reg("CMD_COMMIT", index=dst_first + i, valid=1)
            await self.reg("ARM", tile=first + i, threshold=beats)
            await self.reg("ARM", tile=dst_first + i, threshold=beats)
        await self._tg_start(tiles=tiles, beats=beats, first=first, gap=gap, order=order,
                             tracked=True, seed=seed)
        for _ in range(100):
            if (await self.tg_get("STATUS") & 2
                    and await self.get("CNT_NOTIFICATIONS") - before >= tiles):
                break
        else:
            raise BridgeError("the run did not finish")
        result = {
            "tg_beats_sent": await self.tg_get("BEATS_SENT"),
            "tg_cycles": await self.tg_get("CYCLES"),
            "notifications": await self.get("CNT_NOTIFICATIONS") - before,
            "DONE": await self.get("DONE"), "ERR": await self.get("ERR"),
        }
        for name in ("FIRES", "TRACKED_BEATS", "LINK_TX_BEATS", "LINK_RX_BEATS", "DMA_COMMANDS",
                     "CYCLES"):
            result[f"CNT_{name}"] = await self.get(f"CNT_{name}")
        if check:
            # the generator's beats in production order, placed at their addresses
            src = [0] * (tiles * beats)
            for r in tg_reference(self.params, num_tiles=tiles, beats=beats, first_tile=first,
                                  seed=seed, order=order):
                src[r["addr"]] = r["data"]
            dst = (src if op == Kind.STORE else
                   [lanes_add(pattern(dst_base + i, self.lanes), v, self.lanes)
                    for i, v in enumerate(src)])
            result["checked_beats"] = (await self.expect(0, src, "source tiles")
                                       + await self.expect(dst_base, dst, "destination tiles"))
        return result
