"""cocotb bench of the memory-controller arbiter (``hw/arbiter.py``).

Every cycle the bench drives both request streams, ``out.ready`` and the run-time inputs (policy,
threshold, starvation limit, occupancy), and compares every output of the DUT (``compute.ready``,
``comm.ready``, ``out.valid``/``out.payload``, the four counters and ``starved``) with the
cycle-level reference :class:`sim.ref.arbiter.ArbiterRef`. A scoreboard checks independently that
every request leaves exactly once, per-class in order, with ``cls`` forced to its port's class, and
measures each comm request's wait to check the T3-MCA starvation bound
(``wait <= starvation_limit + B``, ``B`` = cycles of that wait with the skid register full;
the largest limit set during the wait when the limit changes).

Coverage (``build/coverage/arbiter_lw<limit_width>-<sim>.json``): per policy, grants of each class, conflicts won by
each class, T3-MCA starvation-forced grants and threshold hold-backs, skid-full cycles, and (narrow
wait counter) the saturated wait count.
"""

import random
from collections import deque

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.params import ArbPolicy, MemOp, ReqClass, T3Params
from sim.ref.arbiter import ArbiterRef
from tb.common.bench import bench_env, start_clock_reset
from tb.common.coverage import Coverage
from tb.common.stream import pack, unpack

TIMEOUT_US = 2000

POL = {ArbPolicy.ROUND_ROBIN: "rr", ArbPolicy.COMPUTE_FIRST: "cf", ArbPolicy.T3_MCA: "mca"}

ARB_CFG = bench_env("T3_ARB", {})
LIMIT_WIDTH = ARB_CFG.get("limit_width", 16)
COV = Coverage(f"arbiter_lw{LIMIT_WIDTH}", {
    **{f"{p}.{b}": 10 for p in ("rr", "cf", "mca")
       for b in ("grant_compute", "grant_comm", "conflict_compute_wins")},
    "rr.conflict_comm_wins": 10,
    "mca.conflict_comm_wins": 10,          # compute pending, comm starving
    "mca.starvation_forced": 10,
    "mca.threshold_holds_comm": 10,        # comm alone, occupancy >= threshold, not starving
    "mca.starvation_limit_0": 5,           # comm granted with limit 0 (absolute priority)
    "rr.undefined_encoding_grant": 5,      # policy encoding 3 behaves as round-robin
    "out.skid_full": 10,                   # a cycle with no grant possible (output stalled)
    "out.full_throughput_run_16": 5,       # 16 consecutive grants with out.ready high
    **({"wait.saturated": 5} if LIMIT_WIDTH <= 5 else {}),
})


class ArbiterTB:
    def __init__(self, dut):
        self.dut = dut
        cfg = ARB_CFG
        self.params = T3Params(**bench_env("T3_PARAMS", {}))
        self.layout = self.params.mem_request_layout
        self.limit_width = cfg.get("limit_width", 16)
        self.occ_max = cfg.get("occupancy_max", 64)
        self.ref = ArbiterRef(limit_width=self.limit_width)
        self.pending = {ReqClass.COMPUTE: deque(), ReqClass.COMM: deque()}
        self.sent = {ReqClass.COMPUTE: [], ReqClass.COMM: []}       # granted, in order
        self.received = []
        self.seq = 0
        self.cycle = 0
        self.comm_wait = 0          # cycles the current comm request has waited
        self.comm_blocked = 0       # of which the skid register was full
        self.wait_limit = 0         # largest starvation limit during the current wait
        self.max_excess = None      # max(wait - limit - blocked) over granted comm requests
        self.max_wait = 0
        self.run = 0
        self.mca_only = True        # the starvation bound is only claimed under a fixed T3-MCA
        # run-time inputs
        self.policy = ArbPolicy.ROUND_ROBIN.value
        self.threshold = 8
        self.limit = 64
        self.occupancy = 0
        self.out_ready = 1
        self.valid = {ReqClass.COMPUTE: 0, ReqClass.COMM: 0}
        for name in ("compute__valid", "comm__valid", "out__ready", "policy", "threshold",
                     "starvation_limit", "occupancy"):
            getattr(dut, name).value = 0
        dut.compute__payload.value = 0
        dut.comm__payload.value = 0

    async def start(self):
        await start_clock_reset(self.dut)

    def request(self, cls, rng):
        """A random request on port ``cls`` (its own ``cls`` field random: the arbiter forces it)."""
        self.seq += 1
        item = {"op": rng.choice(list(MemOp)), "cls": rng.choice(list(ReqClass)),
                "tracked": rng.randrange(2),
                "addr": rng.randrange(1 << self.params.addr_width),
                "tile": rng.randrange(1 << self.params.tile_width),
                "data": (rng.getrandbits(self.params.data_width - 24) << 24) | self.seq}
        self.pending[cls].append(item)

    async def cycle_step(self, out_ready=1):
        """Drive one cycle's inputs (at the falling edge), check the outputs against the reference,
        update the scoreboard at the rising edge."""
        dut, ref = self.dut, self.ref
        await FallingEdge(dut.clk)
        cv = bool(self.pending[ReqClass.COMPUTE])
        mv = bool(self.pending[ReqClass.COMM])
        cpay = self.pending[ReqClass.COMPUTE][0] if cv else None
        mpay = self.pending[ReqClass.COMM][0] if mv else None
        dut.compute__valid.value = int(cv)
        dut.comm__valid.value = int(mv)
        if cv:
            dut.compute__payload.value = pack(self.layout, cpay)
        if mv:
            dut.comm__payload.value = pack(self.layout, mpay)
        dut.out__ready.value = int(out_ready)
        dut.policy.value = self.policy
        dut.threshold.value = self.threshold
        dut.starvation_limit.value = self.limit
        dut.occupancy.value = self.occupancy
        await ReadOnly()

        kw = dict(policy=self.policy, threshold=self.threshold, starvation_limit=self.limit,
                  occupancy=self.occupancy)
        skid_full = ref.skid is not None
        wait_before = ref.wait
        grant, forced = ref.decide(compute_valid=cv, comm_valid=mv, **kw)
        exp = ref.step(compute_valid=cv, compute_payload=cpay or {}, comm_valid=mv,
                       comm_payload=mpay or {}, out_ready=out_ready, **kw)
        got_cr, got_mr = int(dut.compute__ready.value), int(dut.comm__ready.value)
        ctx = f"cycle {self.cycle} policy {self.policy} cv={cv} mv={mv} {ref.line_trace()}"
        assert got_cr == exp.compute_ready, f"compute.ready {got_cr} != {exp.compute_ready}: {ctx}"
        assert got_mr == exp.comm_ready, f"comm.ready {got_mr} != {exp.comm_ready}: {ctx}"
        assert int(dut.out__valid.value) == exp.out_valid, f"out.valid: {ctx}"
        if exp.out_valid:
            got = int(dut.out__payload.value)
            assert got == pack(self.layout, exp.out_payload), \
                f"out.payload {unpack(self.layout, got)} != {exp.out_payload}: {ctx}"
        for name in ("granted_compute", "granted_comm", "stalled_compute", "stalled_comm"):
            assert int(getattr(dut, name).value) == getattr(exp, name), f"{name}: {ctx}"
        assert int(dut.starved.value) == exp.starved, f"starved: {ctx}"

        # -- coverage -------------------------------------------------------------------------
        pol = ArbPolicy(self.policy) if self.policy in (0, 1, 2) else None
        tag = POL.get(pol, "rr")
        if grant is not None:
            COV.hit(f"{tag}.grant_{'compute' if grant is ReqClass.COMPUTE else 'comm'}")
            if pol is None:
                COV.hit("rr.undefined_encoding_grant")
            if cv and mv:
                COV.hit(f"{tag}.conflict_{'compute' if grant is ReqClass.COMPUTE else 'comm'}_wins")
            if forced:
                COV.hit("mca.starvation_forced")
            if pol is ArbPolicy.T3_MCA and grant is ReqClass.COMM and self.limit == 0:
                COV.hit("mca.starvation_limit_0")
        if pol is ArbPolicy.T3_MCA and mv and not cv and not skid_full \
                and self.occupancy >= self.threshold and wait_before < self.limit:
            COV.hit("mca.threshold_holds_comm")
        if skid_full:
            COV.hit("out.skid_full")
        if wait_before == ref.wait_max and LIMIT_WIDTH <= 5:
            COV.hit("wait.saturated")
        self.run = self.run + 1 if (grant is not None and out_ready) else 0
        if self.run == 16:
            COV.hit("out.full_throughput_run_16")

        # -- scoreboard (the transfers happen at the coming rising edge) ----------------------
        out_fire = exp.out_valid and out_ready
        out_item = unpack(self.layout, int(dut.out__payload.value)) if out_fire else None
        await RisingEdge(dut.clk)
        self.cycle += 1
        if out_item is not None:
            self.received.append(out_item)
        if mv:
            # the limit may change during a wait: the bound is the largest limit seen
            self.wait_limit = max(self.wait_limit, self.limit)
            self.comm_wait += 0 if grant is ReqClass.COMM else 1
            self.comm_blocked += int(skid_full and grant is not ReqClass.COMM)
        if grant is not None:
            item = self.pending[grant].popleft()
            self.sent[grant].append(item)
            if grant is ReqClass.COMM:
                if self.mca_only:
                    excess = self.comm_wait - self.wait_limit - self.comm_blocked
                    self.max_excess = excess if self.max_excess is None else max(self.max_excess,
                                                                                 excess)
                self.max_wait = max(self.max_wait, self.comm_wait)
                self.comm_wait = self.comm_blocked = self.wait_limit = 0

    async def drain(self, max_cycles=200):
        for _ in range(max_cycles):
            if not any(self.pending.values()) and self.ref.main is None:
                break
            await self.cycle_step(1)
        assert not any(self.pending.values()) and self.ref.main is None, "arbiter did not drain"

    def check_scoreboard(self):
        """Independent of the reference: every granted request out exactly once, per class in
        order, with its class forced."""
        per_class = {ReqClass.COMPUTE: [], ReqClass.COMM: []}
        for item in self.received:
            per_class[ReqClass(item["cls"])].append(item)
        for cls, sent in self.sent.items():
            exp = [pack(self.layout, dict(it, cls=cls)) for it in sent]
            got = [pack(self.layout, it) for it in per_class[cls]]
            assert got == exp, f"{cls.name}: {len(got)} out vs {len(exp)} granted, or reordered"
        seqs = [it["data"] & 0xFFFFFF for it in self.received]
        assert len(seqs) == len(set(seqs)), "a request left twice"


def traffic(tb, rng, *, p_compute, p_comm, burst=0.0):
    """Offer new requests with the given per-cycle probabilities (bursts of back-to-back ones)."""
    for cls, p in ((ReqClass.COMPUTE, p_compute), (ReqClass.COMM, p_comm)):
        if len(tb.pending[cls]) < 4 and rng.random() < p:
            tb.request(cls, rng)
            if rng.random() < burst:
                for _ in range(rng.randrange(1, 4)):
                    tb.request(cls, rng)


async def random_run(tb, rng, cycles, *, policies, p_stall, switch_every=None):
    for c in range(cycles):
        if c % 37 == 0 or (switch_every and c % switch_every == 0):
            tb.policy = rng.choice(policies)
            tb.threshold = rng.randrange(0, min(tb.occ_max, 16) + 1)
            tb.limit = min(rng.choice([0, 1, 2, 3, 5, 8, 12]), tb.ref.wait_max)
            p_c, p_m = rng.choice([(0.9, 0.9), (0.5, 0.5), (1.0, 0.3), (0.3, 1.0), (0.1, 0.1)])
        if c % 5 == 0:
            tb.occupancy = rng.randrange(0, min(tb.occ_max, 20) + 1)
        if switch_every and c % 300 == 150:
            # comm starved under COMPUTE_FIRST long enough to saturate a narrow wait counter,
            # then T3-MCA with the largest limit: the saturated count still triggers the grant
            tb.policy, p_c, p_m = ArbPolicy.COMPUTE_FIRST.value, 1.0, 1.0
            for _ in range(min(tb.ref.wait_max, 40) + 2):
                traffic(tb, rng, p_compute=1.0, p_comm=1.0)
                await tb.cycle_step(1)
            tb.policy, tb.limit = ArbPolicy.T3_MCA.value, tb.ref.wait_max
        traffic(tb, rng, p_compute=p_c, p_comm=p_m, burst=0.2)
        await tb.cycle_step(0 if rng.random() < p_stall else 1)
    await tb.drain()
    tb.check_scoreboard()
    COV.write()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(policy=[ArbPolicy.ROUND_ROBIN, ArbPolicy.COMPUTE_FIRST, ArbPolicy.T3_MCA],
                    p_stall=[0.0, 0.3])
async def random_traffic(dut, policy, p_stall):
    """One policy, random traffic on both classes, random occupancy/threshold/limit, random out
    stalls; cycle-exact against ArbiterRef and scoreboarded; T3-MCA starvation bound."""
    tb = ArbiterTB(dut)
    await tb.start()
    rng = random.Random(1000 + 10 * policy.value + int(p_stall * 10))
    await random_run(tb, rng, 1500, policies=[policy.value], p_stall=p_stall)
    assert sum(len(v) for v in tb.sent.values()) > 500
    if policy is ArbPolicy.T3_MCA:
        assert tb.max_excess is not None and tb.max_excess <= 0, \
            f"a comm request waited {tb.max_excess} cycles beyond starvation_limit + B"


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def policy_switching(dut):
    """Policy changed every few cycles (all four encodings, 3 = round-robin), with out stalls:
    the wait counter and the last-grant state carry across policies."""
    tb = ArbiterTB(dut)
    tb.mca_only = False
    await tb.start()
    rng = random.Random(77)
    await random_run(tb, rng, 1500, policies=[0, 1, 2, 3], p_stall=0.25, switch_every=7)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(limit=[0, 1, 4, 16], p_stall=[0.0, 0.4])
async def starvation_bound(dut, limit, p_stall):
    """T3-MCA with compute saturating the port (always valid) and comm never eligible
    (occupancy >= threshold): comm gets in only by starvation, after exactly ``limit`` cycles with
    out.ready high, and within ``limit + B`` with out stalls."""
    tb = ArbiterTB(dut)
    await tb.start()
    rng = random.Random(500 + limit)
    limit = min(limit, tb.ref.wait_max)
    tb.policy, tb.limit, tb.threshold, tb.occupancy = ArbPolicy.T3_MCA.value, limit, 4, \
        min(10, tb.occ_max)
    grants = 0
    for _ in range(400):
        for cls in ReqClass:
            if len(tb.pending[cls]) < 2:
                tb.request(cls, rng)
        await tb.cycle_step(0 if rng.random() < p_stall else 1)
    comm = len(tb.sent[ReqClass.COMM])
    await tb.drain()
    tb.check_scoreboard()
    COV.write()
    assert comm >= 400 // (limit + 2) // (2 if p_stall else 1) - 2, f"only {comm} comm grants"
    assert tb.max_excess <= 0, f"starvation bound exceeded by {tb.max_excess} cycles"
    if p_stall == 0.0:
        assert tb.max_wait == limit, f"max comm wait {tb.max_wait} != limit {limit} (no stalls)"
    else:
        for _ in range(2):              # the counters include a grant from two cycles after it
            await tb.cycle_step(1)
        assert int(dut.granted_comm.value) == len(tb.sent[ReqClass.COMM])
