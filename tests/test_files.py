"""atomic_write: all or nothing, and the permissions of an ordinary file."""

import os
import stat

import pytest

from mnist_helpers.files import atomic_write


def test_a_new_file_gets_the_permissions_of_an_ordinary_file(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.txt", "w", encoding="utf-8") as f:
            f.write("hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644  # readable by a class, not only its owner


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "kept.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write("new")
    assert path.read_text(encoding="utf-8") == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_an_error_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "kept.txt"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(path, "w", encoding="utf-8") as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]
