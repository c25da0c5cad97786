"""A tool built from a wrapper module with its own main.go (localcluster's TOOL_COMPONENTS) is
cached by its sources too: after a change to main.go the cached binary is not reused."""

import shutil

from localcluster import build


def test_tool_cache_follows_its_sources(tmp_path, monkeypatch):
    shutil.copytree(build.gomod_dir("dashlint"), tmp_path / "dashlint")
    monkeypatch.setattr(build, "GOMOD", tmp_path)
    before = build.binary_dir("dashlint")
    assert before.name.startswith("dashlint-v")
    assert build.binary_dir("dashlint") == before
    main = tmp_path / "dashlint" / "main.go"
    main.write_text(main.read_text() + "\n// a new rule\n")
    assert build.binary_dir("dashlint") != before
