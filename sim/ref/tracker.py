"""Functional (transaction-level) reference model of the T3 tracker.

Written from the tracker's specification, not from its RTL: the benches feed it the ``arm`` and
``track`` transfers in the order the RTL accepted them and compare what it predicts (fires in
order, error events, counters) with what the RTL did.
"""

from dataclasses import dataclass, field

__all__ = ["TrackerRef", "TrackerEvent"]


@dataclass
class TrackerEvent:
    """What one accepted transfer did: ``kind`` in {"armed", "collision", "bad_arm", "counted",
    "unarmed"}, plus the tile fired by it (or ``None``) and whether it overshot."""
    kind: str
    fired: int | None = None
    overshoot: bool = False


@dataclass
class TrackerRef:
    entries: int = 256
    count_width: int = 16
    table: dict = field(default_factory=dict)   # index -> [tile, count, threshold]
    fires: list = field(default_factory=list)
    counters: dict = field(default_factory=lambda: dict(tracked=0, fires=0, arms=0, unarmed=0))
    errors: dict = field(default_factory=lambda: dict(unarmed=0, collision=0, overshoot=0, bad_arm=0))

    def arm(self, tile, threshold):
        idx = tile % self.entries
        if idx in self.table:
            self.errors["collision"] += 1
            return TrackerEvent("collision")
        if threshold == 0:
            self.errors["bad_arm"] += 1
            return TrackerEvent("bad_arm")
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
            return TrackerEvent("counted", fired=tile, overshoot=over)
        return TrackerEvent("counted")

    @property
    def pending(self):
        return len(self.table)
