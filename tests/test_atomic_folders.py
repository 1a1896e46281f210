"""The atomic folder writers: a folder appears whole or not at all; staged files replace whole."""

import os
import stat

import pytest

from idvid.atomic import atomic_folder, staged_folder
from idvid.errors import ConfigError


def test_atomic_folder_appears_whole_and_replaces_only_when_asked(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_folder(target, overwrite=False) as tmp:
        (tmp / "a.txt").write_text("one")
        assert not target.exists()  # nothing under the name until the block ends
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(ConfigError, match="exists"):
        with atomic_folder(target, overwrite=False):
            pass
    with atomic_folder(target, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporaries or old copies left


def test_atomic_folder_failure_keeps_the_old_folder_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "ckpt"
    target.mkdir()
    (target / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(target, overwrite=True) as tmp:
            (tmp / "a.txt").write_text("half")
            raise KeyboardInterrupt
    assert (target / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_staged_folder_replaces_written_files_keeps_others_and_sets_mode(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "log.csv").write_text("keep")
    (target / "weights.bin").write_text("old")
    with staged_folder(target) as staging:
        (staging / "weights.bin").write_text("new")
        (staging / "sub").mkdir()
        (staging / "sub" / "config.json").write_text("{}")
        assert (target / "weights.bin").read_text() == "old"
    assert (target / "weights.bin").read_text() == "new"
    assert (target / "log.csv").read_text() == "keep"
    assert (target / "sub" / "config.json").read_text() == "{}"
    assert stat.S_IMODE(os.stat(target / "weights.bin").st_mode) == 0o644
    assert sorted(p.name for p in target.iterdir()) == ["log.csv", "sub", "weights.bin"]


def test_staged_folder_failure_publishes_nothing(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with staged_folder(target) as staging:
            (staging / "weights.bin").write_text("half")
            raise RuntimeError("stopped")
    assert list(target.iterdir()) == []
