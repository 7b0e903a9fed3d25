"""Pure-Python checks of the scale path: the scenario format, the programming list, the start
skews and the expected checksums (against a plain-loop reference of the producer's data
definition)."""

import pytest

from hw import regmap
from hw.params import T3Params
from hw.producer import M32, Producer, build_map, partial_word
from sim import scale as sc
from sim.xval.scenario import ScenarioError

BASE = {
    "devices": 3, "tiles": 2, "beats": 4, "reads": 2, "compute": 4, "slices": 2,
    "memory": {"latency": 4}, "link": {"latency": 8, "bandwidth": [1, 1]},
    "policy": {"mca_threshold": 4, "mca_starvation": 32},
    "hardware": {"data_width": 64, "addr_width": 7, "tracker_entries": 16, "len_width": 8,
                 "input_window": 16, "seed": 7},
}


def with_(**kw):
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for k, v in kw.items():
        if k in d and isinstance(d[k], dict):
            d[k].update(v)
        else:
            d[k] = v
    return d


def reference_checksum(s, g):
    """Plain loops: chunk g's reduced lanes in address order, then Fletcher S1/S2."""
    lanes = s.data_width // 32
    s1 = s2 = 0
    for beat in range(g * s.tiles * s.beats, (g + 1) * s.tiles * s.beats):
        for j in range(lanes):
            w = sum(partial_word(s.seed, h, beat, j) for h in range(s.devices)) & M32
            s1 = (s1 + w) & M32
            s2 = (s2 + s1) & M32
    return s1, s2


@pytest.mark.parametrize("dw", [64, 128])
def test_expected_matches_plain_loops(dw):
    s = sc.from_dict(with_(hardware={"data_width": dw}))
    assert sc.expected(s) == [reference_checksum(s, g) for g in range(s.devices)]


def test_expected_depends_on_seed_and_device():
    a = sc.expected(sc.from_dict(BASE))
    b = sc.expected(sc.from_dict(with_(hardware={"seed": 8})))
    assert a != b and len(set(a)) == len(a)


@pytest.mark.parametrize("change, field", [
    (dict(hardware={"addr_width": 5}), "hardware.addr_width"),
    (dict(slices=3), "slices"),
    (dict(beats=300), "beats"),
    (dict(hardware={"input_window": 12}), "hardware.input_window"),
    (dict(hardware={"bogus": 1}), "hardware.bogus"),
    (dict(chunks=4), "chunks"),
    (dict(direct=1), "direct"),
    (dict(direct="true"), "direct"),
])
def test_bad_scenarios_name_the_field(change, field):
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        sc.from_dict(with_(**change))


def test_overcommitted_tracker_is_a_warning():
    s = sc.from_dict(with_(tiles=4, hardware={"tracker_entries": 16, "addr_width": 8}))
    assert s.warnings and "16 tracker" in s.warnings[0]


def test_plan_uses_the_register_maps():
    s = sc.from_dict(BASE)
    U, P = regmap.build(s.params), build_map(s.params)
    n, T, B = s.devices, s.tiles, s.beats
    t3 = sc.plan(s, "t3")
    arms = [v for tgt, off, v in t3[0] if tgt == "u" and off == U["ARM"].offset]
    assert len(arms) == n * T
    thresholds = sorted(U["ARM"].decode(v)["threshold"] for v in arms)
    assert thresholds == [B] * T + [2 * B] * (n - 1) * T
    seq = sc.plan(s, "sequential")
    commits = [v for tgt, off, v in seq[1] if tgt == "u" and off == U["CMD_COMMIT"].offset]
    assert len(commits) == 2 * n * T                 # output tiles + staging notifications
    mode = [v for tgt, off, v in sc.plan(s, "domino")[2] if tgt == "p" and off == P["MODE"].offset]
    assert mode == [1]
    with pytest.raises(ValueError, match="mode"):
        sc.plan(s, "ring")


def test_direct_plan_arms_no_step1_tile():
    # the paper's step 1 (direct): T3's first chunk (g-1) goes to the neighbour as remote
    # updates, so it is not armed here, and MODE.direct is set; the software modes are untouched
    stored, direct = sc.from_dict(BASE), sc.from_dict(with_(direct=True))
    assert not stored.direct and direct.direct
    U, P = regmap.build(direct.params), build_map(direct.params)
    n, T, B = direct.devices, direct.tiles, direct.beats
    for mode in ("t3", "t3-mca"):
        for g, writes in enumerate(sc.plan(direct, mode)):
            arms = [U["ARM"].decode(v) for tgt, off, v in writes
                    if tgt == "u" and off == U["ARM"].offset]
            first = {((g - 1) % n) * T + t for t in range(T)}
            assert len(arms) == (n - 1) * T and not first & {a["tile"] for a in arms}
            assert {a["threshold"] for a in arms} == {2 * B}
            mode_reg = [P["MODE"].decode(v) for tgt, off, v in writes
                        if tgt == "p" and off == P["MODE"].offset]
            assert mode_reg == [{"value": 2, "direct": 1}]
    for mode in ("sequential", "domino"):
        assert sc.plan(direct, mode) == sc.plan(stored, mode)
    assert sc.expected(direct) == sc.expected(stored)


def test_producer_parameters_are_checked():
    with pytest.raises(TypeError, match="params"):
        Producer(object())
    with pytest.raises(ValueError, match="read_credits"):
        Producer(T3Params(), read_credits=1)
    with pytest.raises(ValueError, match="reduce_credits"):
        Producer(T3Params(), reduce_credits=0)


def test_scale_scenarios_load():
    names = {s.name for s in sc.load_all()}
    assert {"ring4_64", "ring8_64", "tnlg272_overcommit"} <= names


def test_staging_tiles_armed_before_the_start():
    # the receiver arms every staging tile it will receive (chunk g-1-k at step k) before the
    # start: armed inside the reduce-scatter, a tile could land before its arm
    s = sc.from_dict(BASE)
    U = regmap.build(s.params)
    n, T, B = s.devices, s.tiles, s.beats
    for mode in ("sequential", "domino"):
        for g, writes in enumerate(sc.plan(s, mode)):
            arms = [U["ARM"].decode(v) for tgt, off, v in writes
                    if tgt == "u" and off == U["ARM"].offset]
            want = [n * T + ((g - 1 - k) % n) * T + t for k in range(1, n) for t in range(T)]
            assert [a["tile"] for a in arms] == want
            assert {a["threshold"] for a in arms} == {B}


def test_overcommitted_plans_are_refused():
    s = sc.from_dict(with_(tiles=4, hardware={"tracker_entries": 16, "addr_width": 8}))
    # 3 x 4 output tiles fit 16 entries; output + staging (24) do not
    assert sc.overcommit(s, "t3") == "" and sc.plan(s, "t3")
    for mode in ("sequential", "domino"):
        with pytest.raises(ScenarioError, match="tracker_entries' = 16"):
            sc.plan(s, mode)
    big = sc.load(sc.SCALE_DIR / "tnlg272_overcommit.toml")
    for mode in sc.MODES:
        assert "256" in sc.overcommit(big, mode)


def test_memory_kind():
    assert sc.from_dict(BASE).memory == "ideal"
    d = sc.from_dict(with_(hardware={"memory": "dram"}))
    assert d.memory == "dram" and d.hw_tag.endswith("_dram")
    with pytest.raises(ScenarioError, match=r"hardware\.memory"):
        sc.from_dict(with_(hardware={"memory": "sram"}))
    with pytest.raises(ScenarioError, match=r"memory\.kind"):
        sc.from_dict(with_(memory={"kind": "dram"}))


def test_start_skews():
    s = sc.from_dict(BASE, "small")
    assert sc.start_skews(s, 0) == (0, 0, 0)
    a = sc.start_skews(s, 5)
    assert a == sc.start_skews(s, 5), "a seed gives the same skews every time"
    assert len(a) == s.devices and all(0 <= k < sc.SKEW_SPAN for k in a)
    assert any(sc.start_skews(s, k) != a for k in range(1, 5)), "seeds differ"
    assert all(k < 4 for k in sc.start_skews(s, 9, span=4))
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            sc.start_skews(s, bad)
    with pytest.raises(ValueError, match="span"):
        sc.start_skews(s, 1, span=0)


def test_cl_model_checks_its_skews():
    from sim.xval.scale_model import ScaleRingModel
    s = sc.from_dict(BASE, "small")
    for bad in ((0, 0), (0, -1, 0), (0, 1.5, 0)):
        with pytest.raises(ValueError, match="skews"):
            ScaleRingModel(s, "t3", skews=bad)
