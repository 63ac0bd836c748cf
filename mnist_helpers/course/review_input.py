"""Reading a class's submissions and matching them to the course, for ``python -m mnist_helpers review``.

- ``unpack``, ``collect``, ``parse``: the files handed in (a folder or a zip), each with its learner, read
  as a notebook or given the reason it is not one;
- ``match``, ``choose``: each notebook matched to its course notebook by its content (cell ids, markdown
  lines), never its name; of one learner's copies of a notebook, the newest;
- ``cells_to_run``: the teacher's notebook with only its answer cells replaced by the learner's (paired by
  cell id, by the exercise the next check cell names, else by order), as the cells a worker runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import MnistHelpersError
from .review_worker import CHECK

UNPACKED_AT_MOST = 4 * 2**30  # bytes a zip of submissions may unpack to
MATCH_AT_LEAST = 0.4  # the share of a course notebook's cell ids (or markdown lines) a submission must hold


class ReviewError(MnistHelpersError, ValueError):
    """The review cannot start: no submissions there, or a zip that cannot be read safely."""

    exit_status = 2

@dataclass
class Submission:
    """One file handed in."""

    file: str  # as the report names it: relative to SUBMISSIONS, with "/"
    learner: str
    path: Path  # where it is read from (in SUBMISSIONS, or in the zip's temporary folder)
    sha256: str = ""
    modified: float = 0.0
    notebook: str = ""  # the course notebook it matches, "03_model"
    nb: object = None
    reason: str = ""  # why it is not reviewed, if it is not

# Reading the submissions.


def unpack(archive: Path, into: Path) -> Path:
    """Extract ``archive`` into ``into``, refusing unsafe member names; the folder that holds the submissions."""
    try:
        with zipfile.ZipFile(archive) as z:
            size = sum(member.file_size for member in z.infolist())
            if size > UNPACKED_AT_MOST:
                raise ReviewError(f"{archive} would unpack to {size / 2**30:.1f} GiB, more than a class's notebooks "
                                  f"({UNPACKED_AT_MOST / 2**30:g} GiB at most): nothing was reviewed")
            for member in z.infolist():
                name = PurePosixPath(member.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", member.filename):
                    raise ReviewError(f"{archive} holds a file named {member.filename!r} that would land outside "
                                      "the folder it is unpacked into: nothing was reviewed")
                if member.is_dir() or name.parts[0] == "__MACOSX":
                    continue
                target = into.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(member))
                os.utime(target, (time.mktime(member.date_time + (0, 0, -1)),) * 2)
    except (zipfile.BadZipFile, OSError) as err:
        raise ReviewError(f"{archive} cannot be read as a zip ({err})") from None
    entries = [p for p in into.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into  # the zip of a folder: that folder


def collect(root: Path) -> list[Submission]:
    """Every file below ``root`` (hidden ones and checkpoints left out), each with its learner."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        learner = relative.parts[0] if len(relative.parts) > 1 else path.stem
        if path.is_symlink():  # never followed: it could point at any file of the teacher's
            found.append(Submission(relative.as_posix(), learner, path, reason="a symbolic link (not followed)"))
            continue
        data = path.read_bytes()
        found.append(Submission(relative.as_posix(), learner, path, hashlib.sha256(data).hexdigest(),
                                path.stat().st_mtime))
    return found


def parse(submission: Submission):
    """The submission as a notebook, or None with ``reason`` set."""
    import nbformat

    if submission.path.suffix != ".ipynb":
        submission.reason = f"not a notebook file ({submission.path.suffix or 'no extension'})"
        return None
    text = submission.path.read_bytes().decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        submission.reason = f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        return None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat reports a damaged notebook with many kinds of errors
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
        submission.reason = f"not a Jupyter notebook ({first})"
        return None
    return nb


def fingerprint(nb) -> tuple[set[str], set[str]]:
    """A notebook's cell ids and the lines of its markdown cells (words of three or more, spaces folded)."""
    ids = {cell.get("id") for cell in nb.cells if cell.get("id")}
    lines = {" ".join(line.split()) for cell in nb.cells if cell.cell_type == "markdown"
             for line in cell.source.splitlines() if len(line.split()) >= 3}
    return ids, lines


def match(nb, course: dict[str, object]) -> tuple[str, float]:
    """The course notebook ``nb`` is a copy of (by content), and the share of it found in ``nb``."""
    ids, lines = fingerprint(nb)
    scores = {}
    for name, teacher in course.items():
        their_ids, their_lines = fingerprint(teacher)
        scores[name] = max(len(ids & their_ids) / max(len(their_ids), 1), len(lines & their_lines) / max(len(
            their_lines), 1))
    best = max(scores, key=scores.get)
    return best, scores[best]


def choose(submissions: list[Submission], course: dict[str, object]) -> None:
    """Parse and match every submission; of one learner's copies of one notebook, keep the newest."""
    newest: dict[tuple[str, str], Submission] = {}
    for submission in submissions:
        nb = parse(submission)
        if nb is None:
            continue
        name, score = match(nb, course)
        if score < MATCH_AT_LEAST:
            submission.reason = f"not a notebook of the course (at most {score:.0%} of any course notebook in it)"
            continue
        submission.notebook, submission.nb = name, nb
        key = submission.learner, name
        if key in newest:
            older, kept = sorted([newest[key], submission], key=lambda s: (s.modified, s.file))
            older.reason = f"an older copy of {name} by {submission.learner}: the newest, {kept.file}, was reviewed"
            older.nb = None
            newest[key] = kept
        else:
            newest[key] = submission


# The notebook that runs: the teacher's, with the learner's answers.


def answers_of(nb, teacher) -> dict[str, str]:
    """The learner's answer cells, by exercise ("q1": source), paired with the teacher's ones."""
    teacher_ids = {cell.get("id"): exercise for cell, exercise in exercise_cells(teacher) if cell.get("id")}
    answers: dict[str, str] = {}
    unpaired = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        exercise = teacher_ids.get(cell.get("id"))
        tagged = "solution" in cell.metadata.get("tags", [])
        if exercise is None and tagged:
            following = next((c for c in nb.cells[index + 1:] if c.cell_type == "code"), None)
            found = CHECK.search(following.source) if following is not None else None
            exercise = found.group(1) if found else None
            if exercise is None:
                unpaired.append(cell.source)
                continue
        if exercise is not None and exercise not in answers:
            answers[exercise] = cell.source
    left = [exercise for _, exercise in exercise_cells(teacher) if exercise not in answers]
    answers.update(zip(left, unpaired, strict=False))  # by order
    return answers


def exercise_cells(teacher) -> list[tuple[object, str]]:
    """The teacher's answer cells, each with the exercise the next check cell checks."""
    found = []
    for index, cell in enumerate(teacher.cells):
        if "solution" in cell.metadata.get("tags", []):
            check = next(c for c in teacher.cells[index + 1:] if "check" in c.metadata.get("tags", []))
            found.append((cell, CHECK.search(check.source).group(1)))
    return found


def cells_to_run(nb, teacher) -> tuple[list[dict], dict[str, str]]:
    """The cells of the run, and a note per exercise whose answer cell the submission lacks."""
    from .student import stub

    answers, notes, exercise = answers_of(nb, teacher), {}, None
    cells = []
    for cell, kind in ((c, _kind(c)) for c in teacher.cells if c.cell_type == "code"):
        source = cell.source
        if kind == "answer":
            exercise = next(e for c, e in exercise_cells(teacher) if c is cell)
            if exercise in answers:
                source = answers[exercise]
            else:
                source = stub(cell.source)
                notes[exercise] = "no answer cell for this exercise in the submission (an older version of the course?)"
        elif kind == "check":
            exercise = CHECK.search(source).group(1)
        cells.append({"kind": kind, "source": source, "exercise": exercise if kind != "lesson" else None})
    return cells, notes


def _kind(cell) -> str:
    tags = cell.metadata.get("tags", [])
    return "answer" if "solution" in tags else "check" if "check" in tags else "lesson"
