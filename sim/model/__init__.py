"""Cycle-approximate, tile-level system model of T3 and its baselines.

See :mod:`sim.model.engine` for the level of detail and :mod:`sim.model.dataflows` for the job
graphs of each configuration (``sequential``, ``domino``, ``t3``, ``t3-mca``, ``ideal``,
``ideal-rs-nmc``).
"""
from .config import CONFIGS, POLICIES, ConfigError, SystemConfig, load_system_toml, system_from_dict
from .dataflows import Result, gemm_costs, run_configs, simulate
from .engine import Engine, Job, Kernel, queue_factor

__all__ = ["CONFIGS", "POLICIES", "ConfigError", "SystemConfig", "load_system_toml",
           "system_from_dict", "Result", "gemm_costs", "run_configs", "simulate", "Engine", "Job",
           "Kernel", "queue_factor"]
