"""Stands in for the get-pip script that `ansible-test --venv` downloads to bootstrap pip in each
virtual environment it makes (from a host our build machines cannot reach). Same contract:
run with the new environment's Python and get-pip's arguments, it installs pip there (from the
interpreter's own ensurepip), then the requested packages from the package index pip is
configured with. scripts/ansible-test.sh puts it where ansible-test looks for a cached copy."""

from __future__ import annotations

import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")  # get-pip's own flags; plain pip has none

subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
subprocess.run([sys.executable, "-m", "pip", "install", *(a for a in sys.argv[1:] if a not in GET_PIP_ONLY)],
               check=True)
