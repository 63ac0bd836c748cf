"""``python -m mnist_helpers review SUBMISSIONS --out REPORT``: a class's returned notebooks, checked again.

``SUBMISSIONS`` is a folder of notebooks (flat: each file a learner, named by its stem; or one subfolder per
learner, named by the subfolder) or a ``.zip`` of either. It is only read: a zip is unpacked into a temporary
folder (member names that are absolute or hold ``..`` are refused). Each ``.ipynb`` is matched to a course
notebook by its content (its cell ids and the lines of its markdown cells), never by its file name; a file
that is not JSON, not a notebook or not the course's gets a row saying so.

Nothing of a submission is believed but its answer cells (tag ``solution``, paired with the teacher's by cell
id, by the exercise the next check cell names, else by order): the notebook that runs is the teacher's own
(``notebooks/NN_*.ipynb``) with only its answer cells replaced, so edited lesson or check cells and stored
outputs count for nothing; an answer cell missing (an older version of the course) runs as the student
edition's stub, and the row says so. Each notebook runs in a child process (``review_worker.py``: time and
memory limits, one thread, its own process group), ``--jobs`` at a time.

The report (``review_report.py``) is written under the safe-folder rules of ``folders.py``: a new or empty
folder, or an earlier review's output, unchanged. It is written again after every notebook, with
``reviewed.json`` (each submission's SHA-256 and results): a review run again with the same ``--out``, after an
interruption say, runs only the submissions that are new or changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import MnistHelpersError
from .folders import OutputFolderError, _read_manifest, default_notebooks, refuse_overlap, write_edition
from .notebooks import read_notebook, series
from .review_worker import CHECK, STOPPING, limited_environment, run_job, stop_all

WRITER = "python -m mnist_helpers review"
STATE = "reviewed.json"
DEFAULT_TIMEOUT = 300  # seconds per notebook
DEFAULT_MEMORY_GIB = 3.0
UNPACKED_AT_MOST = 4 * 2**30  # bytes a zip of submissions may unpack to
MATCH_AT_LEAST = 0.4  # the share of a course notebook's cell ids (or markdown lines) a submission must hold


class Interrupted(MnistHelpersError):
    """Ctrl-C during the review: what was reviewed is written, the rest is not."""

    exit_status = 130


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


@dataclass
class Result:
    """What the review found for one submission: a row per exercise, or the reason it was not reviewed."""

    file: str
    learner: str
    sha256: str
    notebook: str = ""
    course_sha256: str = ""
    status: str = ""  # "reviewed", "timed out after 300 s", ...; empty if not reviewed at all
    settings: str = ""  # the limits it ran under: a notebook stopped by them runs again under others
    reason: str = ""  # why it was not reviewed
    seconds: float = 0.0
    peak_mib: float | None = None  # the notebook process's peak resident memory, if it ran to the end
    rows: list[dict] = field(default_factory=list)  # exercise, verdict, line, seconds, note


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


# Running one submission.


def review_one(submission: Submission, teacher, course_sha256: str, timeout: float, memory: int | None,
               env: dict[str, str], settings: str = "") -> Result:
    """Run one submission and turn what its child reported into rows."""
    number = submission.notebook[:2]
    cells, notes = cells_to_run(submission.nb, teacher)
    run = run_job(cells, f"mnist_helpers.exercises.nb{number}", timeout, memory, env)
    result = Result(submission.file, submission.learner, submission.sha256, submission.notebook, course_sha256,
                    seconds=round(run.seconds, 1), settings=settings)
    by_index = {e.get("index"): e for e in run.events if e.get("event") in ("verdict", "no-verdict", "raised", "ran")}
    started = [e["index"] for e in run.events if e.get("event") == "cell"]
    last = started[-1] if started else -1
    done = next((e for e in run.events if e.get("event") == "done"), None)
    if done and done.get("peak"):
        result.peak_mib = round(done["peak"] / 2**20, 1)
    gib = f"{memory / 2**30:g} GiB" if memory else ""
    stopped_by = ""
    if run.timed_out:
        stopped_by = f"timed out after {timeout:g} s"
    elif not done:
        stopped_by = (f"the notebook stopped its own process (exit status {run.exit_status})"
                      if run.exit_status is not None and run.exit_status >= 0
                      else f"its process was killed (signal {-run.exit_status})")
    lesson_error = next((e for e in by_index.values() if e["event"] == "raised"
                         and cells[e["index"]]["kind"] == "lesson"), None)
    if lesson_error:
        stopped_by = (f"lesson cell {lesson_error['index']} raised {lesson_error['error']}"
                      + (f" ({lesson_error['message']})" if lesson_error["message"] else "")
                      + (f": ran out of memory (limit {gib})" if lesson_error["memory"] else ""))
    result.status = stopped_by or "reviewed"
    for index, cell in enumerate(cells):
        if cell["kind"] != "check":
            continue
        exercise = f"{number}.{cell['exercise'].removeprefix('q')}"
        answer = next(i for i in range(index - 1, -1, -1) if cells[i]["kind"] == "answer")
        raised = by_index.get(answer, {}) if by_index.get(answer, {}).get("event") == "raised" else None
        note = notes.get(cell["exercise"], "")
        if raised and raised["memory"]:
            note = f"the answer cell ran out of memory (limit {gib})"
        elif raised:
            note = f"the answer cell raised {raised['error']}" + (f" ({raised['message']})" * bool(raised["message"]))
        seconds = sum(e.get("seconds", 0) for i, e in by_index.items() if i in (answer, index))
        row = {"exercise": exercise, "verdict": "", "line": "", "seconds": round(seconds, 2), "note": note}
        got = by_index.get(index)
        if got and got["event"] == "verdict":
            row.update(verdict=got["id"], line=got["line"])
        elif got and got["event"] == "no-verdict":  # the check could not run: its answer cell failed
            row.update(verdict=f"{exercise}/raised", line=f"Not yet: {note or 'the check could not run'}")
        elif run.timed_out and answer <= last <= index:
            row.update(verdict=f"{exercise}/timed-out", line=f"Not yet: the answer ran past the time limit "
                                                             f"({timeout:g} s)")
        else:
            row.update(line=f"not run: {stopped_by}")
        result.rows.append(row)
    return result


def not_reviewed(submission: Submission) -> Result:
    return Result(submission.file, submission.learner, submission.sha256, submission.notebook,
                  reason=submission.reason)


# The whole review.


def read_state(out: Path) -> dict[str, Result]:
    """The results an earlier review wrote in ``out``, by file (none if it is not a review's output)."""
    manifest = _read_manifest(out) if out.is_dir() else None
    if manifest is None or manifest.written_by != WRITER:
        return {}
    try:
        return {entry["file"]: Result(**entry) for entry in json.loads((out / STATE).read_text(encoding="utf-8"))}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def review(submissions: Path, out: Path, notebooks: Path | None = None, jobs: int = 2,
           timeout: float = DEFAULT_TIMEOUT, memory_gib: float | None = DEFAULT_MEMORY_GIB,
           say=lambda line: print(line, file=sys.stderr, flush=True)) -> list[Result]:
    """Review every submission in ``submissions`` into ``out``; return the results, in file order."""
    from ..download import ensure_mnist
    from .folders import existing_edition
    from .review_report import report_files
    from .runner import kernel_environment

    submissions, out = Path(submissions), Path(out)
    STOPPING.clear()
    folder = Path(notebooks) if notebooks is not None else default_notebooks()
    if not submissions.exists():
        raise ReviewError(f"{submissions} does not exist: give the folder (or .zip) of the returned notebooks")
    refuse_overlap(out, folder, also=[(submissions, "the submissions' folder")] if submissions.is_dir() else [])
    existing_edition(out, WRITER, overwrite=True)  # refused before any work: only an earlier review, unchanged
    paths = series(folder=folder)
    course = {path.stem: read_notebook(path) for path in paths}
    course_sha = {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}
    memory = int(memory_gib * 2**30) if memory_gib else None
    settings = f"timeout {timeout:g} s, memory {memory_gib or 0:g} GiB"
    earlier = read_state(out)
    with tempfile.TemporaryDirectory(prefix="mnist-review-in-") as unpacked:
        root = unpack(submissions, Path(unpacked)) if submissions.is_file() else submissions
        found = collect(root)
        if not found:
            raise ReviewError(f"no files in {submissions}: nothing to review")
        choose([s for s in found if not s.reason], course)
        results: dict[str, Result] = {}
        todo = []
        for submission in found:
            before = earlier.get(submission.file)
            if submission.nb is None:
                results[submission.file] = not_reviewed(submission)
            elif (before and before.sha256 == submission.sha256 and before.status
                  and before.course_sha256 == course_sha[submission.notebook]
                  and (before.status == "reviewed" or before.settings == settings)):
                results[submission.file] = before
            else:
                todo.append(submission)
        skipped = len([s for s in found if s.nb is not None]) - len(todo)
        say(f"reviewing {len(todo)} notebooks, {jobs} at a time" + (f" ({skipped} reviewed earlier and unchanged)"
                                                                      if skipped else ""))
        ensure_mnist()  # once, before any child needs it
        env = limited_environment(kernel_environment(jobs))

        def write() -> None:
            ordered = [results[s.file] for s in found if s.file in results]
            files = report_files(ordered)
            files[STATE] = (json.dumps([asdict(r) for r in ordered], indent=1) + "\n").encode("utf-8")
            write_edition(out, files, WRITER, overwrite=True)

        write()
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            futures = {pool.submit(review_one, s, course[s.notebook], course_sha[s.notebook], timeout, memory,
                                   env, settings): s for s in todo}
            for count, future in enumerate(as_completed(futures), 1):
                submission = futures[future]
                result = future.result()
                results[submission.file] = result
                right = sum(row["verdict"].endswith("/correct") for row in result.rows)
                say(f"[{count}/{len(todo)}] {submission.learner}, {submission.notebook} ({submission.file}): "
                    f"{right}/{len(result.rows)} correct, {result.status}, {result.seconds:.1f} s")
                write()
        except KeyboardInterrupt:
            stop_all()  # every child killed with its group; the notebooks reviewed so far are written
            raise Interrupted(f"interrupted (Ctrl-C): {len(results) - (len(found) - len(todo))} of {len(todo)} "
                              f"notebooks reviewed, written to {out}; run the same command again to review the "
                              "rest") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [results[s.file] for s in found]


def main(submissions: Path, out: Path, notebooks: Path | None, jobs: int, timeout: float,
         memory_gib: float | None) -> int:
    """Review, then say where the report is and what could not be reviewed."""
    try:
        results = review(submissions, out, notebooks, jobs, timeout, memory_gib)
    except (ReviewError, OutputFolderError, Interrupted) as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_status
    reviewed = [r for r in results if r.status]
    print(f"reviewed {len(reviewed)} notebooks of {len({r.learner for r in reviewed})} learners; "
          f"{len(results) - len(reviewed)} files not reviewed (see the report)")
    print(f"report: {out / 'index.html'}, {out / 'verdicts.csv'}, feedback in {out / 'feedback'}/")
    return 0

