"""A transformer layer and a training step as job graphs on the engine (``python -m sim layer``,
``python -m sim step``).

One device of the tensor-parallel group (Megatron-LM's partitioning, Shoeybi et al. 2019) runs the
layer's kernels in program order on one compute stream (the engine's in-order ``gemm`` stream);
communication kernels (NCCL-style ring RS and AG) and T3's DMA run on the ``link`` / ``local``
streams beside it and share CUs, HBM and the link with the compute kernels through the engine's
existing mechanisms (CU reservation, the memory controller's arbitration and interference, the
tracker). Nothing here adds a fitted constant: the elementwise byte counts, the attention's flop
count and the step's embedding / optimizer terms below are *assumptions*, documented with their
reasoning.

Forward, per micro-batch ``i`` of ``m_i`` tokens (``h`` hidden, ``f`` FFN, ``n`` TP degree)::

    LN1 (ew)  QKV [m x h]@[h x 3h/n]  attention core  OP [m x h/n]@[h/n x h] -> AR
    bias+dropout+residual+LN2 (ew)  FC1 [m x h]@[h x f/n]  GeLU (ew)  FC2 [m x f/n]@[f/n x h] -> AR
    bias+dropout+residual (ew)

Backward (reverse order; dgrad = input gradient, wgrad = weight gradient)::

    bdr' (ew)  FC2 dgrad  GeLU' (ew)  FC1 dgrad [m x f/n]@[f/n x h] -> AR   FC2 wgrad  FC1 wgrad
    LN2'+residual (ew)  OP dgrad  attention core'  QKV dgrad [m x 3h/n]@[3h/n x h] -> AR
    OP wgrad  QKV wgrad  LN1' (ew)

Configurations (:data:`LAYER_CONFIGS`):

``sequential``
    every all-reduce blocks the compute stream (the T3 paper's baseline; Megatron-LM without
    its asynchronous input-gradient all-reduce).
``domino``
    Domino as shipped in DeepSpeed (``deepspeed/runtime/domino/transformer.py``; Wang et al.
    2024): the batch is split into exactly 2 micro-batches (whole sequences). Forward:
    AR(attention, mb0) overlaps mb1's attention part; AR(attention, mb1) overlaps the
    bias/dropout/residual/LayerNorm of both micro-batches and mb0's MLP GEMMs (as shipped, mb1's
    residual is issued without waiting for its all-reduce; ``domino_wait=True`` makes it wait);
    AR(MLP, mb0) overlaps mb1's MLP GEMMs; AR(MLP, mb1) blocks. Backward: each all-reduce is an
    asynchronous handle waited on only by the first kernel that reads its result, so it overlaps
    the weight-gradient GEMMs and the other micro-batch.
``domino-tuned``
    the same schedule with S micro-batches, S in :data:`TUNED_SLICES` chosen per shape (fastest
    layer, forward + backward): an oracle, not what DeepSpeed ships.
``t3`` / ``t3-mca``
    T3's fused GEMM + ring RS (:func:`~sim.model.dataflows.t3_fused_gemm_rs`) for OP, FC2, FC1
    dgrad and QKV dgrad, with FR-FCFS or T3-MCA arbitration; the AG kernel after each fused RS
    blocks, as in the T3 paper.
``t3+domino``
    T3's fused RS inside each of Domino's 2 micro-batches (T3-MCA arbitration), with Domino's
    cross-sublayer overlap of the remaining AG. Neither paper evaluates this.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import ConfigError, SystemConfig
from .dataflows import _Builder, _groups_per_chunk, _sync, gemm_costs, t3_fused_gemm_rs
from .engine import Job

__all__ = ["LAYER_CONFIGS", "TUNED_SLICES", "LayerShape", "layer_shape", "LayerResult",
           "simulate_layer", "run_layer", "StepResult", "run_step", "EW_PASSES",
           "ATTN_BWD_FACTOR", "OPT_BYTES_PER_PARAM", "VOCAB"]

LAYER_CONFIGS = ("sequential", "domino", "domino-tuned", "t3", "t3-mca", "t3+domino")
#: micro-batch counts ``domino-tuned`` chooses from
TUNED_SLICES = (1, 2, 4, 8)
#: DRAM traffic of the elementwise kernels, in passes over their tensor (one pass = one read or
#: one write of ``tokens x width`` elements). Assumptions: LayerNorm reads and writes (2);
#: bias + dropout + residual reads the GEMM output and the residual, writes the sum and a 1-byte
#: dropout mask (2 + 1 + 0.5); GeLU reads and writes (2); a backward elementwise kernel reads the
#: incoming gradient and its saved input and writes the gradient (3), plus the residual's
#: gradient add where there is one (1).
EW_PASSES = {"ln": 2.0, "bdr": 3.5, "gelu": 2.0, "bdr_bwd": 3.0, "ln_bwd": 4.0, "gelu_bwd": 3.0}
#: backward flops of the flash-style attention core relative to its forward (recomputes the
#: scores: 5 matrix products instead of 2, Dao et al. 2022): assumption
ATTN_BWD_FACTOR = 2.5
#: DRAM passes over the score matrix of an *unfused* attention (Megatron-LM's): write the scores,
#: softmax read + write, dropout read + write + 1-byte mask, read by the PV product (6.5); the
#: backward about twice that (assumption)
UNFUSED_SCORE_PASSES = (6.5, 13.0)
#: optimizer (mixed-precision Adam) DRAM bytes per parameter on a device: fp32 master weight,
#: momentum and variance read and written (24), fp16 gradient read (2), fp16 weight written (2)
OPT_BYTES_PER_PARAM = 28.0
#: vocabulary of the GPT-2 BPE padded to a multiple of 128 x 8 (Megatron-LM's default padding)
VOCAB = 51200


@dataclass(frozen=True)
class LayerShape:
    """One transformer layer on one device of a TP group of ``tp`` devices."""
    model: str
    tp: int
    tokens: int
    seq: int
    hidden: int
    ffn: int
    heads: int
    layers: int
    attention: str = "flash"

    @property
    def sequences(self) -> int:
        return self.tokens // self.seq


def layer_shape(model, tp: int, tokens: int, seq: int = 1024,
                attention: str = "flash") -> LayerShape:
    """Validated :class:`LayerShape` of a model of the zoo (by name) or a
    :class:`~sim.workloads.ModelShape`; errors name the field."""
    from ..workloads import ModelShape, get_model
    m = model if isinstance(model, ModelShape) else get_model(model)
    model = m.name
    if isinstance(tp, bool) or not isinstance(tp, int) or tp < 2:
        raise ConfigError(f"tp: must be an integer >= 2, got {tp!r}")
    for name, dim in (("hidden", m.hidden), ("ffn", m.ffn)):
        if dim % tp:
            raise ConfigError(f"tp: {tp} does not divide the {name} size {dim} of {model}")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ConfigError(f"seq: must be an integer >= 1, got {seq!r}")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise ConfigError(f"tokens: must be an integer >= 1, got {tokens!r}")
    if tokens % seq:
        raise ConfigError(f"tokens: must be a multiple of seq ({seq}), got {tokens}")
    if attention not in ("flash", "unfused"):
        raise ConfigError(f"attention: must be 'flash' or 'unfused', got {attention!r}")
    return LayerShape(model, tp, tokens, seq, m.hidden, m.ffn, m.heads, m.layers, attention)


@dataclass
class LayerResult:
    """One configuration of one layer: forward and backward times (per device)."""
    config: str
    fwd_s: float
    bwd_s: float
    slices: int = 1
    tracker_spills: dict = field(default_factory=dict)    # sublayer -> groups spilled
    tracker_peak_tiles: float = 0.0
    spans: dict = field(default_factory=dict)             # pass -> [(op, stream, t0, t1)]
    trace: dict = field(default_factory=dict)             # pass -> engine trace
    stats: dict = field(default_factory=dict)

    @property
    def time_s(self) -> float:
        return self.fwd_s + self.bwd_s

    def to_json(self) -> dict:
        d = {"fwd_us": self.fwd_s * 1e6, "bwd_us": self.bwd_s * 1e6,
             "time_us": self.time_s * 1e6, "slices": self.slices}
        if self.config.startswith("t3"):
            d["tracker_spills"] = dict(self.tracker_spills)
            d["tracker_peak_tiles"] = self.tracker_peak_tiles
        d.update(self.stats)
        return d


def _split_rows(shape: LayerShape, slices: int) -> list[int]:
    """Token rows per micro-batch: whole sequences, as even as possible."""
    if isinstance(slices, bool) or not isinstance(slices, int) or slices < 1:
        raise ConfigError(f"slices: must be an integer >= 1, got {slices!r}")
    if slices > shape.sequences:
        raise ConfigError(f"slices: {slices} micro-batches need at least {slices} sequences; "
                          f"tokens / seq = {shape.sequences}")
    q, r = divmod(shape.sequences, slices)
    return [(q + (1 if i < r else 0)) * shape.seq for i in range(slices)]


class _Program:
    """Kernels of one pass on one device, issued in program order on the compute stream."""

    def __init__(self, sysc: SystemConfig, shape: LayerShape, policy: str, fused: bool,
                 record: bool):
        self.sys = sysc
        self.sh = shape
        self.fused = fused
        self.b = _Builder(sysc, shape.tp, shape.tokens, shape.hidden, 1, policy, record)
        self.e = self.b.e
        self.prev: Job | None = None      # last kernel issued on the compute stream
        self.n_ar = 0
        self.spans: list = []             # (op, stream, first job, last job)
        self.comm_spans: list = []

    # the compute stream -------------------------------------------------------------------
    def _start_after(self, waits) -> Job | None:
        deps = [j for j in ([self.prev] + list(waits)) if j is not None]
        if not deps:
            return None
        if len(deps) == 1:
            return deps[0]
        return _sync(self.e, "wait", deps)

    def _single(self, name: str, waits, **kw) -> Job:
        j = Job(name, "gemm", "compute", tag=(name,), **kw)
        after = self._start_after(waits)
        if after is not None:
            j.after(after, self.b.launch)
        else:
            j.ready = self.b.launch
        self.e.add(j)
        self.prev = j
        self.spans.append((name, "compute", j, j))
        return j

    def ew(self, name: str, rows: int, width: int, passes: float, waits=()) -> Job:
        """An elementwise kernel at HBM speed (memory traffic only)."""
        by = passes * rows * width * self.sys.bytes_per_element
        return self._single(name, waits, dram_c=by, rd=by / 2, wr=by / 2)

    def gemm(self, name: str, m: int, n: int, k: int, waits=()) -> Job:
        """A GEMM with no communication attached."""
        c = gemm_costs(self.sys, m, n, k)
        return self._single(name, waits, cu_s=c["cu_s"], stall_s=c["stall_s"],
                            dram_c=c["reads"] + c["writes"], rd=c["reads"], wr=c["writes"])

    def attention(self, name: str, rows: int, backward: bool, waits=()) -> Job:
        """Attention core of ``rows`` tokens: flash-style (scores stay on chip; causal, so half
        of the ``4 s h / n`` flops per token), or unfused (full score products plus
        :data:`UNFUSED_SCORE_PASSES` DRAM passes over the score matrices)."""
        sh, sysc = self.sh, self.sys
        b = sysc.bytes_per_element
        width = sh.hidden / sh.tp
        if sh.attention == "flash":
            flops = 2.0 * rows * sh.seq * width
            io = (4 * rows * width * b) * (2.0 if backward else 1.0)
        else:
            flops = 4.0 * rows * sh.seq * width
            io = (UNFUSED_SCORE_PASSES[1] if backward else UNFUSED_SCORE_PASSES[0]) \
                * rows * sh.seq * (sh.heads / sh.tp) * b + 4 * rows * width * b
        if backward:
            flops *= ATTN_BWD_FACTOR if sh.attention == "flash" else 2.0
        cu_s = flops / sysc.cu_flops
        return self._single(name, waits, cu_s=cu_s,
                            stall_s=sysc.gemm_stall_fraction * cu_s / sysc.n_cu,
                            dram_c=io, rd=io / 2, wr=io / 2)

    # a GEMM whose output is all-reduced -----------------------------------------------------
    def gemm_ar(self, name: str, m: int, n: int, k: int, waits=()) -> Job:
        """Row-parallel GEMM ``[m x k] @ [k x n]`` plus the all-reduce of its ``m x n`` output;
        returns the all-reduce's completion (an async handle: only what waits on it blocks)."""
        sysc, N = self.sys, self.sh.tp
        c = gemm_costs(sysc, m, n, k)
        g = _groups_per_chunk(sysc, c["tiles"] / N)
        chunk = c["writes"] / N
        idx = self.n_ar
        self.n_ar += 1
        after = self._start_after(waits)
        if self.fused:
            glast, rs_done, gj = t3_fused_gemm_rs(self.b, m, n, k, after=after, tag=name,
                                                  key=name)
        else:
            def store(j, s, gb):
                j.dram_c += gb
                j.wr = gb
            gj = self.b.gemm(m, g, store, after=after, tag=name, n=n, k=k)
            glast = _sync(self.e, f"{name}-done", gj.values())
            fin = self.b.rs_kernel(chunk, g, glast, tag=f"rs-{name}", prio0=2 * idx)
            rs_done = _sync(self.e, f"rs-{name}-done", fin)
        end = self.b.ag_kernel(chunk, g, [rs_done], tag=f"ag-{name}", prio0=2 * idx + 1)
        first = gj[(1, 0)]
        self.prev = glast
        self.spans.append((name, "compute", first, glast))
        self.comm_spans.append((f"AR {name}", glast, end))
        return end

    def run(self) -> float:
        return self.e.run()


def _forward(p: _Program, rows: list[int], asynchronous: bool, wait_residual: bool) -> None:
    sh = p.sh
    h, f, n = sh.hidden, sh.ffn, sh.tp
    if not asynchronous:                       # every all-reduce blocks
        for i, m in enumerate(rows):
            p.ew(f"ln1.{i}", m, h, EW_PASSES["ln"])
            p.gemm(f"qkv.{i}", m, 3 * h // n, h)
            p.attention(f"attn.{i}", m, False)
            ar = p.gemm_ar(f"op.{i}", m, h, h // n)
            p.ew(f"bdr-ln2.{i}", m, h, EW_PASSES["bdr"] + EW_PASSES["ln"], waits=[ar])
            p.gemm(f"fc1.{i}", m, f // n, h)
            p.ew(f"gelu.{i}", m, f // n, EW_PASSES["gelu"])
            ar = p.gemm_ar(f"fc2.{i}", m, h, f // n)
            p.ew(f"bdr.{i}", m, h, EW_PASSES["bdr"], waits=[ar])
        return
    h_att, h_mlp = [], []
    for i, m in enumerate(rows):
        p.ew(f"ln1.{i}", m, h, EW_PASSES["ln"])
        p.gemm(f"qkv.{i}", m, 3 * h // n, h)
        p.attention(f"attn.{i}", m, False)
        h_att.append(p.gemm_ar(f"op.{i}", m, h, h // n))
    if not wait_residual:
        # as shipped: the residual + LayerNorm of every micro-batch after the first is issued
        # without waiting for its attention all-reduce; the MLP of micro-batch i waits for it
        for i, m in enumerate(rows):
            p.ew(f"bdr-ln2.{i}", m, h, EW_PASSES["bdr"] + EW_PASSES["ln"],
                 waits=[h_att[0]] if i == 0 else [])
        for i, m in enumerate(rows):
            p.gemm(f"fc1.{i}", m, f // n, h, waits=[h_att[i]])
            p.ew(f"gelu.{i}", m, f // n, EW_PASSES["gelu"])
            h_mlp.append(p.gemm_ar(f"fc2.{i}", m, h, f // n))
    else:
        for i, m in enumerate(rows):
            p.ew(f"bdr-ln2.{i}", m, h, EW_PASSES["bdr"] + EW_PASSES["ln"], waits=[h_att[i]])
            p.gemm(f"fc1.{i}", m, f // n, h)
            p.ew(f"gelu.{i}", m, f // n, EW_PASSES["gelu"])
            h_mlp.append(p.gemm_ar(f"fc2.{i}", m, h, f // n))
    for i, m in enumerate(rows):
        p.ew(f"bdr.{i}", m, h, EW_PASSES["bdr"], waits=[h_mlp[i]])


def _backward(p: _Program, rows: list[int], asynchronous: bool) -> None:
    sh = p.sh
    h, f, n = sh.hidden, sh.ffn, sh.tp
    if not asynchronous:
        for i, m in enumerate(rows):
            p.ew(f"bdr'.{i}", m, h, EW_PASSES["bdr_bwd"])
            p.gemm(f"fc2-dgrad.{i}", m, f // n, h)
            p.ew(f"gelu'.{i}", m, f // n, EW_PASSES["gelu_bwd"])
            ar = p.gemm_ar(f"fc1-dgrad.{i}", m, h, f // n)
            p.gemm(f"fc2-wgrad.{i}", f // n, h, m, waits=[ar])
            p.gemm(f"fc1-wgrad.{i}", h, f // n, m)
            p.ew(f"ln2'.{i}", m, h, EW_PASSES["ln_bwd"])
            p.gemm(f"op-dgrad.{i}", m, h // n, h)
            p.attention(f"attn'.{i}", m, True)
            ar = p.gemm_ar(f"qkv-dgrad.{i}", m, h, 3 * h // n)
            p.gemm(f"op-wgrad.{i}", h // n, h, m, waits=[ar])
            p.gemm(f"qkv-wgrad.{i}", h, 3 * h // n, m)
            p.ew(f"ln1'.{i}", m, h, EW_PASSES["ln_bwd"])
        return
    h1, h2 = [], []
    for i, m in enumerate(rows):
        p.ew(f"bdr'.{i}", m, h, EW_PASSES["bdr_bwd"])
        p.gemm(f"fc2-dgrad.{i}", m, f // n, h)
        p.ew(f"gelu'.{i}", m, f // n, EW_PASSES["gelu_bwd"])
        h1.append(p.gemm_ar(f"fc1-dgrad.{i}", m, h, f // n))
        p.gemm(f"fc2-wgrad.{i}", f // n, h, m)
        p.gemm(f"fc1-wgrad.{i}", h, f // n, m)
    for i, m in enumerate(rows):
        p.ew(f"ln2'.{i}", m, h, EW_PASSES["ln_bwd"], waits=[h1[i]])
        p.gemm(f"op-dgrad.{i}", m, h // n, h)
        p.attention(f"attn'.{i}", m, True)
        h2.append(p.gemm_ar(f"qkv-dgrad.{i}", m, h, 3 * h // n))
        p.gemm(f"op-wgrad.{i}", h // n, h, m)
        p.gemm(f"qkv-wgrad.{i}", h, 3 * h // n, m)
    for i, m in enumerate(rows):
        p.ew(f"ln1'.{i}", m, h, EW_PASSES["ln_bwd"], waits=[h2[i]])


def _sublayer_of(key) -> str:
    name = key[0] if isinstance(key, tuple) else str(key)
    base = name.split(".")[0]
    return {"op": "op", "fc2": "fc2", "fc1-dgrad": "fc1", "qkv-dgrad": "ip"}.get(base, base)


def _spans(p: _Program) -> list:
    out = [(name, "compute", a.t_start, z.t_end) for name, _, a, z in p.spans]
    out += [(name, "comm", a.t_end, z.t_end) for name, a, z in p.comm_spans]
    return out


def simulate_layer(sysc: SystemConfig, shape: LayerShape, config: str, slices: int | None = None,
                   record: bool = False, domino_wait: bool = False) -> LayerResult:
    """Forward and backward of one layer in one configuration (see the module docstring).

    ``slices`` applies to ``domino-tuned`` (fixed S instead of the search) and ``domino`` (the
    shipped value is 2); ``domino_wait`` makes the residual of micro-batch i >= 1 wait for its
    attention all-reduce (the race-free order)."""
    if config not in LAYER_CONFIGS:
        raise ConfigError(f"config: unknown layer configuration {config!r} "
                          f"(known: {', '.join(LAYER_CONFIGS)})")
    if config == "domino-tuned" and slices is None:
        best = None
        for s in TUNED_SLICES:
            if s > shape.sequences:
                break
            r = simulate_layer(sysc, shape, "domino-tuned", s, record, domino_wait)
            if best is None or r.time_s < best.time_s:
                best = r
        return best
    policy = {"t3-mca": "t3-mca", "t3+domino": "t3-mca"}.get(config, "fr-fcfs")
    fused = config in ("t3", "t3-mca", "t3+domino")
    if config in ("sequential", "t3", "t3-mca"):
        s_count, asynchronous = 1, False
    else:
        s_count, asynchronous = (2 if slices is None else slices), True
    rows = _split_rows(shape, s_count)
    out = LayerResult(config, 0.0, 0.0, slices=s_count)
    spills: dict = {}
    peak = 0.0
    events = 0
    for pname in ("fwd", "bwd"):
        p = _Program(sysc, shape, policy, fused, record)
        if pname == "fwd":
            _forward(p, rows, asynchronous, domino_wait)
        else:
            _backward(p, rows, asynchronous)
        t = p.run()
        setattr(out, f"{pname}_s", t)
        for k in p.e.tracker.spilled:
            sl = _sublayer_of(k)
            spills[sl] = spills.get(sl, 0) + 1
        peak = max(peak, p.e.tracker.peak)
        events += p.e.events
        out.spans[pname] = _spans(p)
        if record:
            out.trace[pname] = list(p.e.trace)
    out.tracker_spills = dict(sorted(spills.items()))
    out.tracker_peak_tiles = peak
    out.stats["events"] = events
    return out


def run_layer(sysc: SystemConfig, shape: LayerShape, configs=LAYER_CONFIGS,
              slices: int | None = None, record: bool = False,
              domino_wait: bool = False) -> dict[str, LayerResult]:
    return {c: simulate_layer(sysc, shape, c, slices if c == "domino-tuned" else None, record,
                              domino_wait) for c in configs}


# a training step ----------------------------------------------------------------------------
@dataclass
class StepResult:
    config: str
    layer: LayerResult
    layers: int
    recompute: bool
    head_s: float          # embedding all-reduce + LM-head GEMMs (forward and backward)
    optimizer_s: float
    accum: int = 1         # micro-batches accumulated per optimizer step
    dp: int = 1            # data-parallel replicas
    dp_allreduce_s: float = 0.0    # the gradient all-reduce, whole

    @property
    def layer_s(self) -> float:
        return self.layer.time_s + (self.layer.fwd_s if self.recompute else 0.0)

    @property
    def dp_exposed_s(self) -> float:
        """The DP gradient all-reduce left after the backward: bucketed as DDP does, one bucket
        per layer, overlapped with the backward of the layers before it; the last bucket (the
        first layer's gradients) is always exposed."""
        if self.dp == 1:
            return 0.0
        per = self.dp_allreduce_s / self.layers
        return max(per, self.dp_allreduce_s - (self.layers - 1) * self.layer.bwd_s)

    @property
    def time_s(self) -> float:
        return (self.accum * (self.layers * self.layer_s + self.head_s) + self.dp_exposed_s
                + self.optimizer_s)

    def to_json(self) -> dict:
        return {"time_ms": self.time_s * 1e3, "layer_us": self.layer_s * 1e6,
                "accum": self.accum, "dp": self.dp,
                "dp_allreduce_us": self.dp_allreduce_s * 1e6,
                "dp_exposed_us": self.dp_exposed_s * 1e6,
                "layers": self.layers, "head_us": self.head_s * 1e6,
                "optimizer_us": self.optimizer_s * 1e6, "recompute": self.recompute,
                "layer": self.layer.to_json()}


def head_time(sysc: SystemConfig, shape: LayerShape) -> float:
    """Embedding and LM head of one step, the same in every configuration: the vocab-parallel
    embedding's all-reduce of ``tokens x h`` (ring RS + AG kernels), and the LM-head GEMM
    ``[T x h] @ [h x V/n]`` forward plus its two backward GEMMs, in sequence."""
    p = _Program(sysc, shape, "fr-fcfs", False, False)
    T, h, v = shape.tokens, shape.hidden, VOCAB // shape.tp
    ar = p.gemm_ar("embed", T, h, 1)          # a tiny GEMM stands for the lookup
    p.gemm("lm-head", T, v, h, waits=[ar])
    p.gemm("lm-head-dgrad", T, h, v)
    p.gemm("lm-head-wgrad", h, v, T)
    return p.run()


def device_params(shape: LayerShape, layers: int) -> float:
    """Parameters on one device: the layers' weight matrices and the embedding, over TP."""
    h, f = shape.hidden, shape.ffn
    return (layers * (4 * h * h + 2 * h * f) + VOCAB * h) / shape.tp


def optimizer_time(sysc: SystemConfig, shape: LayerShape, layers: int) -> float:
    """Adam over this device's parameters at HBM speed (:data:`OPT_BYTES_PER_PARAM`)."""
    return (device_params(shape, layers) * OPT_BYTES_PER_PARAM
            / (sysc.hbm_bps * sysc.hbm_max_utilization))


def dp_allreduce_time(sysc: SystemConfig, shape: LayerShape, layers: int, dp: int) -> float:
    """Ring all-reduce of this device's fp16 gradients among ``dp`` replicas over the inter-node
    network (one adapter per GPU, ``inter_bandwidth_gbps``): ``2 (D-1)/D`` of the bytes at one
    direction's rate plus ``2 (D-1)`` latencies. Its HBM and CU use beside the backward are not
    modelled."""
    if dp == 1:
        return 0.0
    by = device_params(shape, layers) * sysc.bytes_per_element
    return (2 * (dp - 1) / dp * by / sysc.inter_bps + 2 * (dp - 1) * sysc.inter_latency_s)


def run_step(sysc: SystemConfig, shape: LayerShape, configs=LAYER_CONFIGS,
             slices: int | None = None, recompute: bool = False, domino_wait: bool = False,
             layers: int | None = None, accum: int = 1, dp: int = 1) -> dict[str, StepResult]:
    """A training step: ``accum`` x (``layers`` x (forward [+ recompute] + backward) + head)
    + the exposed part of the DP gradient all-reduce (``dp`` > 1) + optimizer."""
    nl = shape.layers if layers is None else layers
    if isinstance(nl, bool) or not isinstance(nl, int) or nl < 1:
        raise ConfigError(f"layers: must be an integer >= 1, got {nl!r}")
    if isinstance(accum, bool) or not isinstance(accum, int) or accum < 1:
        raise ConfigError(f"accum: must be an integer >= 1, got {accum!r}")
    if isinstance(dp, bool) or not isinstance(dp, int) or dp < 1:
        raise ConfigError(f"dp: must be an integer >= 1, got {dp!r}")
    lay = run_layer(sysc, shape, configs, slices, False, domino_wait)
    hd = head_time(sysc, shape)
    opt = optimizer_time(sysc, shape, nl)
    dpt = dp_allreduce_time(sysc, shape, nl, dp)
    return {c: StepResult(c, r, nl, recompute, hd, opt, accum, dp, dpt) for c, r in lay.items()}
