#!/usr/bin/env bash
# Render the execution environment's build context (execution-environment.yml) into build/ee/:
# this collection built as build/ee/agentic-platform.tar.gz, then `ansible-builder create`
# (Containerfile, requirements, bindep, scripts; no container engine needed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/ee"
rm -rf "$out"
mkdir -p "$out"
"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$out" "$root" >/dev/null
mv "$out"/agentic-platform-*.tar.gz "$out/agentic-platform.tar.gz"
cd "$root"
"$root/.venv/bin/ansible-builder" create --file execution-environment.yml --context "$out/context" \
  --output-filename Containerfile
