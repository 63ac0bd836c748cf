"""``python -m mnist_helpers student --out DIR``: the student edition, built from the teacher's notebooks.

The notebooks in ``notebooks/`` are the teacher edition: each exercise's answer cell (tag
``solution``) holds a reference solution, and the check cell under it (tag ``check``) shows
``Correct``. The student edition is the same notebooks with:

- each solution replaced by a stub: a block between ``# BEGIN SOLUTION: what to write`` and
  ``# END SOLUTION`` becomes ``...  # your code: what to write``; a line ending in
  ``# SOLUTION: what to write`` keeps its ``name =`` and becomes ``name = ...  # your code: ...``;
- the outputs of solution and check cells removed (everything else, prose, figures and the
  parameters cells, is identical).

A stub leaves every name the check needs defined, so the student edition runs top to bottom
and each check says "Not answered yet".
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from ..files import atomic_write
from .runner import NOTEBOOK_DIR, series

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION(?::\s*(.*?))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
LINE = re.compile(r"^(\s*)(.*?)\s*# SOLUTION(?::\s*(.*?))?\s*$")
ASSIGNMENT = re.compile(r"^([A-Za-z_][\w, ]*?)\s*=[^=]")


class StudentEditionError(ValueError):
    """The student edition cannot be built (a bad output folder, or a solution cell without markers)."""


def stub(source: str, where: str = "a solution cell") -> str:
    """The student's version of a solution cell's code."""
    lines, inside, marked = [], False, False
    for line in source.splitlines():
        if inside:
            if END.match(line):
                inside = False
            continue
        begin, single = BEGIN.match(line), LINE.match(line)
        if begin:
            inside = marked = True
            lines.append(f"{begin.group(1)}...  # your code: {begin.group(2) or 'see the task above'}")
        elif END.match(line):
            raise StudentEditionError(f"{where}: '# END SOLUTION' without '# BEGIN SOLUTION'")
        elif single:
            marked = True
            assigned = ASSIGNMENT.match(single.group(2))
            if assigned:  # keep the names, so the check below still finds them
                names = [name.strip() for name in assigned.group(1).split(",") if name.strip()]
                lines.append(f"{single.group(1)}{', '.join(names)} = {', '.join(['...'] * len(names))}  # your code: "
                             f"{single.group(3) or 'see the task above'}")
        else:
            lines.append(line)
    if inside:
        raise StudentEditionError(f"{where}: '# BEGIN SOLUTION' without '# END SOLUTION'")
    if not marked:
        raise StudentEditionError(f"{where} has no '# BEGIN SOLUTION' block or '# SOLUTION' line: mark the answer")
    return "\n".join(lines)


def student_notebook(nb, name: str = "notebook"):
    """A copy of ``nb`` as the student edition shows it."""
    import copy

    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or not {"solution", "check"} & set(tags):
            continue
        if "solution" in tags:
            cell.source = stub(cell.source, f"{name}, cell {index}")
        cell.outputs, cell.execution_count = [], None
    return nb


def build(out: Path, overwrite: bool = False, folder: Path | None = None) -> list[Path]:
    """Write the student edition of every notebook in ``folder`` into ``out``; return the paths written.

    Refuses an existing non-empty ``out`` unless ``overwrite``. The edition is built in a
    temporary folder beside ``out`` and moved into place at the end: an error leaves nothing half-built.
    """
    import nbformat

    out, folder = Path(out), folder or NOTEBOOK_DIR
    if out.resolve() == folder.resolve():
        raise StudentEditionError(f"{out} is the teacher edition itself: choose another folder")
    if out.exists() and not out.is_dir():
        raise StudentEditionError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise StudentEditionError(f"{out} is not empty: choose an empty folder, or add --overwrite to replace its contents")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        written = []
        for path in series(folder=folder):
            nb = student_notebook(nbformat.read(path, as_version=4), path.stem)
            with atomic_write(staging / path.name, "w", encoding="utf-8") as f:
                nbformat.write(nb, f)
            written.append(out / path.name)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return written


def main(out: Path, overwrite: bool) -> int:
    """Build, say what was written and how to hand it out."""
    try:
        written = build(out, overwrite)
    except StudentEditionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote the student edition: {len(written)} notebooks in {out}/")
    print("Hand out that folder together with mnist_helpers (the notebooks import it): for example a copy of "
          "this repository with notebooks/ replaced by it.")
    return 0
