"""Clock, reset and pause generators shared by every cocotb bench."""

import itertools
import json
import os
import random

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

__all__ = ["reset", "start_clock_reset", "random_pause", "bench_env", "CLOCK_NS"]

CLOCK_NS = 10


async def reset(dut, cycles=4):
    """Hold ``dut.rst`` high for ``cycles`` cycles of the running clock, then one more edge."""
    dut.rst.value = 1
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def start_clock_reset(dut, cycles=4):
    """Start a 100 MHz clock on ``dut.clk`` and hold ``dut.rst`` high for ``cycles`` cycles."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    await reset(dut, cycles)


def random_pause(seed, probability):
    """An endless generator that is true (pause) with ``probability``, reproducible by ``seed``."""
    rng = random.Random(seed)
    if probability <= 0:
        return itertools.repeat(False)
    return (rng.random() < probability for _ in itertools.count())


def bench_env(name, default=None):
    """A JSON value passed by the pytest launcher through the environment."""
    raw = os.environ.get(name)
    return default if raw is None else json.loads(raw)
