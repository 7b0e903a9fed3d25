"""Memory-controller arbiter: compute and communication requests into one memory port."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .lib.skid import SkidBuffer
from .params import ArbPolicy, ReqClass, T3Params

__all__ = ["Arbiter"]


class Arbiter(wiring.Component):
    """Memory-controller arbiter between the compute and the communication request classes.

    Each cycle the arbiter grants at most one request, from ``compute`` or from ``comm``, and sends
    it to ``out`` with its ``cls`` field forced to the class of the port it came from; all other
    payload fields pass through unchanged. Requests of one class leave in the order they came in;
    none is dropped or duplicated.

    **Output stage.** ``out`` is driven by a two-entry skid buffer (:class:`hw.lib.skid.SkidBuffer`:
    a *main* register that drives ``out.valid``/``out.payload``, and a *skid* register). A grant is possible in a cycle iff the
    skid register is empty, a registered condition: there is no combinational path from
    ``out.ready`` to ``compute.ready``/``comm.ready``, nor from the inputs to ``out``. While
    ``out.ready`` stays high the skid register stays empty and one request is granted per cycle
    (full throughput); a request granted in cycle *t* is on ``out`` from cycle *t + 1*. When
    ``out`` stalls, the first grant after it goes into the skid register and grants pause until
    it drains.

    **Grant decision** (in a cycle where a grant is possible; ``cv``/``mv`` are
    ``compute.valid``/``comm.valid``). ``compute.ready``/``comm.ready`` are combinational
    functions of both ``valid`` signals and of the run-time inputs (a ready depends on valid,
    never the other way round):

    * :attr:`ArbPolicy.ROUND_ROBIN` (and the undefined encoding 3): a lone pending class is
      granted; when both are pending, the class *not* granted by the most recent grant (made under
      any policy) wins. After reset the most recent grant counts as COMM.
    * :attr:`ArbPolicy.COMPUTE_FIRST`: compute whenever ``cv``; comm only when ``mv and not cv``.
    * :attr:`ArbPolicy.T3_MCA`: let ``starving = mv and wait >= starvation_limit``. If
      ``starving``, comm is granted (even over compute). Otherwise compute is granted if ``cv``;
      otherwise comm is granted if ``mv and occupancy < threshold``; otherwise nothing.

    **Wait counter** (``limit_width`` bits, saturating at ``2**limit_width - 1``, reset 0): at each
    clock edge it becomes 0 if comm was granted or ``comm.valid`` was low in that cycle, and is
    incremented otherwise. It therefore equals the number of cycles the current comm request has
    been valid and not granted. It runs under every policy. Consequence (starvation bound): under
    ``T3_MCA`` a comm request is granted at the latest in the first cycle where ``wait`` has
    reached ``starvation_limit`` and a grant is possible, i.e. it waits at most
    ``starvation_limit + B`` cycles, where ``B`` is the number of cycles in that interval in which
    the skid register was full (``B = 0`` while ``out.ready`` is held high). With
    ``starvation_limit = 0`` comm has absolute priority.

    Parameters
    ----------
    params : T3Params
        Unit parameters; the payload of the three streams is ``params.mem_request_layout``.
    occupancy_max : int
        Largest value of ``occupancy`` and ``threshold`` (>= 1). Default 64.
    limit_width : int
        Width of ``starvation_limit`` and of the wait counter, in [1, 32]. Default 16.

    Attributes
    ----------
    compute : In(stream.Signature(params.mem_request_layout))
        Compute-side requests (GEMM stores, updates, reads). ``ready`` is combinational from
        ``compute.valid``, ``comm.valid`` and the run-time inputs, and from registered state.
    comm : In(stream.Signature(params.mem_request_layout))
        Communication-side requests (DMA reads, link-received writes); same timing as ``compute``.
    out : Out(stream.Signature(params.mem_request_layout))
        Granted requests, one cycle after the grant at the earliest; ``valid`` and ``payload``
        come straight from flops.
    policy : In(ArbPolicy)
        Arbitration policy, sampled every cycle (may change at any time).
    threshold : In(range(occupancy_max + 1))
        T3-MCA: comm is eligible (without starvation) only while ``occupancy < threshold``.
        Sampled every cycle.
    starvation_limit : In(limit_width)
        T3-MCA: a comm request that has waited ``>= starvation_limit`` cycles wins. Sampled every
        cycle.
    occupancy : In(range(occupancy_max + 1))
        The memory model's count of requests in flight. Sampled every cycle.
    granted_compute, granted_comm : Out(32)
        Grants per class. 32-bit wrapping counters, reset 0; a grant in cycle *t* is counted from
        cycle *t + 2* (the events are registered before they are counted, which keeps the grant
        logic off the counters' carry chains).
    stalled_compute, stalled_comm : Out(32)
        Cycles in which the class had a valid request that was not granted (for any reason,
        output back-pressure included). 32-bit wrapping, reset 0, two cycles of delay as above.
    starved : Out(1)
        High for one cycle, the cycle after a grant forced by the starvation limit: a comm grant
        under T3-MCA with ``starving`` true where the ordinary rule would not have granted comm
        (compute was pending, or ``occupancy >= threshold``).
    """

    def __init__(self, params, *, occupancy_max=64, limit_width=16):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        for name, value, lo, hi in (("occupancy_max", occupancy_max, 1, None),
                                    ("limit_width", limit_width, 1, 32)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an integer, not {value!r}")
            if value < lo or (hi is not None and value > hi):
                rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
                raise ValueError(f"{name} must be {rng}, not {value}")
        self._params = params
        self._occupancy_max = occupancy_max
        self._limit_width = limit_width
        layout = params.mem_request_layout
        super().__init__({
            "compute":          In(stream.Signature(layout)),
            "comm":             In(stream.Signature(layout)),
            "out":              Out(stream.Signature(layout)),
            "policy":           In(ArbPolicy),
            "threshold":        In(range(occupancy_max + 1)),
            "starvation_limit": In(limit_width),
            "occupancy":        In(range(occupancy_max + 1)),
            "granted_compute":  Out(32),
            "granted_comm":     Out(32),
            "stalled_compute":  Out(32),
            "stalled_comm":     Out(32),
            "starved":          Out(1),
        })

    @property
    def params(self):
        return self._params

    @property
    def occupancy_max(self):
        return self._occupancy_max

    @property
    def limit_width(self):
        return self._limit_width

    def elaborate(self, platform):
        m = Module()
        layout = self._params.mem_request_layout

        m.submodules.out_buf = buf = SkidBuffer(layout)     # the output stage
        wiring.connect(m, buf.o, wiring.flipped(self.out))
        wait       = Signal(self._limit_width)
        last_comm  = Signal(init=1)   # the most recent grant was COMM (reset: compute wins first)

        cv = self.compute.valid
        mv = self.comm.valid
        can_grant = buf.i.ready
        starving  = mv & (wait >= self.starvation_limit)
        eligible  = self.occupancy < self.threshold

        grant_c = Signal()
        grant_m = Signal()
        with m.If(can_grant):
            with m.Switch(self.policy):
                with m.Case(ArbPolicy.COMPUTE_FIRST):
                    m.d.comb += [grant_c.eq(cv), grant_m.eq(mv & ~cv)]
                with m.Case(ArbPolicy.T3_MCA):
                    m.d.comb += [
                        grant_m.eq(starving | (mv & ~cv & eligible)),
                        grant_c.eq(cv & ~starving),
                    ]
                with m.Default():   # ROUND_ROBIN and the undefined encoding
                    m.d.comb += [
                        grant_c.eq(cv & (~mv | last_comm)),
                        grant_m.eq(mv & (~cv | ~last_comm)),
                    ]
        granted = grant_c | grant_m
        m.d.comb += [
            self.compute.ready.eq(grant_c),
            self.comm.ready.eq(grant_m),
        ]

        # Request entering the output stage: the granted payload with its class forced.
        m.d.comb += [
            buf.i.valid.eq(granted),
            buf.i.payload.eq(Mux(grant_m, self.comm.payload, self.compute.payload)),
            buf.i.payload.cls.eq(Mux(grant_m, ReqClass.COMM, ReqClass.COMPUTE)),
        ]

        # Starvation wait counter.
        with m.If(grant_m | ~mv):
            m.d.sync += wait.eq(0)
        with m.Elif(wait != (1 << self._limit_width) - 1):
            m.d.sync += wait.eq(wait + 1)
        with m.If(granted):
            m.d.sync += last_comm.eq(grant_m)

        # Statistics (32-bit, wrapping). A cycle's events are registered first and counted at the
        # next edge, so the grant decision does not also drive the counters' carry chains.
        ev_gc, ev_gm, ev_sc, ev_sm = (Signal(name=f"ev_{n}") for n in ("gc", "gm", "sc", "sm"))
        m.d.sync += [
            ev_gc.eq(grant_c), ev_gm.eq(grant_m),
            ev_sc.eq(cv & ~grant_c), ev_sm.eq(mv & ~grant_m),
            self.granted_compute.eq(self.granted_compute + ev_gc),
            self.granted_comm.eq(self.granted_comm + ev_gm),
            self.stalled_compute.eq(self.stalled_compute + ev_sc),
            self.stalled_comm.eq(self.stalled_comm + ev_sm),
            self.starved.eq((self.policy == ArbPolicy.T3_MCA) & grant_m & starving
                            & (cv | ~eligible)),
        ]
        return m


EXPORTS = {
    "arbiter": lambda: Arbiter(T3Params()),
}
