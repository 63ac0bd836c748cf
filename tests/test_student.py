"""The student edition: stubs from the markers, nothing of the solutions left, refusals, atomic build.

That the student edition runs headless, every check saying "Not answered yet", is tested in
test_notebooks.py (it runs the student edition with overridden parameters).
"""

import re
from pathlib import Path

import nbformat
import pytest

from mnist_helpers.course.student import StudentEditionError, build, stub

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


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


def solution_lines(source: str) -> list[str]:
    """The lines of a solution cell that hold the answer (between the markers, or marked)."""
    found, inside = [], False
    for line in source.splitlines():
        if "# BEGIN SOLUTION" in line:
            inside = True
        elif "# END SOLUTION" in line:
            inside = False
        elif inside or line.rstrip().endswith("# SOLUTION") or "# SOLUTION:" in line:
            code = re.sub(r"\s*# SOLUTION.*$", "", line).strip()
            if code and not code.startswith("#"):
                found.append(code.split("=", 1)[-1].strip() if "# SOLUTION" in line else code)
    return found


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
        for t, s in zip(teacher.cells, student.cells):
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


def test_a_non_empty_folder_is_refused_unless_overwritten(tmp_path):
    out = tmp_path / "edition"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(StudentEditionError, match="not empty"):
        build(out)
    assert (out / "notes.txt").read_text() == "mine"  # nothing of the user's was touched
    written = build(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    with pytest.raises(StudentEditionError, match="teacher edition itself"):
        build(NOTEBOOKS, overwrite=True)


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    cell = nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]})
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), teacher / "01_broken.ipynb")
    with pytest.raises(StudentEditionError, match="01_broken, cell 0 has no"):
        build(tmp_path / "edition", folder=teacher)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher"]  # no edition, no temporary folder


def test_the_command_line(tmp_path, capsys):
    from mnist_helpers.cli import main

    assert main(["student", "--out", str(tmp_path / "s")]) == 0
    assert "wrote the student edition: 8 notebooks" in capsys.readouterr().out
    assert main(["student", "--out", str(tmp_path / "s")]) == 2
    assert "not empty" in capsys.readouterr().err
