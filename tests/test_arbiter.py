# amaranth: UnusedElaboratable=no
"""Amaranth-simulator unit tests of the memory-controller arbiter (hw/arbiter.py).

Every run drives both request ports from independent producer coroutines (random idle gaps, valid
held until ready), drains ``out`` from a consumer coroutine with random back-pressure, and records
every cycle's inputs and outputs from a monitor coroutine. The recorded trace is then checked
against the cycle-level reference ``sim/ref/arbiter.py`` and against properties computed here from
the trace alone (scoreboard, counters, policy invariants, starvation bound).

Set ``T3_WAVES=1`` to write a VCD per run into a temporary directory.
"""

import os
import random
import tempfile

import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from hw.arbiter import EXPORTS, Arbiter
from hw.params import ArbPolicy, MemOp, ReqClass, T3Params
from sim.ref.arbiter import ArbiterRef

PARAMS = T3Params()
LAYOUT = PARAMS.mem_request_layout
FIELDS = [name for name, _ in LAYOUT]
CLASSES = (ReqClass.COMPUTE, ReqClass.COMM)


def _as_dict(const):
    return {name: const[name] for name in FIELDS}


def _make_requests(rng, cls, n):
    """``n`` distinct requests; ``cls`` is randomised on input to check that it gets forced."""
    tag = 1 if cls is ReqClass.COMM else 2
    return [{
        "op": rng.choice(list(MemOp)),
        "cls": rng.choice(CLASSES),
        "tracked": rng.randrange(2),
        "addr": rng.randrange(1 << PARAMS.addr_width),
        "tile": rng.randrange(1 << PARAMS.tile_width),
        "data": (tag << 60) | (rng.randrange(1 << 40) << 16) | i,
    } for i in range(n)]


class Run:
    """One simulation: stimulus description in, per-cycle trace and handshakes out."""

    def __init__(self, *, seed, n_compute, n_comm, compute_idle, comm_idle, out_ready,
                 config, occupancy_max=64, limit_width=16, drain=3):
        """``*_idle``: probability of an idle cycle before each request (0: back to back);
        ``out_ready``: probability of out.ready per cycle; ``config(rng, cycle)``: dict with
        policy/threshold/starvation_limit/occupancy for that cycle."""
        self.rng = random.Random(seed)
        self.dut = Arbiter(PARAMS, occupancy_max=occupancy_max, limit_width=limit_width)
        self.limit_width = limit_width
        self.requests = {ReqClass.COMPUTE: _make_requests(self.rng, ReqClass.COMPUTE, n_compute),
                         ReqClass.COMM: _make_requests(self.rng, ReqClass.COMM, n_comm)}
        self.idle = {ReqClass.COMPUTE: compute_idle, ReqClass.COMM: comm_idle}
        self.p_ready = out_ready
        self.config = config
        self.drain = drain
        self.sent = {cls: [] for cls in CLASSES}
        self.received = []
        self.trace = []

    def _port(self, cls):
        return self.dut.compute if cls is ReqClass.COMPUTE else self.dut.comm

    def _producer(self, cls):
        async def producer(ctx):
            rng = random.Random(self.rng.random())
            port = self._port(cls)
            for req in self.requests[cls]:
                while rng.random() < self.idle[cls]:
                    await ctx.tick()
                ctx.set(port.valid, 1)
                ctx.set(port.payload, req)
                await ctx.tick().until(port.ready)
                self.sent[cls].append(req)
                ctx.set(port.valid, 0)
        return producer

    async def _consumer(self, ctx):
        rng = random.Random(self.rng.random())
        total = sum(len(r) for r in self.requests.values())
        out = self.dut.out
        max_cycles = 40 * total + 200
        for _ in range(max_cycles):
            if len(self.received) == total:
                break
            ctx.set(out.ready, rng.random() < self.p_ready)
            _, _, valid, ready, payload = await ctx.tick().sample(out.valid, out.ready,
                                                                   out.payload)
            if valid and ready:
                self.received.append(_as_dict(payload))
        assert len(self.received) == total, \
            f"only {len(self.received)} of {total} requests left in {max_cycles} cycles"
        ctx.set(out.ready, 1)
        for _ in range(self.drain):     # let the registered counters catch up
            await ctx.tick()

    async def _config(self, ctx):
        rng = random.Random(self.rng.random())
        cycle = 0
        while True:
            cfg = self.config(rng, cycle)
            ctx.set(self.dut.policy.as_value(), int(getattr(cfg["policy"], "value", cfg["policy"])))
            ctx.set(self.dut.threshold, cfg["threshold"])
            ctx.set(self.dut.starvation_limit, cfg["starvation_limit"])
            ctx.set(self.dut.occupancy, cfg["occupancy"])
            await ctx.tick()
            cycle += 1

    async def _monitor(self, ctx):
        d = self.dut
        names = ["compute_valid", "compute_payload", "compute_ready",
                 "comm_valid", "comm_payload", "comm_ready",
                 "out_valid", "out_payload", "out_ready",
                 "policy", "threshold", "starvation_limit", "occupancy",
                 "granted_compute", "granted_comm", "stalled_compute", "stalled_comm", "starved"]
        sigs = [d.compute.valid, d.compute.payload, d.compute.ready,
                d.comm.valid, d.comm.payload, d.comm.ready,
                d.out.valid, d.out.payload, d.out.ready,
                d.policy.as_value(), d.threshold, d.starvation_limit, d.occupancy,
                d.granted_compute, d.granted_comm, d.stalled_compute, d.stalled_comm, d.starved]
        async for _, _, *values in ctx.tick().sample(*sigs):
            rec = dict(zip(names, values))
            if rec["policy"] in {p.value for p in ArbPolicy}:
                rec["policy"] = ArbPolicy(rec["policy"])
            for key in ("compute_payload", "comm_payload", "out_payload"):
                rec[key] = _as_dict(rec[key])
            self.trace.append(rec)

    def run(self):
        sim = Simulator(self.dut)
        sim.add_clock(1e-8)
        for cls in CLASSES:
            sim.add_testbench(self._producer(cls))
        sim.add_testbench(self._consumer)
        sim.add_testbench(self._config, background=True)
        sim.add_testbench(self._monitor, background=True)
        if os.environ.get("T3_WAVES"):
            path = os.path.join(tempfile.mkdtemp(prefix="t3_arbiter_"), "arbiter.vcd")
            print("waves:", path)
            with sim.write_vcd(path):
                sim.run()
        else:
            sim.run()
        return self

    # -- checks over the trace ------------------------------------------------------------------
    def check_reference(self):
        """Every output, every cycle, equals the cycle-level reference's prediction."""
        ref = ArbiterRef(limit_width=self.limit_width)
        for cycle, rec in enumerate(self.trace):
            exp = ref.step(compute_valid=rec["compute_valid"],
                           compute_payload=rec["compute_payload"],
                           comm_valid=rec["comm_valid"], comm_payload=rec["comm_payload"],
                           out_ready=rec["out_ready"], policy=rec["policy"],
                           threshold=rec["threshold"],
                           starvation_limit=rec["starvation_limit"],
                           occupancy=rec["occupancy"])
            got = {
                "compute_ready": bool(rec["compute_ready"]), "comm_ready": bool(rec["comm_ready"]),
                "out_valid": bool(rec["out_valid"]),
                "out_payload": rec["out_payload"] if rec["out_valid"] else None,
                "granted_compute": rec["granted_compute"], "granted_comm": rec["granted_comm"],
                "stalled_compute": rec["stalled_compute"], "stalled_comm": rec["stalled_comm"],
                "starved": bool(rec["starved"]),
            }
            want = {k: getattr(exp, k) for k in got}
            assert got == want, f"cycle {cycle}: DUT {got} != reference {want}"

    def check_scoreboard(self):
        """Every request leaves exactly once, unchanged but for cls, in per-class order."""
        for cls in CLASSES:
            assert self.sent[cls] == self.requests[cls], f"{cls}: not every request was accepted"
            got = [r for r in self.received if r["data"] >> 60 == (1 if cls is ReqClass.COMM else 2)]
            assert got == [dict(r, cls=cls) for r in self.requests[cls]], f"{cls} scoreboard"
        assert len(self.received) == sum(len(r) for r in self.requests.values())

    def check_protocol(self):
        """At most one grant per cycle; out holds valid and payload until ready; grants only
        of valid requests."""
        prev = None
        for cycle, rec in enumerate(self.trace):
            assert not (rec["compute_ready"] and rec["comm_ready"]), f"cycle {cycle}: two grants"
            if prev is not None and prev["out_valid"] and not prev["out_ready"]:
                assert rec["out_valid"] and rec["out_payload"] == prev["out_payload"], \
                    f"cycle {cycle}: out changed while stalled"
            prev = rec

    def check_counters(self):
        """The DUT's counters equal the handshakes and stalls this test observed, two cycles
        later (a cycle's events are registered, then counted)."""
        obs = {"granted_compute": 0, "granted_comm": 0, "stalled_compute": 0, "stalled_comm": 0}
        last = []                                   # the events of the cycle before
        for cycle, rec in enumerate(self.trace):
            for key in obs:
                assert rec[key] == obs[key], f"cycle {cycle}: {key} {rec[key]} != {obs[key]}"
            for key in last:
                obs[key] += 1
            last = [f"granted_{cls}" if rec[f"{cls}_ready"] else f"stalled_{cls}"
                    for cls in ("compute", "comm") if rec[f"{cls}_valid"]]
        for key in last:
            obs[key] += 1
        assert obs["granted_compute"] == len(self.requests[ReqClass.COMPUTE])
        assert obs["granted_comm"] == len(self.requests[ReqClass.COMM])

    def comm_waits(self):
        """Per comm request: (cycles waited, of which cycles with no grant at all, the waited
        cycles all under T3_MCA, starvation limit at the grant)."""
        result, waited, blocked, all_t3 = [], 0, 0, True
        for rec in self.trace:
            if not rec["comm_valid"]:
                continue
            all_t3 &= rec["policy"] == ArbPolicy.T3_MCA
            if rec["comm_ready"]:
                result.append((waited, blocked, all_t3, rec["starvation_limit"]))
                waited, blocked, all_t3 = 0, 0, True
            else:
                waited += 1
                blocked += not rec["compute_ready"]
        return result

    def check_all(self):
        self.check_protocol()
        self.check_scoreboard()
        self.check_counters()
        self.check_reference()


def fixed(policy, *, threshold=32, limit=8, occupancy=None, occupancy_max=64):
    def config(rng, cycle):
        occ = rng.randrange(occupancy_max + 1) if occupancy is None else occupancy
        return {"policy": policy, "threshold": threshold, "starvation_limit": limit,
                "occupancy": occ}
    return config


# -- policies with random traffic ---------------------------------------------------------------

@pytest.mark.parametrize("policy", list(ArbPolicy))
@pytest.mark.parametrize("seed,idle,ready", [(1, 0.0, 1.0), (2, 0.3, 0.6), (3, 0.6, 0.3)])
def test_policy_random(policy, seed, idle, ready):
    run = Run(seed=seed, n_compute=80, n_comm=80, compute_idle=idle, comm_idle=idle,
              out_ready=ready, config=fixed(policy, limit=6)).run()
    run.check_all()


def test_round_robin_alternates():
    """Both classes always pending, out always ready: grants strictly alternate, compute first,
    one grant per cycle."""
    run = Run(seed=4, n_compute=40, n_comm=40, compute_idle=0, comm_idle=0, out_ready=1.0,
              config=fixed(ArbPolicy.ROUND_ROBIN)).run()
    run.check_all()
    grants = [("C" if r["compute_ready"] else "M") for r in run.trace
              if r["compute_ready"] or r["comm_ready"]]
    assert "".join(grants[:80]) == "CM" * 40
    first = next(i for i, r in enumerate(run.trace) if r["compute_ready"] or r["comm_ready"])
    assert all(r["compute_ready"] or r["comm_ready"] for r in run.trace[first:first + 80]), \
        "not one grant per cycle"


def test_full_throughput():
    """Out always ready and a request always pending: one grant and one out transfer per cycle."""
    run = Run(seed=5, n_compute=60, n_comm=60, compute_idle=0, comm_idle=0.5, out_ready=1.0,
              config=fixed(ArbPolicy.COMPUTE_FIRST)).run()
    run.check_all()
    # compute is pending in every one of the first 60 cycles (back to back, always granted)
    assert all(r["compute_ready"] for r in run.trace[:60])
    assert all(r["out_valid"] and r["out_ready"] for r in run.trace[1:61])


def test_compute_first_never_grants_comm_while_compute_pending():
    run = Run(seed=6, n_compute=120, n_comm=60, compute_idle=0.4, comm_idle=0.1, out_ready=0.7,
              config=fixed(ArbPolicy.COMPUTE_FIRST)).run()
    run.check_all()
    assert not any(r["comm_ready"] and r["compute_valid"] for r in run.trace)
    assert any(r["comm_ready"] for r in run.trace)


@pytest.mark.parametrize("limit", [0, 1, 5, 13])
def test_t3_mca_starvation_bound(limit):
    """Compute always pending, out always ready: a comm request waits exactly ``limit`` cycles
    (bound ``limit + 0``), each such grant is flagged on ``starved``; compute still gets the
    other cycles."""
    run = Run(seed=7 + limit, n_compute=400, n_comm=25, compute_idle=0, comm_idle=0.3,
              out_ready=1.0, config=fixed(ArbPolicy.T3_MCA, limit=limit)).run()
    run.check_all()
    # Only the comm requests granted while compute was still pending.
    last_compute = max(i for i, r in enumerate(run.trace) if r["compute_valid"])
    waits = run.comm_waits()
    comm_grants = [i for i, r in enumerate(run.trace) if r["comm_ready"]]
    assert len(waits) == 25 and all(i < last_compute for i in comm_grants)
    for waited, blocked, all_t3, _ in waits:
        assert all_t3 and blocked == 0
        assert waited == limit, f"waited {waited} cycles, limit {limit}"
    starved = sum(bool(r["starved"]) for r in run.trace)
    assert starved == 25


@pytest.mark.parametrize("seed", [8, 9])
def test_t3_mca_starvation_bound_with_stalls(seed):
    """With out back-pressure the bound is ``limit + B`` (B: cycles with no grant possible)."""
    limit = 4
    run = Run(seed=seed, n_compute=300, n_comm=30, compute_idle=0, comm_idle=0.3,
              out_ready=0.6, config=fixed(ArbPolicy.T3_MCA, limit=limit)).run()
    run.check_all()
    waits = run.comm_waits()
    assert len(waits) == 30
    assert max(w for w, _, _, _ in waits) > limit   # stalls really happened
    for waited, blocked, _, _ in waits:
        assert waited - blocked <= limit


def test_t3_mca_occupancy_threshold():
    """No compute traffic: comm flows only while occupancy < threshold, else after the limit."""
    limit = 10

    def config(rng, cycle):
        occ = 20 if (cycle // 37) % 2 else 5     # alternate below / above threshold 12
        return {"policy": ArbPolicy.T3_MCA, "threshold": 12, "starvation_limit": limit,
                "occupancy": occ}
    run = Run(seed=10, n_compute=0, n_comm=60, compute_idle=0, comm_idle=0.2, out_ready=0.8,
              config=config).run()
    run.check_all()
    # Below threshold a pending comm request is granted unless the output stage is full, which
    # needs out to have been stalled in the previous cycle.
    for prev, r in zip(run.trace, run.trace[1:]):
        if r["comm_valid"] and r["occupancy"] < r["threshold"] and not r["comm_ready"]:
            assert prev["out_valid"] and not prev["out_ready"]
    # A comm grant at occupancy >= threshold is always a starvation grant, flagged next cycle.
    for i, r in enumerate(run.trace[:-1]):
        forced = r["comm_ready"] and r["occupancy"] >= r["threshold"]
        assert bool(run.trace[i + 1]["starved"]) == forced
    assert any(r["comm_ready"] and r["occupancy"] >= 12 for r in run.trace)
    assert any(r["comm_ready"] and r["occupancy"] < 12 for r in run.trace)


def test_policy_change_at_run_time():
    """Policy, threshold, limit and occupancy all change at random times while traffic flows."""
    state = {"policy": ArbPolicy.ROUND_ROBIN, "threshold": 8, "starvation_limit": 3,
             "occupancy": 0}

    def config(rng, cycle):
        if rng.random() < 0.08:
            state["policy"] = rng.choice(list(ArbPolicy))
        if rng.random() < 0.05:
            state["threshold"] = rng.randrange(65)
            state["starvation_limit"] = rng.randrange(12)
        state["occupancy"] = max(0, min(64, state["occupancy"] + rng.choice((-3, -1, 0, 1, 3))))
        return dict(state)
    run = Run(seed=11, n_compute=200, n_comm=200, compute_idle=0.2, comm_idle=0.2,
              out_ready=0.75, config=config).run()
    run.check_all()
    used = {r["policy"] for r in run.trace if r["compute_ready"] or r["comm_ready"]}
    assert used == set(ArbPolicy)
    assert any(r["starved"] for r in run.trace)
    # Compute-first invariant holds in every cycle spent under COMPUTE_FIRST.
    assert not any(r["policy"] == ArbPolicy.COMPUTE_FIRST and r["comm_ready"]
                   and r["compute_valid"] for r in run.trace)


def test_undefined_policy_encoding_is_round_robin():
    run = Run(seed=12, n_compute=30, n_comm=30, compute_idle=0, comm_idle=0, out_ready=1.0,
              config=lambda rng, cycle: {"policy": 3, "threshold": 0, "starvation_limit": 100,
                                         "occupancy": 64}).run()
    run.check_all()
    grants = ["C" if r["compute_ready"] else "M" for r in run.trace
              if r["compute_ready"] or r["comm_ready"]]
    assert "".join(grants) == "CM" * 30


def test_small_limit_width_saturates():
    """limit_width=2: the wait counter saturates at 3; a limit of 3 is still reached."""
    run = Run(seed=13, n_compute=200, n_comm=20, compute_idle=0, comm_idle=0.3, out_ready=0.5,
              config=fixed(ArbPolicy.T3_MCA, limit=3), limit_width=2).run()
    run.check_all()
    assert all(w - b <= 3 for w, b, _, _ in run.comm_waits())


def test_reference_model_flags_wrong_rtl_behaviour():
    """The reference check can fail: a trace with a flipped ready is rejected."""
    run = Run(seed=14, n_compute=20, n_comm=20, compute_idle=0.2, comm_idle=0.2, out_ready=0.8,
              config=fixed(ArbPolicy.ROUND_ROBIN)).run()
    run.check_reference()
    idx = next(i for i, r in enumerate(run.trace) if r["compute_valid"] and r["comm_valid"])
    run.trace[idx]["compute_ready"] ^= 1
    run.trace[idx]["comm_ready"] ^= 1
    with pytest.raises(AssertionError):
        run.check_reference()


# -- elaboration --------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,exc", [
    ({"params": None}, TypeError),
    ({"occupancy_max": 0}, ValueError),
    ({"occupancy_max": 2.5}, TypeError),
    ({"limit_width": 0}, ValueError),
    ({"limit_width": 33}, ValueError),
    ({"limit_width": True}, TypeError),
])
def test_constructor_checks(kwargs, exc):
    params = kwargs.pop("params", PARAMS)
    with pytest.raises(exc, match=r"params|occupancy_max|limit_width"):
        Arbiter(params, **kwargs)


def test_verilog_export():
    for name, factory in EXPORTS.items():
        text = verilog.convert(factory(), name=name)
        assert f"module {name}" in text
    text = verilog.convert(Arbiter(T3Params(data_width=128), occupancy_max=255, limit_width=4),
                           name="arbiter_wide")
    assert "out__payload" in text
