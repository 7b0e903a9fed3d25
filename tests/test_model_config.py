"""Systems, workloads, TOML and CLI validation of the system model."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import CliError, load_grid, main
from sim.model.config import ConfigError, load_system_toml
from sim.systems import SYSTEMS, get_system
from sim.workloads import MODELS, sublayer

ROOT = Path(__file__).resolve().parents[1]


def test_builtin_systems_datasheet():
    t3 = get_system("t3-paper")
    assert (t3.n_cu, t3.clock_ghz, t3.l2_mb, t3.hbm_bandwidth_gbps) == (80, 1.4, 16.0, 1000.0)
    assert (t3.link_bandwidth_gbps, t3.link_latency_ns) == (150.0, 500.0)
    assert t3.link_bps == 75e9                       # one direction of the ring
    assert t3.peak_tflops == pytest.approx(114.688)  # 80 x 1.4 GHz x 1024 flop/clk
    h = get_system("dgx-h100")
    assert h.peak_tflops == pytest.approx(989, rel=0.01)
    assert (h.hbm_bandwidth_gbps, h.link_bandwidth_gbps) == (3350.0, 900.0)


@pytest.mark.parametrize("name,h,ffn", [("mega-gpt-2", 3072, 12288), ("t-nlg", 4256, 17024),
                                        ("gpt-3", 12288, 49152), ("palm", 18432, 73728),
                                        ("mt-nlg", 20480, 81920), ("llama-2-7b", 4096, 11008),
                                        ("llama-2-13b", 5120, 13824),
                                        ("llama-2-70b", 8192, 28672)])
def test_model_zoo(name, h, ffn):
    assert (MODELS[name].hidden, MODELS[name].ffn) == (h, ffn)


def test_sublayer_shapes():
    assert (sublayer("t-nlg", "op", 8).k, sublayer("t-nlg", "op", 8).n) == (532, 4256)
    assert sublayer("t-nlg", "fc2", 8).k == 17024 // 8
    assert sublayer("t-nlg", "fc1", 8).k == 17024 // 8
    assert sublayer("t-nlg", "ip", 16).k == 3 * 4256 // 16
    assert sublayer("t-nlg", "op", 8).m == 8192                 # default tokens
    with pytest.raises(ValueError, match="^sublayer:"):
        sublayer("t-nlg", "qkv", 8)
    with pytest.raises(ValueError, match="^tp:"):
        sublayer("t-nlg", "op", 1)


def _write(tmp_path, text, name="sys.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_mca_constant_with_measured_tuning_is_rejected(tmp_path):
    # t3-paper tunes T3-MCA over the measured settings: a hand-set MCA constant would be ignored
    p = _write(tmp_path, '[system]\nbase = "t3-paper"\nmca_interference = 2.0\n')
    with pytest.raises(ConfigError, match="system.mca_interference: 2.0 would be ignored"):
        load_system_toml(p, SYSTEMS)
    p = _write(tmp_path, '[system]\nbase = "t3-paper"\nmca_interference = 2.0\n'
               'mca_tuning = "fixed"\n', "fixed.toml")
    assert load_system_toml(p, SYSTEMS).mca_interference == 2.0


def test_toml_valid_with_base(tmp_path):
    p = _write(tmp_path, '[system]\nbase = "t3-paper"\nhbm_bandwidth_gbps = 2000\n', "fast.toml")
    s = load_system_toml(p, SYSTEMS)
    assert s.name == "fast" and s.hbm_bandwidth_gbps == 2000.0 and s.n_cu == 80
    assert get_system(str(p)).hbm_bandwidth_gbps == 2000.0


@pytest.mark.parametrize("body,msg", [
    ("hbm_bandwidth_gbps = -1", "system.hbm_bandwidth_gbps: must be > 0, got -1"),
    ("n_cu = 1.5", "system.n_cu: must be an integer"),
    ("link_latency_ns = \"fast\"", "system.link_latency_ns: must be a number"),
    ("hbm_bandwidth_gbps_typo = 3", "system.hbm_bandwidth_gbps_typo: unknown field"),
    ("gemm_efficiency = 1.5", "system.gemm_efficiency: must be <= 1"),
    ("comm_cus = 80", "system.comm_cus: must be < n_cu"),
    ("mca_tuning = \"best\"", "system.mca_tuning: must be one of fixed, measured"),
    ("mca_tuning = 1", "system.mca_tuning: must be a string, got 1"),
    ("base = \"nope\"", "system.base: unknown built-in"),
])
def test_toml_rejected_naming_the_field(tmp_path, body, msg):
    p = _write(tmp_path, f"[system]\n{body}\n")
    with pytest.raises(ConfigError) as e:
        load_system_toml(p, SYSTEMS)
    assert msg in str(e.value)


def test_toml_missing_table_and_bad_syntax(tmp_path):
    with pytest.raises(ConfigError, match=r"system: missing \[system\]"):
        load_system_toml(_write(tmp_path, "[gpu]\nn_cu = 3\n"), SYSTEMS)
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_system_toml(_write(tmp_path, "[system\n"), SYSTEMS)


def test_cli_rejects_bad_system_file(tmp_path, capsys):
    p = _write(tmp_path, "[system]\nhbm_bandwidth_gbps = -1\n")
    assert main(["run", "--system", str(p)]) == 2
    assert "system.hbm_bandwidth_gbps: must be > 0, got -1" in capsys.readouterr().err


def test_cli_rejects_bad_values(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--tp", "1"])
    assert "--tp: must be >= 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--configs", "t3,t4"])
    assert "--configs: unknown configuration 't4'" in capsys.readouterr().err
    assert main(["run", "--model", "t-nlg", "--tp", "3", "--sublayer", "op"]) == 2  # 4256 % 3
    assert "tp: 3 does not divide" in capsys.readouterr().err


def test_cli_run_json(capsys):
    assert main(["run", "--system", "t3-paper", "--model", "t-nlg", "--tp", "8",
                 "--sublayer", "fc2", "--tokens", "2048", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["results"]) == {"sequential", "domino", "t3", "t3-mca", "ideal",
                                 "ideal-rs-nmc"}
    for r in d["results"].values():
        assert {"time_us", "dram_read_bytes", "dram_write_bytes", "link_bytes"} <= set(r)
    for c, s in d["speedup"].items():
        assert s == pytest.approx(d["results"]["sequential"]["time_us"]
                                  / d["results"][c]["time_us"])


def test_cli_run_table(capsys):
    assert main(["run", "--model", "llama-2-7b", "--tp", "8", "--sublayer", "op",
                 "--slices", "2"]) == 0
    out = capsys.readouterr().out
    assert "t3-mca" in out and "S=2" in out


def test_grid_validation(tmp_path):
    g = load_grid(ROOT / "sim" / "grids" / "example.toml")
    assert g["tp"] == [8] and "t3-mca" in g["configs"]
    bad = _write(tmp_path, "[grid]\nmodels = [\"t-nlg\"]\ntp = [0]\n", "g.toml")
    with pytest.raises(CliError, match="grid.tp: must be >= 2"):
        load_grid(bad)
    bad = _write(tmp_path, "[grid]\nmodels = [\"t-nlg\"]\ntp = [8]\nsystems = [\"x.toml\"]\n",
                 "g2.toml")
    with pytest.raises(ConfigError, match="system"):
        load_grid(bad)
    ok = _write(tmp_path, "[grid]\nmodels = [\"t-nlg\"]\ntp = [8]\npolicies = [\"t3-mca\"]\n",
                "g4.toml")
    assert load_grid(ok)["configs"] == ["t3-mca"]
    bad = _write(tmp_path, "[grid]\nmodel = [\"t-nlg\"]\n", "g3.toml")
    with pytest.raises(CliError, match="grid.model: unknown key"):
        load_grid(bad)


def test_cli_sweep_inline_writes_jsonl_and_csv(tmp_path):
    grid = _write(tmp_path, "[grid]\nmodels = [\"t-nlg\"]\ntp = [8, 16]\ntokens = [2048]\n"
                  "sublayers = [\"op\"]\nconfigs = [\"sequential\", \"t3-mca\"]\n", "g.toml")
    out = tmp_path / "o.jsonl"
    r = subprocess.run([sys.executable, "-m", "sim", "sweep", "--grid", str(grid), "--out",
                        str(out), "--scheduler", "inline"], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [row["tp"] for row in rows] == [8, 16]
    assert all(row["speedup"]["t3-mca"] > 1 for row in rows)
    table = (tmp_path / "o.csv").read_text().splitlines()
    assert table[0].startswith("level,system,model,tp,tokens,sublayer,config,time_us")
    assert len(table) == 1 + 2 * 2                   # 2 points x 2 configurations
    assert table[1].split(",")[:7] == ["sublayer", "t3-paper", "t-nlg", "8", "2048", "op",
                                       "sequential"]


def test_grid_levels(tmp_path):
    ok = _write(tmp_path, "[grid]\nlevel = \"layer\"\nmodels = [\"t-nlg\"]\ntp = [8]\n"
                "configs = [\"domino\", \"t3+domino\"]\n", "l.toml")
    assert load_grid(ok)["level"] == "layer"
    bad = _write(tmp_path, "[grid]\nlevel = \"layer\"\nmodels = [\"t-nlg\"]\ntp = [8]\n"
                 "configs = [\"ideal\"]\n", "l2.toml")
    with pytest.raises(CliError, match="grid.configs: unknown layer configuration 'ideal'"):
        load_grid(bad)
    bad = _write(tmp_path, "[grid]\nlevel = \"rack\"\nmodels = [\"t-nlg\"]\ntp = [8]\n",
                 "l3.toml")
    with pytest.raises(CliError, match="grid.level: must be one of"):
        load_grid(bad)


def test_toml_without_base_must_give_the_calibrated_fields(tmp_path):
    """An H100-like file with no base and no calibration is refused, naming what it lacks
    (it used to take the V100-fitted constants silently)."""
    from sim.model.config import CALIBRATED
    p = _write(tmp_path, "[system]\nn_cu = 132\nclock_ghz = 1.83\nhbm_bandwidth_gbps = 3350\n")
    with pytest.raises(ConfigError) as e:
        load_system_toml(p, SYSTEMS)
    msg = str(e.value)
    assert "no 'base'" in msg and all(f in msg for f in CALIBRATED)
    # one calibrated field given: the others are still listed, that one is not
    p = _write(tmp_path, "[system]\nn_cu = 132\ninterference = 2.0\n")
    with pytest.raises(ConfigError) as e:
        load_system_toml(p, SYSTEMS)
    listed = str(e.value).split("calibrated fields missing: ")[1].split(" (")[0].split(", ")
    assert "interference" not in listed and set(listed) == set(CALIBRATED) - {"interference"}
    # every calibrated field given: accepted
    body = "".join(f"{f} = {getattr(SYSTEMS['t3-paper'], f)!r}\n" for f in CALIBRATED)
    s = load_system_toml(_write(tmp_path, "[system]\nn_cu = 132\n" + body), SYSTEMS)
    assert s.n_cu == 132 and s.interference == SYSTEMS["t3-paper"].interference
