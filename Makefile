# hapair.keepalived: `make venv`, `make test`, `make lint` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST := $(BIN)/pytest
COLLECTIONS := $(CURDIR)/.cache/collections
# What Ansible writes for itself (local tmp, ssh ControlPath sockets, galaxy
# cache, Molecule's ephemeral scenario dirs) goes under the checkout's .cache/,
# not ~/.ansible; tools/ansible-test.sh does the same for ansible-test.
export ANSIBLE_HOME := $(CURDIR)/.cache/ansible
# The temp dir of tasks run with connection local (Molecule's localhost plays,
# the module tests) is the "remote" one, ~/.ansible/tmp of the real home by
# default (tools/home-guard.sh caught it). It is a path every host can create:
# under /tmp (the controller's, and each lab host's own), not under the checkout,
# which lab hosts on another Debian root see read-only (the distros scenario).
export ANSIBLE_REMOTE_TMP := /tmp/hapair-ansible-tmp

.PHONY: venv test unit integration bfd-reload chaos pyversions pyversions-local lint ansible-matrix clean lab-down collection-link molecule demo fuzz system-deps

venv: $(VENV)/.stamp

# The Debian packages of .ci/apt-packages, before anything else: installed when
# missing (as root, with apt-get), else one line saying what to install. Every
# target that uses the venv runs it (one dpkg-query when all are there).
system-deps:
	@bash tools/system-deps.sh

$(VENV)/.stamp: daemon/pyproject.toml requirements-dev.txt | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -e daemon
	touch $@

test: venv unit integration pyversions molecule lint ansible-matrix

unit: venv
	$(PYTEST) -q daemon/tests tests/unit

# --durations: the slowest tests in every log, so the suite's 45-minute budget is
# spent knowingly (CI has 90 minutes on the 2-core machine).
integration: venv
	$(PYTEST) -q --durations=15 tests/integration
	CHAOS_RUNS=$(CHAOS_SHORT_RUNS) CHAOS_KEEPALIVED=0 CHAOS_SHORT=1 CHAOS_SOAK_SECONDS=0 $(PYTEST) -q tests/chaos

# The chaos suite (tests/chaos/, docs/reliability.md): each scenario CHAOS_RUNS
# times, the advert-loss phases CHAOS_LOSS_SECONDS (and half that at 0.1 s),
# the soak CHAOS_SOAK_SECONDS; tables printed and copied into
# docs/reliability.md with date and command (tests/chaos/report.py): about
# 70 minutes at CHAOS_RUNS=20 (16 at CHAOS_RUNS=3 with a 120 s soak).
# `make integration` runs the short subset: CHAOS_SHORT_RUNS, one takeover
# run (link down), a 10 s flap, no advert loss, no soak and no keepalived
# measurements (CHAOS_KEEPALIVED=0).
CHAOS_RUNS ?= 20
CHAOS_SHORT_RUNS ?= 3
CHAOS_LOSS_SECONDS ?= 120
CHAOS_SOAK_SECONDS ?= 600
chaos: venv
	rm -rf tests/output/chaos
	CHAOS_RUNS=$(CHAOS_RUNS) CHAOS_LOSS_SECONDS=$(CHAOS_LOSS_SECONDS) CHAOS_SOAK_SECONDS=$(CHAOS_SOAK_SECONDS) \
	$(PYTEST) -q -s tests/chaos; status=$$?; \
	$(BIN)/python tests/chaos/report.py make chaos CHAOS_RUNS=$(CHAOS_RUNS) \
	CHAOS_LOSS_SECONDS=$(CHAOS_LOSS_SECONDS) CHAOS_SOAK_SECONDS=$(CHAOS_SOAK_SECONDS); exit $$status

# The daemon's pure unit tests under Python 3.9 (Debian 11), 3.11 (the machine)
# and 3.13 (Debian 13), each in a lab host on that root, in a venv installed
# offline from a pure-Python wheelhouse (.cache/wheelhouse-py/); prints a table
# (lab/checks/pyversions.py, docs/development.md). PYVERSIONS=check fails on
# any failure, report only prints the table, skip does nothing.
PYVERSIONS ?= check
# PYVERSIONS_HOSTS: some of the hosts only (bullseye bookworm trixie; empty: all).
# `make test` leaves out bookworm: its Python is the machine's 3.11, which the
# unit stage runs (the suite's 45-minute budget).
PYVERSIONS_HOSTS ?=
pyversions: venv
	$(BIN)/python -m lab.checks.pyversions --mode $(PYVERSIONS) $(if $(PYVERSIONS_HOSTS),--hosts $(PYVERSIONS_HOSTS))

# The daemon's unit suite under each Python 3.9-3.13 pyenv has here (absent ones
# are skipped): a table version / passed / failed (tools/pyversions.sh).
pyversions-local:
	bash tools/pyversions.sh

# A big reload beside a 50 ms BFD session, three ways to run lb1, HK_BFD_RUNS each
# (tests/integration/bfd/test_bfd_reload.py, docs/performance.md's BFD section):
# about 10 minutes, so `make integration` skips it.
HK_BFD_RUNS ?= 3
bfd-reload: venv
	HK_BFD_RELOAD=1 HK_BFD_RUNS=$(HK_BFD_RUNS) $(PYTEST) -q -s tests/integration/bfd/test_bfd_reload.py

# The config fuzz at full size: 10,000 mutated configs through the judge
# (daemon/tests/config/test_fuzz.py; the unit suite runs 300).
FUZZ_EXAMPLES ?= 10000
fuzz: venv
	CONFIG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) -q daemon/tests/config/test_fuzz.py

# make lint = ruff (Python style), ansible-lint (Ansible content, production
# profile), antsibull-changelog lint (fragments) and ansible-test sanity via
# tools/ansible-test.sh (see docs/development.md). Directories git does not
# carry yet (an empty lab/ or bench/) are left out of ruff's list.
# `make lint SANITY_ARGS="--test pep8"` narrows the ansible-test run.
SANITY_ARGS ?=
# The venv's bin first, so ansible-lint and antsibull-changelog find
# ansible-playbook/ansible-doc without an activated venv.
# Ansible's parts run with HOME pointed at an empty dir under .cache/ and fail
# if they wrote into it or (in CI) into the real ~/.ansible (tools/home-guard.sh).
HOME_GUARD := bash tools/home-guard.sh
LINT_ENV := PATH="$(CURDIR)/$(BIN):$$PATH" VENV_BIN="$(CURDIR)/$(BIN)" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)"

lint: venv collection-link
	$(BIN)/ruff check $(wildcard daemon lab bench tests plugins)
	$(LINT_ENV) $(HOME_GUARD) $(BIN)/ansible-lint
	$(LINT_ENV) $(HOME_GUARD) $(BIN)/antsibull-changelog lint
	$(LINT_ENV) $(HOME_GUARD) bash tools/ansible-test.sh sanity $(SANITY_ARGS)

# ansible-test sanity and the module unit tests on every ansible-core of
# meta/runtime.yml (2.16-2.19), one cached venv each under .cache/ansible-matrix/
# (tools/ansible-matrix.sh; full sanity on 2.19, the version-dependent tests on
# the older ones: docs/development.md). ANSIBLE_MATRIX="2.16" narrows it.
# `make test` leaves 2.19 out: lint (full sanity) and unit (the module tests)
# already run it on the project's .venv, which is 2.19.
ANSIBLE_MATRIX ?= 2.16 2.17 2.18 2.19
test: ANSIBLE_MATRIX = 2.16 2.18
test: PYVERSIONS_HOSTS = bullseye trixie
ansible-matrix: venv
	ANSIBLE_MATRIX="$(ANSIBLE_MATRIX)" $(HOME_GUARD) bash tools/ansible-matrix.sh

# The work tree as the collection hapair.keepalived (a link under .cache/), for
# ansible-playbook, ansible-lint and molecule.
ANSIBLE_ENV := PATH="$(CURDIR)/$(BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)"
collection-link:
	mkdir -p $(COLLECTIONS)/ansible_collections/hapair
	ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/hapair/keepalived

# Molecule scenarios on the lab (extensions/molecule/, docs/role.md).
MOLECULE_SCENARIOS ?= master_backup master_master distros role_contract
molecule: venv collection-link
	for s in $(MOLECULE_SCENARIOS); do $(ANSIBLE_ENV) $(HOME_GUARD) $(BIN)/molecule test -s $$s || exit 1; done

# The lab, site.yml, VIPs, failover and a drain, step by step (tools/demo.sh).
demo: venv collection-link
	$(ANSIBLE_ENV) bash tools/demo.sh

# Remove labs left behind by killed test runs and detached `python -m lab up` labs.
lab-down: venv
	$(BIN)/python -m lab down

clean:
	rm -rf $(VENV) tests/output .ansible
