"""The notebook series: the numbers the committed notebooks show, overridden parameters, clean metadata.

The checks of the default results read the committed notebooks' outputs: nbval (run by the
same pytest command, see pyproject.toml) re-executes every committed notebook and proves that
those outputs reproduce. The browser test (tests/test_browser.py) runs each notebook's student
edition once more in JupyterLab, with small parameters injected by papermill, and checks what it
prints with ``check_small_run``: the parameters cell works, and the student edition runs.
"""

import ast
import json
import re

import nbformat
import pytest
from notebook_text import NOTEBOOKS, checks_in, lesson_code, number, parameter_names
from small_runs import OVERRIDES

from mnist_helpers.course.outputs import stdout_text

SERIES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01_explore.ipynb", "02_split.ipynb", "03_model.ipynb", "04_softmax_cross_entropy.ipynb",
            "05_train.ipynb", "06_test.ipynb", "07_save_load.ipynb", "08_beyond_linear.ipynb",
            "09_convolutions.ipynb"]


@pytest.fixture(scope="module")
def defaults():
    """What a committed notebook printed with its default parameters (nbval proves it reproduces)."""

    def printed(name: str) -> str:
        return stdout_text(nbformat.read(NOTEBOOKS / name, as_version=4))

    return printed


def test_the_series_is_complete():
    assert SERIES == EXPECTED


# --- numbers produced with the default parameters ----------------------------------------------


def test_01_explore(defaults):
    text = defaults("01_explore.ipynb")
    assert number(text, "training images:") == 60_000 and number(text, "test images:") == 10_000
    assert "shape: (1, 28, 28)  dtype: torch.float32" in text
    assert "smallest value 0.0, largest value 1.0" in text
    counts = [int(c.replace(",", "")) for c in re.findall(r"digit \d: +([\d,]+) training", text)]
    assert len(counts) == 10 and sum(counts) == 60_000 and min(counts) > 5000
    assert number(text, "how many 3s:") == counts[3]  # the boolean mask counts what bincount counted


def test_02_split(defaults):
    text = defaults("02_split.ipynb")
    assert "training: 50,000 images, validation: 10,000 images" in text
    assert "digits in the naive validation set: [8, 9]" in text and "9s: 0 in training, 5,949 in validation" in text
    assert "same seed, same split:           True" in text
    assert "images: (128, 1, 28, 28)" in text and "labels: (128,)" in text
    assert "same validation images: True" in text and "same validation labels: True" in text


def test_03_model(defaults):
    text = defaults("03_model.ipynb")
    assert number(text, "parameters:") == 7850
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in text
    assert "same memory, no copy: True" in text and "outputs: (128, 10)" in text and "contiguous: True" in text


def test_04_softmax_cross_entropy(defaults):
    text = defaults("04_softmax_cross_entropy.ipynb")
    assert "same as ours: True" in text and "the same as ours:  True" in text
    assert number(text, "sum of the first row:") == 1.0
    assert 0.0 < number(text, "accuracy of the untrained model on this batch:") < 0.2  # chance
    assert 2.2 < number(text, "our cross-entropy:") < 2.4  # about log(10)
    assert "can accuracy be differentiated? False" in text and "same predictions: True" in text


def test_05_train(defaults):
    text = defaults("05_train.ipynb")
    assert 0.0 < number(text, "before training: val_loss [\\d.]+, val_acc") < 0.2
    first_round = [float(x) for x in re.findall(r"val_acc: ([\d.]+)", text)][:5]
    assert 0.75 < first_round[-1] < 0.85  # the tutorial's settings after 5 epochs
    assert 0.83 < number(text, "tutorial settings, after 20 epochs: val_acc") < 0.88
    assert number(text, "better settings, after 10 epochs: val_acc") > 0.91
    # the machinery shown before fit: one step lowers the loss, gradients add up, fit repeats the hand-written epoch
    step = re.search(r"loss on the same batch: ([\d.]+) before the step, ([\d.]+) after", text)
    before, after = (float(x) for x in step.groups())
    assert after < before
    assert "the second is twice the first: True" in text and "after optimizer.zero_grad(), grad is None" in text
    assert "epoch 0 equals the epoch written by hand: True" in text
    assert 0.07 < number(text, "mean") < 0.13  # untrained models average about one in ten
    on_training_images = number(text, "on the 50,000 training images: accuracy")
    assert on_training_images > number(text, "better settings, after 10 epochs: val_acc")


def test_06_test(defaults):
    text = defaults("06_test.ipynb")
    test_acc = number(text, "test:       loss [\\d.]+, accuracy")
    val_acc = number(text, "validation: loss [\\d.]+, accuracy")
    assert test_acc >= 0.92 and abs(test_acc - val_acc) < 0.02
    assert "exactly the same figures: True" in text
    rates = [float(x) for x in re.findall(r"digit \d: ([\d.]+)% right", text)]
    assert len(rates) == 10 and min(rates) > 80
    wrong = int(re.search(r"(\d+) of 10,000 test images are wrong", text).group(1))
    assert wrong == round((1 - test_acc) * 10_000)


def test_08_beyond_linear(defaults):
    text = defaults("08_beyond_linear.ipynb")
    assert "largest difference below 1e-6\n" in text  # two linear layers are one linear map, to rounding error
    val_linear, val_hidden = (float(x) for x in re.findall(r"(?:linear model|hidden layer) +[\d,]+ +([\d.]+) ", text))
    assert 0.91 < val_linear < val_hidden  # compared on the validation set
    assert "the hidden layer makes these five mistakes less than a third as often: True" in text
    tests = re.search(r"test accuracy +MNIST +Fashion-MNIST\n"
                      r"linear model +([\d.]+) +([\d.]+)\nhidden layer +([\d.]+) +([\d.]+)\n", text)
    linear, fashion_linear, hidden, fashion_hidden = (float(x) for x in tests.groups())
    assert linear >= 0.92 and hidden >= 0.975  # the hidden layer's target on MNIST
    assert 0.82 < fashion_linear < fashion_hidden < hidden  # harder; the hidden layer still leads
    assert "hardest class for the hidden layer: Shirt, most often taken for T-shirt/top" in text
    seconds = [float(x) for x in re.findall(r"([\d.]+) s of training", text)]
    assert len(seconds) == 2 and seconds[1] <= 15  # stored from the development machine's CPU
    assert text.count("Correct") == checks_in("08_beyond_linear.ipynb")


def test_07_save_load(defaults):
    text = defaults("07_save_load.ipynb")
    assert number(text, "after loading:               test accuracy") == number(text, "test: loss [\\d.]+, accuracy")
    assert number(text, "fresh model, random weights: test accuracy") < 0.3
    for line in ("same weights:            True", "same test loss:          True", "same test accuracy:      True",
                 "same test results: True"):
        assert line in text
    assert "refused (UnpicklingError): WeightsUnpickler error: Unsupported global" in text
    assert "this code ran while loading" not in text  # the payload never ran
    assert "holds Python objects that are not safe to load" in text


# --- overridden parameters -----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(OVERRIDES))
def test_every_overridden_parameter_exists(name):
    assert set(OVERRIDES[name]) <= parameter_names(name)
    assert {"data_root"} <= parameter_names(name)


@pytest.mark.parametrize("name", EXPECTED)
def test_the_data_folder_is_the_shared_one_by_default(name):
    """``data_root = None``: the package's rule ($MNIST_DATA, else the course's data folder), not a path of its own."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = {t.id: node.value for node in ast.parse(cell.source).body for t in node.targets}
    assert isinstance(values["data_root"], ast.Constant) and values["data_root"].value is None
    assert "$MNIST_DATA" in cell.source  # the comment says what None means
    assert not [c for c in nb.cells if "../data" in c.source]


@pytest.mark.parametrize("name", EXPECTED)
def test_without_the_package_the_first_code_cell_says_how_to_install_it(name):
    """Opened where mnist_helpers is not installed, a notebook stops at once with one sentence, not an import chain."""
    import subprocess
    import sys

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    blocked = "import sys\nsys.modules['mnist_helpers'] = None  # what Python does for a missing package\n"
    ran = subprocess.run([sys.executable, "-c", blocked + first.source], capture_output=True, timeout=120,
                         encoding="utf-8")
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: mnist_helpers, the course's helper package, is not installed"), last
    assert "pip install" in last and "restart the kernel" in last
    assert "During handling" not in ran.stderr  # `from None`: one error, not two


def test_the_test_set_is_measured_once_at_the_end():
    """Choices are made on the validation set; the test set waits for notebook 6, and for the end of notebook 8."""
    touches = ("get_test_loader", "train=False", "test_dataset")
    for name in EXPECTED[1:5]:  # 02 to 05: not a single look
        assert not [c for c in lesson_code(name) if any(t in c for t in touches)], name
    first = [c for c in lesson_code("01_explore.ipynb") if any(t in c for t in touches)]
    assert len(first) == 1 and "len(test_dataset)" in first[0]  # 01 only counts its images
    code = lesson_code("08_beyond_linear.ipynb")
    tested = [i for i, c in enumerate(code) if any(t in c for t in touches)]
    assert tested == [len(code) - 1], "08: the test sets belong in one cell, the last before the exercises"


# --- hygiene of the committed notebooks ---------------------------------------------------------

ABSOLUTE_PATH = re.compile(r"(?<![\w.])(/(home|root|tmp|work|Users|var|opt)/|[A-Za-z]:\\\\)")


@pytest.mark.parametrize("name", EXPECTED)
def test_committed_notebook_is_clean(name):
    raw = (NOTEBOOKS / name).read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}
    assert "papermill" not in raw and "widget" not in json.dumps(nb.metadata)
    assert not ABSOLUTE_PATH.search(raw), f"{name} holds an absolute path: {ABSOLUTE_PATH.search(raw).group(0)}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run top to bottom, once"
    for cell in code:
        assert set(cell.metadata) <= {"tags"}
        for output in cell.outputs:
            assert output.output_type != "error", f"{name}: a cell raised {output.get('ename')}"
            assert output.get("name") != "stderr", f"{name}: stderr output: {output.get('text', '')[:200]}"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "**Run time:**" in first.source
    assert "**What you will learn:**" in first.source
    assert "**You should know:**" in first.source  # the prerequisites
    assert "## Summary" in nb.cells[-1].source or "## Summary" in nb.cells[-2].source
    assert "## Things to try" in nb.cells[-1].source
