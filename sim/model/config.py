"""System configurations, calibrated model constants and validation.

Every number that is not a datasheet figure is a *calibrated constant*; each one names what it was
calibrated against (see ``docs/model.md``).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

__all__ = ["SystemConfig", "ConfigError", "system_from_dict", "load_system_toml", "POLICIES",
           "CONFIGS", "TOPOLOGIES", "CALIBRATED", "FIT_V01", "PROVENANCE", "MCA_TUNINGS",
           "mca_variants"]

#: memory-controller arbitration policies
POLICIES = ("fr-fcfs", "compute-first", "t3-mca")
#: named configurations (what the user compares)
CONFIGS = ("sequential", "domino", "t3", "t3-mca", "ideal", "ideal-rs-nmc")
#: how the devices of a TP group are connected (docs/model.md, "Topologies")
TOPOLOGIES = ("ring", "biring", "switch", "nvls", "two-level")
#: how T3-MCA's arbiter setting is chosen (:attr:`SystemConfig.mca_tuning`)
MCA_TUNINGS = ("fixed", "measured")


def _measured() -> dict:
    from .contention import MEASURED
    if MEASURED is None:
        raise ConfigError("sim/model/contention.json: missing; run python -m sim.model.contention "
                          "--write (after make bench)")
    return MEASURED["constants"]


class ConfigError(ValueError):
    """A configuration value is invalid; the message starts with the field name."""


_MEASURED = _measured()

#: The five HBM contention constants of v0.1, chosen against the T3 paper's results
#: (``interference``: the paper's T3 geomean) or assumed (the others); the built-in system
#: ``t3-paper-fit`` keeps them for comparison. v0.2 measures them (:mod:`sim.model.contention`).
FIT_V01 = {"interference": 2.75, "mca_interference": 1.25, "mca_leak": 0.15,
           "mca_starvation_share": 0.10, "nmc_cost": 2.5}


@dataclass(frozen=True)
class SystemConfig:
    """One GPU of a ring plus its links (all devices in the ring are identical).

    Datasheet fields
    ----------------
    name, n_cu, clock_ghz, flops_per_cu_per_clk (dense fp16/bf16 matrix), l2_mb,
    hbm_bandwidth_gbps, link_bandwidth_gbps (bidirectional, per device), link_latency_ns.

    Topology
    --------
    topology
        one of :data:`TOPOLOGIES`: ``ring`` (one-way ring), ``biring`` (bidirectional ring: two
        half-size rings, one per direction, as NCCL does), ``switch`` (fully connected through a
        switch: direct reduce-scatter, each device sends N-1 pieces), ``nvls`` (a switch that
        reduces in the network, NVLS-like: changes the baseline collectives only), ``two-level``
        (TP over 2 nodes: ``switch`` inside a node, ``inter_bandwidth_gbps`` /
        ``inter_latency_ns`` between the nodes).
    inter_bandwidth_gbps, inter_latency_ns
        the inter-node network per device (bidirectional) and its latency (``two-level``).

    Calibrated fields (see docs/model.md)
    -------------------------------------
    gemm_efficiency
        fraction of the matrix peak a large GEMM reaches when the memory is idle.
    gemm_stall_fraction
        memory-stall time of a GEMM at an idle memory, as a fraction of its math time at all CUs.
    comm_gbps_per_cu
        bytes/s one CU moves in a communication (copy/reduce) kernel.
    comm_cus
        CUs a communication kernel (ring RS/AG) occupies (NCCL/RCCL channels).
    interference
        HBM cost multiplier of communication traffic mixed with compute traffic (FR-FCFS).
    mca_interference, mca_leak, mca_starvation_share
        the same under T3-MCA; share of comm queueing felt by compute; bandwidth floor of comm.
    nmc_cost
        bank-time cost of one NMC update byte relative to a plain write (read-add-write = 2).

    mca_tuning
        ``fixed``: T3-MCA runs with the three ``mca_*`` constants above. ``measured``: T3-MCA
        runs once at every T3-MCA setting (threshold, starvation limit) measured on the RTL
        (``sim/model/contention.json``, ``mca_settings``) and keeps the fastest, per sublayer:
        the paper's MCA sets its threshold per kernel; this picks the best setting the
        measurement covers, by the model's own time (:func:`mca_variants`). Only for a system
        whose HBM is the measured one (HBM2 at the T3 paper's link/HBM ratio).

    The five above default to values *measured* on the RTL's DRAM timing
    (:mod:`sim.model.contention`); :data:`PROVENANCE` says where every calibrated default
    comes from, :data:`FIT_V01` holds v0.1's fitted/assumed values.
    hbm_max_utilization
        achievable fraction of the HBM peak.
    launch_overhead_us
        per-kernel launch / synchronisation gap.
    l2_effective_fraction
        fraction of L2 usable to block a GEMM's operands.
    link_bulk_efficiency, link_store_efficiency
        payload / wire bytes of bulk transfers (DMA, LL128-like kernel: 120 B of 128 B) and of a
        GEMM epilogue's fine-grained remote stores (64 B payload + 16 B header).
    """

    name: str = "custom"
    n_cu: int = 80
    clock_ghz: float = 1.4
    flops_per_cu_per_clk: float = 1024.0
    l2_mb: float = 16.0
    hbm_bandwidth_gbps: float = 1000.0
    link_bandwidth_gbps: float = 150.0
    link_latency_ns: float = 500.0
    topology: str = "ring"
    inter_bandwidth_gbps: float = 100.0
    inter_latency_ns: float = 5000.0
    tracker_entries: int = 256
    tile_m: int = 128
    tile_n: int = 128
    bytes_per_element: int = 2
    # calibrated
    gemm_efficiency: float = 0.70
    gemm_stall_fraction: float = 0.28
    comm_gbps_per_cu: float = 6.65
    comm_cus: int = 16
    # measured on the RTL's DRAM timing (sim/model/contention.py, sim/model/contention.json)
    interference: float = _MEASURED["interference"]
    mca_interference: float = _MEASURED["mca_interference"]
    mca_leak: float = _MEASURED["mca_leak"]
    mca_starvation_share: float = _MEASURED["mca_starvation_share"]
    nmc_cost: float = _MEASURED["nmc_cost"]
    hbm_max_utilization: float = 0.85
    launch_overhead_us: float = 3.0
    l2_effective_fraction: float = 0.25
    link_bulk_efficiency: float = 0.9375
    link_store_efficiency: float = 0.8
    mca_tuning: str = "fixed"

    # derived ------------------------------------------------------------------------------
    @property
    def peak_tflops(self) -> float:
        return self.n_cu * self.clock_ghz * 1e9 * self.flops_per_cu_per_clk / 1e12

    @property
    def cu_flops(self) -> float:
        """Sustained GEMM flop/s of one CU (peak x efficiency)."""
        return self.clock_ghz * 1e9 * self.flops_per_cu_per_clk * self.gemm_efficiency

    @property
    def hbm_bps(self) -> float:
        return self.hbm_bandwidth_gbps * 1e9

    @property
    def link_bps(self) -> float:
        """Bytes/s a device sends on its scale-up links: one direction (half the bidirectional
        figure), except on a bidirectional ring, whose two rings use both directions."""
        if self.topology == "biring":
            return self.link_bandwidth_gbps * 1e9
        return self.link_bandwidth_gbps * 1e9 / 2

    @property
    def inter_bps(self) -> float:
        """One direction of the inter-node network of a device (``two-level``)."""
        return self.inter_bandwidth_gbps * 1e9 / 2

    @property
    def inter_latency_s(self) -> float:
        return self.inter_latency_ns * 1e-9

    @property
    def link_latency_s(self) -> float:
        return self.link_latency_ns * 1e-9

    def validate(self) -> "SystemConfig":
        for f in fields(self):
            v = getattr(self, f.name)
            where = f"system.{f.name}"
            if f.name == "name":
                if not isinstance(v, str) or not v:
                    raise ConfigError(f"{where}: must be a non-empty string, got {v!r}")
                continue
            if f.name == "topology":
                if v not in TOPOLOGIES:
                    raise ConfigError(f"{where}: must be one of {', '.join(TOPOLOGIES)}, "
                                      f"got {v!r}")
                continue
            if f.name == "mca_tuning":
                if v not in MCA_TUNINGS:
                    raise ConfigError(f"{where}: must be one of {', '.join(MCA_TUNINGS)}, "
                                      f"got {v!r}")
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{where}: must be a number, got {v!r}")
            if f.type in ("int", int) and not isinstance(v, int):
                raise ConfigError(f"{where}: must be an integer, got {v!r}")
            if not math.isfinite(v):
                raise ConfigError(f"{where}: must be finite, got {v!r}")
            lo_zero_ok = f.name in ("link_latency_ns", "inter_latency_ns",
                                    "gemm_stall_fraction", "mca_leak",
                                    "mca_starvation_share", "launch_overhead_us")
            if lo_zero_ok and v < 0:
                raise ConfigError(f"{where}: must be >= 0, got {v!r}")
            if not lo_zero_ok and v <= 0:
                raise ConfigError(f"{where}: must be > 0, got {v!r}")
        for name in ("gemm_efficiency", "hbm_max_utilization", "l2_effective_fraction",
                     "link_bulk_efficiency", "link_store_efficiency",
                     "mca_leak", "mca_starvation_share"):
            v = getattr(self, name)
            if v > 1:
                raise ConfigError(f"system.{name}: must be <= 1, got {v!r}")
        if self.interference < 1 or self.mca_interference < 1:
            raise ConfigError("system.interference: must be >= 1, got "
                              f"{min(self.interference, self.mca_interference)!r}")
        if self.mca_tuning == "measured":
            from .contention import MCA_CONSTANTS
            for name in MCA_CONSTANTS:
                if getattr(self, name) != _MEASURED[name]:
                    raise ConfigError(
                        f"system.{name}: {getattr(self, name)!r} would be ignored: with "
                        "mca_tuning = \"measured\" T3-MCA takes the measured settings' values; "
                        "set mca_tuning = \"fixed\" to use it")
        if self.comm_cus >= self.n_cu:
            raise ConfigError(f"system.comm_cus: must be < n_cu ({self.n_cu}), got {self.comm_cus}")
        return self

    def with_(self, **kw) -> "SystemConfig":
        return replace(self, **kw).validate()


_FIELD_TYPES = {f.name: f.type for f in fields(SystemConfig)}


def mca_variants(sysc: SystemConfig) -> list[tuple[str, SystemConfig]]:
    """The systems T3-MCA runs on: ``[("", sysc)]`` for ``mca_tuning = "fixed"``; for
    ``"measured"``, one per measured T3-MCA setting (``"threshold/starvation"``, by threshold
    then limit), each with that setting's three ``mca_*`` constants."""
    if sysc.mca_tuning == "fixed":
        return [("", sysc)]
    from .contention import MEASURED, setting_key
    settings = (MEASURED or {}).get("mca_settings")
    if not settings:
        raise ConfigError("system.mca_tuning: 'measured' needs the mca_settings of "
                          "sim/model/contention.json (python -m sim.model.contention --write)")
    return [(m, replace(sysc, mca_tuning="fixed", **settings[m]))
            for m in sorted(settings, key=setting_key)]

#: The calibrated fields of :class:`SystemConfig` (the ``# calibrated`` block): their defaults are
#: the T3 paper's V100-class system, so a system file that names no ``base`` must give them all.
CALIBRATED = ("gemm_efficiency", "gemm_stall_fraction", "comm_gbps_per_cu", "comm_cus",
              "interference", "mca_interference", "mca_leak", "mca_starvation_share", "nmc_cost",
              "hbm_max_utilization", "launch_overhead_us", "l2_effective_fraction",
              "link_bulk_efficiency", "link_store_efficiency")


#: Where each calibrated constant of the built-in V100-class system comes from:
#: ``(kind, source)`` with kind ``measured`` (on this project's hardware models), ``fitted``
#: (chosen against a published number: named) or ``assumed``.
PROVENANCE = {
    "gemm_efficiency": ("fitted", "the paper's Ideal-overlap speedup (35% geomean, 50% max)"),
    "gemm_stall_fraction": ("fitted", "the paper's 'GEMM 21% slower with 16 of 80 CUs taken', "
                            "with the peers' 'up to 1.8x beside a collective'"),
    "comm_gbps_per_cu": ("fitted", "the paper's 'all-reduce 41% slower on 8 of 80 CUs'"),
    "comm_cus": ("assumed", "the paper's 16-CU scenario"),
    "interference": ("measured", "RTL unit + DRAM timing model, round-robin, bound stream at the "
                     "paper's link/HBM ratio (sim/model/contention.py)"),
    "mca_interference": ("measured", "the same under the RTL's T3-MCA (threshold 8, starvation "
                         "32; with mca_tuning = measured, each measured setting's own value)"),
    "mca_leak": ("measured", "GEMM-like stream's slowdown per comm request, T3-MCA over "
                 "round-robin (same runs)"),
    "mca_starvation_share": ("measured", "memory share comm keeps under T3-MCA while compute "
                             "saturates (same runs)"),
    "nmc_cost": ("measured", "update tile over store tile on the DRAM reference "
                 "(sim/model/dram_curve.py)"),
    "hbm_max_utilization": ("assumed", "achievable HBM efficiency with mixed traffic"),
    "launch_overhead_us": ("assumed", "kernel launch and synchronisation gap"),
    "l2_effective_fraction": ("fitted", "the paper's data-movement reduction (22% geomean)"),
    "link_bulk_efficiency": ("assumed", "120 B payload per 128 B (LL128-like)"),
    "link_store_efficiency": ("assumed", "64 B stores with a 16 B header"),
}


def system_from_dict(d: dict, base: SystemConfig | None = None) -> SystemConfig:
    """Build a validated :class:`SystemConfig` from a mapping (``[system]`` table of a TOML)."""
    base = base or SystemConfig()
    kw = {}
    for k, v in d.items():
        if k in ("base",):
            continue
        if k not in _FIELD_TYPES:
            raise ConfigError(f"system.{k}: unknown field (known: {', '.join(sorted(_FIELD_TYPES))})")
        t = _FIELD_TYPES[k]
        if t in ("int", int):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"system.{k}: must be an integer, got {v!r}")
        elif t in ("float", float):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"system.{k}: must be a number, got {v!r}")
            v = float(v)
        elif t in ("str", str) and not isinstance(v, str):
            raise ConfigError(f"system.{k}: must be a string, got {v!r}")
        kw[k] = v
    return replace(base, **kw).validate()


def load_system_toml(path: str | Path, builtins: dict | None = None) -> SystemConfig:
    """Load a system from a TOML file with a ``[system]`` table.

    ``base = "t3-paper"`` inside the table starts from a built-in system. Without a ``base``,
    every field of :data:`CALIBRATED` must be given: a missing one is an error listing them, not
    a silent default fitted to another machine.
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"system file {str(p)!r}: not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"system file {str(p)!r}: invalid TOML: {e}") from None
    if "system" not in data or not isinstance(data["system"], dict):
        raise ConfigError(f"system: missing [system] table in {str(p)!r}")
    table = data["system"]
    base = None
    if "base" in table:
        if not builtins or table["base"] not in builtins:
            raise ConfigError(f"system.base: unknown built-in system {table['base']!r}")
        base = builtins[table["base"]]
    if "name" not in table:
        table = dict(table, name=p.stem)
    system = system_from_dict(table, base)
    if base is None:
        missing = [f for f in CALIBRATED if f not in table]
        if missing:
            raise ConfigError(
                f"system file {str(p)!r}: no 'base' and calibrated fields missing: "
                f"{', '.join(missing)} (name a built-in system as system.base, e.g. "
                f"base = \"t3-paper\", or give every calibrated field: their defaults were "
                f"fitted to the T3 paper's V100-class system)")
    return system
