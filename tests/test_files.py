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


def test_a_replace_refused_for_a_moment_is_tried_again(tmp_path, monkeypatch):
    """Windows refuses to replace a file that an antivirus scanner or OneDrive holds open for a moment."""
    from mnist_helpers import files

    real_replace, refusals = os.replace, []

    def held_twice(source, target):
        if len(refusals) < 2:
            refusals.append(target)
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        real_replace(source, target)

    monkeypatch.setattr(files, "REPLACE_RETRY_DELAYS", (0, 0, 0))
    monkeypatch.setattr(os, "replace", held_twice)
    with atomic_write(tmp_path / "fresh.txt", "w") as f:
        f.write("written")
    assert (tmp_path / "fresh.txt").read_text(encoding="utf-8") == "written" and len(refusals) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.txt"]


def test_a_file_held_for_good_gives_the_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    from mnist_helpers import files

    path = tmp_path / "kept.txt"
    path.write_text("old", encoding="utf-8")

    def held(source, target):
        raise PermissionError(13, "The process cannot access the file because it is being used by another process")

    monkeypatch.setattr(files, "REPLACE_RETRY_DELAYS", (0, 0, 0))
    monkeypatch.setattr(os, "replace", held)
    with pytest.raises(PermissionError, match="being used by another process"), atomic_write(path, "w") as f:
        f.write("new")
    assert path.read_text(encoding="utf-8") == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_a_read_only_file_is_refused_saying_so_and_left_as_it_was(tmp_path):
    path = tmp_path / "kept.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o444)  # Windows' read-only attribute sets the same bit
    with pytest.raises(PermissionError, match="kept.txt is read-only: make it writable"), atomic_write(path, "w") as f:
        f.write("new")
    assert path.read_text(encoding="utf-8") == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_the_umask_is_never_changed(tmp_path, monkeypatch):
    """Changing the process's umask, even for a moment, races every other thread creating files."""

    def refuse(mask):
        raise AssertionError("os.umask was called")

    monkeypatch.setattr(os, "umask", refuse)
    with atomic_write(tmp_path / "new.txt", "w") as f:
        f.write("hello")
    assert (tmp_path / "new.txt").read_text(encoding="utf-8") == "hello"


def test_a_text_write_is_utf8_whatever_the_locale(tmp_path, monkeypatch):
    import locale

    monkeypatch.setattr(locale, "getpreferredencoding", lambda do_setlocale=True: "cp1252")
    with atomic_write(tmp_path / "name.txt", "w") as f:
        f.write("Łukasz")
    assert (tmp_path / "name.txt").read_bytes() == "Łukasz".encode()
