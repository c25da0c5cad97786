# The two commands an operator needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv/bin
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
REGION ?= local

.PHONY: setup demo cluster-up cluster-down cluster-status lint unit test molecule bench collection ee-context clean

setup:
	./scripts/setup.sh

cluster-up: setup
	$(VENV)/python -m localcluster up $(REGION)

cluster-down:
	$(VENV)/python -m localcluster down local us-east eu-west ap-northeast molecule bench selftest realnode

cluster-status:
	$(VENV)/python -m localcluster status $(REGION)

# Command 1: set up this machine, start the local cluster and converge the platform onto it.
demo: cluster-up
	$(VENV)/ansible-playbook playbooks/site.yml -i inventories/$(REGION)

STALE_COPY := $(HOME)/.ansible/collections/ansible_collections/agentic/platform
lint:
	@# ansible-lint and molecule (ansible-compat) install a copy of this collection, in .ansible/
	@# or ~/.ansible/collections, and never refresh it while galaxy.yml's version stays the same:
	@# lint the checkout, not a stale copy.
	rm -rf .ansible $(STALE_COPY)
	$(VENV)/ruff check .
	$(VENV)/yamllint -s .
	$(VENV)/ansible-lint --profile production

unit:
	$(VENV)/pytest tests/unit

molecule:
	rm -rf $(STALE_COPY)
	$(VENV)/molecule test --all

# Command 2: every test: linters, unit and integration tests (real local clusters,
# redis-server, promtool, Prometheus), then the molecule scenarios.
test: setup lint
	$(VENV)/pytest tests agent-runtime/tests
	$(MAKE) molecule

bench: setup
	for b in benchmarks/*.py; do $(VENV)/python $$b || exit 1; done

collection:
	$(VENV)/ansible-galaxy collection build --force --output-path build/

# The execution environment's build context for AWX (docs/awx.md): build/ee/context.
ee-context:
	./scripts/ee-context.sh

clean: cluster-down
	rm -rf build .pytest_cache
