"""Functional (transaction-level) reference model of the T3 tracker.

Written from the tracker's specification, not from its RTL: the benches feed it the ``arm`` and
``track`` transfers in the order the RTL accepted them and compare what it predicts (fires in
order, error events, counters) with what the RTL did.

Rules: an arm with threshold 0 is refused (``bad_arm``); an arm of a tile that is already armed
is refused (``collision``); an arm whose entry (``tile % entries``) holds another tile *waits*:
it is parked (one at a time: the tracker accepts no arm while one is parked) and installed, with
count 0, by the track that completes the entry's tile (the table-full fallback, counted in
``arm_waits``). A track counts on its tile if the tile is armed, else it is ``unarmed``; the
track that brings the count to the threshold fires the tile once and frees the entry.
"""

from dataclasses import dataclass, field

__all__ = ["TrackerRef", "TrackerEvent"]


@dataclass
class TrackerEvent:
    """What one accepted transfer did: ``kind`` in {"armed", "waiting", "collision", "bad_arm",
    "counted", "unarmed"}, plus the tile fired by it (or ``None``), whether it overshot, and the
    parked tile it installed (or ``None``)."""
    kind: str
    fired: int | None = None
    overshoot: bool = False
    installed: int | None = None


@dataclass
class TrackerRef:
    entries: int = 256
    count_width: int = 16
    table: dict = field(default_factory=dict)   # index -> [tile, count, threshold]
    parked: tuple | None = None                  # (tile, threshold) of the waiting arm
    fires: list = field(default_factory=list)
    counters: dict = field(default_factory=lambda: dict(tracked=0, fires=0, arms=0, unarmed=0,
                                                        arm_waits=0))
    errors: dict = field(default_factory=lambda: dict(unarmed=0, collision=0, overshoot=0, bad_arm=0))

    def arm(self, tile, threshold):
        if self.parked is not None:
            raise AssertionError(f"arm of tile {tile} accepted while tile {self.parked[0]} is "
                                 "parked: the tracker must hold arm.ready low")
        idx = tile % self.entries
        if threshold == 0:
            self.errors["bad_arm"] += 1
            return TrackerEvent("bad_arm")
        entry = self.table.get(idx)
        if entry is not None and entry[0] == tile:
            self.errors["collision"] += 1
            return TrackerEvent("collision")
        if entry is not None:
            self.parked = (tile, threshold)
            self.counters["arm_waits"] += 1
            return TrackerEvent("waiting")
        self.table[idx] = [tile, 0, threshold]
        self.counters["arms"] += 1
        return TrackerEvent("armed")

    def track(self, tile, beats):
        idx = tile % self.entries
        entry = self.table.get(idx)
        if entry is None or entry[0] != tile:
            self.errors["unarmed"] += 1
            self.counters["unarmed"] += 1
            return TrackerEvent("unarmed")
        entry[1] += beats
        self.counters["tracked"] += beats
        if entry[1] >= entry[2]:
            over = entry[1] > entry[2]
            if over:
                self.errors["overshoot"] += 1
            del self.table[idx]
            self.fires.append(tile)
            self.counters["fires"] += 1
            installed = None
            if self.parked is not None and self.parked[0] % self.entries == idx:
                installed, thr = self.parked
                self.parked = None
                self.table[idx] = [installed, 0, thr]
                self.counters["arms"] += 1
            return TrackerEvent("counted", fired=tile, overshoot=over, installed=installed)
        return TrackerEvent("counted")

    @property
    def pending(self):
        return len(self.table)
