# The two commands of the README: `make demo` and `make test`. Everything they need is
# installed by these rules, on a fresh machine with python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Kernel-side plugins: light, installed into .venv (Kokoro too: onnxruntime, no torch). Each GPU engine lives in .venv-<name>, built
# from plugins/<name>/requirements.lock by scripts/engine-env.
# Piper and hibari are built into the kernel (core/polyvox/builtins), so they are no plugin folders here.
LIGHT_PLUGINS := $(wildcard plugins/template plugins/langpack-welsh plugins/kokoro plugins/whisper)
ENGINES := $(notdir $(wildcard plugins/chatterbox plugins/f5tts))
STAMP := $(VENV)/.installed

.PHONY: demo test system-deps test-kernel test-engines lint bench bench-ray bench-chatterbox bench-gpu fuzz soak clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,serve]' $(addprefix -e ,$(LIGHT_PLUGINS))
	# An older checkout installed Piper as the plugin polyvox-piper; the built-in replaces it.
	$(BIN)/pip uninstall -q -y polyvox-piper 2>/dev/null || true
	touch $@

demo: $(STAMP)
	$(BIN)/polyvox demo

lint: $(STAMP)
	$(BIN)/ruff check core plugins tests scripts benchmarks

# redis-server and chromium from Debian's packages (apt-get where root; otherwise says how).
system-deps:
	scripts/system-deps

# Each plugin's tests run in their own pytest call: plugins may use the same test file names.
test-kernel: $(STAMP) system-deps
	$(BIN)/pytest -q tests
	set -e; for p in $(LIGHT_PLUGINS); do $(BIN)/pytest -q $$p/tests; done

# Builds (or reuses, keyed by the hash of each engine's lock) one environment per GPU engine and runs
# each plugin's tests in its own. Then both engines again, each in its own worker over its
# environment, driven by the torch-free kernel in .venv: the environments' checks, the contract kit
# against both isolated engines, and one render that uses both.
test-engines: $(STAMP)
	set -e; for e in $(ENGINES); do scripts/engine-env $$e; done
	set -e; for e in $(ENGINES); do .venv-$$e/bin/python -m pytest -q plugins/$$e/tests; done
	POLYVOX_TEST_ISOLATED_ENGINES=1 $(BIN)/pytest -q tests/test_engines_env.py tests/test_isolation_engines.py

test: lint test-kernel test-engines

# The markup parser, the SRT reader and whole renders on 100,000 generated inputs (39 min measured
# on a shared, heavily loaded 2-core machine; about 6 min of CPU);
# `make test` runs a few hundred of them (tests/test_fuzz.py).
fuzz: $(STAMP)
	POLYVOX_FUZZ=1 $(BIN)/pytest -q -s -p no:cacheprovider tests/test_fuzz.py

# One `polyvox serve --wyoming` on loopback against mixed well-formed and hostile clients for
# 10 minutes (scripts/soak.py; not part of `make test`, which runs it for 20 s): fails if the
# server dies, answers wrongly, keeps threads or file descriptors, or ends more than 100 MB above
# its memory after the warm-up. SOAK_ARGS="--minutes 2 --threads 8" changes the run.
soak: $(STAMP)
	$(BIN)/python scripts/soak.py $(SOAK_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --write docs/benchmarks.md

# ChatterBox batching at real model sizes with random weights, on this machine's CPUs (about
# 10 min on a quiet 2-core machine): writes its section of docs/benchmarks.md.
bench-chatterbox: $(STAMP)
	scripts/engine-env chatterbox
	.venv-chatterbox/bin/python benchmarks/chatterbox_batch.py --write docs/benchmarks.md

# The same on a CUDA device with the published weights, if both are here (never downloads;
# prints what is missing and exits 0 otherwise). Prints a table, Turbo's goal last.
bench-gpu: $(STAMP)
	scripts/engine-env chatterbox
	.venv-chatterbox/bin/python benchmarks/gpu.py

# The Ray executor on this machine's CPUs (writes its table into docs/benchmarks.md; docs/scaling.md quotes it).
bench-ray: $(STAMP)
	$(BIN)/python benchmarks/ray_replicas.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV) $(addprefix .venv-,$(ENGINES)) .venv-engines .pytest_cache
