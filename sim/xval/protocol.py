"""The ring bench's protocol, written once: address map, tile ids, DMA command table, arms, chunk order.

Read by the cocotb driver (``tb/ring/ring_bench.py``, which programs the RTL with it) and by the
cycle-level model (:mod:`sim.xval.model`, which interprets the same lists), so the two cannot
disagree on which chunk arrives when, which tile is armed with which threshold, or what a
doorbell sends where.

Per device ``g`` of an ``n``-device ring (chunk ``c``, tile ``t`` of a chunk, beat ``b``):

* output tile ``(c, t)``: beats at ``OUT_BASE + (c * tiles + t) * beats + b``, tracker/command
  index ``c * tiles + t``; staging tile: ``STAGE_BASE + ...``, index ``STAGE_TILE + c * tiles + t``;
  GEMM input reads of a tile: ``INPUT_BASE + (index * reads + i) % INPUT_SPAN``.
* ring reduce-scatter (sequential, Domino): at step ``k`` (1 .. n-1) device ``g`` receives chunk
  :meth:`RingProtocol.staging_chunk` ``(g - 1 - k) % n``; step 0 sends chunk ``g - 1``.
* T3: device ``g`` computes its chunks in the staggered order :meth:`RingProtocol.t3_chunk`
  ``(g - k) % n`` for ``k = 1 .. n``; the first is stored, the others are updates.
"""

from hw.params import Kind

__all__ = ["OUT_BASE", "STAGE_BASE", "INPUT_BASE", "INPUT_SPAN", "STAGE_TILE", "RingProtocol"]

OUT_BASE, STAGE_BASE, INPUT_BASE, INPUT_SPAN = 0, 1024, 2048, 1024
STAGE_TILE = 128


class RingProtocol:
    """The protocol of one ring workload (``devices``, ``tiles`` per chunk, ``beats`` per tile,
    ``reads`` GEMM input reads per tile). The address map defaults to the ring bench's
    (``OUT_BASE`` ...); another layout (e.g. the scale runs' larger memories) passes its own
    ``out_base``, ``stage_base``, ``input_base``, ``input_span`` and ``stage_tile`` (and the op
    field it writes in notifications, ``notify_op``)."""

    def __init__(self, devices, tiles, beats, reads, *, out_base=OUT_BASE, stage_base=STAGE_BASE,
                 input_base=INPUT_BASE, input_span=INPUT_SPAN, stage_tile=STAGE_TILE,
                 notify_op=Kind.UPDATE):
        for name, v in (("devices", devices), ("tiles", tiles), ("beats", beats)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        if devices * tiles > stage_tile:
            raise ValueError(f"devices x tiles = {devices * tiles} must be <= stage_tile = "
                             f"{stage_tile}")
        self.n, self.T, self.B, self.R = devices, tiles, beats, reads
        self.out_base, self.stage_base = out_base, stage_base
        self.input_base, self.input_span, self.stage_tile_base = input_base, input_span, stage_tile
        self.notify_op = notify_op          # the op field of a notification (moves no data)

    # -- addresses and ids --------------------------------------------------------------------
    def out_addr(self, c, t, b=0):
        return self.out_base + (c * self.T + t) * self.B + b

    def stage_addr(self, c, t, b=0):
        return self.stage_base + (c * self.T + t) * self.B + b

    def out_tile(self, c, t):
        return c * self.T + t

    def stage_tile(self, c, t):
        return self.stage_tile_base + c * self.T + t

    def input_addrs(self, c, t):
        """The GEMM's input reads for output tile ``(c, t)``."""
        return [self.input_base + (self.out_tile(c, t) * self.R + i) % self.input_span
                for i in range(self.R)]

    # -- chunk order --------------------------------------------------------------------------
    def staging_chunk(self, g, k):
        """The chunk arriving at device ``g`` at step ``k`` (1 .. n-1) of the ring reduce-scatter."""
        return (g - 1 - k) % self.n

    def first_chunk(self, g):
        """The chunk device ``g`` sends at step 0 of the ring reduce-scatter."""
        return (g - 1) % self.n

    def t3_chunk(self, g, k):
        """The ``k``-th chunk (1 .. n) device ``g`` computes in the T3 (staggered) order."""
        return (g - k) % self.n

    def slices(self, slices):
        """Domino's tile slices (``slices = 1``: sequential)."""
        T = self.T
        return [list(range(s * T // slices, (s + 1) * T // slices)) for s in range(slices)]

    # -- programming --------------------------------------------------------------------------
    def notification(self, g):
        return dict(src_addr=0, length=0, dst_dev=g, dst_addr=0, tile=0, op=self.notify_op)

    def commands(self, g, fused):
        """DMA command table of device ``g``: ``[(index, command)]``, a command a dict of
        ``src_addr, length, dst_dev, dst_addr, tile, op`` (:class:`hw.params.Kind`); length 0
        is a notification. ``fused``: the T3 modes, else the software reduce-scatter."""
        n, B, succ = self.n, self.B, (g + 1) % self.n
        out = []
        if not fused:
            for c in range(n):
                for t in range(self.T):
                    out.append((self.out_tile(c, t),
                                dict(src_addr=self.out_addr(c, t), length=B, dst_dev=succ,
                                     dst_addr=self.stage_addr(c, t), tile=self.stage_tile(c, t),
                                     op=Kind.STORE)))
                    out.append((self.stage_tile(c, t), self.notification(g)))
            return out
        for k in range(1, n + 1):
            c = self.t3_chunk(g, k)
            for t in range(self.T):
                if k < n:
                    out.append((self.out_tile(c, t),
                                dict(src_addr=self.out_addr(c, t), length=B, dst_dev=succ,
                                     dst_addr=self.out_addr(c, t), tile=self.out_tile(c, t),
                                     op=Kind.UPDATE)))
                else:
                    out.append((self.out_tile(c, t), self.notification(g)))
        return out

    def arms(self, g, fused, direct=False):
        """Tracker arms of device ``g`` before the measured start: ``[(tile, threshold)]``.
        Software RS: every staging tile it will receive (once each). T3: every output tile, the
        first chunk at ``beats`` (local store), the others at ``2 x beats`` (local + incoming).
        ``direct`` (T3 with the paper's step 1: the first chunk goes straight to the neighbour
        as remote updates): the first chunk is not stored here, so it is not armed."""
        n, B = self.n, self.B
        if not fused:
            return [(self.stage_tile(self.staging_chunk(g, k), t), B)
                    for k in range(1, n) for t in range(self.T)]
        return [(self.out_tile(self.t3_chunk(g, k), t), B if k == 1 else 2 * B)
                for k in range(2 if direct else 1, n + 1) for t in range(self.T)]

    def remote_header(self, g, c, t):
        """The link header of device ``g``'s direct step-1 packet of tile ``(c, t)``: what the
        DMA command of that tile would send (:meth:`commands`), sent by the GEMM instead."""
        return dict(dst_dev=(g + 1) % self.n, src_dev=g, op=Kind.UPDATE, length=self.B,
                    dst_addr=self.out_addr(c, t), tile=self.out_tile(c, t))
