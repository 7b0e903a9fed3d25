"""The unit on LiteDRAM + SDRAM model vs on block RAM, in Verilator: exact data, cycles per beat.

Generates the simulation core (``tools/litedram_core.py --target sim``) into
``build/litedram/``, builds ``tb.litedram.top.LiteDramTrafficTop`` with each memory and runs
``tb.litedram.litedram_bench`` (traffic generator STOREs and UPDATEs, the DMA demo over the
looped-back link, back-door bursts; every beat checked). Prints the table and writes
``build/litedram/bench.json``. ``make litedram`` runs it.
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


def run(memory, cfg, sim="verilator"):
    from hw.params import T3Params
    from tb.common.runner import run_bench
    from tb.litedram.top import LiteDramTrafficTop
    out = OUT / f"bench-{memory}-{sim}.json"
    out.unlink(missing_ok=True)
    extra = [sim_core()] if memory == "litedram" else []
    t0 = time.monotonic()
    run_bench(f"t3_litedram_{memory}", LiteDramTrafficTop(T3Params(), memory=memory),
              "tb.litedram.litedram_bench", sim, tag="bench",
              env={"T3_LITEDRAM": cfg, "T3_LITEDRAM_OUT": str(out)}, extra_sources=extra)
    r = json.loads(out.read_text())
    r["wall_seconds"] = round(time.monotonic() - t0, 1)
    return r


def print_table(res):
    mems = list(res)
    print("\nT3 unit + traffic generator, Verilator; cycles per 64-bit beat (lower is better), "
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
    args = ap.parse_args(argv)
    cfg = {"tiles": args.tiles, "beats": args.beats, "dma_tiles": 4, "dma_beats": 16}
    mems = ["litedram", "bram"] if args.memory == "both" else [args.memory]
    res = {m: run(m, cfg) for m in mems}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps({"config": cfg, "results": res}, indent=2) + "\n")
    print_table(res)
    print(f"\nwrote {OUT / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
