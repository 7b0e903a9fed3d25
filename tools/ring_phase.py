"""The T3 ring's transfer phase on DRAM timing, device by device: why one representative device
(the fluid engine, ``sim/model/rtl.py``) cannot tell how fast the ring's transfers run.

Prints three measurements for a DRAM scale scenario (default ``ring4_64_dram``):

1. **one memory** (:mod:`sim.model.dram_curve`'s transfer pattern, the one the fluid engine's
   DMA jobs take): DMA sends back to back with the matching receives on the same memory, the
   receive's tile in the send's bank or 8 tiles on (another bank), and the received beats
   written ``D`` cycles after they were sent (0: in step with the send, as the fluid uses it);
   cycles per transfer;
2. **the ring, transfers only** (the cycle-level ring of :class:`sim.xval.scale_model.
   ScaleRingModel`: every device's AXI-level memory port with the DRAM reference, arbiter under
   the mode's policy, trigger, tracker, DMA engine, comm merge, link receiver, the links with
   their back-pressure; the producers idle): every tile armed by the scenario's plan, a tile's
   local contribution counted (a) ``in step``: at cycle 0 on every device, or (b) ``GEMM
   alone``: when the device's GEMM, alone on its memory, would have written it (cumulative
   :func:`sim.model.dram_curve.gemm_tile` at the device's own addresses, in its own chunk
   order); per device, the transfers' mean and steady (middle half) cycles per transfer;
3. with ``--cl``: the whole run on the cycle-level model (at the RTL's cycle count on these
   scenarios, ``docs/validation-scale.md``), per device: the GEMM's end, the transfers before it
   and after it, and the cycles per transfer after it (slow: about a minute per mode).

    python tools/ring_phase.py [--scenario S] [--mode t3 --mode t3-mca] [--cl]
"""

import argparse
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim import scale as sc  # noqa: E402
from sim.model import dram_curve  # noqa: E402
from sim.model.rtl import RtlPlatform  # noqa: E402


class _Idle:
    """A producer that issues nothing (transfers only)."""

    direct = False           # no remote packets of its own (MODE.direct)

    def __init__(self):
        self.resps = deque()
        self.rem = deque()   # the remote stream's output register: never loaded here

    def remote_valid(self, t):
        return False

    def step(self, t, dev):
        pass


class _Delayed(dram_curve._Transfers):
    """The one-memory transfer pattern with each received beat written ``delay`` cycles after it
    was sent (the pattern itself writes it in step with the send)."""

    delay = 0

    def __init__(self, *a):
        super().__init__(*a)
        self.pend = deque()

    def tick(self, pt):
        n0 = len(self.rxq)
        super().tick(pt)
        while len(self.rxq) > n0:
            self.pend.append((pt.c + self.delay, self.rxq.pop()))
        while self.pend and self.pend[0][0] <= pt.c:
            self.rxq.append(self.pend.popleft()[1])


def one_memory(s, delays=(0, 11, 40, 80, 120, 160, 200), run=8):
    """``{(tile offset, delay): cycles per transfer}`` of ``run`` transfers of step 2's tiles
    with the receives into step 3's (offset 0: the same tile index, the same bank)."""
    pr, p = sc.protocol(s), RtlPlatform.from_scenario(s)
    params = dram_curve.dram_params()
    out = {}
    for off in (0, 8):
        src, dst = pr.t3_chunk(0, 2), pr.t3_chunk(0, 3)
        xs = [(pr.out_addr(src, k), pr.out_addr(dst, (k + off) % s.tiles)) for k in range(run)]
        flat = dram_curve._canon(tuple(b for x in xs for b in x), params)
        xs = tuple((flat[2 * i], flat[2 * i + 1], True) for i in range(run))
        for d in delays:
            _Delayed.delay = d
            x = _Delayed(s.beats, xs, p.dma_credits, p.link_bw, p.header_beats)
            out[(off, d)] = dram_curve._run(x) / run
    return out


def gemm_times(s, pr, g):
    """``[(cycle, tile id)]``: when device ``g``'s GEMM, alone on its memory, has written each
    output tile (T3 order)."""
    T, B = s.tiles, s.beats

    def inp(c, t):
        return (pr.input_addrs(c, t) or [pr.input_base])[0]

    out, cum = [], 0.0
    for k in range(1, s.devices + 1):
        c = pr.t3_chunk(g, k)
        for t in range(T):
            first = max(c * T + t - 1, 0)
            idx = [divmod(first + j, T) for j in range(5)]
            cum += dram_curve.gemm_tile(s.reads, s.compute, B, [inp(*x) for x in idx],
                                        [pr.out_addr(*x) for x in idx], k > 1)
            out.append((int(round(cum)), pr.out_tile(c, t)))
    return out


def ring_transfers(s, mode, source, limit=20_000_000):
    """Per device, the cycles at which its DMA finished each transfer, on the cycle-level ring
    with transfers only; ``source`` ``"step"`` (local contributions at cycle 0) or ``"gemm"``
    (at the device's GEMM-alone times)."""
    from sim.xval.model import TRACK_TO_FIRE
    from sim.xval.scale_model import ScaleRingModel
    pr = sc.protocol(s)
    n, B = s.devices, s.beats
    m = ScaleRingModel(s, mode)
    m.prod = [_Idle() for _ in range(n)]
    events = []
    for g in range(n):
        times = gemm_times(s, pr, g)
        events += [(c if source == "gemm" else 0, g, tile) for c, tile in times]
    events.sort()
    want = (n - 1) * s.tiles
    ends = [[] for _ in range(n)]
    i = 0
    while True:
        while i < len(events) and events[i][0] <= m.t:
            _, g, tile = events[i]
            i += 1
            ev = m.dev[g].tracker.track(tile, B)
            if ev.fired is not None:
                m.dev[g].trig_in.append((m.t + TRACK_TO_FIRE, ev.fired))
        rx_free = []
        for g in range(n):
            had = m.dev[g].rx_req is not None
            taken = m.step_device(g)
            rx_free.append(not had or taken)
        for g in range(n):
            before = m.dev[g].cnt["dma_commands"]
            m.step_dma_tx(g)
            if m.dev[g].cnt["dma_commands"] > before:
                ends[g].append(m.t)
        for g in range(n):
            m.step_rx(g, rx_free[g])
        m.t += 1
        if i >= len(events) and all(len(e) >= want for e in ends) and m.quiet():
            return ends
        if m.t > limit:
            raise RuntimeError(f"{s.name}: {mode}: the transfers did not finish in {limit} cycles")


def cl_run(s, mode):
    """The whole run on the cycle-level model, logging each device's transfer ends: ``(cycles,
    [(gemm end, [transfer ends])])``, cycles from the producers' start."""
    from sim.xval import scale_model as smod
    log = {}
    model = smod.ScaleRingModel(s, mode)
    tx = model.step_dma_tx

    def step_dma_tx(g):
        before = model.dev[g].cnt["dma_commands"]
        r = tx(g)
        if model.dev[g].cnt["dma_commands"] > before:
            log.setdefault(g, []).append(model.t)
        return r
    model.step_dma_tx = step_dma_tx
    cycles = model.run()
    return cycles, [(p.gemm_end - p.go_at, [x - p.go_at for x in log.get(g, [])])
                    for g, p in enumerate(model.prod)]


def _rates(ends):
    a, b = len(ends) // 4, 3 * len(ends) // 4
    return ends[-1] / len(ends), (ends[b] - ends[a]) / (b - a)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="ring4_64_dram")
    ap.add_argument("--mode", action="append", choices=("t3", "t3-mca"))
    ap.add_argument("--cl", action="store_true", help="also the whole run on the CL model")
    args = ap.parse_args(argv)
    s = sc.load_all(names=[args.scenario])[0]
    if s.memory != "dram":
        ap.error(f"--scenario: {s.name} is on the {s.memory} memory, not DRAM timing")
    modes = args.mode or ["t3", "t3-mca"]
    print(f"# {s.name}: the T3 ring's transfers on DRAM timing\n")
    om = one_memory(s)
    delays = sorted({d for _, d in om})
    print("## One memory (the fluid engine's pattern): cycles per transfer\n")
    print("| receive tile | " + " | ".join(f"D = {d}" for d in delays) + " |")
    print("|---|" + "---|" * len(delays))
    for off, what in ((0, "same bank"), (8, "8 tiles on")):
        print(f"| {what} | " + " | ".join(f"{om[(off, d)]:.1f}" for d in delays) + " |")
    print("\n## The ring, transfers only (cycle-level blocks): cycles per transfer, "
          "mean / steady\n")
    if s.direct:
        # step 1 is the producers' remote packets, which the transfers-only ring leaves out:
        # the step-2 tiles would wait for them forever
        print(f"Not run: {s.name} sends step 1 as the producers' remote packets (direct).")
    else:
        print("| mode | local writes | " + " | ".join(f"device {g}" for g in range(s.devices))
              + " | slowest (mean) | s |")
        print("|---|---|" + "---|" * (s.devices + 2))
    for mode in modes if not s.direct else ():
        for source, what in (("step", "in step (cycle 0)"), ("gemm", "GEMM alone")):
            t0 = time.monotonic()
            ends = ring_transfers(s, mode, source)
            r = [_rates(e) for e in ends]
            print(f"| {mode} | {what} | " + " | ".join(f"{a:.1f} / {b:.1f}" for a, b in r)
                  + f" | {max(a for a, _ in r):.1f} | {time.monotonic() - t0:.0f} |", flush=True)
    if args.cl:
        print("\n## The whole run on the cycle-level model, per device\n")
        print("| mode | cycles | device | GEMM end | transfers before it | after it | "
              "cycles per transfer after it |")
        print("|---|---|---|---|---|---|---|")
        for mode in modes:
            cycles, devs = cl_run(s, mode)
            for g, (gend, ends) in enumerate(devs):
                tail = [x for x in ends if x > gend]
                rate = (tail[-1] - tail[0]) / (len(tail) - 1) if len(tail) > 1 else float("nan")
                print(f"| {mode} | {cycles} | {g} | {gend} | {len(ends) - len(tail)} | "
                      f"{len(tail)} | {rate:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
