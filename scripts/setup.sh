#!/usr/bin/env bash
# Prepare a fresh machine: Debian packages, the Python virtualenv, the collection link and the
# local cluster's Go-built binaries (cached by version under ~/.cache/agentic-platform).
# Safe to re-run: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n== %s\n' "$*"; }

say "Debian packages (redis-server, promtool/prometheus, wrk; runc, CNI plugins, nftables, iptables, ipset, conntrack, mmdebstrap for the real node)"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v promtool >/dev/null || missing+=(prometheus)
command -v wrk >/dev/null || missing+=(wrk)
command -v runc >/dev/null || missing+=(runc)
[ -x /usr/lib/cni/ptp ] || missing+=(containernetworking-plugins)
command -v nft >/dev/null || missing+=(nftables)
command -v iptables >/dev/null || missing+=(iptables)
command -v ipset >/dev/null || missing+=(ipset)
command -v conntrack >/dev/null || missing+=(conntrack)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start system services we do not use: tests run their own on loopback.
  for svc in redis-server prometheus prometheus-node-exporter; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

say "Python virtualenv .venv"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! cmp -s requirements.txt .venv/.requirements.txt; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt -e agent-runtime/
  cp requirements.txt .venv/.requirements.txt
fi

say "Collection link .collections/ansible_collections/agentic/platform"
mkdir -p .collections/ansible_collections/agentic
ln -sfn ../../.. .collections/ansible_collections/agentic/platform

say "Local cluster binaries and the real node's images (the first build downloads Go modules and compiles Kubernetes, containerd, CoreDNS, kube-router: about 25 min on 2 idle cores)"
.venv/bin/python -m localcluster build --node

say "OpenTelemetry Collector for the runtime's tracing tests (core components only; cold: about 4 min of CPU, 6 min on 2 busy cores)"
.venv/bin/python -c "from localcluster import build; build.build_component('otelcol')"

say "Grafana dashboard linter for the monitoring tests (Grafana Foundation SDK and Prometheus's PromQL parser; cold: about 10 min on 2 busy cores, mostly downloading modules)"
.venv/bin/python -c "from localcluster import build; build.build_component('dashlint')"
