"""Cross-validation scenarios: one TOML file per scenario, read by the RTL launcher and the model.

Format (every key required unless a default is given)::

    name = "base"                  # defaults to the file stem
    description = "..."            # optional
    devices = 4                    # ring size (2 .. 16)
    chunks = 4                     # reduce-scatter chunks; the ring RS needs chunks == devices
    tiles = 4                      # tiles per chunk
    beats = 8                      # beats (64-bit words) per tile
    reads = 4                      # GEMM input reads per tile (memory pressure)
    compute = 16                   # GEMM compute cycles per tile
    slices = 2                     # Domino: slices of tiles (divides tiles); default 2

    [memory]
    latency = 4                    # read latency in cycles (T3Params.mem_latency, >= 2)
    bandwidth = 1                  # requests per cycle; the RTL memory model takes exactly 1

    [link]
    latency = 8                    # cycles (>= 1)
    bandwidth = [1, 1]             # [beats, per cycles], 1 <= beats <= cycles

    [policy]                       # T3-MCA arbitration (the t3-mca mode); round-robin otherwise
    mca_threshold = 4              # comm eligible while memory occupancy < threshold
    mca_starvation = 32            # comm forced after waiting this many cycles

Errors raise :class:`ScenarioError` naming the file and the offending field.
"""

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["MODES", "Scenario", "ScenarioError", "load_scenario", "load_scenarios",
           "SCENARIO_DIR", "BEAT_BYTES"]

MODES = ("sequential", "domino", "t3", "t3-mca")


def default_hw_key():
    """``Scenario.hw_key`` of ``T3Ring(T3Params())``, read from the defaults of the hardware."""
    import inspect

    from hw.params import T3Params
    from hw.ring import T3Ring
    d = inspect.signature(T3Ring).parameters
    return (d["devices"].default, T3Params().mem_latency, d["link_latency"].default,
            tuple(d["link_bw"].default))
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
BEAT_BYTES = 8          # data_width 64


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    devices: int
    chunks: int
    tiles: int
    beats: int
    reads: int
    compute: int
    slices: int
    mem_latency: int
    mem_bandwidth: int
    link_latency: int
    link_bw: tuple
    mca_threshold: int
    mca_starvation: int

    @property
    def hw_key(self):
        """The elaboration-time parameters: scenarios sharing it share one RTL build."""
        return (self.devices, self.mem_latency, self.link_latency, tuple(self.link_bw))

    @property
    def hw_tag(self):
        d, lat, ll, (bn, bd) = self.hw_key
        if self.hw_key == default_hw_key():
            return "default"           # the ring bench's own build (tb/ring/test_ring.py)
        return f"xval_d{d}_m{lat}_l{ll}_b{bn}-{bd}"

    def bench_config(self):
        """The ``T3_RING`` environment of ``tb.ring.ring_bench``."""
        return dict(devices=self.devices, tiles=self.tiles, beats=self.beats, reads=self.reads,
                    compute=self.compute, slices=self.slices, mca_threshold=self.mca_threshold,
                    mca_starvation=self.mca_starvation, mem_latency=self.mem_latency,
                    link_latency=self.link_latency, link_bw=list(self.link_bw))

    def as_dict(self):
        d = asdict(self)
        d["link_bw"] = list(self.link_bw)
        return d


def _int(where, table, key, lo, hi=None, default=None, prefix=""):
    field = f"{prefix}{key}"
    if key not in table:
        if default is None:
            raise ScenarioError(f"{where}: missing field '{field}'")
        return default
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ScenarioError(f"{where}: field '{field}' must be an integer, not {v!r}")
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ScenarioError(f"{where}: field '{field}' = {v} must be {rng}")
    return v


def _table(where, doc, key):
    t = doc.get(key)
    if not isinstance(t, dict):
        raise ScenarioError(f"{where}: missing table '[{key}]'")
    return t


_TOP = {"name", "description", "devices", "chunks", "tiles", "beats", "reads", "compute",
        "slices", "memory", "link", "policy"}
_SUB = {"memory": {"latency", "bandwidth"}, "link": {"latency", "bandwidth"},
        "policy": {"mca_threshold", "mca_starvation"}}


def parse_scenario(doc, where="<scenario>", default_name="scenario"):
    for k in doc:
        if k not in _TOP:
            raise ScenarioError(f"{where}: unknown field '{k}'")
    for sect, keys in _SUB.items():
        for k in doc.get(sect, {}) if isinstance(doc.get(sect), dict) else ():
            if k not in keys:
                raise ScenarioError(f"{where}: unknown field '{sect}.{k}'")
    name = doc.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: field 'name' must be a non-empty string")
    desc = doc.get("description", "")
    if not isinstance(desc, str):
        raise ScenarioError(f"{where}: field 'description' must be a string")
    devices = _int(where, doc, "devices", 2, 16)
    chunks = _int(where, doc, "chunks", 2, 16)
    if chunks != devices:
        raise ScenarioError(f"{where}: field 'chunks' = {chunks} must equal 'devices' = {devices} "
                            "(a ring reduce-scatter has one chunk per device)")
    tiles = _int(where, doc, "tiles", 1)
    if devices * tiles > 128:
        raise ScenarioError(f"{where}: field 'tiles' = {tiles}: devices x tiles must be <= 128 "
                            "(tracker table: 128 output + 128 staging tiles)")
    beats = _int(where, doc, "beats", 1, 255)
    if devices * tiles * beats > 1024:
        raise ScenarioError(f"{where}: field 'beats' = {beats}: devices x tiles x beats must be "
                            "<= 1024 (the bench's output and staging regions)")
    reads = _int(where, doc, "reads", 0, 1024)
    compute = _int(where, doc, "compute", 0)
    slices = _int(where, doc, "slices", 1, default=2)
    if tiles % slices:
        raise ScenarioError(f"{where}: field 'slices' = {slices} must divide 'tiles' = {tiles}")
    mem = _table(where, doc, "memory")
    mem_latency = _int(where, mem, "latency", 2, 64, prefix="memory.")
    mem_bw = _int(where, mem, "bandwidth", 1, default=1, prefix="memory.")
    if mem_bw != 1:
        raise ScenarioError(f"{where}: field 'memory.bandwidth' = {mem_bw}: the RTL memory model "
                            "accepts exactly 1 request per cycle")
    link = _table(where, doc, "link")
    link_latency = _int(where, link, "latency", 1, 256, prefix="link.")
    bw = link.get("bandwidth", [1, 1])
    if (not isinstance(bw, list) or len(bw) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in bw)
            or not 1 <= bw[0] <= bw[1] or bw[1] > 64):
        raise ScenarioError(f"{where}: field 'link.bandwidth' = {bw!r} must be [beats, cycles] "
                            "with 1 <= beats <= cycles <= 64")
    pol = _table(where, doc, "policy")
    thr = _int(where, pol, "mca_threshold", 0, 255, prefix="policy.")
    starv = _int(where, pol, "mca_starvation", 0, 65535, prefix="policy.")
    return Scenario(name=name, description=desc, devices=devices, chunks=chunks, tiles=tiles,
                    beats=beats, reads=reads, compute=compute, slices=slices,
                    mem_latency=mem_latency, mem_bandwidth=mem_bw, link_latency=link_latency,
                    link_bw=(bw[0], bw[1]), mca_threshold=thr, mca_starvation=starv)


def load_scenario(path):
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    return parse_scenario(doc, where=str(path), default_name=path.stem)


def load_scenarios(directory=SCENARIO_DIR, names=None):
    out = [load_scenario(p) for p in sorted(Path(directory).glob("*.toml"))]
    seen = set()
    for s in out:
        if s.name in seen:
            raise ScenarioError(f"{directory}: duplicate scenario name '{s.name}'")
        seen.add(s.name)
    if names:
        out = [s for s in out if s.name in names]
    return out
