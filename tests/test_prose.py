"""Numbers quoted in the notebooks' prose agree with the outputs stored beside them.

Each entry names a notebook, a pattern that finds a number in that notebook's stored output,
and the phrase of the prose that quotes it. If a re-run changes the number and the prose is
not updated (or the prose is edited and the output is not), the test names both.
"""

from __future__ import annotations

import re
from itertools import pairwise

import nbformat
import pytest
from notebook_text import NOTEBOOKS, Near, Quote, percent, prose

from mnist_helpers.course.outputs import stdout_text as stdout

QUOTES = [
    # 01: how many images of each digit; one digit picked by a boolean mask
    Near("01_explore", r"digit 5: +([\d,]+) training", "between about 5,400 and 6,700 training images", 5_400, 50),
    Near("01_explore", r"digit 1: +([\d,]+) training", "between about 5,400 and 6,700 training images", 6_700, 50),
    Quote("01_explore", r"how many 3s: ([\d,]+)", "The count, {}, is the one `bincount` gave"),
    Quote("01_explore", r"digit 3: +([\d,]+) training", "The count, {}, is the one `bincount` gave"),
    Quote("01_explore", r"positions of the first five 3s: \[(\d+),", "the first `True` is at position {}, where"),
    # 02: the broken split of sorted labels; the short last batch
    Quote("02_split", r"9s: 0 in training, ([\d,]+) in validation", "all {} nines are in the validation part"),
    Quote("02_split", r"8s: [\d,]+ in training, ([\d,]+) in validation", "and so are {} of the"),
    Quote("02_split", r"batches per epoch: (\d+) for training", "50,000 = {} x 128 + 80", lambda n: str(int(n) - 1)),
    # 03: the shape error and the parameter count
    Quote("03_model", r"cannot be multiplied \((\d+)x28", "128 x 28 = {} rows", lambda n: f"{int(n):,}"),
    Quote("03_model", r"parameters: (\d+)\n",
          "`nn.Linear(784, 10)` holds a 10 x 784 weight matrix and 10 biases: {} parameters",
          lambda n: f"{int(n):,}"),
    # 04: accuracy of the untrained model
    Near("04_softmax_cross_entropy", r"accuracy of the untrained model on this batch: ([\d.]+)", "About 1 in 10",
         0.1, 0.03),
    # 05: before training, the two learning rates, the ceiling
    Quote("05_train", r"before training: val_loss [\d.]+, val_acc ([\d.]+)", "this model starts at {}", percent(0)),
    Near("05_train", r"mean ([\d.]+), from", "an untrained model is right about one time in ten", 0.1, 0.02),
    Near("05_train", r"Epoch \[4\], val_loss: [\d.]+, val_acc: ([\d.]+)\nepoch 0 equals", "to about 80% after 5 epochs",
         0.80, 0.01),
    Near("05_train", r"tutorial settings, after 20 epochs: val_acc ([\d.]+)",
         "after 20 epochs the model is at about 85%", 0.85, 0.01),
    Quote("05_train", r"tutorial settings, after 20 epochs: val_acc ([\d.]+)", "were still at {} after 20 epochs",
          percent(2)),
    Quote("05_train", r"Epoch \[0\], val_loss: [\d.]+, val_acc: (0\.9\d+)", "passes 90% in its first epoch ({})",
          percent(2)),
    Quote("05_train", r"val_acc between ([\d.]+) and", "between {} and", percent(2)),
    Quote("05_train", r"val_acc between [\d.]+ and ([\d.]+)", "and {}: a larger learning rate", percent(2)),
    Quote("05_train", r"on the 50,000 training images: accuracy ([\d.]+)", "the 50,000 images it trained on: {}",
          percent(2)),
    # 05: no gap between training and validation accuracy for either learning rate; L-BFGS finds the ceiling
    Quote("05_train", r"tutorial settings, on its training images: accuracy ([\d.]+)", "({} on its training images",
          percent(2)),
    Quote("05_train", r"better settings, after 10 epochs: val_acc ([\d.]+)", "the same model reaches {} at 0.3",
          percent(2)),
    Quote("05_train", r"L-BFGS +training loss ([\d.]+)", "well below SGD's ({} against"),
    Quote("05_train", r"SGD, lr 0.3 +training loss ([\d.]+)", "against {}) and gets"),
    Quote("05_train", r"L-BFGS .*training accuracy ([\d.]+)", "gets {} of the training images right", percent(2)),
    Quote("05_train", r"L-BFGS .*validation accuracy ([\d.]+)", "no better: {} against", percent(2)),
    Quote("05_train", r"SGD, lr 0.3 .*validation accuracy ([\d.]+)", "against {}. Better weights", percent(2)),
    Quote("05_train", r"L-BFGS .*validation accuracy ([\d.]+)", "validation accuracy stays at {}: that is the ceiling",
          percent(2)),
    # 06: the test set, the hardest digits, the most frequent mistake
    Quote("06_test", r"digit 5: ([\d.]+)% right", "The hardest are 5 ({}%)"),
    Quote("06_test", r"digit 3: ([\d.]+)% right", "and 3 ({}%)"),
    Quote("06_test", r"digit 8: ([\d.]+)% right", "then 8 ({}%)"),
    Quote("06_test", r"easiest:\n  digit (\d):", "The hardest are {} "),
    Quote("06_test", r"a 3 taken for a 5: (\d+) times\n  a", "a 3 taken for a 5 ({} times)"),
    Quote("06_test", r"prepared:    read as (\d)", "the model reads it as a {}, which it is"),
    Quote("06_test", r"true digit: (\d)", "reads it as a {}, which it is"),
    Quote("06_test", r"only shrunk: read as (\d)", "the model reads them as a {}:"),
    Quote("06_test", r"most frequent mistakes:\n  a (\d) taken for a \d", "the most frequent mistake is a {} taken"),
    Near("06_test", r"digit 0: ([\d.]+)% right", "1 and 0 are right more than 97% of the time", 97.5, 0.5),
    Near("06_test", r"digit 1: ([\d.]+)% right", "1 and 0 are right more than 97% of the time", 97.5, 0.5),
    Near("06_test", r"test:       loss [\d.]+, accuracy ([\d.]+)", "The test accuracy (about 92.5%)", 0.925, 0.003),
    # 08: the hidden layer against the linear model on the validation sets, then the test sets once per model
    Quote("08_beyond_linear", r"hidden layer +([\d,]+) +[\d.]+ ", "parameters ({} against 7,850)"),
    Quote("08_beyond_linear", r"linear model +([\d,]+) +[\d.]+ ", "against {}), the hidden layer"),
    Quote("08_beyond_linear", r"hidden layer +[\d,]+ +([\d.]+) ", "reaches {} on the validation set", percent(2)),
    Quote("08_beyond_linear", r"linear model +[\d,]+ +([\d.]+) ", "on the validation set against {}", percent(2)),
    Quote("08_beyond_linear",
          r"Epoch \[9\], val_loss: [\d.]+, val_acc: ([\d.]+)\nEpoch \[0\], val_loss: [\d.]+, val_acc: 0\.92",
          "against {}).", percent(2)),
    Quote("08_beyond_linear", r"Epoch \[0\], val_loss: [\d.]+, val_acc: (0\.92\d+)", "last ({} against", percent(2)),
    Quote("08_beyond_linear", r"largest difference (below 1e-6)\n", "only that the difference is {})"),
    Quote("08_beyond_linear", r"a 3 taken for a 5: +(\d+) times", "(a 3 taken for a 5: {} times, then fewer than 10)"),
    Quote("08_beyond_linear", r"these five mistakes (less than a third) as often: True\n",
          "the five together {} as often"),
    Quote("08_beyond_linear", r"Fashion-MNIST: linear model ([\d.]+)", "the linear model is right {} of the time",
          percent(2)),
    Quote("08_beyond_linear", r"Fashion-MNIST: linear model [\d.]+, hidden layer ([\d.]+)", "and the hidden layer {},",
          percent(2)),
    Quote("08_beyond_linear", r"linear model +[\d,]+ +([\d.]+) ", "they had {} and", percent(2)),
    Quote("08_beyond_linear", r"hidden layer +[\d,]+ +([\d.]+) ", "and {}: the hidden layer's lead", percent(2)),
    Quote("08_beyond_linear", r"hardest class for the hidden layer: (\w+), most often",
          "(the bars above): {}, right only", lambda name: name.lower() + "s"),
    Quote("08_beyond_linear", r"most often taken for ([\w-]+)/top\n", "most often taken for {}s"),
    Quote("08_beyond_linear", r"\nhidden layer +([\d.]+) +[\d.]+\n", "the hidden layer is right {} of the time",
          percent(2)),
    Quote("08_beyond_linear", r"\nlinear model +([\d.]+) +[\d.]+\n", "against the linear model's {};", percent(2)),
    Quote("08_beyond_linear", r"\nhidden layer +[\d.]+ +([\d.]+)\n", "on Fashion-MNIST's, {} against", percent(2)),
    Quote("08_beyond_linear", r"\nlinear model +[\d.]+ +([\d.]+)\n", "against {}. Both models", percent(2)),
]


@pytest.mark.parametrize("quote", QUOTES, ids=lambda q: f"{q.notebook}:{q.prose[:40]}")
def test_prose_quotes_the_stored_output(quote):
    problem = quote.problem(nbformat.read(NOTEBOOKS / f"{quote.notebook}.ipynb", as_version=4))
    assert problem is None, problem


def test_an_edited_number_is_caught():
    """The check can fail: change one quoted number in the prose, or in the output, and it says so."""
    quote = next(q for q in QUOTES if q.prose.startswith("The hardest are 5"))
    nb = nbformat.read(NOTEBOOKS / "06_test.ipynb", as_version=4)
    assert quote.problem(nb) is None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace("The hardest are 5 (87.8%)", "The hardest are 5 (86.8%)")
    assert "so the prose should say 'The hardest are 5 (87.8%)'" in quote.problem(nb)
    near = next(q for q in QUOTES if q.prose == "to about 80% after 5 epochs")
    nb = nbformat.read(NOTEBOOKS / "05_train.ipynb", as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("name") == "stdout":
                output.text = output.text.replace("Epoch [4], val_loss: 1.2063, val_acc: 0.7977",
                                                  "Epoch [4], val_loss: 1.2063, val_acc: 0.8377")
    assert "but the output prints 0.8377" in near.problem(nb)


def test_08_the_claims_computed_from_the_tables():
    """08's prose also says what its numbers imply: fewer mistakes, the drops, a smaller lead, test near validation,
    and why Fashion-MNIST trains at its own learning rate (steadily: no epoch loses more than half a point)."""
    nb = nbformat.read(NOTEBOOKS / "08_beyond_linear.ipynb", as_version=4)
    text, words = stdout(nb), prose(nb)
    val = {name: float(acc) for name, acc in re.findall(r"(linear model|hidden layer) +[\d,]+ +([\d.]+) ", text)}
    fashion = re.search(r"Fashion-MNIST: linear model ([\d.]+), hidden layer ([\d.]+)", text)
    fashion_val = dict(zip(("linear model", "hidden layer"), map(float, fashion.groups()), strict=True))
    rows = re.findall(r"(?m)^(linear model|hidden layer) +([\d.]+) +([\d.]+)$", text)
    test = {name: (float(a), float(b)) for name, a, b in rows}
    assert len(val) == len(test) == 2, (val, test)
    assert "about a third as many mistakes" in words
    assert 0.28 < (1 - val["hidden layer"]) / (1 - val["linear model"]) < 0.38
    drops = {name: 100 * (mnist - fashion) for name, (mnist, fashion) in test.items()}
    assert f"the hidden layer more ({drops['hidden layer']:.2f} points, against {drops['linear model']:.2f})" in words
    assert drops["hidden layer"] > drops["linear model"]
    assert "the hidden layer's lead shrinks from about 6 points to under 2" in words
    assert round(100 * (val["hidden layer"] - val["linear model"])) == 6
    assert 0 < fashion_val["hidden layer"] - fashion_val["linear model"] < 0.02
    parameters = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lr, fashion_lr = (re.search(rf"(?m)^{name} = ([\d.]+) ", parameters).group(1) for name in ("lr", "fashion_lr"))
    assert f"At MNIST's {lr}, the trainings on Fashion-MNIST are unsteady" in words
    assert f"Fashion-MNIST trains at `fashion_lr` = {fashion_lr}, chosen for steadiness:" in words
    epochs = [float(acc) for acc in re.findall(r"Epoch \[\d+\], val_loss: [\d.]+, val_acc: ([\d.]+)", text)]
    fashion_runs = (epochs[-20:-10], epochs[-10:])  # the last two trainings: Fashion-MNIST's linear model, hidden layer
    assert len(epochs) == 40 and fashion_runs[0][-1] == fashion_val["linear model"], epochs
    assert "never more than half a point lost from one epoch to the next" in words
    assert all(before - after <= 0.005 for run in fashion_runs for before, after in pairwise(run)), fashion_runs
    assert "both are still improving at the last epoch" in words
    assert all(run[-1] == max(run) for run in fashion_runs), fashion_runs
    assert "Every test figure is within 1.5 points of the validation figure above it" in words
    pairs = [(test[n][0], val[n]) for n in test] + [(test[n][1], fashion_val[n]) for n in test]
    assert all(abs(t - v) <= 0.015 for t, v in pairs), pairs


def test_05_the_ceiling_claims():
    """05's reading of its figures: no gap at either learning rate, and L-BFGS fits the training images better
    (lower loss, more right) without doing better on the validation images."""
    text = stdout(nbformat.read(NOTEBOOKS / "05_train.ipynb", as_version=4))
    tutorial_train = float(re.search(r"tutorial settings, on its training images: accuracy ([\d.]+)", text).group(1))
    tutorial_val = float(re.search(r"tutorial settings, after 20 epochs: val_acc ([\d.]+)", text).group(1))
    assert abs(tutorial_train - tutorial_val) < 0.005, (tutorial_train, tutorial_val)
    row = r"{} +training loss ([\d.]+), training accuracy ([\d.]+), validation accuracy ([\d.]+)"
    sgd, lbfgs = (tuple(map(float, re.search(row.format(name), text).groups())) for name in ("SGD, lr 0.3", "L-BFGS"))
    assert lbfgs[0] < sgd[0] - 0.02 and lbfgs[1] > sgd[1] + 0.005, (sgd, lbfgs)
    assert abs(lbfgs[2] - sgd[2]) < 0.003, (sgd, lbfgs)


def test_06_the_gap_against_its_standard_error():
    """06 puts the gap between test and validation accuracy against the standard error of a 10,000-image accuracy."""
    nb = nbformat.read(NOTEBOOKS / "06_test.ipynb", as_version=4)
    text, words = stdout(nb), prose(nb)
    test_acc = float(re.search(r"test:       loss [\d.]+, accuracy ([\d.]+)", text).group(1))
    val_acc = float(re.search(r"validation: loss [\d.]+, accuracy ([\d.]+)", text).group(1))
    assert f"the {100 * (test_acc - val_acc):.2f}-point gap is partly chance" in words
    errors = [100 * (p * (1 - p) / 10_000) ** 0.5 for p in (test_acc, val_acc)]
    assert "a standard error of about 0.27 points" in words
    assert all(abs(error - 0.27) < 0.015 for error in errors), errors
