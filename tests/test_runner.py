"""The readiness check (python -m mnist_helpers notebooks) on small notebooks of its own.

It executes into a build folder and leaves the notebooks untouched, compares text outputs with
the committed ones, names a failing cell, and with --in-place refuses output on stderr.
"""

from pathlib import Path

import nbformat
import pytest

from mnist_helpers.course import runner


def notebook(folder: Path, name: str, cells: list[tuple[str, str]]) -> Path:
    """A notebook of code cells with the stored stdout given for each: [(source, stored output), ...]."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for number, (source, text) in enumerate(cells, start=1):
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
        nb.cells.append(nbformat.v4.new_code_cell(source, outputs=outputs, execution_count=number))
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture()
def course(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setattr(runner, "NOTEBOOK_DIR", folder)
    return folder


def test_a_matching_course_is_identical_and_left_untouched(course, tmp_path, capsys):
    first = notebook(course, "01_explore", [("print('training images: 60,000')", "training images: 60,000\n")])
    second = notebook(course, "02_second", [("x = 2", ""), ("print(x * 21)", "42\n")])
    before = {p: p.read_bytes() for p in (first, second)}
    out = tmp_path / "build"
    assert runner.main([], 2, out, in_place=False, strict=True) == 0
    printed = capsys.readouterr().out
    assert "01_explore" in printed and "60,000 training images" in printed  # the headline
    assert f"executed notebooks: {out}/" in printed
    assert "2/2 notebooks ran in" in printed and "outputs identical to the course" in printed
    assert {p: p.read_bytes() for p in (first, second)} == before
    executed = nbformat.read(out / "02_second.ipynb", as_version=4)
    assert executed.cells[1].outputs[0].text == "42\n" and set(executed.metadata) == {"kernelspec", "language_info"}


def test_differing_outputs_are_named_and_strict_fails(course, tmp_path, capsys):
    notebook(course, "01_first", [("print('hello')", "hello\n"), ("print('now')", "then\n")])
    assert runner.main([], 1, tmp_path / "build", in_place=False, strict=False) == 0
    printed = capsys.readouterr().out
    assert "differ in cells 1" in printed and "1 differ from the course" in printed
    assert runner.main([], 1, tmp_path / "build", in_place=False, strict=True) == 1


def test_a_failing_notebook_names_its_cell(course, tmp_path, capsys):
    notebook(course, "01_broken", [("print('before')", "before\n"), ("1 / 0", "")])
    notebook(course, "02_fine", [("print('fine')", "fine\n")])
    assert runner.main([], 2, tmp_path / "build", in_place=False, strict=False) == 1
    printed = capsys.readouterr().out
    assert "FAILED: cell 1 raised ZeroDivisionError" in printed and "1/2 notebooks ran" in printed


def test_in_place_refuses_stderr_and_keeps_the_committed_notebook(course, capsys):
    path = notebook(course, "01_warns", [("import sys; print('oops', file=sys.stderr)", "")])
    before = path.read_bytes()
    assert runner.main([], 1, None, in_place=True, strict=False) == 1
    assert "wrote to stderr" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_in_place_stores_clean_outputs(course, capsys):
    path = notebook(course, "01_first", [("print('a'); print('b')", "")])
    assert runner.main([], 1, None, in_place=True, strict=False) == 0
    stored = nbformat.read(path, as_version=4)
    assert [o.text for o in stored.cells[0].outputs] == ["a\nb\n"]  # one stream, coalesced
    assert set(stored.metadata) == {"kernelspec", "language_info"} and stored.cells[0].metadata == {}
    assert "changed cells 0" in capsys.readouterr().out


def test_an_unknown_notebook_is_named(course):
    notebook(course, "01_first", [("1", "")])
    with pytest.raises(FileNotFoundError, match="no notebook named 09_nothing .* the series is 01_first"):
        runner.series(["09_nothing"])
