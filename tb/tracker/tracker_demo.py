"""cocotb demo of the tracker: a GEMM producer's synthetic tile traffic, measured.

The producer arms a window of output tiles, then writes their beats interleaved (as concurrent
workgroups would), one request per cycle, with a consumer that takes fires with random stalls.
Results are scored against the reference model and written as JSON for ``python -m tb.demo``.
"""

import json
import os
import random
import time

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from tb.common.bench import bench_env, random_pause
from tb.tracker.tracker_bench import TrackerTB, track_item


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def gemm_traffic(dut):
    cfg = bench_env("T3_DEMO", {"tiles": 512, "beats": 16, "window": 32, "fire_stall": 0.2})
    tb = TrackerTB(dut)
    await tb.start()
    tb.fire.set_pause_generator(random_pause(3, cfg["fire_stall"]))
    rng = random.Random(5)
    tiles, beats, window = cfg["tiles"], cfg["beats"], cfg["window"]
    for t in range(min(window, tiles)):
        tb.arm.send_nowait({"tile": t, "threshold": beats})
    # Interleave the beats of `window` tiles in flight; arm the next tile as one completes.
    remaining = {t: beats for t in range(min(window, tiles))}
    next_tile = len(remaining)
    order = []
    while remaining:
        t = rng.choice(list(remaining))
        order.append(t)
        remaining[t] -= 1
        if remaining[t] == 0:
            del remaining[t]
            if next_tile < tiles:
                remaining[next_tile] = beats
                order.append(("arm", next_tile))
                next_tile += 1
    await tb.arm.wait()
    t0, c0, a0 = time.perf_counter(), tb.track.count, tb.arm.count
    start = int(cocotb.utils.get_sim_time("ns"))
    for item in order:
        while len(tb.track.queue) > 4:        # arms go out when the producer reaches them
            await RisingEdge(dut.clk)
        if isinstance(item, tuple):
            tb.arm.send_nowait({"tile": item[1], "threshold": beats})
        else:
            tb.track.send_nowait(track_item(item))
    await tb.drain()
    cycles = (int(cocotb.utils.get_sim_time("ns")) - start) // 10 - 20
    wall = time.perf_counter() - t0
    tb.check()
    summary = {
        "tiles": tiles, "beats_per_tile": beats, "tiles_in_flight": window,
        "track_requests": tb.track.count - c0, "arms_during_run": tb.arm.count - a0,
        "cycles": cycles,
        "requests_per_cycle": round((tb.track.count - c0) / cycles, 3),
        "table_ops_per_cycle": round((tb.track.count - c0 + tb.arm.count - a0) / cycles, 3),
        "fires": len(tb.fire.queue), "reference_fires": len(tb.ref.fires),
        "errors": tb.errors, "fire_stall_probability": cfg["fire_stall"],
        "sim_cycles_per_s": round(cycles / wall),
    }
    out = os.environ.get("T3_DEMO_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(summary, f, indent=2)
    assert summary["fires"] == tiles
