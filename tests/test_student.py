"""The student edition: stubs from the markers, nothing of the solutions left, refusals, atomic build.

That the student edition runs headless, every check saying "Not answered yet", is tested in
test_notebooks.py (it runs the student edition with overridden parameters).
"""

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from notebook_text import solution_lines

from mnist_helpers.course.folders import MANIFEST, STAGING, STAGING_MARK, OutputFolderError
from mnist_helpers.course.notebooks import series
from mnist_helpers.course.student import StudentEditionError, build, stub

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def solution_cell(source: str = "answer = 6 * 7  # SOLUTION: multiply six by seven"):
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["solution"]})


def teacher(tmp_path: Path, *cells, name: str = "01_small.ipynb") -> Path:
    """A folder of teacher notebooks: one small notebook made of ``cells`` (by default, one exercise)."""
    folder = tmp_path / "teacher"
    folder.mkdir(exist_ok=True)
    cells = cells or (nbformat.v4.new_markdown_cell("### Exercise 1.1"), solution_cell(),
                      nbformat.v4.new_code_cell("print(answer)", metadata={"tags": ["check"]}))
    nbformat.write(nbformat.v4.new_notebook(cells=list(cells)), folder / name)
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its content: to show that nothing changed."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_block_becomes_an_ellipsis_with_its_instruction():
    source = ('def f(x):\n    """Doc."""\n    # BEGIN SOLUTION: double it\n    y = 2 * x\n    return y\n'
              '    # END SOLUTION\n')
    assert stub(source) == 'def f(x):\n    """Doc."""\n    ...  # your code: double it'


def test_a_marked_line_keeps_its_name():
    source = "a = 1\nb, c = divmod(7, 2)  # SOLUTION: divide\nprint(b)  # SOLUTION\nd = b  # SOLUTION"
    assert stub(source) == "a = 1\nb, c = ..., ...  # your code: divide\nd = ...  # your code: see the task above"


@pytest.mark.parametrize("source, message", [("x = 1", "has no '# BEGIN SOLUTION'"),
                                             ("# BEGIN SOLUTION\nx = 1", "without '# END SOLUTION'"),
                                             ("x = 1\n# END SOLUTION", "without '# BEGIN SOLUTION'")])
def test_bad_markers_are_refused_and_named(source, message):
    with pytest.raises(StudentEditionError, match=message):
        stub(source, "01_explore, cell 9")


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student") / "edition"
    build(out)
    return out


def test_every_notebook_has_exercises_and_no_solution_reaches_the_students(edition):
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        teacher = nbformat.read(path, as_version=4)
        student = nbformat.read(edition / path.name, as_version=4)
        solutions = [c for c in teacher.cells if "solution" in c.metadata.get("tags", [])]
        assert len(solutions) >= 3, f"{path.name}: fewer than three exercises"
        student_code = "\n".join(c.source for c in student.cells if "solution" in c.metadata.get("tags", []))
        student_lines = {line.strip() for line in student_code.splitlines()}
        for cell in solutions:
            for line in solution_lines(cell.source):
                leaked = line in student_lines if "# BEGIN SOLUTION" in cell.source else line in student_code
                assert not leaked, f"{path.name}: the solution {line!r} reached the student edition"
        assert "...  # your code: " in student_code
        # everything but the solution and check cells is identical, outputs included
        for t, s in zip(teacher.cells, student.cells, strict=True):
            tags = set(t.metadata.get("tags", []))
            if tags & {"solution", "check"}:
                assert s.outputs == [] and s.execution_count is None
            else:
                assert s == t


def test_the_teacher_edition_shows_correct_for_every_check():
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
        verdicts = ["".join(o.get("text", "") for o in c.outputs) for c in checks]
        assert checks and all(v.startswith("Correct") for v in verdicts), (path.name, verdicts)


def test_a_folder_of_the_users_is_refused_even_with_overwrite(tmp_path):
    folder = teacher(tmp_path)
    out = tmp_path / "class"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    for overwrite in (False, True):
        with pytest.raises(OutputFolderError, match=r"class is not empty \(notes.txt\) and holds no edition"):
            build(out, overwrite, folder)
    assert tree(out) == {"notes.txt": b"mine"}  # nothing of the user's was touched


def test_overwrite_replaces_only_an_edition_it_wrote_with_nothing_else_in_it(tmp_path):
    folder = teacher(tmp_path)
    out = tmp_path / "edition"
    written = build(out, folder=folder)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *(p.name for p in written)])
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["written_by"] == "python -m mnist_helpers student" and list(manifest["files"]) == ["01_small.ipynb"]
    with pytest.raises(OutputFolderError, match="already holds an edition .* add --overwrite"):
        build(out, folder=folder)
    folder_itself = out.stat().st_ino
    build(out, overwrite=True, folder=folder)  # our own edition, unchanged: replaced
    assert out.stat().st_ino == folder_itself  # file by file: the folder stays (it may be the current folder)
    (out / "01_small.ipynb").unlink()  # what a build killed while moving the files in leaves: some of them
    build(out, overwrite=True, folder=folder)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "01_small.ipynb"]

    # the teacher's notes and collected answers put into the edition's folder: never deleted
    (out / "notes.txt").write_text("marks of the class", encoding="utf-8")
    (out / "answers").mkdir()
    (out / "answers" / "alice.ipynb").write_text("{}", encoding="utf-8")
    before = tree(out)
    with pytest.raises(OutputFolderError,
                       match=r"edition holds files that .* did not write \(answers, answers/alice.ipynb, notes.txt\)"):
        build(out, overwrite=True, folder=folder)
    assert tree(out) == before

    # a student notebook the teacher edited since: not replaced either
    (out / "notes.txt").unlink()
    shutil.rmtree(out / "answers")
    with (out / "01_small.ipynb").open("a", encoding="utf-8") as f:
        f.write(" ")
    before = tree(out)
    with pytest.raises(OutputFolderError, match=r"changed since .* \(01_small.ipynb\)"):
        build(out, overwrite=True, folder=folder)
    assert tree(out) == before


def test_overwrite_never_touches_a_copy_of_the_repository(tmp_path):
    """Pointed at a course folder (notebooks, package, .git), even one holding a manifest: refused, all kept."""
    folder = teacher(tmp_path)
    copy = tmp_path / "course"
    for name in ("notebooks", "mnist_helpers", ".git"):
        (copy / name).mkdir(parents=True)
        (copy / name / "kept.txt").write_text(name, encoding="utf-8")
    (copy / "README.md").write_text("the course", encoding="utf-8")
    before = tree(copy)
    with pytest.raises(OutputFolderError, match="course is not empty"):
        build(copy, overwrite=True, folder=folder)
    (copy / MANIFEST).write_text(json.dumps({"written_by": "python -m mnist_helpers student",
                                             "files": {"README.md": "0" * 64, "../outside.txt": "0" * 64}}),
                                 encoding="utf-8")
    with pytest.raises(OutputFolderError):  # a manifest naming files outside the folder is not ours either
        build(copy, overwrite=True, folder=folder)
    (copy / MANIFEST).unlink()
    assert tree(copy) == before


@pytest.mark.parametrize("out, where", [
    (NOTEBOOKS, "is the teacher notebooks' folder"),
    (NOTEBOOKS / "student", "lies inside the teacher notebooks' folder"),  # pytest would collect it
    (ROOT, "is the course's repository"),
    (ROOT.parent, "contains the course's repository"),
    (ROOT / "student", "lies inside the course's repository"),
])
def test_the_course_itself_is_refused(out, where):
    before = sorted(NOTEBOOKS.iterdir())
    with pytest.raises(OutputFolderError, match=re.escape(f"{out} {where}")):
        build(out, overwrite=True)
    assert sorted(NOTEBOOKS.iterdir()) == before and not (NOTEBOOKS / "student").exists()


def test_a_folder_inside_another_teachers_notebooks_is_refused(tmp_path):
    folder = teacher(tmp_path)
    with pytest.raises(OutputFolderError, match="lies inside the teacher notebooks' folder"):
        build(folder / "student", folder=folder)
    with pytest.raises(OutputFolderError, match="contains the teacher notebooks' folder"):
        build(tmp_path, overwrite=True, folder=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["01_small.ipynb"]


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    folder = teacher(tmp_path, solution_cell("answer = 42"), name="01_broken.ipynb")
    with pytest.raises(StudentEditionError, match=r"01_broken.ipynb, cell 0 has no"):  # a tagged cell without markers
        build(tmp_path / "edition", folder=folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher"]  # no edition, no temporary folder


@pytest.mark.parametrize("source", [
    "answer = 6 * 7  # Solution: multiply",
    "answer = 6 * 7  # solution",
    "answer = 6 * 7  #SOLUTION",
    "answer = 6 * 7  # SOLUTIONS",
    "# BEGIN SOLUTION - multiply\nanswer = 6 * 7\n# END SOLUTION",
    "#BEGIN SOLUTION\nanswer = 6 * 7\n#END SOLUTION",
    "print('# BEGIN SOLUTION')",
])
def test_a_misspelt_marker_is_refused_naming_the_cell(tmp_path, source):
    """The cell also has a correct marker, so only the check after the transformation can see the leak."""
    folder = teacher(tmp_path, nbformat.v4.new_markdown_cell("task"),
                     solution_cell(f"{source}\nother = 1  # SOLUTION: one"))
    with pytest.raises(StudentEditionError, match=r"01_small.ipynb, cell 1.*(?i:solution)"):
        build(tmp_path / "edition", folder=folder)
    assert not (tmp_path / "edition").exists()


@pytest.mark.parametrize("cell", [
    nbformat.v4.new_code_cell("answer = 6 * 7  # SOLUTION: multiply"),  # the tag forgotten
    nbformat.v4.new_code_cell("# BEGIN SOLUTION\nanswer = 6 * 7\n# END SOLUTION", metadata={"tags": ["check"]}),
    nbformat.v4.new_code_cell("answer = 6 * 7  # solution", metadata={"tags": ["parameters"]}),
    nbformat.v4.new_markdown_cell("Answer:\n\n    # BEGIN SOLUTION\n    answer = 6 * 7"),
])
def test_a_marker_in_a_cell_not_tagged_solution_is_refused(tmp_path, cell):
    folder = teacher(tmp_path, solution_cell(), cell)
    with pytest.raises(StudentEditionError, match=r"01_small.ipynb, cell 1 holds '.*' but is not tagged 'solution'"):
        build(tmp_path / "edition", folder=folder)


def test_a_markdown_cell_tagged_solution_is_refused(tmp_path):
    folder = teacher(tmp_path, nbformat.v4.new_markdown_cell("The answer is 42.", metadata={"tags": ["solution"]}))
    with pytest.raises(StudentEditionError, match="cell 0 is a markdown cell tagged 'solution'"):
        build(tmp_path / "edition", folder=folder)


@pytest.mark.parametrize("source, leaked", [
    ("def f(x):\n    # BEGIN SOLUTION: return x * 2\n    return x * 2\n    # END SOLUTION", "return x * 2"),
    ("answer = 6 * 7  # SOLUTION: answer = 6 * 7", "answer = 6 * 7"),
    ("answer = 6 * 7  # SOLUTION: write 6 * 7", "6 * 7"),
    ("answer = 42  # SOLUTION: 42, of course", "42"),
])
def test_an_instruction_that_gives_the_solution_away_is_refused(tmp_path, source, leaked):
    folder = teacher(tmp_path, solution_cell(source))
    with pytest.raises(StudentEditionError, match=re.escape(f"cell 0: the solution's {leaked!r} would reach")):
        build(tmp_path / "edition", folder=folder)


def test_a_solution_marker_alone_on_its_line_is_refused():
    """"# SOLUTION" above the line it means would leave that line to the students."""
    with pytest.raises(StudentEditionError, match="'# SOLUTION' ends no line of code"):
        stub("# SOLUTION: the answer\nanswer = 42", "01_small.ipynb, cell 3")


@pytest.mark.parametrize("text, reason", [
    ('<<<<<<< HEAD\n{"cells": []}\n=======\n{}\n>>>>>>> other\n', "merge-conflict markers"),
    ('{"cells": [', "is not valid JSON"),
    ("[]", "is not a Jupyter notebook"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "is not a Jupyter notebook"),
])
def test_a_notebook_that_cannot_be_read_is_one_line_naming_it(tmp_path, capsys, text, reason):
    from mnist_helpers.cli import main

    folder = teacher(tmp_path)
    (folder / "02_conflict.ipynb").write_text(text, encoding="utf-8")
    with pytest.raises(StudentEditionError, match=f"02_conflict.ipynb .*{reason}"):
        build(tmp_path / "edition", folder=folder)
    assert main(["student", "--out", str(tmp_path / "edition"), "--notebooks", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "02_conflict.ipynb" in err
    assert not (tmp_path / "edition").exists()


def test_a_build_killed_midway_is_cleaned_up_by_the_next(tmp_path):
    folder = teacher(tmp_path)
    out = tmp_path / "edition"
    staging = tmp_path / f".edition{STAGING}"
    staging.mkdir()  # what a killed build leaves: its marked staging folder, half written
    (staging / STAGING_MARK).write_text("a build in progress", encoding="utf-8")
    (staging / "01_small.ipynb").write_text("half", encoding="utf-8")
    build(out, folder=folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edition", "teacher"]
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "01_small.ipynb"]


def test_a_folder_in_the_staging_place_that_is_not_ours_is_left_alone(tmp_path):
    folder = teacher(tmp_path)
    staging = tmp_path / f".edition{STAGING}"
    staging.mkdir()
    (staging / "mine.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="was not made by this tool: move it away"):
        build(tmp_path / "edition", folder=folder)
    assert tree(staging) == {"mine.txt": b"mine"} and not (tmp_path / "edition").exists()


def test_a_build_running_now_is_not_disturbed(tmp_path):
    from filelock import FileLock

    from mnist_helpers.course.folders import _lock_path

    folder = teacher(tmp_path)
    staging = tmp_path / f".edition{STAGING}"
    staging.mkdir()
    (staging / STAGING_MARK).write_text("a build in progress", encoding="utf-8")
    (staging / "01_small.ipynb").write_text("being written", encoding="utf-8")
    with FileLock(_lock_path(tmp_path / "edition")):  # another build (on any system: filelock) holds the lock
        with pytest.raises(OutputFolderError, match="another build is writing .*edition right now"):
            build(tmp_path / "edition", folder=folder)
        assert tree(staging) == {STAGING_MARK: b"a build in progress", "01_small.ipynb": b"being written"}
    build(tmp_path / "edition", folder=folder)  # once it is gone, its folder is taken as a killed build's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edition", "teacher"]


def test_the_lock_is_the_same_however_the_folder_is_spelled_where_case_is_ignored(tmp_path, monkeypatch):
    from mnist_helpers.course import folders

    monkeypatch.setattr(folders.sys, "platform", "darwin")
    assert folders._lock_path(tmp_path / "Edition") == folders._lock_path(tmp_path / "edition")
    monkeypatch.setattr(folders.sys, "platform", "linux")
    assert folders._lock_path(tmp_path / "Edition") != folders._lock_path(tmp_path / "edition")


def windows_deletes(monkeypatch):
    """Windows' rule, here: a file that is open cannot be deleted (WinError 32). Returns the files opened."""
    import builtins
    import io

    opened, real_open, real_unlink, real_rmtree = [], io.open, os.unlink, shutil.rmtree

    def tracking_open(*args, **kwargs):
        file = real_open(*args, **kwargs)
        opened.append(file)
        return file

    def refuse_if_open(path):
        held = [f.name for f in opened if not f.closed and isinstance(f.name, str)
                and Path(f.name).resolve().is_relative_to(Path(path).resolve())]
        if held:
            raise PermissionError(13, "The process cannot access the file because it is being used by another "
                                      "process (WinError 32)", held[0])

    def unlink(path, *args, **kwargs):
        refuse_if_open(path)
        return real_unlink(path, *args, **kwargs)

    def rmtree(path, *args, **kwargs):
        refuse_if_open(path)
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", tracking_open)
    monkeypatch.setattr(io, "open", tracking_open)
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    return opened


def test_a_killed_build_is_replaced_and_a_build_finishes_where_open_files_cannot_be_deleted(tmp_path, monkeypatch):
    folder = teacher(tmp_path)
    staging = tmp_path / f".edition{STAGING}"
    staging.mkdir()  # what a killed build leaves
    (staging / STAGING_MARK).write_text("a build in progress", encoding="utf-8")
    (staging / "01_small.ipynb").write_text("half", encoding="utf-8")
    opened = windows_deletes(monkeypatch)
    build(tmp_path / "edition", folder=folder)
    build(tmp_path / "edition", folder=folder, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edition", "teacher"]
    assert all(f.closed for f in opened)


def test_a_manifest_with_fields_of_the_wrong_kind_is_not_ours(tmp_path):
    from mnist_helpers.course.folders import Manifest, _read_manifest

    (tmp_path / "x.txt").write_text("x", encoding="utf-8")
    for text in ['{"written_by": "w", "files": {"x.txt": 1}}', '{"written_by": 1, "files": {}}', '[]', '{',
                 '{"written_by": "w", "files": {"../x": "0"}}', '{"written_by": "w", "files": [], "more": 1}',
                 '{"written_by": "w"}']:
        (tmp_path / MANIFEST).write_text(text, encoding="utf-8")
        assert _read_manifest(tmp_path) is None, text
    (tmp_path / MANIFEST).write_text('{"written_by": "w", "files": {"x.txt": "0"}}', encoding="utf-8")
    assert _read_manifest(tmp_path) == Manifest("w", {"x.txt": "0"})


def test_an_error_while_writing_keeps_the_earlier_edition_and_leaves_no_staging(tmp_path, monkeypatch):
    from mnist_helpers.course import folders

    folder = teacher(tmp_path)
    out = tmp_path / "edition"
    build(out, folder=folder)
    before = tree(out)

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folders, "_remove", full_disk)
    with pytest.raises(OutputFolderError, match=f"cannot write to {re.escape(str(out))}: No space left on device"):
        build(out, overwrite=True, folder=folder)
    assert tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["edition", "teacher"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no folder can be made")
@pytest.mark.parametrize("out", ["/proc/x", "/proc/x/y"])
def test_an_unwritable_folder_is_named_as_typed(tmp_path, capsys, out):
    from mnist_helpers.cli import main

    folder = teacher(tmp_path)
    assert main(["student", "--out", out, "--notebooks", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write to {out}: ") and err.count("\n") == 1 and STAGING not in err


def test_a_file_in_the_way_is_named(tmp_path):
    folder = teacher(tmp_path)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="notes.txt is a file, not a folder"):
        build(tmp_path / "notes.txt", overwrite=True, folder=folder)
    with pytest.raises(OutputFolderError, match="cannot write to .*notes.txt/edition: .*notes.txt is a file"):
        build(tmp_path / "notes.txt" / "edition", folder=folder)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_folder_without_notebooks_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudentEditionError, match="no notebooks of the series"):
        build(tmp_path / "edition", folder=tmp_path / "empty")


def test_the_command_line(tmp_path, capsys):
    from mnist_helpers.cli import main

    assert main(["student", "--out", str(tmp_path / "s")]) == 0
    assert f"wrote the student edition: {len(series())} notebooks" in capsys.readouterr().out
    assert main(["student", "--out", str(tmp_path / "s")]) == 2
    assert "already holds an edition" in capsys.readouterr().err
    assert main(["student", "--out", str(tmp_path / "s"), "--overwrite"]) == 0


def test_the_command_line_takes_the_notebooks_folder(tmp_path, capsys):
    from mnist_helpers.cli import main

    assert main(["student", "--out", str(tmp_path / "s"), "--notebooks", str(teacher(tmp_path))]) == 0
    assert "wrote the student edition: 1 notebooks" in capsys.readouterr().out
    student = nbformat.read(tmp_path / "s" / "01_small.ipynb", as_version=4)
    assert student.cells[1].source == "answer = ...  # your code: multiply six by seven"


def test_installed_without_a_repository_the_notebooks_are_the_current_folder(tmp_path, monkeypatch, capsys):
    from mnist_helpers.cli import main
    from mnist_helpers.course import folders

    assert folders.default_notebooks() == NOTEBOOKS  # from this checkout
    monkeypatch.setattr(folders, "repository_root", lambda: None)  # as when pip-installed
    monkeypatch.chdir(teacher(tmp_path))
    assert folders.default_notebooks() == Path.cwd()
    assert main(["student", "--out", "student"]) == 2  # inside the notebooks' folder
    assert "student lies inside the teacher notebooks' folder" in capsys.readouterr().err
    assert main(["student", "--out", "../edition"]) == 0
    assert (tmp_path / "edition" / "01_small.ipynb").is_file()


def test_a_lock_that_cannot_be_taken_is_one_line(tmp_path, monkeypatch):
    from filelock import FileLock

    def refused(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(FileLock, "acquire", refused)
    with pytest.raises(OutputFolderError, match="cannot take the lock of builds of .*edition .*Permission denied"):
        build(tmp_path / "edition", folder=teacher(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher"]
