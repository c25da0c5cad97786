"""No tracked file is one that .gitignore ignores: build output (agent-runtime's egg-info, caches)
was committed by mistake once; git keeps tracking such a file silently, so nothing else notices."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_no_tracked_file_is_ignored():
    tracked_and_ignored = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert tracked_and_ignored == [], f"tracked but ignored (git rm --cached them): {tracked_and_ignored}"
