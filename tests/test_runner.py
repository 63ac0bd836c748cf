"""The readiness check (python -m mnist_helpers notebooks) on small notebooks of its own.

It executes into a build folder and leaves the notebooks untouched, compares text outputs with
the committed ones (identical, within floating-point noise, or different), names a failing cell,
and with --in-place refuses output on stderr. Before any notebook runs it refuses, in one line, an
--out that overlaps the notebooks or holds files it did not write, and a notebook that is not one.
"""


import nbformat
import pytest
from course_notebooks import files, notebook

from mnist_helpers import cli
from mnist_helpers.course import notebooks, runner


@pytest.fixture()
def course(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return folder


@pytest.mark.slow  # runs notebooks
def test_a_matching_course_is_identical_and_left_untouched(course, tmp_path, capsys):
    notebook(course, "01_explore", [("print('training images: 60,000')", "training images: 60,000\n")])
    notebook(course, "02_second", [("x = 2", ""), ("print(x * 21)", "42\n")])
    before = files(course)
    out = tmp_path / "build"
    assert runner.main([], 2, out, in_place=False, strict=True, notebooks=course) == 0
    printed = capsys.readouterr().out
    assert "01_explore" in printed and "60,000 training images" in printed  # the headline
    assert f"executed notebooks: {out}/" in printed
    assert "2/2 notebooks ran in" in printed
    assert "1 identical to the course, 1 identical to its stored outputs" in printed  # 02_second is not the course's
    assert "peak memory" in printed and " MiB " in printed  # each kernel measured
    assert files(course) == before
    executed = nbformat.read(out / "02_second.ipynb", as_version=4)
    assert executed.cells[1].outputs[0].text == "42\n" and set(executed.metadata) == {"kernelspec", "language_info"}
    # The next run replaces the runner's own notebooks there, and only those.
    assert runner.main(["02_second"], 1, out, in_place=False, strict=True, notebooks=course) == 0
    assert (out / "02_second.ipynb").is_file() and files(course) == before


@pytest.mark.slow  # runs notebooks
def test_noise_is_reported_and_strict_passes_different_fails(course, tmp_path, capsys):
    notebook(course, "01_noise", [("print('accuracy 0.9788, loss 0.0851, 37 times')",
                                   "accuracy 0.9783, loss 0.0850, 37 times\n")])
    notebook(course, "02_moved", [("print('hello')", "hello\n"), ("print('accuracy 0.9883')", "accuracy 0.9783\n")])
    assert runner.main([], 2, tmp_path / "build", in_place=False, strict=False, notebooks=course) == 0
    printed = capsys.readouterr().out
    assert "within noise (largest difference 5e-04)" in printed
    assert "DIFFERENT: cell 1: 0.9783 became 0.9883 in 'accuracy 0.9783'" in printed
    assert "0 identical to the course, 1 the same within floating-point noise" in printed and "1 different" in printed
    assert runner.main(["01_noise"], 1, tmp_path / "build", in_place=False, strict=True, notebooks=course) == 0
    assert runner.main([], 2, tmp_path / "build", in_place=False, strict=True, notebooks=course) == 1


@pytest.mark.slow  # runs notebooks
def test_a_failing_notebook_names_its_cell(course, tmp_path, capsys):
    notebook(course, "01_broken", [("print('before')", "before\n"), ("1 / 0", "")])
    notebook(course, "02_fine", [("print('fine')", "fine\n")])
    assert runner.main([], 2, tmp_path / "build", in_place=False, strict=False, notebooks=course) == 1
    printed = capsys.readouterr().out
    assert "FAILED: cell 1 raised ZeroDivisionError" in printed and "1/2 notebooks ran" in printed


@pytest.mark.slow  # runs notebooks
def test_in_place_refuses_stderr_and_keeps_the_committed_notebook(course, capsys):
    path = notebook(course, "01_warns", [("import sys; print('oops', file=sys.stderr)", "")])
    before = path.read_bytes()
    assert runner.main([], 1, None, in_place=True, strict=False, notebooks=course) == 1
    assert "wrote to stderr" in capsys.readouterr().out
    assert path.read_bytes() == before


@pytest.mark.slow  # runs notebooks
def test_in_place_stores_clean_outputs(course, capsys):
    path = notebook(course, "01_first", [("print('a'); print('b')", "")])
    assert runner.main([], 1, None, in_place=True, strict=False, notebooks=course) == 0
    stored = nbformat.read(path, as_version=4)
    assert [o.text for o in stored.cells[0].outputs] == ["a\nb\n"]  # one stream, coalesced
    assert set(stored.metadata) == {"kernelspec", "language_info"} and stored.cells[0].metadata == {}
    assert "changed cells 0" in capsys.readouterr().out


def test_an_unknown_notebook_is_named(course):
    notebook(course, "01_first", [("1", "")])
    with pytest.raises(FileNotFoundError, match="no notebook named 09_nothing .* the series is 01_first"):
        notebooks.series(["09_nothing"], course)


def check_refused(capsys, args: list[str], *expected: str) -> str:
    """``python -m mnist_helpers notebooks ARGS`` exits with status 2 and one line on stderr."""
    assert cli.main(["notebooks", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    assert "Traceback" not in captured.err and all(part in captured.err for part in expected), captured.err
    return captured.err


@pytest.mark.parametrize("out, where", [("notebooks", "is"), ("notebooks/build", "lies inside"), (".", "contains")])
def test_an_out_overlapping_the_notebooks_is_refused(course, tmp_path, capsys, out, where):
    notebook(course, "01_first", [("print('now')", "then\n")])
    before = files(tmp_path)
    check_refused(capsys, ["--notebooks", str(course), "--out", str(tmp_path / out)],
                  f"{where} the teacher notebooks' folder", "choose a folder outside it")
    assert files(tmp_path) == before


def test_files_the_runner_did_not_write_are_never_replaced(course, tmp_path, capsys):
    notebook(course, "01_first", [("print('now')", "then\n")])
    mine = tmp_path / "my notebooks"
    mine.mkdir()
    notebook(mine, "01_first", [("print('my own work')", "my own work\n")])
    before = files(mine)
    check_refused(capsys, ["--notebooks", str(course), "--out", str(mine)],
                  str(mine), "01_first.ipynb", "nothing was changed")
    assert files(mine) == before


@pytest.mark.parametrize("text, expected", [
    ('{\n<<<<<<< HEAD\n "cells": [],\n=======\n "cells": [1],\n>>>>>>> theirs\n}\n', "holds merge-conflict markers"),
    ('{"cells": [}', "is not valid JSON (line 1, column 12"),
    ('{"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "is not a Jupyter notebook"),
    ("", "is not valid JSON (line 1, column 1"),
])
def test_a_damaged_notebook_is_named_in_one_line(course, tmp_path, capsys, text, expected):
    notebook(course, "01_fine", [("print('fine')", "fine\n")])
    (course / "02_damaged.ipynb").write_text(text, encoding="utf-8")
    check_refused(capsys, ["--notebooks", str(course), "--out", str(tmp_path / "build")], "02_damaged.ipynb", expected)
    assert not (tmp_path / "build").exists()  # refused before anything ran


def test_a_notebooks_folder_without_the_series_is_named(tmp_path, capsys):
    check_refused(capsys, ["--notebooks", str(tmp_path / "nowhere")], "nowhere is not a folder", "--notebooks")
    check_refused(capsys, ["--notebooks", str(tmp_path)], "no notebooks of the series", "--notebooks")


def test_the_default_build_folder_is_outside_the_notebooks(monkeypatch, tmp_path):
    in_repository = runner.repository_root() / "build" / "notebooks"  # git ignores build/
    assert runner.default_out() == in_repository
    monkeypatch.setattr(runner, "repository_root", lambda: None)  # the package installed, notebooks anywhere
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert runner.default_out() == tmp_path / "cache" / "mnist_helpers" / "executed-notebooks"


def test_every_notebook_of_the_series_has_its_headline_in_its_stored_outputs():
    """The readiness table shows one result per notebook.

    Each pattern must still find it in what the notebook prints.
    """
    for path in notebooks.series():
        assert path.stem in runner.HEADLINES, f"{path.stem} has no headline pattern in runner.HEADLINES"
        assert runner.headline(path.name, nbformat.read(path, as_version=4)), f"{path.stem}: its headline is not found"
