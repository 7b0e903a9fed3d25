"""``tools/start_ensemble.py``'s table and arguments on made-up rows (the RTL runs themselves are
``make validate``'s; the harness's start skews and the CL model's exactness under them are
checked in ``tb/scale/test_scale.py``)."""

import pytest

from tools.start_ensemble import main, table


def _row(**kw):
    r = dict(scenario="s", memory="dram", mode="t3", lockstep=1000, skewed=[800, 1200, 1000],
             fluid=900.0, cl=[(1, 800, 800)], checksums_ok=True)
    r.update(kw)
    return r


def test_table_columns():
    line = table([_row()]).splitlines()[2]
    cells = [c.strip() for c in line.strip("|").split("|")]
    # min / median / max of the skewed runs, their ratio, the fluid against both references
    assert cells[3:9] == ["1000", "800 / 1000 / 1200", "1.50", "900", "-10.0%", "-10.0%"]
    assert cells[9:] == ["1 of 1", "ok"]
    assert "0 of 1" in table([_row(cl=[(1, 800, 801)])])


def test_unfinished_run_is_a_failed_row():
    line = table([_row(skewed=[0, 1000, 1100], checksums_ok=False)]).splitlines()[2]
    assert line.endswith("| FAIL |") and "| - | 900 | - | - |" in line


@pytest.mark.parametrize("args", (["--seeds", "0"], ["--cl", "-1"], ["--modes", "t4"]))
def test_bad_arguments_are_refused(args):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
