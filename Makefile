# The two commands an operator needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv/bin
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
REGION ?= local

.PHONY: setup demo cluster-up cluster-down cluster-status lint sanity units unit test molecule bench collection ee-context clean

setup:
	./scripts/setup.sh

cluster-up: setup
	$(VENV)/python -m localcluster up $(REGION)

cluster-down:
	$(VENV)/python -m localcluster down local us-east eu-west ap-northeast molecule bench selftest

cluster-status:
	$(VENV)/python -m localcluster status $(REGION)

# Command 1: set up this machine, start the local cluster with its real node, converge the
# platform onto that node, then ask the agent for /health and /ready and Redis for its ACL from inside.
demo: setup
	$(VENV)/python -m localcluster up local
	$(VENV)/ansible-playbook playbooks/site.yml -i inventories/local -e @localcluster/real-node-vars.yml
	$(VENV)/python -m localcluster.demo local agentic-ai-prod

STALE_COPY := $(HOME)/.ansible/collections/ansible_collections/agentic/platform
lint:
	@# ansible-lint and molecule (ansible-compat) install a copy of this collection, in .ansible/
	@# or ~/.ansible/collections, and never refresh it while galaxy.yml's version stays the same:
	@# lint the checkout, not a stale copy.
	rm -rf .ansible $(STALE_COPY)
	$(VENV)/ruff check .
	$(VENV)/yamllint -s .
	$(VENV)/ansible-lint --profile production

# ansible-test on the collection as built (scripts/ansible-test.sh), in ansible-test's own virtual
# environments, with the Python we support. Sanity: docs vs argument specs, pylint, pep8, imports...
sanity:
	./scripts/ansible-test.sh sanity --venv --python 3.11

# The unit tests that need nothing but the collection run through ansible-test units; pytest runs
# every other test (they need the checkout: its .venv, localcluster, fixtures, promtool, redis-server).
COLLECTION_UNITS := $(addprefix tests/unit/,test_action_docs.py test_failover.py test_inputs_agent.py \
  test_inputs_autoscaling.py test_inputs_config.py test_inputs_gpu_nodes.py test_inputs_mesh.py \
  test_inputs_monitoring.py test_inputs_namespace.py test_inputs_redis.py test_inputs_secrets.py \
  test_kube_apply_fields.py test_kube_readiness.py test_poll.py test_secrets_and_quantities.py \
  test_secrets_plan.py)
units:
	./scripts/ansible-test.sh units --venv --python 3.11 $(COLLECTION_UNITS)

unit:
	$(VENV)/pytest tests/unit

molecule:
	rm -rf $(STALE_COPY)
	$(VENV)/molecule test --all

# Command 2: every test: linters, ansible-test sanity and units, the other unit and the integration
# tests (real local clusters, redis-server, promtool, Prometheus), then the molecule scenarios.
test: setup lint sanity units
	$(VENV)/pytest tests agent-runtime/tests $(addprefix --ignore=,$(COLLECTION_UNITS))
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
