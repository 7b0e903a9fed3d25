"""Scale runs of the RTL ring with the RTL producers: scenario, programming list, expected checksums.

A *scale scenario* is a cross-validation scenario (``sim/xval/scenarios/*.toml``: the work, the
memory, the link and the policy, same keys) plus a ``[hardware]`` table with the elaboration-time
parameters that must hold the work, and without the toy limits of the cocotb bench::

    [hardware]
    data_width = 64          # beat width in bits (T3Params.data_width)
    addr_width = 16          # memory depth 2**addr_width beats per device
    tracker_entries = 512    # tracker and DMA command table entries
    len_width = 8            # DMA length bits (>= bits of 'beats')
    seed = 1                 # data seed (optional)
    input_window = 1024      # beats the GEMM's input reads cycle over (a power of two; optional)
    memory = "ideal"         # the memory behind each unit: "ideal" (hw/sram.py) or "dram"
                             # (hw/dram.py, HBM2 timing); optional, default "ideal"

A top-level ``direct = true`` (default false) runs the T3 modes with the paper's step 1: each
device's GEMM sends the chunk it originates straight to the neighbour as remote updates (the
producer's ``MODE.direct``, its ``remote`` stream into the unit's ``remote`` port) instead of
storing it for the DMA, so :func:`plan` does not arm those tiles
(:meth:`sim.xval.protocol.RingProtocol.arms` with ``direct``); sequential and Domino ignore it,
and the reduced sums (:func:`expected`) are the same.

The checks below name the field at fault. Sizes that overcommit the tracker (more tile ids armed
or programmed before the start than entries) load, with a note in ``warnings``, so that
``make scale`` lists them; :func:`plan` then refuses the modes that cannot hold them
(:func:`overcommit`) with a :class:`~sim.xval.scenario.ScenarioError` instead of a run that
would hang on a held ``ARM`` write or overwrite live command-table entries.

:func:`plan` builds, once, in Python, what the cocotb ring bench does before its start: for every
device, the unit CSR writes (control, arbiter policy, the DMA command table, and in T3 the arms)
and the producer's register writes, with addresses and encodings from :mod:`hw.regmap` and
:func:`hw.producer.build_map`. The C++ harness (``tb/scale/harness.cpp``) and the cocotb bench
(``tb/scale/scale_bench.py``) replay that list. :func:`expected` computes every device's checksum
from the producer's data definition (numpy, no simulation).
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hw import regmap
from hw.params import ArbPolicy, Kind, T3Params
from hw.producer import K_BEAT, K_DEV, K_LANE, M32, ProdMode, build_map
from sim.xval.protocol import RingProtocol
from sim.xval.scenario import MODES, ScenarioError, _int, _table

__all__ = ["ScaleScenario", "load", "load_all", "from_dict", "protocol", "overcommit", "plan", "expected", "summarize",
           "status", "settle_cycles", "start_skews", "SKEW_SPAN", "SCALE_DIR", "MODES"]

SCALE_DIR = Path(__file__).resolve().parent / "xval" / "scenarios" / "scale"
_TOP = {"name", "description", "devices", "chunks", "tiles", "beats", "reads", "compute",
        "slices", "memory", "link", "policy", "hardware", "direct"}
INPUT_WINDOW = 1024


@dataclass(frozen=True)
class ScaleScenario:
    name: str
    description: str
    devices: int
    tiles: int
    beats: int
    reads: int
    compute: int
    slices: int
    mem_latency: int
    link_latency: int
    link_bw: tuple
    mca_threshold: int
    mca_starvation: int
    data_width: int
    addr_width: int
    tracker_entries: int
    len_width: int
    seed: int = 1
    input_window: int = INPUT_WINDOW
    memory: str = "ideal"
    direct: bool = False
    warnings: tuple = field(default=())

    @property
    def params(self):
        return T3Params(data_width=self.data_width, addr_width=self.addr_width,
                        tracker_entries=self.tracker_entries, len_width=self.len_width,
                        mem_latency=self.mem_latency)

    @property
    def hw_tag(self):
        bn, bd = self.link_bw
        return (f"d{self.devices}_w{self.data_width}_a{self.addr_width}_e{self.tracker_entries}"
                f"_l{self.len_width}_m{self.mem_latency}_k{self.link_latency}_b{bn}-{bd}"
                + ("" if self.memory == "ideal" else f"_{self.memory}"))

    @property
    def tile_bytes(self):
        return self.beats * self.data_width // 8

    @property
    def region(self):
        """Beats of the output (and of the staging) region: devices x tiles x beats."""
        return self.devices * self.tiles * self.beats


def parse(doc, where, default_name):
    for k in doc:
        if k not in _TOP:
            raise ScenarioError(f"{where}: unknown field '{k}'")
    name = doc.get("name", default_name)
    devices = _int(where, doc, "devices", 2, 16)
    chunks = _int(where, doc, "chunks", 2, 16, default=devices)
    if chunks != devices:
        raise ScenarioError(f"{where}: field 'chunks' = {chunks} must equal 'devices' = {devices}")
    tiles = _int(where, doc, "tiles", 1, 65535)
    beats = _int(where, doc, "beats", 1, 65535)
    reads = _int(where, doc, "reads", 0, 65535)
    compute = _int(where, doc, "compute", 0, 65535)
    slices = _int(where, doc, "slices", 1, default=2)
    direct = doc.get("direct", False)
    if not isinstance(direct, bool):
        raise ScenarioError(f"{where}: field 'direct' = {direct!r} must be a boolean (true or "
                            "false)")
    if tiles % slices:
        raise ScenarioError(f"{where}: field 'slices' = {slices} must divide 'tiles' = {tiles}")
    mem = _table(where, doc, "memory")
    for k in mem:
        if k != "latency":
            raise ScenarioError(f"{where}: unknown field 'memory.{k}'")
    mem_latency = _int(where, mem, "latency", 2, 64, prefix="memory.")
    link = _table(where, doc, "link")
    link_latency = _int(where, link, "latency", 1, 256, prefix="link.")
    bw = link.get("bandwidth", [1, 1])
    if (not isinstance(bw, list) or len(bw) != 2 or not all(isinstance(x, int) for x in bw)
            or not 1 <= bw[0] <= bw[1] or bw[1] > 64):
        raise ScenarioError(f"{where}: field 'link.bandwidth' = {bw!r} must be [beats, cycles]")
    pol = _table(where, doc, "policy")
    thr = _int(where, pol, "mca_threshold", 0, 255, prefix="policy.")
    starv = _int(where, pol, "mca_starvation", 0, 65535, prefix="policy.")
    hw = _table(where, doc, "hardware")
    for k in hw:
        if k not in {"data_width", "addr_width", "tracker_entries", "len_width", "seed",
                     "input_window", "memory"}:
            raise ScenarioError(f"{where}: unknown field 'hardware.{k}'")
    memory = hw.get("memory", "ideal")
    if memory not in ("ideal", "dram"):
        raise ScenarioError(f"{where}: field 'hardware.memory' = {memory!r} must be 'ideal' or "
                            "'dram'")
    dw = _int(where, hw, "data_width", 64, 1024, prefix="hardware.")
    if dw % 32:
        raise ScenarioError(f"{where}: field 'hardware.data_width' = {dw} must be a multiple of 32")
    aw = _int(where, hw, "addr_width", 4, 32, prefix="hardware.")
    entries = _int(where, hw, "tracker_entries", 2, 1 << 16, prefix="hardware.")
    lw = _int(where, hw, "len_width", 1, 16, prefix="hardware.")
    seed = _int(where, hw, "seed", 0, M32, default=1, prefix="hardware.")
    if beats >= 1 << lw:
        raise ScenarioError(f"{where}: field 'beats' = {beats} does not fit a DMA length of "
                            f"'hardware.len_width' = {lw} bits")
    if 2 * beats >= 1 << 16:
        raise ScenarioError(f"{where}: field 'beats' = {beats}: the T3 threshold 2 x beats must fit "
                            "the tracker's 16-bit count")
    window = _int(where, hw, "input_window", 1, 1 << 20, default=INPUT_WINDOW,
                  prefix="hardware.")
    if window & (window - 1):
        raise ScenarioError(f"{where}: field 'hardware.input_window' = {window} must be a power "
                            "of two")
    need = 2 * devices * tiles * beats + window
    if need > 1 << aw:
        raise ScenarioError(f"{where}: field 'hardware.addr_width' = {aw}: the output and staging "
                            f"regions and the input window need {need} beats > 2**{aw}")
    warnings = []
    if 2 * devices * tiles > entries:
        warnings.append(f"{2 * devices * tiles} tile ids (output + staging) share "
                        f"{entries} tracker/command entries")
    if 2 * devices * tiles > 1 << 16:
        raise ScenarioError(f"{where}: field 'tiles' = {tiles}: 2 x devices x tiles tile ids "
                            "must fit 16 bits")
    try:
        T3Params(data_width=dw, addr_width=aw, tracker_entries=entries, len_width=lw,
                 mem_latency=mem_latency)
    except (TypeError, ValueError) as e:
        raise ScenarioError(f"{where}: [hardware]: {e}") from None
    return ScaleScenario(name=name, description=doc.get("description", ""), devices=devices,
                         tiles=tiles, beats=beats, reads=reads, compute=compute, slices=slices,
                         mem_latency=mem_latency, link_latency=link_latency,
                         link_bw=(bw[0], bw[1]), mca_threshold=thr, mca_starvation=starv,
                         data_width=dw, addr_width=aw, tracker_entries=entries, len_width=lw,
                         seed=seed, input_window=window, memory=memory, direct=direct,
                         warnings=tuple(warnings))


def load(path):
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    return parse(doc, str(path), path.stem)


def load_all(directory=SCALE_DIR, names=None):
    out = [load(p) for p in sorted(Path(directory).glob("*.toml"))]
    return [s for s in out if not names or s.name in names]


def from_dict(d, name="inline"):
    """A scenario from a dict with the TOML's structure (tests, small instances)."""
    return parse(d, f"<{name}>", name)


# -- layout ----------------------------------------------------------------------------------

def layout(s):
    n, T, B = s.devices, s.tiles, s.beats
    return {"out_base": 0, "stage_base": n * T * B, "input_base": 2 * n * T * B,
            "input_mask": s.input_window - 1, "out_tile": 0, "stage_tile": n * T}


def protocol(s):
    """The ring bench's protocol (:class:`sim.xval.protocol.RingProtocol`) on the layout of
    :func:`layout`: what :func:`plan` programs and the fluid engine's RTL job graph follows."""
    L = layout(s)
    return RingProtocol(s.devices, s.tiles, s.beats, s.reads, out_base=L["out_base"],
                        stage_base=L["stage_base"], input_base=L["input_base"],
                        input_span=L["input_mask"] + 1, stage_tile=L["stage_tile"],
                        notify_op=Kind.STORE)


def overcommit(s, mode):
    """Why ``mode`` cannot run ``s`` with every tile armed and every DMA command programmed
    before the start (the protocol of :func:`plan`), or ``""``. Command-table entries and tracker
    entries are indexed by tile id mod ``tracker_entries``: the ids programmed or armed at once
    must be distinct modulo the entries."""
    n, T, E = s.devices, s.tiles, s.tracker_entries
    if mode in ("t3", "t3-mca"):
        ids, what = n * T, f"{n} x {T} output tiles armed and their commands programmed"
    else:
        ids, what = 2 * n * T, (f"{n} x {T} output and {n} x {T} staging tile commands "
                                f"programmed and {n - 1} x {T} staging tiles armed")
    if ids <= E:
        return ""
    return (f"{what} before the start need {ids} tracker/command entries > "
            f"'hardware.tracker_entries' = {E} (a window of live tiles is not implemented)")


def plan(s, mode, *, poll_limit=1 << 24):
    """Per device, the list of ``(target, byte offset, value)`` writes before the start
    (``target`` ``"u"``: the unit's CSR, ``"p"``: the producer), in order."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    p = s.params
    U, P = regmap.build(p), build_map(p)
    L = layout(s)
    n, T, B = s.devices, s.tiles, s.beats

    def u(name, **f):
        return ("u", U[name].offset, U[name].encode(**f))

    def pw(name, **f):
        return ("p", P[name].offset, P[name].encode(**f))

    def command(index, *, src, length, dst_dev, dst, tile, op):
        return [u("CMD_SRC_ADDR", value=src), u("CMD_DST_ADDR", value=dst),
                u("CMD_LEN_OP_DEV", length=length, op=op, dst_dev=dst_dev),
                u("CMD_TILE", value=tile), u("CMD_COMMIT", index=index % p.tracker_entries,
                                                valid=1)]

    need = overcommit(s, mode)
    if need:
        raise ScenarioError(f"{s.name}: {mode}: {need}")
    policy = ArbPolicy.T3_MCA if mode == "t3-mca" else ArbPolicy.ROUND_ROBIN
    pmode = {"sequential": ProdMode.SEQUENTIAL, "domino": ProdMode.DOMINO}.get(mode, ProdMode.T3)
    proto = protocol(s)
    out = []
    for g in range(n):
        w = [u("CTRL", enable=1, dev_id=g), u("ARB_POLICY", value=policy),
             u("ARB_THRESHOLD", value=s.mca_threshold), u("ARB_STARVATION", value=s.mca_starvation)]
        fused = pmode is ProdMode.T3
        direct = fused and s.direct
        for index, cmd in proto.commands(g, fused):
            w += command(index, src=cmd["src_addr"], length=cmd["length"], dst_dev=cmd["dst_dev"],
                         dst=cmd["dst_addr"], tile=cmd["tile"], op=cmd["op"])
        w += [u("ARM", tile=tile, threshold=thr) for tile, thr in proto.arms(g, fused, direct)]
        w += [pw("MODE", value=pmode, direct=int(direct)), pw("DEV", value=g),
              pw("DEVICES", value=n),
              pw("TILES", value=T), pw("BEATS", value=B), pw("READS", value=s.reads),
              pw("COMPUTE", value=s.compute), pw("SLICES", value=s.slices),
              pw("OUT_BASE", value=L["out_base"]), pw("STAGE_BASE", value=L["stage_base"]),
              pw("INPUT_BASE", value=L["input_base"]), pw("INPUT_MASK", value=L["input_mask"]),
              pw("OUT_TILE", value=L["out_tile"]), pw("STAGE_TILE", value=L["stage_tile"]),
              pw("SEED", value=s.seed), pw("POLL_LIMIT", value=poll_limit),
              pw("CTRL", clear=int(pmode is ProdMode.T3))]
        out.append(w)
    return out


def expected(s):
    """``[(S1, S2)]`` per device: the checksum of its reduced chunk, from the data definition."""
    n, T, B = s.devices, s.tiles, s.beats
    lanes = s.data_width // 32
    res = []
    for g in range(n):                       # device g holds chunk g
        beat = np.arange(g * T * B, (g + 1) * T * B, dtype=np.uint64)
        lane = np.arange(lanes, dtype=np.uint64)
        total = np.zeros((len(beat), lanes), dtype=np.uint64)
        for h in range(n):
            x = (np.uint64(s.seed) + np.uint64(h * K_DEV) + beat[:, None] * np.uint64(K_BEAT)
                 + lane[None, :] * np.uint64(K_LANE)) & np.uint64(M32)
            total += x ^ (x >> np.uint64(16))
        w = (total & np.uint64(M32)).reshape(-1)
        nw = len(w)
        weights = np.uint64(nw) - np.arange(nw, dtype=np.uint64)
        res.append((int(w.sum(dtype=np.uint64)) & M32,
                    int((w * weights).sum(dtype=np.uint64)) & M32))
    return res


#: Start skews of :func:`start_skews`: each device starts up to this many cycles late (under
#: 0.1 % of any scale run; a real ring's kernel launches are microseconds apart).
SKEW_SPAN = 64


def start_skews(s, seed, span=SKEW_SPAN):
    """Per device, the cycles its producer's ``start`` comes after the first possible one: all 0
    for ``seed`` 0 (every device starts in the same cycle, the scale runs' default), otherwise
    drawn uniformly from ``[0, span)`` by a generator seeded with ``seed`` (the same skews in
    the harness, ``tools/scale.py --skew-seed``, and in the CL model). A skew changes no work,
    only which cycle each device's requests meet the others' and the DRAM's refresh:
    ``tools/start_ensemble.py`` measures the spread this gives."""
    import random
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, not {seed!r}")
    if not isinstance(span, int) or isinstance(span, bool) or span < 1:
        raise ValueError(f"span must be an integer >= 1, not {span!r}")
    if seed == 0:
        return (0,) * s.devices
    rng = random.Random(seed)
    return tuple(rng.randrange(span) for _ in range(s.devices))


def settle_cycles(s):
    """Cycles the scale harness waits after reset before its first write (``S`` line of
    ``tools/scale.py``'s program): the tracker's table-clearing sweep, one entry per cycle, and
    a margin."""
    return s.tracker_entries + 16


#: Producer registers the harness reads after a run (name -> byte offset).
def readback(s):
    P = build_map(s.params)
    return {reg.name: reg.offset for reg in P if reg.offset >= 0x100 or reg.name in
            ("STATUS", "ERR_CODE")}


def unit_readback(s):
    U = regmap.build(s.params)
    return {reg.name: reg.offset for reg in U if reg.name.startswith("CNT_") or reg.name == "ERR"}


def summarize(s, mode, raw):
    n = s.devices
    dev = [{"p": {}, "u": {}} for _ in range(n)]
    for g, tgt, name, v in raw["regs"]:
        dev[g][tgt][name] = v
    want = expected(s)
    got = [(d["p"]["CSUM_S1"], d["p"]["CSUM_S2"]) for d in dev]
    errs = [d["p"]["ERR_CODE"] for d in dev]
    unit_err = [d["u"]["ERR"] for d in dev]
    tot = lambda k: sum(d["u"][k] for d in dev)            # noqa: E731
    res = {
        "scenario": s.name, "mode": mode, "done": raw["done"],
        "cycles": max(d["p"]["CYC_TOTAL"] for d in dev),
        "gemm_cycles": max(d["p"]["CYC_GEMM"] for d in dev),
        "mem_reads": tot("CNT_RD_BEATS_COMPUTE") + tot("CNT_RD_BEATS_COMM"),
        "mem_writes": tot("CNT_WR_BEATS_COMPUTE") + tot("CNT_WR_BEATS_COMM"),
        "link_beats": tot("CNT_LINK_TX_BEATS"),
        "checksum_ok": raw["done"] and got == want and not any(errs) and not raw["errors"],
        "checksums": got, "expected": want, "err_code": errs, "unit_err": unit_err,
        "setup_errors": raw["errors"], "run_cycles": raw["run_cycles"],
        "run_seconds": raw["run_seconds"], "total_seconds": raw["total_seconds"],
        "run_cpu_seconds": raw.get("run_cpu_seconds"),
        "producer": [d["p"] for d in dev], "unit": [d["u"] for d in dev],
    }
    # the clearing writes and the checksum read-back are not part of the measured work
    res["mem_reads"] -= sum(d["p"]["CHK_RD"] for d in dev)
    res["mem_writes"] -= sum(d["p"]["CLR_WR"] for d in dev)
    return res


def status(r):
    if r.get("refused"):
        return f"REFUSED: {r['refused']}"
    if r.get("setup_blocked"):
        return f"SET-UP BLOCKED: {r['setup_blocked']}"
    if r.get("hung"):
        return f"HUNG: no done and no error within {r['timeout_s']:.0f} s (harness killed)"
    if r["checksum_ok"]:
        return "checksum ok"
    if not r["done"]:
        return "NOT DONE (cycle cap)"
    why = {1: "bad config", 2: "unit ERR", 3: "CSR SLVERR", 4: "poll limit", 5: "CSR timeout"}
    codes = sorted({why.get(c, str(c)) for c in r["err_code"] if c})
    return "checksum MISMATCH" + (f" ({', '.join(codes)}; ERR {r['unit_err']})" if codes else "")
