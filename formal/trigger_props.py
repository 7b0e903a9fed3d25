"""Properties of the DMA command table and ready-command queue (:mod:`hw.trigger`).

Small instance: ``tracker_entries=4`` (4 table entries), 9-bit commands, ``queue_depth=3``. The
table and the queue storage are built from flip-flops (:class:`formal.common.FlopMemory`, same
port semantics as ``lib.memory``) so that the harness can relate them to its reference model.

Reference model in the harness: a shadow command table (written by ``cmd_write``), a shadow
lookup stage (the entry a request sees: the table at the end of its accept cycle, so a same-cycle
``cmd_write`` is seen) and a shadow queue of ready commands. Nothing is assumed about the
environment: ``fire``, ``doorbell``, ``cmd_write`` and ``cmd.ready`` are free in every cycle.
Larger instance proven too: 8 entries, default widths (53-bit commands), ``queue_depth=4``.

* ``trigger.lookup_once``: every accepted fire/doorbell is resolved exactly once: it pushes
  exactly the command of the looked-up entry (when valid) or raises ``err_no_command`` (when
  not), and is never overwritten by a later request (no drop).
* ``trigger.issue_in_order``: every ready command is issued on ``cmd`` exactly once, in order,
  unchanged; ``queue_level`` equals the number of ready commands not yet issued; ``cmd`` holds
  its payload while stalled.
* ``trigger.full_backpressure``: while the queue is full and a lookup is waiting, ``fire.ready``
  and ``doorbell.ready`` are low, and nothing is pushed into a full queue.
"""

from amaranth.hdl import Assert, Cover, Mux, Signal, Value
from amaranth.lib import data

from hw.params import T3Params

from .common import (FlopMemory, Flatten, Harness, drive_inputs, flop_memories, flop_queue_class,
                     internals, load_design, block_jobs)

PARAMS = T3Params(data_width=32, addr_width=2, tile_width=2, tracker_entries=4, count_width=2,
                  len_width=1, dev_width=1)
DEPTH = 3
MUTANT_DEPTH = 12
PROPS = ("lookup_once", "issue_in_order", "full_backpressure")


class TriggerHarness(Harness):
    def __init__(self, prop, mutations=(), params=PARAMS, queue_depth=DEPTH):
        super().__init__()
        assert prop in PROPS
        self.prop = prop
        self.params, self.depth = params, queue_depth
        self.queue_cls = flop_queue_class()
        self.mod = load_design("trigger", mutations, {"Memory": FlopMemory, "Queue": self.queue_cls})

    def elaborate(self, platform):
        m = self.top_module()
        p = self.params
        dut = self.mod.Trigger(p, queue_depth=self.depth)
        with flop_memories() as mems:
            flat = Flatten(dut)
        m.submodules.dut = flat
        table, storage = mems
        (queue,) = self.queue_cls.made
        assert storage is queue.storage
        st = internals(flat.frag)
        drive_inputs(m, dut)
        n = p.tracker_entries
        cmd_layout = p.dma_command_layout
        entry_layout = data.StructLayout({"valid": 1, "command": cmd_layout})
        V = Value.cast

        # no assumption on the environment: fire/doorbell/cmd_write/cmd.ready are free

        # -- shadow table
        T = [Signal(entry_layout, name=f"T{i}") for i in range(n)]
        T_next = [Signal(entry_layout, name=f"Tn{i}") for i in range(n)]
        cw = dut.cmd_write
        for i in range(n):
            m.d.comb += T_next[i].eq(T[i])
            with m.If(cw.valid & (cw.payload.index == i)):
                m.d.comb += [T_next[i].valid.eq(cw.payload.valid),
                             T_next[i].command.eq(cw.payload.command)]
            m.d.sync += T[i].eq(T_next[i])
            m.d.comb += Assert(V(T[i]) == V(table.rows[i]))

        # -- shadow lookup stage
        acc_f = dut.fire.valid & dut.fire.ready
        acc_d = dut.doorbell.valid & dut.doorbell.ready
        acc = acc_f | acc_d
        idx = Signal(p.index_width)
        m.d.comb += idx.eq(Mux(acc_f, dut.fire.payload.tile[:p.index_width],
                               dut.doorbell.payload.index))
        g_valid = Signal()
        g_entry = Signal(entry_layout)
        looked = Signal(entry_layout)
        with m.Switch(idx):
            for i in range(n):
                with m.Case(i):
                    m.d.comb += looked.eq(T_next[i])
        q_wdata = queue.w.payload
        pushed = queue.w.valid & queue.w.ready
        resolve = st["s1_done"]
        err_due = Signal()
        m.d.sync += err_due.eq(resolve & ~g_entry.valid)
        with m.If(acc):
            m.d.sync += [g_valid.eq(1), g_entry.eq(looked)]
        with m.Elif(resolve):
            m.d.sync += g_valid.eq(0)
        m.d.comb += [
            Assert(~(acc_f & acc_d)),
            Assert(st["s1_valid"] == g_valid),
            Assert(~g_valid | (V(table.rports[0].data) == V(g_entry))),
        ]
        if self.prop == "lookup_once":
            m.d.comb += [
                # a request is accepted only into an empty stage or one resolving this cycle
                Assert(~(acc & g_valid & ~resolve)),
                # a resolution pushes exactly the looked-up command iff the entry is valid
                Assert(pushed == (resolve & g_entry.valid)),
                Assert(~pushed | (V(q_wdata) == V(g_entry.command))),
                Assert(dut.err_no_command == err_due),
                Cover(acc & g_valid & resolve & g_entry.valid),
                Cover(err_due),
            ]

        # -- shadow queue of ready commands
        sq = [Signal(cmd_layout, name=f"sq{i}") for i in range(self.depth)]
        cnt = Signal(range(self.depth + 2))
        pop = dut.cmd.valid & dut.cmd.ready
        wpos = Signal(range(self.depth + 2))
        m.d.comb += wpos.eq(cnt - pop)
        with m.If(pop):
            for i in range(self.depth - 1):
                m.d.sync += sq[i].eq(sq[i + 1])
        for i in range(self.depth):
            with m.If(pushed & (wpos == i)):
                m.d.sync += sq[i].eq(q_wdata)
        m.d.sync += cnt.eq(cnt + pushed - pop)
        # queue internals: output register (the storage read port) + inner storage ring
        r_rdy = queue.r.valid
        inner_level = queue.inner_level
        consume = queue.consume
        inner_depth = self.depth - 1
        m.d.comb += [
            Assert(cnt <= self.depth),
            Assert(cnt == inner_level + r_rdy),
            Assert(consume < inner_depth),
            Assert(queue.produce < inner_depth),
            Assert(queue.produce == Mux(consume + inner_level >= inner_depth,
                                        consume + inner_level - inner_depth,
                                        consume + inner_level)),
            Assert(~r_rdy | (V(dut.cmd.payload) == V(sq[0]))),
        ]
        for k in range(inner_depth):
            pos = Signal(range(inner_depth), name=f"pos{k}")
            m.d.comb += pos.eq(Mux(consume + k >= inner_depth, consume + k - inner_depth,
                                   consume + k))
            row = Signal(cmd_layout, name=f"inner{k}")
            with m.Switch(pos):
                for i in range(inner_depth):
                    with m.Case(i):
                        m.d.comb += row.eq(storage.rows[i])
            want = Signal(cmd_layout, name=f"want{k}")
            m.d.comb += want.eq(Mux(r_rdy, V(sq[k + 1]), V(sq[k])))
            with m.If(k < inner_level):
                m.d.comb += Assert(V(row) == V(want))
        if self.prop == "issue_in_order":
            prev_stall, prev_payload = Signal(), Signal(cmd_layout)
            m.d.sync += [prev_stall.eq(dut.cmd.valid & ~dut.cmd.ready),
                         prev_payload.eq(dut.cmd.payload)]
            m.d.comb += [
                Assert(dut.queue_level == cnt),
                Assert(~dut.cmd.valid | (V(dut.cmd.payload) == V(sq[0]))),
                Assert(~prev_stall | (dut.cmd.valid & (V(dut.cmd.payload) == V(prev_payload)))),
                Cover((cnt == self.depth) & pop),
            ]
        if self.prop == "full_backpressure":
            full = dut.queue_level == self.depth
            m.d.comb += [
                Assert(~(full & g_valid & ~pop) | ~(dut.fire.ready | dut.doorbell.ready)
                       | resolve),
                Assert(~(pushed & (cnt == self.depth) & ~pop)),
                Assert(~(full & g_valid & ~pop) | ~resolve | ~g_entry.valid),
                Cover(full & g_valid & dut.fire.valid & ~dut.fire.ready),
            ]
        return m


MUTANTS = {
    # stage 0 accepts even while stage 1 waits on a full queue: the waiting lookup is overwritten
    "drops_when_full": ("lookup_once",
                        [("m.d.comb += can_accept.eq(~s1_valid | queue.w.ready)",
                          "m.d.comb += can_accept.eq(1)")]),
    # the same, checked against the back-pressure property
    "accepts_when_full": ("full_backpressure",
                          [("m.d.comb += can_accept.eq(~s1_valid | queue.w.ready)",
                            "m.d.comb += can_accept.eq(1)")]),
    # the queue is popped without a cmd handshake (a command is lost)
    "pops_without_ready": ("issue_in_order",
                           [("wiring.connect(m, queue.r, wiring.flipped(self.cmd))",
                             "m.d.comb += [self.cmd.valid.eq(queue.r.valid), "
                             "self.cmd.payload.eq(queue.r.payload), queue.r.ready.eq(1)]")]),
    # a fire looks up the wrong entry (index off by one)
    "wrong_entry": ("lookup_once",
                    [("rd.addr.eq(self.fire.payload.tile[:p.index_width])",
                      "rd.addr.eq(self.fire.payload.tile[:p.index_width] + 1)")]),
}


#: Larger instance proven too: 8 entries, default widths (53-bit commands), queue depth 4.
LARGE_LABEL = "e8q4"
LARGE = dict(params=T3Params(tracker_entries=8), queue_depth=4)


def jobs():
    return block_jobs("trigger", TriggerHarness, PROPS, MUTANTS, prove_depth=3, cover_depth=12,
                      mutant_depth=MUTANT_DEPTH, large=LARGE, large_label=LARGE_LABEL)
