"""Workloads: the model zoo and the four tensor-parallel sublayers.

Shapes come from the models' papers (hidden size ``h``, FFN size ``ffn``). A *sublayer* is a
row-parallel GEMM whose output (``tokens x h``, a partial sum on every device) is all-reduced:

=====  =========  =====================================  ================
name   pass       GEMM (per device, TP degree n)          reduction dim K
=====  =========  =====================================  ================
op     forward    attention output projection             h / n
fc2    forward    second MLP GEMM                         ffn / n
fc1    backward   input gradient of the first MLP GEMM    ffn / n
ip     backward   input gradient of the QKV projection    3 h / n
=====  =========  =====================================  ================

Default token count: 8192 (sequence 1024 x micro-batch 8, the sequence length Megatron used for
GPT-2-class models and T-NLG); see docs/model.md for the sensitivity.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelShape", "MODELS", "SUBLAYERS", "Sublayer", "sublayer", "DEFAULT_TOKENS",
           "get_model"]

DEFAULT_TOKENS = 8192


@dataclass(frozen=True)
class ModelShape:
    name: str
    hidden: int
    ffn: int
    layers: int
    source: str
    heads: int = 0          # attention heads (the unfused attention's score matrices)


MODELS: dict[str, ModelShape] = {m.name: m for m in (
    ModelShape("mega-gpt-2", 3072, 12288, 72, "Megatron-LM (Shoeybi et al. 2019), 8.3B", 32),
    ModelShape("t-nlg", 4256, 17024, 78, "Turing-NLG (Microsoft 2020), 17B", 28),
    ModelShape("gpt-3", 12288, 49152, 96, "Brown et al. 2020, 175B", 96),
    ModelShape("gpt-3-6.7b", 4096, 16384, 32, "Brown et al. 2020, 6.7B (Domino's shape)", 32),
    ModelShape("palm", 18432, 73728, 118, "Chowdhery et al. 2022, 540B", 48),
    ModelShape("mt-nlg", 20480, 81920, 105, "Smith et al. 2022, 530B", 128),
    ModelShape("llama-2-7b", 4096, 11008, 32, "Touvron et al. 2023", 32),
    ModelShape("llama-2-13b", 5120, 13824, 40, "Touvron et al. 2023", 40),
    ModelShape("llama-2-70b", 8192, 28672, 80, "Touvron et al. 2023", 64),
)}

SUBLAYERS = ("op", "fc2", "fc1", "ip")


@dataclass(frozen=True)
class Sublayer:
    """One per-device GEMM ``[m x k] @ [k x n]`` followed by an all-reduce of ``m x n``."""
    model: str
    name: str
    tp: int
    m: int      # tokens
    n: int      # hidden (output columns)
    k: int      # reduction dimension per device

    @property
    def flops(self) -> float:
        return 2.0 * self.m * self.n * self.k


def get_model(name: str) -> ModelShape:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"model: unknown model {name!r} (known: {', '.join(MODELS)})") from None


def sublayer(model: str, name: str, tp: int, tokens: int = DEFAULT_TOKENS) -> Sublayer:
    """Per-device shape of sublayer ``name`` of ``model`` at TP degree ``tp``."""
    m = get_model(model)
    if name not in SUBLAYERS:
        raise ValueError(f"sublayer: unknown sublayer {name!r} (known: {', '.join(SUBLAYERS)})")
    if not isinstance(tp, int) or tp < 2:
        raise ValueError(f"tp: must be an integer >= 2, got {tp!r}")
    if not isinstance(tokens, int) or tokens < 1:
        raise ValueError(f"tokens: must be an integer >= 1, got {tokens!r}")
    kfull = {"op": m.hidden, "fc2": m.ffn, "fc1": m.ffn, "ip": 3 * m.hidden}[name]
    if kfull % tp:
        raise ValueError(f"tp: {tp} does not divide the reduction dimension {kfull} of {name}")
    return Sublayer(model, name, tp, tokens, m.hidden, kfull // tp)
