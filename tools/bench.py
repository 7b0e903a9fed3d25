"""Benchmarks (not tests): ``python tools/bench.py`` writes ``docs/benchmarks.md`` and prints it.

Measured in one run, so the ratios compare like with like on the same machine state:

1. RTL simulation speed: the tracker driven by cocotb every cycle (Icarus, Verilator); T3Core fed
   by the synthesizable traffic generator with Python idle (Icarus, Verilator); the 4-device ring
   bench (cocotb-driven, Verilator).
2. ``make test`` wall time: from ``build/test-time.json``, which ``make test`` writes (the last
   run on this machine; not re-run here, it takes minutes).
3. The system model: ``python -m sim paper`` wall time.
4. The scale path (``make scale``): the 4-device ring with one RTL producer per device, the same
   scenario on the bare Verilator C++ harness and under cocotb on Verilator (the runner's build,
   Python waits on ``done``), in the same run; ``--scale-only`` re-measures only this and
   rewrites only its section of ``docs/benchmarks.md``.
5. Synthesis per block (ECP5 LFE5U-85F): ``build/synth/report.json`` (``make synth``); with
   ``--synth`` it is re-run first; ``--synth-only`` rewrites only its section.
6. DRAM efficiency of the DRAM timing model (``tools/dram_bench.py``: one Verilator run per
   scheduler, first-principles values beside): also ``build/bench/dram.json``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tb.demo import run_tracker_demo  # noqa: E402
from tb.ring.test_ring import run_ring  # noqa: E402
from tb.rtltraffic.test_rtltraffic import run_rtltraffic  # noqa: E402
from tools import dram_bench  # noqa: E402

TRACKER_CFG = {"tiles": 256, "beats": 32, "window": 256, "fire_stall": 0.0}


def sim_speed():
    rows = []
    for sim in ("icarus", "verilator"):
        s = run_tracker_demo(sim, TRACKER_CFG)
        rows.append(("tracker, cocotb drives every cycle", sim, s["cycles"], s["sim_cycles_per_s"],
                     f"{s['requests_per_cycle']} track requests/cycle sustained"))
    for sim, cycles in (("icarus", 50_000), ("verilator", 300_000)):
        out = ROOT / "build" / "bench" / f"rtltraffic-{sim}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        run_rtltraffic(sim, cycles, out)
        r = json.loads(out.read_text())
        rows.append(("T3Core, RTL traffic generator, Python idle", sim, r["cycles"],
                     round(r["cycles_per_s"]), "1 store/cycle into the unit"))
    run_ring("verilator", ROOT / "build" / "bench" / "ring-verilator")
    cycles, wall = ring_sim_time(ROOT / "build" / "tb" / "t3_ring" / "verilator" / "default")
    rows.append(("T3Ring x4, cocotb GEMM producers + CSR", "verilator", cycles,
                 round(cycles / wall), "4 modes incl. CSR set-up (cocotb's sim and real time)"))
    return rows


#: The scale-path benchmark scenario: 4 devices, long enough runs for a speed figure.
SCALE_BENCH = {
    "devices": 4, "tiles": 12, "beats": 32, "reads": 4, "compute": 16, "slices": 4,
    "memory": {"latency": 4}, "link": {"latency": 8, "bandwidth": [1, 1]},
    "policy": {"mca_threshold": 4, "mca_starvation": 32},
    # the ring bench's hardware (T3Params() defaults, 4096-beat memories)
    "hardware": {"data_width": 64, "addr_width": 12, "tracker_entries": 256, "len_width": 8},
}


def scale_speed():
    """Rows ``(what, harness, cycles, cycles/s, note)`` for the scale path, both harnesses, and
    the per-mode cycle table of the bare harness."""
    import tools.scale as ts
    from sim import scale as sc
    from tb.common.runner import run_bench
    from tb.scale.top import ScaleTop

    s = sc.from_dict(SCALE_BENCH, "bench4")
    exe = ts.build(s)
    bare = [ts.run(s, m, exe) for m in sc.MODES]
    out = ROOT / "build" / "bench" / "scale-cocotb"
    out.parent.mkdir(parents=True, exist_ok=True)
    run_bench("scale_top", ScaleTop(s.params, devices=s.devices, link_latency=s.link_latency),
              "tb.scale.scale_bench", "verilator", tag="bench4",
              env={"T3_SCALE": {"scenario": SCALE_BENCH, "name": "bench4"},
                   "T3_SCALE_OUT": str(out)})
    coco = [json.loads(Path(f"{out}.{m}.json").read_text()) for m in sc.MODES]
    rows = []
    for name, res, note in (("bare Verilator C++ harness (-O3, x fast, no public signals)", bare,
                             "run loop only; programming replayed in C++"),
                            ("cocotb on Verilator (runner build), waits on done", coco,
                             "run only (RisingEdge(done)); programming via cocotbext-axi")):
        cyc = sum(r["run_cycles"] for r in res)
        sec = sum(r["run_seconds"] for r in res)
        cpu = sum(r.get("run_cpu_seconds") or 0.0 for r in res)
        ok = all(r["checksum_ok"] for r in res)
        rows.append((name, cyc, round(cyc / sec), round(cyc / cpu) if cpu else 0,
                     note + ("" if ok else "; CHECKSUM FAILED")))
    return s, rows, bare


def render_scale(s, rows, bare):
    lines = [
        "## Scale path: RTL producers, bare harness vs cocotb",
        "",
        f"Scenario `bench4` ({s.devices} devices x {s.tiles} tiles x {s.beats} beats of "
        f"{s.data_width} bits), all four modes, one run of `tools/bench.py`.",
        "",
        "| harness | cycles | cycles/s (wall) | cycles per CPU second | note |",
        "|---|---|---|---|---|",
    ]
    for name, cyc, cps, cpu, note in rows:
        lines.append(f"| {name} | {cyc} | {cps} | {cpu} | {note} |")
    lines += ["", f"Bare harness / cocotb: {rows[0][2] / rows[1][2]:.1f}x per wall second, "
              f"{rows[0][3] / max(rows[1][3], 1):.1f}x per CPU second (the machine is shared: "
              "CPU seconds are what one core gives).", "",
              "| mode | cycles | speedup | memory beats | link beats | check |", "|---|---|---|---|---|---|"]
    seq = bare[0]["cycles"]
    for r in bare:
        lines.append(f"| {r['mode']} | {r['cycles']} | {seq / r['cycles']:.2f} | "
                     f"{r['mem_reads'] + r['mem_writes']} | {r['link_beats']} | "
                     f"{'checksum ok' if r['checksum_ok'] else 'FAILED'} |")
    return "\n".join(lines) + "\n"


def ring_sim_time(build_dir, clock_ns=10):
    """Simulated cycles and wall seconds of the cocotb tests in ``build_dir/results.xml``."""
    root = ElementTree.parse(build_dir / "results.xml").getroot()
    cycles = wall = 0.0
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        cycles += float(props["sim_time_duration"]) / clock_ns
        wall += float(case.get("time"))
    return int(cycles), wall


def model_time():
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "paper"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


SYNTH_HEAD = "## Synthesis (Yosys + nextpnr-ecp5)"


def section_span(text, head):
    """``(start, end)`` of the section of ``text`` that begins with ``head``, up to the next
    ``## `` heading (or the end), or None if there is none."""
    if head not in text:
        return None
    a = text.index(head)
    b = text.find("\n## ", a + 1)
    return a, (b if b >= 0 else len(text))


def replace_section(text, head, md):
    """``text`` with the section beginning with ``head`` replaced by ``md`` (None if absent)."""
    span = section_span(text, head)
    if span is None:
        return None
    a, b = span
    return text[:a] + md.rstrip("\n") + "\n" + text[b:]


def synth_section(synth):
    """The synthesis table of ``build/synth/report.json`` (``make synth``), or a note."""
    lines = [SYNTH_HEAD, ""]
    if synth:
        seeds = synth.get("seeds")
        which = (f"median of placement seeds {seeds[0]}-{seeds[-1]}" if seeds else
                 f"placement seed {synth.get('seed', 1)}")
        lines.append(f"Device {synth.get('device')}-{synth.get('speed_grade')} (speed grade), "
                     f"target {synth.get('target_mhz')} MHz, {which}.")
        lines.append("")
        lines.append("| block | LUT4 | FF | BRAM (DP16KD) | LUT-RAM (DPR16X4) | Fmax MHz | critical path |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, r in sorted(synth["blocks"].items()):
            lines.append(f"| {name} | {r['LUT4']} | {r['FF']} | {r['BRAM (DP16KD)']} | "
                         f"{r['LUT-RAM (DPR16X4)']} | {r['Fmax MHz']} | {r['critical path']} |")
    else:
        lines.append("No synthesis report: run `make synth` (or `tools/bench.py --synth`).")
    return "\n".join(lines) + "\n"


def render(speed, test_time, model_s, synth, scale_md="", dram_table=None, memory_md=""):
    lines = [
        "# Benchmarks (generated by `make bench`)",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}. Every figure in a "
        "table comes from the same run of `tools/bench.py`, so ratios compare like with like.",
        "",
        "## RTL simulation speed",
        "",
        "| what | simulator | cycles | cycles/s | note |",
        "|---|---|---|---|---|",
    ]
    for what, sim, cycles, cps, note in speed:
        lines.append(f"| {what} | {sim} | {cycles} | {cps} | {note} |")
    by = {(w, s): c for w, s, _, c, _ in speed}
    tr = by[("tracker, cocotb drives every cycle", "verilator")] / \
        by[("tracker, cocotb drives every cycle", "icarus")]
    rt = by[("T3Core, RTL traffic generator, Python idle", "verilator")] / \
        by[("T3Core, RTL traffic generator, Python idle", "icarus")]
    gen = by[("T3Core, RTL traffic generator, Python idle", "verilator")] / \
        by[("tracker, cocotb drives every cycle", "verilator")]
    lines += [
        "",
        f"Verilator / Icarus: {tr:.1f}x with cocotb driving every cycle (Python is the bottleneck), "
        f"{rt:.1f}x with RTL-generated traffic. On Verilator, RTL-generated traffic simulates the "
        f"whole T3Core {gen:.1f}x faster than cocotb drives the tracker alone.",
        "",
        "## Test suite and model",
        "",
    ]
    if test_time:
        lines.append(f"- `make test` (pytest -n {test_time.get('jobs', 2)}, exit "
                     f"{test_time['exit']}): {test_time['seconds']} s wall, last run on this machine.")
    else:
        lines.append("- `make test`: no timing recorded yet (run `make test` first).")
    lines.append(f"- `python -m sim paper` (16 sublayers x 6 configurations, plots, docs): "
                 f"{model_s:.1f} s wall.")
    if scale_md:
        lines += [""] + scale_md.rstrip("\n").split("\n")
    lines += [""] + synth_section(synth).rstrip("\n").split("\n")
    if memory_md:
        lines += [""] + memory_md.rstrip("\n").split("\n")
    if dram_table:
        lines += [""] + dram_section(dram_table).rstrip("\n").split("\n")
    return "\n".join(lines) + "\n"


def dram_section(dram_table):
    return "\n".join([
        "## DRAM efficiency (`hw/dram.py`, default HBM2 parameters)", "",
        "Achieved / peak bandwidth (peak: one beat per cycle) per traffic pattern, from one "
        "Verilator run per scheduler (`tools/dram_bench.py`, also `build/bench/dram.json`); "
        "first-principles values derived in `docs/dram.md`.", "", dram_table.rstrip()]) + "\n"


def memory_section():
    """Interference per arbitration policy on both memories, and the demo ring on both."""
    from tools import interference
    rows = [r for mem in ("ideal", "dram") for r in interference.measure(mem)]
    k = interference.summary(rows)
    (ROOT / "build" / "bench" / "interference.json").write_text(
        json.dumps({"work": interference.WORK, "runs": rows, "k_mean": k}, indent=1))
    ring = {mem: run_ring("verilator", ROOT / "build" / "bench" / f"ring-verilator-{mem}", mem)
            for mem in ("ideal", "dram")}
    lines = ["## Memory interference (`tools/interference.py`)", "",
             interference.__doc__.split("\n\n", 1)[1].strip(), "",
             interference.table(rows), "",
             "Mean k over the four link rates (bandwidth-bound stream):", ""]
    lines += [f"- {name}: {v} per communication request, {v * 2 / 3:.2f} per DRAM access "
              "(a link beat is 2 requests and 3 accesses: the DMA read, and the update's read "
              "and write)" for name, v in k.items()]
    lines += ["", "The system model's `t3-paper` takes its HBM contention constants from the "
              "DRAM runs at 100 % of the link rate (`python -m sim.model.contention --write`, "
              "`sim/model/contention.json`: `interference`, `mca_interference`, `mca_leak`, "
              "`mca_starvation_share`); v0.1 assumed 2.75 and 1.25 compute bytes per "
              "communication byte; the peers "
              "report link traffic costing 2-3x its rate in HBM traffic and a GEMM slowing by up "
              "to 1.8x beside a collective.",
              "", "## The demo ring on both memories (Verilator, exact sums in every mode)", "",
              "| memory | mode | cycles | speedup | memory beats | link beats |",
              "|---|---|---|---|---|---|"]
    for mem, res in ring.items():
        seq = res["sequential"]["cycles"]
        for mode, r in res.items():
            lines.append(f"| {mem} | {mode} | {r['cycles']} | {seq / r['cycles']:.2f}x | "
                         f"{r['mem_reads'] + r['mem_writes']} | {r['link_beats']} |")
    gain = {mem: res["t3"]["cycles"] / res["t3-mca"]["cycles"] for mem, res in ring.items()}
    lines += ["", f"T3-MCA over T3: {gain['ideal']:.3f}x on the ideal memory, "
              f"{gain['dram']:.3f}x with DRAM timing (T3-MCA threshold 4, starvation limit 32, "
              "as in the demo: set for the ideal memory, not for DRAM latency)."]
    (ROOT / "build" / "bench" / "ring-memories.json").write_text(json.dumps(ring, indent=1))
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth", action="store_true", help="re-run synthesis of every block first")
    ap.add_argument("--synth-only", action="store_true",
                    help="rewrite only the synthesis section, from build/synth/report.json "
                         "(with --synth: after re-running it)")
    ap.add_argument("--scale-only", action="store_true",
                    help="measure only the scale path and rewrite only its section")
    ap.add_argument("--memory-only", action="store_true",
                    help="measure only the memory sections (interference, the ring on both "
                         "memories) and rewrite only them")
    args = ap.parse_args(argv)
    doc = ROOT / "docs" / "benchmarks.md"
    if args.memory_only:
        md = memory_section()
        text = doc.read_text()
        for head in ("## Memory interference", "## The demo ring on both memories"):
            span = section_span(text, head)
            if span:
                text = text[:span[0]].rstrip("\n") + "\n" + text[span[1]:]
        text = text.rstrip("\n") + "\n\n" + md.rstrip("\n") + "\n"
        doc.write_text(text)
        print(md)
        return 0
    if args.scale_only:
        md = render_scale(*scale_speed())
        text = doc.read_text()
        new = replace_section(text, "## Scale path: RTL producers, bare harness vs cocotb", md)
        if new is None:
            b = text.index(SYNTH_HEAD)
            new = text[:b] + md + "\n" + text[b:]
        doc.write_text(new)
        print(md)
        return 0
    if args.synth:
        subprocess.run([sys.executable, str(ROOT / "tools" / "synth.py")], check=True)
    sr = ROOT / "build" / "synth" / "report.json"
    if args.synth_only:
        md = synth_section(json.loads(sr.read_text()) if sr.exists() else None)
        text = replace_section(doc.read_text(), SYNTH_HEAD, md)
        if text is None:
            raise SystemExit(f"docs/benchmarks.md has no '{SYNTH_HEAD}' section: run make bench")
        doc.write_text(text)
        print(md)
        return 0
    speed = sim_speed()
    scale_md = render_scale(*scale_speed())
    model_s = model_time()
    _, dram_table = dram_bench.run()
    memory_md = memory_section()
    tt = ROOT / "build" / "test-time.json"
    text = render(speed, json.loads(tt.read_text()) if tt.exists() else None, model_s,
                  json.loads(sr.read_text()) if sr.exists() else None, scale_md, dram_table,
                  memory_md)
    doc.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
