"""The small runs: each notebook with small parameters (injected by papermill), and what it then prints.

The browser test (test_browser.py) runs each student notebook this way in JupyterLab, the hub test
(test_hub.py) one of them for every learner, and the installed-package test (test_installed.py) each of
them from an installed wheel. One run proves two things: the parameters cell works, and the student
edition runs with its stubs.
"""

from __future__ import annotations

import re
from pathlib import Path

from notebook_text import moved, number, validation

OVERRIDES = {
    "01_explore.ipynb": {"n_samples": 8},
    "02_split.ipynb": {"val_size": 5_000, "batch_size": 100, "seed": 1},
    "03_model.ipynb": {"batch_size": 32, "seed": 0},
    "04_softmax_cross_entropy.ipynb": {"batch_size": 64},
    "05_train.ipynb": {"epochs": 1, "more_epochs": 1, "better_epochs": 1, "better_lr": 0.5},
    "06_test.ipynb": {"epochs": 1, "n_examples": 8},
    "07_save_load.ipynb": {"epochs": 1},
    "08_beyond_linear.ipynb": {"epochs": 1, "hidden": 32},
    "09_convolutions.ipynb": {"epochs": 1, "hidden": 32, "cnn_epochs": 1, "fashion_epochs": 1, "max_shift": 2},
}


def check_small_run(name: str, text: str, models: Path) -> None:
    """What notebook ``name``'s student edition prints with its ``OVERRIDES``.

    ``models``: the folder given to 07 as ``models_dir``.
    """
    if name == "01_explore.ipynb":
        assert number(text, "training images:") == 60_000
    elif name == "04_softmax_cross_entropy.ipynb":
        assert "outputs: (64, 10)" in text and re.search(r"right in this batch: \d+ of 64\n", text)
    elif name == "02_split.ipynb":
        assert "training: 55,000 images, validation: 5,000 images" in text
        assert "batches per epoch: 550 for training, 50 for validation" in text
    elif name == "03_model.ipynb":
        assert "a batch of images: (32, 1, 28, 28)" in text and number(text, "parameters:") == 7850
    elif name == "05_train.ipynb":
        assert "tutorial settings, after 2 epochs" in text and "better settings, after 1 epochs" in text
        assert number(text, "better settings, after 1 epochs: val_acc") > 0.88
    elif name == "06_test.ipynb":
        assert len(re.findall(r"Epoch \[\d\]", text)) == 1 and number(text, "test:       loss [\\d.]+, accuracy") > 0.88
    elif name == "08_beyond_linear.ipynb":
        assert "hidden layer       25,450 " in text  # 784-32-10
        assert len(re.findall(r"Epoch \[\d\]", text)) == 4  # four models
        assert "computing on: cpu" in text  # device = "cpu" by default
    elif name == "09_convolutions.ipynb":
        assert len(re.findall(r"Epoch \[\d\]", text)) == 5  # five models, one epoch each
        assert re.search(r"(?m)^hidden layer +25,450 ", text)  # 784-32-10
        assert len(moved(text)) == 2  # the moved digits: at most 2 pixels, so the 2-pixel column is still there
        assert validation(text)["CNN"] > 0.95  # one epoch of the CNN already beats notebook 8's hidden layer
        assert "computing on: cpu" in text  # device = "cpu" by default
    elif name == "07_save_load.ipynb":
        assert "trained 1 epochs at lr 0.3" in text and (models / "mnist-logistic.pth").is_file()
    else:
        raise AssertionError(f"{name}: no small run is described")
