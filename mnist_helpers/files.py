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
    try:
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def repository_root() -> Path | None:
    """The checkout of the course this package runs from, or None when it is installed (``pip install``).

    A checkout is recognised by its ``pyproject.toml`` and ``notebooks/`` folder beside the package.
    """
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None
