"""Shared fixtures: the real MNIST files, and small slices of them for fast tests."""

import os
import shutil
from pathlib import Path

import matplotlib
import pytest
import torch

from mnist_helpers import exercises
from mnist_helpers.data import load_mnist, to_float
from mnist_helpers.download import MNIST_SHA256, ensure_mnist, raw_folder

matplotlib.use("Agg")  # in this process only: notebook kernels must keep their inline backend


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The project's data folder, filled (and verified) from MNIST_MIRROR when needed."""
    return ensure_mnist(download=False)


@pytest.fixture(scope="session")
def raw_files(data_root) -> dict[str, Path]:
    """The four verified, decompressed MNIST files."""
    return {name: raw_folder(data_root) / name for name in MNIST_SHA256}


@pytest.fixture(scope="session")
def train_tensors(data_root):
    return load_mnist(train=True, data_root=data_root)


@pytest.fixture()
def small_loaders(train_tensors):
    """A 2,000 / 500 image slice of the real training data, for quick training tests."""
    from mnist_helpers import FastLoader

    images, labels = train_tensors
    return (FastLoader(images[:2000], labels[:2000], 64, shuffle=True, seed=0),
            FastLoader(images[2000:2500], labels[2000:2500], 64))


@pytest.fixture()
def mirror_env(monkeypatch, tmp_path):
    """A fresh empty data folder and a mirror folder to fill; MNIST_MIRROR points at the mirror."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("MNIST_MIRROR", str(mirror))
    return tmp_path / "data", mirror


def copy_raw(raw_files, dest: Path, names=None) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names or raw_files:
        shutil.copyfile(raw_files[name], dest / name)


@pytest.fixture()
def seeded():
    torch.manual_seed(0)


NO_BROWSER = ("no Chromium or Chrome found ($MNIST_CHROMIUM, chromium, chromium-browser, google-chrome on the PATH, "
              "or Playwright's own): install one (Debian/Ubuntu: apt-get install chromium; elsewhere: "
              ".venv/bin/python -m playwright install chromium) to run the browser tests")


@pytest.fixture(scope="session")
def chromium():
    """The browser of the browser tests: skipped, saying how to install one, where there is none."""
    from lab_session import find_chromium

    found = find_chromium()
    if found is None:
        if os.environ.get("MNIST_REQUIRE_BROWSER"):  # CI: a missing browser is a failure, never a silent skip
            pytest.fail(NO_BROWSER + " (MNIST_REQUIRE_BROWSER is set)")
        pytest.skip(NO_BROWSER)
    return found


@pytest.fixture(scope="session")
def mnist_data(data_root):
    """What a learner's notebook holds: float images in [0, 1] (the checks keep the pixels as bytes)."""
    return tuple((to_float(pixels), labels) for pixels, labels in (exercises.mnist(), exercises.mnist(train=False)))


@pytest.fixture(scope="module")
def lab(chromium, data_root):
    """A JupyterLab on 127.0.0.1 for one test module, stopped at its end (lab_session.running_jupyterlab)."""
    from lab_session import running_jupyterlab

    with running_jupyterlab(data_root) as lab:
        yield lab


@pytest.fixture(scope="module")
def page(lab, chromium):
    """One Chromium page, 1280x900, for the module's JupyterLab."""
    from lab_session import launched

    with launched(chromium) as browser:
        yield browser.new_page(viewport={"width": 1280, "height": 900})
