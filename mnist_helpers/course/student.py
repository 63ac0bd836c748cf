"""``python -m mnist_helpers student --out DIR``: the student edition, built from the teacher's notebooks.

The notebooks in ``notebooks/`` (or the folder given by ``--notebooks``) are the teacher edition:
each exercise's answer cell (tag ``solution``) holds a reference solution, and the check cell under
it (tag ``check``) shows ``Correct``. The student edition is the same notebooks with:

- each solution replaced by a stub: a block between ``# BEGIN SOLUTION: what to write`` and
  ``# END SOLUTION`` becomes ``...  # your code: what to write``; a line ending in
  ``# SOLUTION: what to write`` keeps its ``name =`` and becomes ``name = ...  # your code: ...``;
- the outputs of solution and check cells removed (everything else, prose, figures and the
  parameters cells, is identical).

A stub leaves every name the check needs defined, so the student edition runs top to bottom
and each check says "Not answered yet".

Nothing of a solution may reach the students, so the build stops, naming the notebook and the
cell, at a marker spelt another way (``# Solution:``), a marker in a cell not tagged
``solution``, a ``solution`` cell without markers, or a line of the solution still in the stub
(in the instruction after a marker, say). It also refuses an output folder that is, holds or
lies inside the teacher notebooks' folder or the repository, or that holds anything but an
earlier student edition (which ``--overwrite`` replaces): see ``folders.py``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from ..errors import MnistHelpersError
from .folders import default_notebooks, refuse_overlap, write_edition
from .notebooks import NotebookError, read_notebook, series

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION(?::\s*(.*?))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
LINE = re.compile(r"^(\s*)(.*?)\s*# SOLUTION(?::\s*(.*?))?\s*$")
ASSIGNMENT = re.compile(r"^([A-Za-z_][\w, ]*?)\s*=[^=]")
# Anything that looks like a marker, however it is spelt: never left in a student's code cell.
MARKER_WORDS = re.compile(r"(?i)#+\s*(?:begin|end)?[\s_-]*solution|\b(?:begin|end)[\s_-]*solution")
BLOCK_WORDS = re.compile(r"(?i)\b(?:begin|end)[\s_-]*solution")  # in prose, "solution" alone is a word
TRIVIAL = re.compile(r"\W*|[\w.]+:?")  # "pass", "else:", ")": a line of a block that gives nothing away
WRITER = "python -m mnist_helpers student"  # in the edition's manifest: what wrote it


class StudentEditionError(MnistHelpersError, ValueError):
    """The student edition cannot be built (a bad output folder, a notebook, or a solution cell without markers)."""

    exit_status = 2


def stub(source: str, where: str = "a solution cell") -> str:
    """The student's version of a solution cell's code."""
    return _stub(source, where)[0]


def _stub(source: str, where: str) -> tuple[str, list[str], list[str]]:
    """The student's version, the teacher's lines it keeps, and the lines of solution code it leaves out."""
    lines, kept, removed, inside, marked = [], [], [], False, False
    for line in source.splitlines():
        if inside:
            if END.match(line):
                inside = False
            elif not TRIVIAL.fullmatch(line.strip()):
                removed.append(line.strip())
            continue
        begin, single = BEGIN.match(line), LINE.match(line)
        if begin:
            inside = marked = True
            lines.append(f"{begin.group(1)}...  # your code: {begin.group(2) or 'see the task above'}")
        elif END.match(line):
            raise StudentEditionError(f"{where}: '# END SOLUTION' without '# BEGIN SOLUTION'")
        elif single:
            marked, code = True, single.group(2).strip()
            if not code:
                raise StudentEditionError(f"{where}: '# SOLUTION' ends no line of code; put it at the end of the "
                                          "line it marks, or mark lines with '# BEGIN SOLUTION' ... '# END SOLUTION'")
            removed.append(code)
            assigned = ASSIGNMENT.match(code)
            if assigned:  # keep the names, so the check below still finds them
                removed.append(code.split("=", 1)[1].strip())
                names = [name.strip() for name in assigned.group(1).split(",") if name.strip()]
                lines.append(f"{single.group(1)}{', '.join(names)} = {', '.join(['...'] * len(names))}  # your code: "
                             f"{single.group(3) or 'see the task above'}")
        else:
            lines.append(line)
            kept.append(line.strip())
    if inside:
        raise StudentEditionError(f"{where}: '# BEGIN SOLUTION' without '# END SOLUTION'")
    if not marked:
        raise StudentEditionError(f"{where} has no '# BEGIN SOLUTION' block or '# SOLUTION' line: mark the answer")
    return "\n".join(lines), kept, removed


def check_nothing_left(student: str, kept: list[str], removed: list[str], where: str) -> None:
    """Refuse a stub that still holds a marker, however spelt, or a line of the solution it replaced."""
    found = MARKER_WORDS.search(student)
    if found:
        raise StudentEditionError(f"{where} still holds '{found.group(0).strip()}' once the solution is taken out: "
                                  "write the markers exactly '# BEGIN SOLUTION', '# END SOLUTION' or '# SOLUTION'")
    lines = {line.strip() for line in student.splitlines()}
    instructions = " ".join(line.split("# your code:", 1)[1] for line in student.splitlines() if "# your code:" in line)
    for code in removed:
        if code in kept:
            continue  # shown to the students anyway
        if code in lines or re.search(rf"(?<![\w.]){re.escape(code)}(?![\w.])", instructions):
            raise StudentEditionError(f"{where}: the solution's {code!r} would reach the students (it is in the "
                                      "instruction after a marker): reword the instruction")


def student_notebook(nb, name: str = "notebook"):
    """A copy of ``nb`` as the student edition shows it; ``StudentEditionError`` if a solution would show."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        tags = set(cell.metadata.get("tags", []))
        if "solution" in tags:
            if cell.cell_type != "code":
                raise StudentEditionError(f"{where} is a {cell.cell_type} cell tagged 'solution': only code cells "
                                          "hold solutions; make it a code cell, or remove the tag")
            student, kept, removed = _stub(cell.source, where)
            check_nothing_left(student, kept, removed, where)
            cell.source = student
        else:
            found = (BLOCK_WORDS if cell.cell_type == "markdown" else MARKER_WORDS).search(cell.source)
            if found:
                raise StudentEditionError(f"{where} holds '{found.group(0).strip()}' but is not tagged 'solution': "
                                          "add the tag 'solution' to the cell, or remove the marker")
        if cell.cell_type == "code" and tags & {"solution", "check"}:
            cell.outputs, cell.execution_count = [], None
    return nb


def build(out: Path, overwrite: bool = False, folder: Path | None = None) -> list[Path]:
    """Write the student edition of every notebook in ``folder`` into ``out``; return the paths written.

    ``folder``: the teacher notebooks (default: ``default_notebooks()``). Every notebook is read
    and turned into its student edition before anything is written; the edition is then written
    by ``folders.write_edition``: all of it or nothing, into a new or empty ``out``, or (with
    ``overwrite``) over an earlier student edition, and nowhere near the teacher's notebooks.
    """
    import nbformat

    out, folder = Path(out), Path(folder) if folder is not None else default_notebooks()
    refuse_overlap(out, folder)
    files = {}
    try:
        for path in series(folder=folder):
            text = nbformat.writes(student_notebook(read_notebook(path), path.name))
            files[path.name] = (text if text.endswith("\n") else text + "\n").encode("utf-8")
    except NotebookError as err:  # no notebooks there, or one that cannot be read
        raise StudentEditionError(str(err)) from None
    write_edition(out, files, WRITER, overwrite)
    return [out / name for name in files]


def main(out: Path, overwrite: bool, notebooks: Path | None = None) -> int:
    """Build, say what was written and how to hand it out (a refusal is raised for the command line to print)."""
    written = build(out, overwrite, notebooks)
    print(f"wrote the student edition: {len(written)} notebooks in {out}/")
    print("Hand out that folder to learners who have mnist_helpers installed (the notebooks import it); "
          "see TEACHING.md.")
    return 0
