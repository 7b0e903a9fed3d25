"""The unit on LiteDRAM + SDRAM model vs on block RAM, in Verilator: exact data, cycles per beat.

Generates the simulation core (``tools/litedram_core.py --target sim``) into
``build/litedram/``, builds ``tb.litedram.top.LiteDramTrafficTop`` with each memory and runs
``tb.litedram.litedram_bench`` (traffic generator STOREs and UPDATEs, the DMA demo over the
looped-back link, back-door bursts; every beat checked), the board's core driven only over its
UART by the host driver (``tb.litedram.uart_bench`` on ``LiteDramFpgaTop``: the same runs, every
beat read back through the memory window), then the ring bench
(``tb/ring/ring_bench.py``, every mode, exact sums on every device) on a 2-device
:class:`~hw.ring.T3Ring` with each memory. Prints the tables and writes
``build/litedram/bench.json``, ``board.json`` and ``ring.json``. ``make litedram`` runs it.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

OUT = ROOT / "build" / "litedram"


def sim_core(out_dir=OUT):
    """Generate the simulation core's Verilog (if its generator or inputs changed) and return
    its path."""
    import litedram_core
    path = Path(out_dir) / "t3_litedram_sim.v"
    litedram_core.generate("sim", path)
    return path


def run(memory, cfg, sim="verilator", mutant=False):
    from hw.params import T3Params
    from tb.common.runner import run_bench
    from tb.litedram.top import LiteDramTrafficTop
    out = OUT / f"bench-{memory}-{sim}.json"
    out.unlink(missing_ok=True)
    extra = [sim_core()] if memory == "litedram" else []
    t0 = time.monotonic()
    run_bench(f"t3_litedram_{memory}",
              LiteDramTrafficTop(T3Params(), memory=memory, mutant=mutant),
              "tb.litedram.litedram_bench", sim, tag="mutant" if mutant else "bench",
              env={"T3_LITEDRAM": cfg, "T3_LITEDRAM_OUT": str(out)}, extra_sources=extra)
    r = json.loads(out.read_text())
    r["wall_seconds"] = round(time.monotonic() - t0, 1)
    return r


#: The board over its UART (tb/litedram/uart_bench.py): the traffic generator's runs and the
#: single-board ring, every beat read back through the memory window.
BOARD_CFG = dict(divisor=8, tiles=4, beats=16, dma_tiles=4, dma_beats=16, addr_width=12)


def run_board(memory, cfg=BOARD_CFG, sim="verilator"):
    """tb/litedram/uart_bench.py on ``LiteDramFpgaTop(memory)``; its JSON, with the wall time."""
    from hw.params import T3Params
    from tb.common.runner import run_bench
    from tb.litedram.top import LiteDramFpgaTop
    out = OUT / f"board-{memory}-{sim}.json"
    out.unlink(missing_ok=True)
    extra = [sim_core()] if memory == "litedram" else []
    t0 = time.monotonic()
    run_bench(f"t3_board_{memory}",
              LiteDramFpgaTop(T3Params(addr_width=cfg["addr_width"]), memory,
                              divisor=cfg["divisor"]),
              "tb.litedram.uart_bench", sim, tag="board", extra_sources=extra,
              env={"T3_BOARD": cfg, "T3_BOARD_OUT": str(out)})
    r = json.loads(out.read_text())
    r["wall_seconds"] = round(time.monotonic() - t0, 1)
    return r


#: The short ring: 2 devices, 2 tiles of 4 beats per chunk (tb/ring/test_ring.py's SMALL_DRAM).
RING_CFG = dict(tiles=2, beats=4, reads=2, compute=8, slices=2)
RING_MODES = ("sequential", "domino", "t3", "t3-mca")


def run_ring(memory, sim="verilator", devices=2):
    """tb/ring/ring_bench.py (every mode; exact reduce-scatter sums checked on every device) on
    a ring of ``devices`` units with ``memory`` ("litedram" or "ideal") behind each."""
    from hw.params import T3Params
    from hw.ring import T3Ring
    from tb.common.runner import run_bench
    out = OUT / f"ring-{memory}-{sim}"
    extra = [sim_core()] if memory == "litedram" else []
    t0 = time.monotonic()
    run_bench("t3_ring", T3Ring(T3Params(), devices=devices, memory=memory), "tb.ring.ring_bench",
              sim, tag=f"{memory}-{devices}", extra_sources=extra,
              env={"T3_RING_OUT": str(out), "T3_RING": dict(RING_CFG, devices=devices)})
    res = {m: json.loads(Path(f"{out}.{m}.json").read_text()) for m in RING_MODES}
    return res, round(time.monotonic() - t0, 1)


def print_ring(res):
    mems = list(res)
    print("\nRing of 2 devices (tb/ring/ring_bench.py, 2 tiles x 4 beats per chunk), "
          "cycles per mode")
    print(f"  {'mode':<12}" + "".join(f"{m:>12}" for m in mems))
    for mode in RING_MODES:
        print(f"  {mode:<12}" + "".join(f"{res[m][mode]['cycles']:>12}" for m in mems))


def print_board(res):
    mems = list(res)
    c = BOARD_CFG
    print(f"\nThe board's core over its UART ({c['divisor']} cycles per bit): every beat read back "
          "through the memory window")
    print(f"  {'run':<50}" + "".join(f"{m:>12}" for m in mems))
    rows = [(f"traffic STOREs ({c['tiles']}x{c['beats']}), beats checked",
             lambda r: r["traffic"]["store_checked"]),
            ("traffic STOREs: generator cycles per beat",
             lambda r: f"{r['traffic']['store_cycles'] / r['traffic']['store_beats']:.2f}"),
            ("traffic UPDATEs, beats checked", lambda r: r["traffic"]["update_checked"]),
            ("traffic UPDATEs: generator cycles per beat",
             lambda r: f"{r['traffic']['update_cycles'] / r['traffic']['update_beats']:.2f}"),
            (f"demo STORE ({c['dma_tiles']}x{c['dma_beats']}): beats checked / notifications",
             lambda r: f"{r['demo_store']['checked_beats']}/{r['demo_store']['notifications']}"),
            ("demo UPDATE: beats checked / notifications",
             lambda r: f"{r['demo_update']['checked_beats']}/{r['demo_update']['notifications']}"),
            ("demo STORE: generator cycles", lambda r: r["demo_store"]["tg_cycles"]),
            ("simulated cycles (all runs, UART included)", lambda r: r["sim_cycles"]),
            ("bench wall time (s, with build)", lambda r: r["wall_seconds"])]
    for label, f in rows:
        print(f"  {label:<50}" + "".join(f"{f(res[m])!s:>12}" for m in mems))


def print_table(res, sim="verilator"):
    mems = list(res)
    print(f"\nT3 unit + traffic generator, {sim}; cycles per 64-bit beat (lower is better), "
          "beats per cycle in brackets")
    print(f"  {'run':<34}" + "".join(f"{m:>20}" for m in mems))
    rows = [("STORE stream (writes)", "store_cycles_per_beat"),
            ("UPDATE stream (read + write)", "update_cycles_per_beat"),
            ("back-door 256-beat bursts, write", "burst_write_cycles_per_beat"),
            ("back-door 256-beat bursts, read", "burst_read_cycles_per_beat")]
    for label, key in rows:
        cells = "".join(f"{res[m][key]:>11.2f} ({1 / res[m][key]:.3f})" for m in mems)
        print(f"  {label:<34}{cells}")
    print(f"  {'memory ready after reset (cycles)':<34}"
          + "".join(f"{res[m]['init_cycles']:>20}" for m in mems))
    print(f"  {'bench wall time (s, with build)':<34}"
          + "".join(f"{res[m]['wall_seconds']:>20}" for m in mems))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=16)
    ap.add_argument("--beats", type=int, default=64)
    ap.add_argument("--memory", choices=("both", "litedram", "bram"), default="both")
    ap.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    ap.add_argument("--run", choices=("all", "traffic", "ring", "board"), default="all",
                    help="the traffic-generator bench, the 2-device ring bench, the board's core "
                         "over its UART (data checked through the memory window), or all")
    ap.add_argument("--report-only", action="store_true",
                    help="with --run board: print the table of the last run's JSON")
    ap.add_argument("--mutant", action="store_true",
                    help="the bench top flips a bit of every beat the unit writes: the traffic "
                         "bench must fail (prints CAUGHT), else exits 1")
    args = ap.parse_args(argv)
    if args.report_only and args.run != "board":
        ap.error("--report-only needs --run board")
    cfg = {"tiles": args.tiles, "beats": args.beats, "dma_tiles": 4, "dma_beats": 16}
    mems = ["litedram", "bram"] if args.memory == "both" else [args.memory]
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.sim == "verilator" else f"-{args.sim}"
    if args.mutant:
        for m in mems:
            try:
                run(m, cfg, args.sim, mutant=True)
            except AssertionError as e:
                print(f"{m}: mutant CAUGHT ({str(e).splitlines()[0]})")
            else:
                print(f"{m}: mutant NOT caught: the bench checks nothing")
                return 1
        return 0
    if args.run in ("all", "traffic"):
        res = {m: run(m, cfg, args.sim) for m in mems}
        path = OUT / f"bench{suffix}.json"
        path.write_text(json.dumps({"config": cfg, "results": res}, indent=2) + "\n")
        print_table(res, args.sim)
        print(f"\nwrote {path}")
    if args.run in ("all", "ring"):
        ring, secs = {}, {}
        for m in mems:
            ring[m], secs[m] = run_ring("litedram" if m == "litedram" else "ideal", args.sim)
        path = OUT / f"ring{suffix}.json"
        path.write_text(json.dumps({"config": RING_CFG, "wall_seconds": secs, "results": ring},
                                   indent=2) + "\n")
        print_ring(ring)
        print(f"\nwrote {path}")
    if args.run in ("all", "board"):
        path = OUT / f"board{suffix}.json"
        if args.report_only:
            print_board(json.loads(path.read_text())["results"])
            return 0
        board = {m: run_board(m, sim=args.sim) for m in mems}
        path.write_text(json.dumps({"config": BOARD_CFG, "results": board}, indent=2) + "\n")
        print_board(board)
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
