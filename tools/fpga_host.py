"""Host side of the FPGA prototype: talk to the board's UART bridge (protocol in docs/fpga.md).

    python tools/fpga_host.py --port /dev/ttyUSB0 id
    python tools/fpga_host.py --port /dev/ttyUSB0 read 0x0014
    python tools/fpga_host.py --port /dev/ttyUSB0 write 0x0010 0x1
    python tools/fpga_host.py --port /dev/ttyUSB0 demo --tiles 8 --beats 16

``demo`` programs the single-board loop (the unit sends every produced tile to itself and raises a
notification per delivered tile), runs the traffic generator and prints the counters.

pyserial is imported only when a port is opened (``pip install pyserial``); it is not a dependency of
the project. :class:`Bridge` works over any object with ``read(n)`` and ``write(data)``.
"""

import argparse
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw import regmap  # noqa: E402
from hw.fpga_top import BAUD, FPGA_PARAMS, TG_BASE, UNIT_BASE  # noqa: E402
from hw.params import Kind  # noqa: E402
from hw.trafficgen import TG_ID, TG_REGS  # noqa: E402

OK, ERR, UNKNOWN = b"K", b"E", b"?"


class BridgeError(Exception):
    """The board answered 'E' (SLVERR/DECERR) or something unexpected."""


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


class Bridge:
    """The byte protocol over a serial-like object (``read(n)``, ``write(data)``)."""

    def __init__(self, port):
        self.port = port

    def _read(self, n):
        data = self.port.read(n)
        if len(data) != n:
            raise BridgeError(f"timeout: got {data!r}, wanted {n} bytes")
        return data

    def write(self, addr, value, *, check=True):
        self.port.write(pack_write(addr, value))
        ans = self._read(1)
        if check and ans != OK:
            raise BridgeError(f"write 0x{addr:04x} = 0x{value:08x}: answer {ans!r}")
        return ans == OK

    def read(self, addr, *, check=True):
        self.port.write(pack_read(addr))
        value, ok = parse_read(self._read(5))
        if check and not ok:
            raise BridgeError(f"read 0x{addr:04x}: error answer")
        return value

    def sync(self):
        """Flush a half-sent command: wait past the bridge's timeout, drain the input."""
        time.sleep(0.05)
        if hasattr(self.port, "reset_input_buffer"):
            self.port.reset_input_buffer()


class T3Board:
    """Register-level helpers: the T3 unit's map (hw.regmap) and the traffic generator's."""

    def __init__(self, bridge, params=FPGA_PARAMS):
        self.b = bridge
        self.map = regmap.build(params)

    def reg(self, name, **fields):
        r = self.map[name]
        self.b.write(UNIT_BASE + r.offset, r.encode(**fields))

    def get(self, name):
        return self.b.read(UNIT_BASE + self.map[name].offset)

    def tg(self, name, value):
        self.b.write(TG_BASE + TG_REGS[name], value)

    def tg_get(self, name):
        return self.b.read(TG_BASE + TG_REGS[name])

    def check_ids(self):
        t3, tg = self.get("ID"), self.tg_get("ID")
        if t3 != regmap.ID_VALUE or tg != TG_ID:
            raise BridgeError(f"unexpected ids: T3 0x{t3:08x}, traffic generator 0x{tg:08x}")
        return t3, tg

    def demo(self, tiles=4, beats=8, first=0, gap=0, order=0, op=Kind.STORE, seed=1):
        """Tiles ``first..first+tiles-1`` produced at address 0 are sent to this device at
        ``2048`` (counted against tiles ``first+tiles...``), each delivered tile notifies."""
        n = self.map.params.tracker_entries
        if 2 * tiles > n or tiles * beats * 2 > 2 ** self.map.params.addr_width:
            raise ValueError("demo does not fit the tracker / the memory")
        dst_first, dst_base = first + tiles, 2 ** (self.map.params.addr_width - 1)
        self.reg("CTRL", enable=0, dev_id=0)
        self.reg("DONE", value=1)
        self.b.write(UNIT_BASE + self.map["ERR"].offset, 0xFFFF_FFFF)
        self.reg("CTRL", enable=1, irq_enable=1, dev_id=0)
        before = self.get("CNT_NOTIFICATIONS")
        for i in range(tiles):
            self.reg("CMD_SRC_ADDR", value=i * beats)
            self.reg("CMD_DST_ADDR", value=dst_base + i * beats)
            self.reg("CMD_LEN_OP_DEV", length=beats, op=op, dst_dev=0)
            self.reg("CMD_TILE", value=dst_first + i)
            self.reg("CMD_COMMIT", index=first + i, valid=1)
            self.reg("CMD_LEN_OP_DEV", length=0, op=Kind.STORE, dst_dev=0)
            self.reg("CMD_COMMIT", index=dst_first + i, valid=1)
            self.reg("ARM", tile=first + i, threshold=beats)
            self.reg("ARM", tile=dst_first + i, threshold=beats)
        for name, value in (("NUM_TILES", tiles), ("BEATS", beats), ("FIRST_TILE", first),
                            ("TILE_STRIDE", 1), ("BASE_ADDR", 0), ("GAP", gap),
                            ("MODE", (order << 2) | (1 << 3)), ("SEED", seed)):
            self.tg(name, value)
        self.tg("CTRL", 1)
        for _ in range(100):
            if self.tg_get("STATUS") & 2 and self.get("CNT_NOTIFICATIONS") - before >= tiles:
                break
        else:
            raise BridgeError("the run did not finish")
        result = {
            "tg_beats_sent": self.tg_get("BEATS_SENT"), "tg_cycles": self.tg_get("CYCLES"),
            "notifications": self.get("CNT_NOTIFICATIONS") - before, "DONE": self.get("DONE"),
            "ERR": self.get("ERR"),
        }
        for name in ("FIRES", "TRACKED_BEATS", "LINK_TX_BEATS", "LINK_RX_BEATS", "DMA_COMMANDS",
                     "CYCLES"):
            result[f"CNT_{name}"] = self.get(f"CNT_{name}")
        return result


def open_port(name, baud=BAUD, timeout=1.0):
    try:
        import serial     # pyserial, optional
    except ImportError:
        raise SystemExit("pyserial is needed to talk to the board: pip install pyserial")
    return serial.Serial(name, baud, timeout=timeout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", required=True, help="serial device, e.g. /dev/ttyUSB0")
    ap.add_argument("--baud", type=int, default=BAUD)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("id", help="read both ID registers")
    r = sub.add_parser("read", help="read a register (byte address)")
    r.add_argument("addr", type=lambda x: int(x, 0))
    w = sub.add_parser("write", help="write a register")
    w.add_argument("addr", type=lambda x: int(x, 0))
    w.add_argument("value", type=lambda x: int(x, 0))
    d = sub.add_parser("demo", help="program and run the single-board loop")
    d.add_argument("--tiles", type=int, default=4)
    d.add_argument("--beats", type=int, default=8)
    d.add_argument("--gap", type=int, default=0)
    d.add_argument("--order", type=int, choices=(0, 1), default=0)
    args = ap.parse_args(argv)

    bridge = Bridge(open_port(args.port, args.baud))
    bridge.sync()
    board = T3Board(bridge)
    if args.cmd == "id":
        t3, tg = board.check_ids()
        print(f"T3 ID 0x{t3:08x}, traffic generator ID 0x{tg:08x}")
    elif args.cmd == "read":
        print(f"0x{bridge.read(args.addr):08x}")
    elif args.cmd == "write":
        bridge.write(args.addr, args.value)
        print("OK")
    else:
        board.check_ids()
        for k, v in board.demo(args.tiles, args.beats, gap=args.gap, order=args.order).items():
            print(f"{k:<20} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
