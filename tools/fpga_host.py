"""Host side of the FPGA prototype: talk to the board's UART bridge (protocol in docs/fpga.md).

    python tools/fpga_host.py --port /dev/ttyUSB0 id
    python tools/fpga_host.py --port /dev/ttyUSB0 read 0x0014
    python tools/fpga_host.py --port /dev/ttyUSB0 write 0x0010 0x1
    python tools/fpga_host.py --port /dev/ttyUSB0 demo --tiles 8 --beats 16 [--update]
    python tools/fpga_host.py --port /dev/ttyUSB0 traffic --tiles 8 --beats 16
    python tools/fpga_host.py --port /dev/ttyUSB0 mem 0x0800 4

``demo`` programs the single-board loop (the unit sends every produced tile to itself and raises a
notification per delivered tile), runs the traffic generator, prints the counters and checks the
source and destination tiles beat by beat through the memory window (:mod:`hw.memwindow`);
``traffic`` runs the generator's STOREs then UPDATEs and checks every beat; ``mem`` prints beats.
A beat that differs raises :class:`DataError`.

pyserial is imported only when a port is opened (``pip install pyserial``); it is not a dependency of
the project. The driver itself is :mod:`host.board`.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from host.board import (Bridge, BridgeError, DataError, T3Board, pack_read,  # noqa: E402,F401
                        pack_write, parse_read, run_sync)
from hw.fpga_top import BAUD  # noqa: E402
from hw.params import Kind  # noqa: E402

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
    mr = sub.add_parser("mem", help="read beats of the unit's memory (the memory window)")
    mr.add_argument("addr", type=lambda x: int(x, 0), help="beat address")
    mr.add_argument("count", type=int, nargs="?", default=1)
    t = sub.add_parser("traffic", help="traffic generator STORE then UPDATE run, every beat "
                                       "read back and checked")
    t.add_argument("--tiles", type=int, default=4)
    t.add_argument("--beats", type=int, default=8)
    d = sub.add_parser("demo", help="program and run the single-board loop, check the data")
    d.add_argument("--tiles", type=int, default=4)
    d.add_argument("--beats", type=int, default=8)
    d.add_argument("--gap", type=int, default=0)
    d.add_argument("--order", type=int, choices=(0, 1), default=0)
    d.add_argument("--update", action="store_true",
                   help="send the tiles as remote UPDATEs of a pre-filled destination")
    args = ap.parse_args(argv)

    bridge = Bridge(open_port(args.port, args.baud))
    bridge.sync()
    board = T3Board(bridge)
    if args.cmd == "id":
        t3, tg = run_sync(board.check_ids())
        print(f"T3 ID 0x{t3:08x}, traffic generator ID 0x{tg:08x}")
    elif args.cmd == "read":
        print(f"0x{run_sync(bridge.read(args.addr)):08x}")
    elif args.cmd == "write":
        run_sync(bridge.write(args.addr, args.value))
        print("OK")
    elif args.cmd == "mem":
        for i, v in enumerate(run_sync(board.mem_read(args.addr, args.count))):
            print(f"{args.addr + i:#06x}  0x{v:0{board.lanes * 8}x}")
    else:
        run_sync(board.check_ids())
        if args.cmd == "traffic":
            res = run_sync(board.traffic(args.tiles, args.beats))
        else:
            res = run_sync(board.demo(args.tiles, args.beats, gap=args.gap, order=args.order,
                                      op=Kind.UPDATE if args.update else Kind.STORE))
        for k, v in res.items():
            print(f"{k:<20} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
