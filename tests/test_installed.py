"""The course installed as a package (a JupyterHub, Binder, Colab): a wheel, notebooks in any folder.

A teacher installs the helpers once with pip (not editable); each student gets the notebooks in a
folder of their own, without the repository. These tests build the wheel, install it into a fresh
environment and run two notebooks from an empty folder, the data folder given only by $MNIST_DATA.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from exercise_tables import names_of
from small_runs import OVERRIDES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mnist_helpers"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (the checkout is left untouched)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "mnist_helpers", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    str(source), "-w", str(work)], check=True, capture_output=True, text=True, encoding="utf-8")
    return next(work.glob("mnist_helpers-*.whl"))


def test_the_wheel_holds_every_module_and_data_file(wheel):
    """Every file of the package that is not a cache: the exercises, the course's configuration, scripts."""
    expected = {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    with zipfile.ZipFile(wheel) as archive:
        packed = {name for name in archive.namelist() if name.startswith("mnist_helpers/")}
    assert expected - packed == set(), f"missing from the wheel: {sorted(expected - packed)}"


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh environment with the wheel installed (not editable); PyTorch and Jupyter come from this one."""
    venv = tmp_path_factory.mktemp("hub") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"  # where venv puts it
    fresh_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True, encoding="utf-8").stdout.strip()
    # This environment's packages, but not its editable mnist_helpers: a path added by a .pth file is not a
    # site folder, so the editable install's own .pth (its import hook) is never read there.
    Path(fresh_site, "course-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True,
                   capture_output=True, text=True, encoding="utf-8")
    return python


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    where = subprocess.run([installed, "-c", "import mnist_helpers; print(mnist_helpers.__file__)"],
                           cwd=installed.parent, check=True, capture_output=True, encoding="utf-8").stdout.strip()
    assert Path(where).is_relative_to(installed.parent.parent), where
    assert not Path(where).is_relative_to(ROOT)


@pytest.mark.slow
def test_two_notebooks_run_from_an_empty_folder(installed, data_root, tmp_path):
    """01 (exercises on MNIST) and 05 (a small training and its exercises), data from $MNIST_DATA only."""
    course = tmp_path / "home" / "student"
    course.mkdir(parents=True)
    names = ["01_explore", "05_train"]
    for name in names:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", course)
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_MIRROR", "MPLBACKEND", "PYTHONPATH")}
    env.update(MNIST_DATA=str(data_root), MNIST_PROGRESS="plain", HOME=str(tmp_path / "home"))
    for name in names:
        small = [arg for key, value in OVERRIDES.get(f"{name}.ipynb", {}).items() for arg in ("-p", key, str(value))]
        ran = subprocess.run([installed, "-m", "papermill", "--cwd", str(course), f"{name}.ipynb", f"{name}.out.ipynb",
                              "-k", "python3", "--no-progress-bar", *small],
                             cwd=course, env=env, capture_output=True, text=True, timeout=600, encoding="utf-8")
        assert ran.returncode == 0, f"{name} failed:\n{ran.stderr[-3000:]}"
        nb = json.loads((course / f"{name}.out.ipynb").read_text(encoding="utf-8"))
        printed = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                          for o in c.get("outputs", []))
        verdicts = [line for line in printed.splitlines() if line.startswith(("Correct", "Not yet", "Not answered"))]
        assert len(verdicts) == len(names_of(f"nb{name[:2]}")), (name, verdicts)
        assert all(v.startswith("Correct") for v in verdicts), (name, verdicts)
    assert sorted(p.name for p in course.iterdir()) == sorted(f"{n}{s}.ipynb" for n in names for s in ("", ".out"))
    assert not (tmp_path / "home" / ".cache" / "mnist_helpers").exists()  # $MNIST_DATA was used, not the default
