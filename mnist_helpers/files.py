"""Files and folders: atomic writes, where cached files go, and where the course's repository is (if the package
runs from one).

``atomic_write``: a crash or an error never leaves half a file under the real name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
import tempfile
import time
import warnings
from pathlib import Path

if sys.flags.warn_default_encoding:  # PEP 597's warnings asked for (the test suite does): the course's code must pass
    warnings.filterwarnings("error", category=EncodingWarning, module=r"mnist_helpers\b")

# Antivirus scanners, OneDrive and search indexers open a file just written for a moment, and Windows then refuses
# to replace it: the rename is tried again after these pauses (seconds) before the error is given.
REPLACE_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_args):
    """Open a temporary file beside ``path`` for writing; on success, rename it to ``path``.

    If the block raises, the temporary file is removed and whatever was at ``path`` before
    is left untouched. The data is flushed to disk before the rename. A text ``mode`` is UTF-8
    unless ``encoding=`` says otherwise. A read-only ``path`` is refused (``PermissionError``
    saying so), on every system alike.
    """
    path = Path(path)
    if "b" not in mode:
        open_args.setdefault("encoding", "utf-8")
    if path.exists() and not path.stat().st_mode & stat.S_IWUSR:
        raise PermissionError(errno.EACCES, f"{path} is read-only: make it writable to let it be replaced, "
                                            "or write to another file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _new_file(path)
    try:
        if path.exists():  # the file keeps its permissions (a new one has those of any new file: umask applied)
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _new_file(path: Path) -> tuple[int, str]:
    """A new file beside ``path``, under a hidden temporary name, opened for writing; its descriptor and name.

    Created with mode 0o666, from which the system takes the umask, as for any new file (unlike
    ``tempfile.mkstemp``'s 0o600, which a class could not read); the umask is never changed.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def replace(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """``os.replace``, tried again for a moment while another program (antivirus, OneDrive) holds the file."""
    for delay in (*REPLACE_RETRY_DELAYS, None):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if delay is None:
                raise
            time.sleep(delay)


def cache_folder(*parts: str) -> Path:
    """Where the package keeps files of its own when it runs without the repository: the system's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on
    Windows), then ``mnist_helpers`` and ``parts``."""
    import platformdirs  # Jupyter's own choice of these folders

    return Path(platformdirs.user_cache_dir("mnist_helpers", appauthor=False), *parts)


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
