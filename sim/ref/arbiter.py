"""Cycle-level (CL) reference of the memory-controller arbiter (``hw/arbiter.py``).

Written from the arbiter's specification, not from its RTL: it predicts, cycle by cycle, the
values the RTL shows on its outputs given the values on its inputs. Used by
``tests/test_arbiter.py`` (Amaranth simulator) and by the cocotb benches.

Specification modelled
----------------------
* Two request streams, *compute* and *comm*, into one output stream *out*. The output stage is a
  two-entry skid buffer: a *main* register that drives ``out.valid``/``out.payload`` and a *skid*
  register. A grant (an input handshake) can happen in a cycle iff the skid register is empty, so
  the input ``ready`` signals never depend on ``out.ready`` in the same cycle. With ``out.ready``
  held high the skid register stays empty and the arbiter grants one request per cycle.
* A request granted in cycle *t* appears on ``out`` from cycle *t + 1* (if the main register is
  drained or empty then) with its ``cls`` field forced to the class of the port it came from.
* Grant decision in a cycle where a grant is possible (``cv``/``mv``: compute/comm valid):

  - ``ROUND_ROBIN`` (and any undefined policy encoding): one pending class is granted; when both
    are pending, the class *not* granted by the most recent grant (of any policy) wins. After
    reset the most recent grant counts as COMM, so compute wins the first conflict.
  - ``COMPUTE_FIRST``: compute if ``cv``; else comm if ``mv``.
  - ``T3_MCA``: ``starving = mv and wait >= starvation_limit``. If ``starving``: comm. Else if
    ``cv``: compute. Else if ``mv and occupancy < threshold``: comm. Else nothing.

* ``wait`` (``limit_width`` bits, saturating at its maximum): in every cycle where comm is valid and
  not granted it increments; on a comm grant, or in a cycle where comm is not valid, it returns to
  0. So ``wait`` is the number of cycles the current comm request has been waiting, and it is kept
  under every policy (a request that waited under another policy keeps its age when the policy is
  switched to ``T3_MCA``).
* Counters (32 bits, wrapping), registered twice (a cycle's events are registered, then counted:
  they are included from the second cycle after it on; :meth:`ArbiterRef.settled` gives the
  values once they have landed):
  ``granted_compute``/``granted_comm`` count grants; ``stalled_compute``/``stalled_comm`` count
  cycles the class was valid and not granted (for any reason, output back-pressure included).
* ``starved`` is high during the cycle after a grant *forced* by the starvation limit: a comm grant
  under ``T3_MCA`` with ``starving`` true where the ordinary rule would not have granted comm
  (compute was pending, or ``occupancy >= threshold``).
"""

import dataclasses
from collections.abc import Mapping

from hw.params import ArbPolicy, ReqClass

__all__ = ["ArbiterOutputs", "ArbiterRef"]

_MASK32 = (1 << 32) - 1


@dataclasses.dataclass(frozen=True)
class ArbiterOutputs:
    """Values of the arbiter's outputs in one cycle (before that cycle's clock edge)."""
    compute_ready: bool
    comm_ready: bool
    out_valid: bool
    out_payload: object           # the payload mapping, or None when out_valid is low
    granted_compute: int
    granted_comm: int
    stalled_compute: int
    stalled_comm: int
    starved: bool


def _policy(value):
    if isinstance(value, ArbPolicy):
        return value
    try:
        return ArbPolicy(int(value))
    except ValueError:
        return ArbPolicy.ROUND_ROBIN          # undefined encodings behave as round-robin


def _with_cls(payload, cls):
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a mapping of field names to values, not {payload!r}")
    out = dict(payload)
    out["cls"] = cls
    return out


class ArbiterRef:
    """Cycle-level reference of :class:`hw.arbiter.Arbiter`.

    Parameters
    ----------
    limit_width : int
        Width of the starvation wait counter (it saturates at ``2**limit_width - 1``).

    Call :meth:`step` once per clock cycle with the values on the inputs during that cycle; it
    returns the values the outputs must show during that cycle and then advances to the next.
    Payloads are mappings of field name to value (``"cls"`` is replaced on the way out).
    """

    def __init__(self, *, limit_width=16):
        if not isinstance(limit_width, int) or isinstance(limit_width, bool):
            raise TypeError(f"limit_width must be an integer, not {limit_width!r}")
        if not 1 <= limit_width <= 32:
            raise ValueError(f"limit_width must be in [1, 32], not {limit_width}")
        self.wait_max = (1 << limit_width) - 1
        self.reset()

    def reset(self):
        self.main = None              # payload in the output register, or None
        self.skid = None              # payload in the skid register, or None
        self.wait = 0
        self.last = ReqClass.COMM     # class of the most recent grant
        self.granted = {ReqClass.COMPUTE: 0, ReqClass.COMM: 0}
        self.stalled = {ReqClass.COMPUTE: 0, ReqClass.COMM: 0}
        self.pending = {}             # (kind, class) -> 1: last cycle's events, not yet counted
        self.starved = False

    def _count_pending(self):
        for (kind, cls), n in self.pending.items():
            counters = self.granted if kind == "granted" else self.stalled
            counters[cls] = (counters[cls] + n) & _MASK32
        self.pending = {}

    def settled(self):
        """``{"granted": {cls: n}, "stalled": {cls: n}}`` once the events seen so far are
        counted (what the counters read after two idle cycles)."""
        out = {"granted": dict(self.granted), "stalled": dict(self.stalled)}
        for (kind, cls), n in self.pending.items():
            out[kind][cls] = (out[kind][cls] + n) & _MASK32
        return out

    def decide(self, *, compute_valid, comm_valid, policy, threshold, starvation_limit, occupancy):
        """Class granted in the current state (None if none), and whether the grant is forced."""
        cv, mv = bool(compute_valid), bool(comm_valid)
        if self.skid is not None:
            return None, False
        policy = _policy(policy)
        if policy is ArbPolicy.COMPUTE_FIRST:
            grant = ReqClass.COMPUTE if cv else ReqClass.COMM if mv else None
            return grant, False
        if policy is ArbPolicy.T3_MCA:
            starving = mv and self.wait >= starvation_limit
            eligible = occupancy < threshold
            if starving:
                return ReqClass.COMM, cv or not eligible
            if cv:
                return ReqClass.COMPUTE, False
            if mv and eligible:
                return ReqClass.COMM, False
            return None, False
        # round robin
        if cv and mv:
            grant = ReqClass.COMM if self.last is ReqClass.COMPUTE else ReqClass.COMPUTE
        else:
            grant = ReqClass.COMPUTE if cv else ReqClass.COMM if mv else None
        return grant, False

    def step(self, *, compute_valid, compute_payload, comm_valid, comm_payload, out_ready,
             policy, threshold, starvation_limit, occupancy):
        """Advance one cycle; return the :class:`ArbiterOutputs` of this cycle."""
        cv, mv = bool(compute_valid), bool(comm_valid)
        grant, forced = self.decide(compute_valid=cv, comm_valid=mv, policy=policy,
                                    threshold=threshold, starvation_limit=starvation_limit,
                                    occupancy=occupancy)
        outputs = ArbiterOutputs(
            compute_ready=grant is ReqClass.COMPUTE,
            comm_ready=grant is ReqClass.COMM,
            out_valid=self.main is not None,
            out_payload=self.main,
            granted_compute=self.granted[ReqClass.COMPUTE],
            granted_comm=self.granted[ReqClass.COMM],
            stalled_compute=self.stalled[ReqClass.COMPUTE],
            stalled_comm=self.stalled[ReqClass.COMM],
            starved=self.starved,
        )

        # -- clock edge --
        new = None
        if grant is ReqClass.COMPUTE:
            new = _with_cls(compute_payload, ReqClass.COMPUTE)
        elif grant is ReqClass.COMM:
            new = _with_cls(comm_payload, ReqClass.COMM)
        popped = self.main is not None and bool(out_ready)
        if popped:
            if self.skid is not None:
                self.main, self.skid = self.skid, None
            else:
                self.main = new
        elif self.main is None:
            self.main = new
        elif new is not None:
            self.skid = new

        self._count_pending()
        for cls, valid in ((ReqClass.COMPUTE, cv), (ReqClass.COMM, mv)):
            if grant is cls:
                self.pending[("granted", cls)] = 1
            elif valid:
                self.pending[("stalled", cls)] = 1
        if grant is ReqClass.COMM or not mv:
            self.wait = 0
        else:
            self.wait = min(self.wait + 1, self.wait_max)
        if grant is not None:
            self.last = grant
        self.starved = forced
        return outputs

    def step_idle(self):
        """Advance one cycle in which neither input is valid and both output registers are
        empty: the same as :meth:`step` with ``compute_valid = comm_valid = False`` in that
        state (no grant, nothing on ``out``, no new events: the previous cycle's are counted,
        ``wait`` back to 0), without building the outputs. For cycle-level models that step many
        idle cycles."""
        if self.main is not None or self.skid is not None:
            raise ValueError("step_idle needs empty output registers; use step")
        self._count_pending()
        self.wait = 0
        self.starved = False

    def line_trace(self):
        """One-line dump of the state, for debugging."""
        return (f"main={'-' if self.main is None else 'V'} skid={'-' if self.skid is None else 'V'}"
                f" wait={self.wait} last={self.last.name}")
