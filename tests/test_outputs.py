"""What counts as the same output: identical, the same within floating-point noise, or different.

The rule (mnist_helpers/course/outputs.py) serves the readiness check and nbval: every word and
whole number equal, every decimal within TOLERANCE. Small handmade notebooks here; the last test
runs nbval itself, with the project's conftest.py, on notebooks that moved by noise and by a point.
"""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnist_helpers.course.outputs import (
    DIFFERENT,
    IDENTICAL,
    NOISE,
    TOLERANCE,
    compare_notebooks,
    difference,
    line_difference,
)

ROOT = Path(__file__).resolve().parent.parent


def notebook(*printed: str, markdown: bool = False):
    """A notebook with one code cell per text, each showing that text on stdout (and a markdown cell first)."""
    nb = nbformat.v4.new_notebook()
    if markdown:
        nb.cells.append(nbformat.v4.new_markdown_cell("# A title"))
    for number, text in enumerate(printed, start=1):
        nb.cells.append(nbformat.v4.new_code_cell(f"print({text!r})", execution_count=number,
                                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)]))
    return nb


STORED = ("Epoch [9], val_loss: 0.0850, val_acc: 0.9739\n",
          "model    parameters  test accuracy\nhidden      203,530         0.9783     6.7 s of training\n",
          "  a 3 taken for a 5:  37 times, then  5\n")


def test_the_same_text_is_identical():
    fresh = notebook(*STORED, markdown=True)
    fresh.cells[2].outputs[0].text = fresh.cells[2].outputs[0].text.replace("6.7 s", "9.1 s")  # timings: sanitize.cfg
    comparison = compare_notebooks(fresh, notebook(*STORED, markdown=True))
    assert comparison.verdict == IDENTICAL and comparison.largest == 0


def test_decimals_within_the_tolerance_are_noise():
    fresh = notebook("Epoch [9], val_loss: 0.0851, val_acc: 0.9742\n", STORED[1].replace("0.9783", "0.9788"), STORED[2])
    comparison = compare_notebooks(fresh, notebook(*STORED))
    assert comparison.verdict == NOISE
    assert comparison.largest == pytest.approx(0.0005)  # 0.9783 -> 0.9788, the largest of the three
    assert comparison.largest <= TOLERANCE


@pytest.mark.parametrize("cell, stored, fresh, named", [
    (1, "0.9783", "0.9883", "cell 1: 0.9783 became 0.9883 in 'hidden 203,530 0.9783"),  # an accuracy, a full point
    (2, "then  5", "then  4", "cell 2: 5 became 4 in 'a 3 taken for a 5: 37 times, then 5'"),  # a count
    (0, "val_acc", "val_accuracy", "cell 0: ', val_acc:' became ', val_accuracy:'"),  # a word
    (1, "203,530", "203,531", "cell 1: 203,530 became 203,531"),  # a size
])
def test_a_real_change_is_different_and_named(cell, stored, fresh, named):
    changed = list(STORED)
    changed[cell] = changed[cell].replace(stored, fresh)
    comparison = compare_notebooks(notebook(*changed), notebook(*STORED))
    assert comparison.verdict == DIFFERENT
    assert comparison.first.startswith(named)


def test_more_or_fewer_outputs_lines_or_cells_are_different():
    stored = notebook(*STORED)
    extra_line = notebook(STORED[0] + "Epoch [10], val_loss: 0.0800, val_acc: 0.9750\n", *STORED[1:])
    assert compare_notebooks(extra_line, stored).first == "cell 0: 2 lines instead of 1"
    no_output = notebook(*STORED)
    no_output.cells[2].outputs = []
    assert compare_notebooks(no_output, stored).first == "cell 2: 0 text outputs instead of 1"
    assert compare_notebooks(notebook(*STORED[:2]), stored).verdict == DIFFERENT


def test_the_tolerance_is_absolute_up_to_one_and_relative_above():
    assert difference("0.9783", "0.9788") == pytest.approx(5e-4)
    assert difference("1.7e-07", "1.3e-07") == pytest.approx(4e-8)  # a tiny number moves by a tiny amount
    assert difference("52.4", "52.5") == pytest.approx(0.1 / 52.5)  # a percentage: relative to its size
    assert difference("60,000.5", "60,000.5") == 0
    # A full point of accuracy is well beyond the tolerance; the noise measured across CPUs is within it.
    assert difference("0.9783", "0.9883") > 4 * TOLERANCE
    assert line_difference("accuracy 0.9783", "accuracy 0.9883")[1] == "0.9783 became 0.9883"
    assert line_difference("accuracy 0.9783", "accuracy 0.9788") == (pytest.approx(5e-4), None)
    # A percentage is the fraction it stands for: the same noise, the same full point.
    assert line_difference("shifted 31.96% right", "shifted 31.78% right") == (pytest.approx(1.8e-3), None)
    assert line_difference("accuracy 97.83%", "accuracy 98.83%")[1] == "97.83 became 98.83"
    assert line_difference("a loss of 31.96 then", "a loss of 31.78 then")[1] == "31.96 became 31.78"


NBVAL_CASES = [  # (what the committed notebook shows, what the code prints now, what nbval must say)
    ("test accuracy 0.9783, loss 0.0850\n", "test accuracy 0.9788, loss 0.0851\n", "PASSED"),  # noise
    ("test accuracy 0.9783, loss 0.0850\n", "test accuracy 0.9883, loss 0.0850\n", "FAILED"),  # a full point
    ("a 3 taken for a 5: 37 times, then 5\n", "a 3 taken for a 5: 37 times, then 4\n", "FAILED"),  # a count
    ("test accuracy 0.9783\n", "test accuracy 0.9783\n", "PASSED"),  # identical
]


@pytest.mark.slow  # runs nbval on a notebook
def test_nbval_with_the_projects_conftest_accepts_noise_and_catches_a_point(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for number, (stored, printed, _) in enumerate(NBVAL_CASES, start=1):
        output = nbformat.v4.new_output("stream", name="stdout", text=stored)
        cell = nbformat.v4.new_code_cell(f"print({printed.rstrip()!r})", execution_count=number, outputs=[output])
        nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "moved.ipynb")
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not the repository's settings
    run = subprocess.run([sys.executable, "-m", "pytest", "-c", "pytest.ini", "-p", "no:xdist",
                          "-p", "no:cacheprovider", "-rA", "--nbval", "--nbval-current-env",
                          f"--nbval-sanitize-with={ROOT / 'mnist_helpers/course/sanitize.cfg'}", "."],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, encoding="utf-8")
    report = run.stdout + run.stderr
    for index, (_, _, outcome) in enumerate(NBVAL_CASES):
        assert f"{outcome} moved.ipynb::Cell {index}" in report, report[-3000:]
    assert "first value beyond floating-point noise: 0.9783 became 0.9883" in report
    assert "first value beyond floating-point noise: 5 became 4" in report
    assert run.returncode == 1
