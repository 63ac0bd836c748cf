"""The folders the course's tools read and write, and how they write a folder without losing anything.

- ``default_notebooks()``: the teacher notebooks' folder when none is given.
- ``refuse_overlap(out, notebooks)``: an output folder must not be, hold or lie inside the notebooks'
  folder, nor be, hold or (unless allowed) lie inside the course's repository.
- ``write_edition(out, files, writer)``: write a folder of files (the student edition, say). The
  files are written into a staging folder beside ``out`` (``.<name>.mnist-helpers-staging``), then
  moved into place: an error leaves ``out`` as it was, and what a killed build leaves is recognised
  and cleaned up by the next one. A manifest in ``out`` lists what was written, with each file's
  SHA-256: a later build replaces exactly those files (when asked to, with ``overwrite``) and refuses
  a folder that holds anything else, or a file changed since. No file it did not write is ever deleted.
  One build at a time writes a given folder: a lock (``filelock``, in the temporary folder, so that
  nothing is left beside ``out``) is held from the first check to the last move.

Paths are compared as the file system does: without regard to case on Windows and macOS
(``os.path.normcase``, and the same folder however it is spelled).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from filelock import FileLock, Timeout

from ..errors import MnistHelpersError
from ..files import replace, repository_root

MANIFEST = ".mnist-helpers-edition.json"  # in each edition: who wrote it, and its files' SHA-256
STAGING = ".mnist-helpers-staging"  # the staging folder is ".<out's name>" + this, beside out
STAGING_MARK = "BUILDING"  # inside a staging folder: marks it as ours


class OutputFolderError(MnistHelpersError, ValueError):
    """An output folder that is not safe to write: it overlaps the course, or holds files this tool did not write."""

    exit_status = 2


def default_notebooks() -> Path:
    """The teacher notebooks' folder: the repository's ``notebooks/`` in a checkout, else the current folder."""
    root = repository_root()
    return root / "notebooks" if root is not None else Path.cwd()


def refuse_overlap(out: Path, notebooks: Path, inside_repository: bool = False,
                   also: list[tuple[Path, str]] = ()) -> None:
    """Refuse ``out`` if it is, contains or lies inside ``notebooks`` or the course's repository.

    ``inside_repository=True`` allows a folder inside the repository (such as ``build/``), never
    the notebooks' folder, a folder inside it, the repository itself or a folder holding it.
    ``also``: more folders to keep apart from ``out`` in the same way, each with what to call it.
    """
    target, root = Path(out).resolve(), repository_root()
    notebooks = [(Path(notebooks).resolve(), "the teacher notebooks' folder")]
    notebooks += [(Path(folder).resolve(), what) for folder, what in also]
    repository = [(root, "the course's repository")] if root is not None else []
    # The most telling relation first: a folder inside notebooks/ lies inside the repository too.
    for where, folders, relation in [
        ("is", notebooks + repository, lambda folder: _same_path(target, folder)),
        ("contains", repository + notebooks, lambda folder: _inside(folder, target)),
        ("lies inside", notebooks + ([] if inside_repository else repository), lambda folder: _inside(target, folder)),
    ]:
        for folder, what in folders:
            if relation(folder):
                raise OutputFolderError(f"{out} {where} {what} ({folder}): choose a folder outside it; "
                                        "nothing was changed")


def _folded(path: Path) -> str:
    """``path`` as the file system compares it: case folded where it ignores case (Windows, macOS)."""
    text = os.path.normcase(str(path))
    return text.lower() if sys.platform == "darwin" else text  # normcase folds on Windows only


def _same_path(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same folder: the same spelling (as the file system compares it), or the
    same file on disk."""
    if _folded(a) == _folded(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` is ``outer`` or lies inside it (as the file system compares paths)."""
    return any(_same_path(folder, outer) for folder in (inner, *inner.parents))


def write_edition(out: Path, files: dict[str, bytes], writer: str, overwrite: bool = False) -> None:
    """Write ``files`` (relative path -> content) as the folder ``out``, with a manifest naming ``writer``.

    ``out`` may be new or empty; with ``overwrite``, it may also hold an earlier edition of the same
    ``writer``, unchanged, which is then replaced. Anything else is refused (``OutputFolderError``),
    before anything is written.
    """
    out = Path(out)
    where = Path(os.path.abspath(out))  # "." and "../x" work too
    if not where.name:
        raise OutputFolderError(f"{out} is the root of the file system: choose a folder")
    for name in files:
        if not _safe_name(name) or name == MANIFEST:
            raise ValueError(f"cannot write {name!r} in an edition")
    existing_edition(out, writer, overwrite)  # refuse before any work
    above = where.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputFolderError(f"cannot write to {out}: {above} is a file, not a folder")
    staging = where.parent / f".{where.name}{STAGING}"
    lock = FileLock(_lock_path(where), timeout=0, mode=0o666)  # another user of the machine may build there too
    try:
        lock.acquire()
    except Timeout:
        raise OutputFolderError(f"another build is writing {out} right now: wait for it to finish") from None
    except OSError as err:
        raise OutputFolderError(f"cannot take the lock of builds of {out} ({lock.lock_file}: "
                                f"{err.strerror or err}): delete that file if no build is running") from None
    claimed = False
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        _claim(staging, out)
        claimed = True
        for name, data in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        manifest = Manifest(writer, {name: _sha256(data) for name, data in sorted(files.items())})
        (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1) + "\n", encoding="utf-8")
        old = existing_edition(out, writer, overwrite)  # again: nothing of the user's appeared meanwhile
        keep_folder = where.is_dir()
        if keep_folder:  # empty, or an earlier edition: the folder stays (it may be the current folder)
            _remove(where, old)
            replace(staging / MANIFEST, where / MANIFEST)  # from here on, the new files are listed as ours
            for name in files:
                (where / name).parent.mkdir(parents=True, exist_ok=True)
                replace(staging / name, where / name)
        (staging / STAGING_MARK).unlink()
        if not keep_folder:
            replace(staging, where)  # tried again while an indexer or antivirus holds the new folder
    except OSError as err:
        raise OutputFolderError(f"cannot write to {out}: {err.strerror or err}") from None
    finally:
        try:
            if claimed and staging.is_dir() and not staging.is_symlink():
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            lock.release()


def existing_edition(out: Path, writer: str, overwrite: bool) -> list[str]:
    """The files of the earlier edition in ``out`` that ``write_edition`` may replace; refuse anything else.

    Returns [] for a folder that does not exist or is empty.
    """
    out = Path(out)
    if out.is_symlink():
        raise OutputFolderError(f"{out} is a symbolic link: give the folder it points to, {out.resolve()}")
    if not out.exists():
        return []
    if not out.is_dir():
        raise OutputFolderError(f"{out} is a file, not a folder: choose a folder")
    present = _contents(out)
    if not present:
        return []
    manifest = _read_manifest(out)
    if manifest is None or manifest.written_by != writer:
        raise OutputFolderError(f"{out} is not empty ({_some(present)}) and holds no edition written by {writer}: "
                                "choose a new or empty folder; nothing was changed")
    names = list(manifest.files)
    expected = {MANIFEST, *names, *(str(p) for name in names for p in PurePosixPath(name).parents if str(p) != ".")}
    unexpected = sorted(set(present) - expected)
    if unexpected:
        raise OutputFolderError(f"{out} holds files that {writer} did not write ({_some(unexpected)}): move them "
                                "away, or choose another folder; nothing was changed")
    changed = [name for name, digest in manifest.files.items() if name in present and not _same(out / name, digest)]
    if changed:
        raise OutputFolderError(f"{out} holds files changed since {writer} wrote them ({_some(changed)}): move them "
                                "away, or choose another folder; nothing was changed")
    if not overwrite:
        raise OutputFolderError(f"{out} already holds an edition written by {writer}: add --overwrite to replace it")
    return [name for name in names if name in present]


def _lock_path(where: Path) -> Path:
    """The lock file of the builds of ``where``: in the temporary folder, named after the folder's path."""
    digest = hashlib.sha256(_folded(where).encode("utf-8")).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"mnist-helpers-build-{digest}.lock"


def _claim(staging: Path, out: Path) -> None:
    """Create ``staging``, marked as ours; first remove one that a killed build left behind.

    The caller holds the lock of ``out``'s builds: a staging folder found now is no running build's.
    Nothing in it is open while it is removed (Windows refuses to delete an open file).
    """
    if staging.exists() or staging.is_symlink():
        if staging.is_symlink() or not (staging / STAGING_MARK).is_file():
            raise OutputFolderError(f"{staging} is in the way of building {out} and was not made by this tool: "
                                    "move it away")
        shutil.rmtree(staging)  # left by a build that was killed
    staging.mkdir()
    try:
        (staging / STAGING_MARK).write_text(f"a build of {out} in progress; if no build is running, this folder can "
                                            "be deleted\n", encoding="utf-8")
    except OSError:
        staging.rmdir()
        raise


def _remove(out: Path, names: list[str]) -> None:
    """Delete an earlier edition's files, then its folders, which are empty by then; its manifest stays.

    Killed at any moment, ``out`` holds the manifest and some of its files: the next build recognises it.
    """
    for name in names:
        (out / name).unlink(missing_ok=True)
    folders = {p for name in names for p in PurePosixPath(name).parents if str(p) != "."}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if (out / folder).is_dir():
            (out / folder).rmdir()  # fails if anything is left: nothing is deleted that we did not write


def _contents(folder: Path) -> list[str]:
    """Every file and folder below ``folder``, as relative paths with ``/``."""
    found = []
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            found.append((Path(parent) / name).relative_to(folder).as_posix())
    return found


@dataclass(frozen=True)
class Manifest:
    """What an edition's manifest records: the tool that wrote it, and each file's SHA-256."""

    written_by: str
    files: dict[str, str]  # relative path (with "/") -> SHA-256 hex digest

    def __post_init__(self):
        if not isinstance(self.written_by, str) or not isinstance(self.files, dict):
            raise TypeError("written_by must be a string and files a mapping")
        for name, digest in self.files.items():
            if not (isinstance(name, str) and _safe_name(name) and isinstance(digest, str)):
                raise ValueError(f"{name!r}: not a file of an edition")


def _read_manifest(out: Path) -> Manifest | None:
    """The manifest in ``out``, or None if there is none or it is not one of ours."""
    try:
        return Manifest(**json.loads((out / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):  # missing, not JSON, other fields, or fields of the wrong kind
        return None


def _safe_name(name: str) -> bool:
    """A relative path that stays inside its folder."""
    path = PurePosixPath(name)
    return (bool(path.parts) and not path.is_absolute() and ".." not in path.parts and "." not in name.split("/")
            and "\\" not in name and ":" not in name)


def _some(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(sorted(names)[:shown]) + more


def _same(path: Path, digest: str) -> bool:
    """Whether ``path`` is a plain file with this SHA-256: as it was written."""
    return path.is_file() and not path.is_symlink() and _sha256(path.read_bytes()) == digest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
