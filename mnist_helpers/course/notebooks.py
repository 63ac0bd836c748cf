"""The course's notebooks on disk: the series in order, each read as a notebook or refused in one line.

Shared by the readiness check (``runner.py``), the student builder and the site builder.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..errors import MnistHelpersError
from .folders import default_notebooks

CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)  # git's merge-conflict markers


class NotebookError(MnistHelpersError, ValueError):
    """No notebooks where they were looked for, or a notebook that cannot be read: nothing can start."""

    exit_status = 2


def shown(path: Path, relpath=os.path.relpath) -> str:
    """``path`` as the user reads it best: relative to the current folder when it lies below it.

    On Windows a path on another drive (D:, a USB stick) has no relative form: it is shown as it is.
    """
    try:
        relative = relpath(path)
    except ValueError:  # ntpath: "path is on mount 'D:', start on mount 'C:'"
        return str(path)
    return relative if not relative.startswith("..") else str(Path(path).resolve())


def series(names: list[str] | None = None, folder: Path | None = None) -> list[Path]:
    """The notebooks of the series in order (in ``default_notebooks()`` unless ``folder``), or only those named."""
    folder = Path(folder or default_notebooks())
    if not folder.is_dir():
        raise NotebookError(f"{shown(folder)} is not a folder: give --notebooks the folder that holds the course's "
                          "notebooks")
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise NotebookError(f"no notebooks of the series (01_explore.ipynb, ...) in {shown(folder)}: "
                          "give --notebooks the folder that holds them")
    if names:
        unknown = [n for n in names if not any(n in (p.name, p.stem) for p in paths)]
        if unknown:
            raise FileNotFoundError(f"no notebook named {', '.join(unknown)} in {shown(folder)}; "
                                    f"the series is {', '.join(p.stem for p in paths)}")
        paths = [p for p in paths if p.name in names or p.stem in names]
    return paths


def read_notebook(path: Path):
    """The notebook at ``path``; a ``NotebookError`` in one line, naming it, if it cannot be read as one."""
    import nbformat

    text = path.read_text(encoding="utf-8", errors="replace")
    if CONFLICT.search(text):
        raise NotebookError(f"{shown(path)} holds merge-conflict markers (<<<<<<<, =======, >>>>>>>): resolve the "
                          "conflict (keep one side with git checkout --ours or --theirs, or edit it), then run again")
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(f"{shown(path)} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}): "
                          "restore it from the course, or fix it in a text editor") from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat reports a damaged notebook with many kinds of errors
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise NotebookError(f"{shown(path)} is not a Jupyter notebook ({reason}): restore it from the course") from None
    return nb
