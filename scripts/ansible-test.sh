#!/usr/bin/env bash
# Run ansible-test on this collection as it ships: ansible-test wants the collection at
# .../ansible_collections/agentic/platform (and the collections it uses beside it), outside this
# git checkout (inside it, ansible-test lists git's files and skips an ignored copy). So the built
# artifact is unpacked afresh under $AGENTIC_CACHE (what galaxy.yml's build_ignore leaves out is
# not tested, as it is not shipped), with kubernetes.core linked from the `ansible` package. Usage:
#   scripts/ansible-test.sh sanity --venv --python 3.11
#   scripts/ansible-test.sh units --venv --python 3.11
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv/bin"
tree="${AGENTIC_CACHE:-$HOME/.cache/agentic-platform}/ansible-test"
collection="$tree/ansible_collections/agentic/platform"
bundled="$("$venv/python" -c 'import ansible, os; print(os.path.join(os.path.dirname(os.path.dirname(ansible.__file__)), "ansible_collections"))')"

rm -rf "$tree"
mkdir -p "$collection" "$tree/ansible_collections/kubernetes"
"$venv/ansible-galaxy" collection build --force --output-path "$tree" "$root" >/dev/null
tar -xzf "$tree"/agentic-platform-*.tar.gz -C "$collection"
ln -s "$bundled/kubernetes/core" "$tree/ansible_collections/kubernetes/core"

# --venv bootstraps pip in each virtual environment with a get-pip script it downloads from a host
# our build machines cannot reach; it uses a cached copy when there is one: put ours there.
pip_version="$("$venv/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path=""))["pip"])')"
install -D -m 0644 "$root/scripts/ansible_test_get_pip.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

cd "$collection"
exec "$venv/ansible-test" "$@"
