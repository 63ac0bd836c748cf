"""Files and folders: atomic writes, and where the course's repository is (if the package runs from one).

``atomic_write``: a crash or an error never leaves half a file under the real name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_args):
    """Open a temporary file beside ``path`` for writing; on success, rename it to ``path``.

    If the block raises, the temporary file is removed and whatever was at ``path`` before
    is left untouched. The data is flushed to disk before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # mkstemp makes the file readable by its owner only: give it the permissions the file had, or those
    # of a file created the usual way, so that a class can still read a notebook or an edition.
    os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
    try:
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask() -> int:
    """The process's umask (reading it means setting it: it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def repository_root() -> Path | None:
    """The checkout of the course this package runs from, or None when it is installed (``pip install``).

    A checkout is recognised by its ``pyproject.toml`` and ``notebooks/`` folder beside the package.
    """
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


def nearest_existing(path: str | os.PathLike) -> Path:
    """``path`` itself (made absolute) if it exists, else the closest folder above it that does."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_can_create(path: str | os.PathLike) -> Path:
    """The existing folder a new ``path`` would be made in, after checking a file can be made there.

    Raises ``OSError`` (``NotADirectoryError`` when a file stands where a folder is needed) saying why not.
    """
    folder = nearest_existing(Path(os.path.abspath(path)).parent)
    if not folder.is_dir():
        raise NotADirectoryError(0, f"{folder} is a file")
    with tempfile.TemporaryFile(dir=folder):  # the real test: can a file be made there?
        pass
    return folder
