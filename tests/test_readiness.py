"""The readiness check under a teacher's conditions: a relative data folder, Ctrl-C, a hanging cell, Windows paths.

Small notebooks of the test's own, run by the real runner (kernels included); the hub settings it
prints are parsed as YAML; Windows behaviours are simulated (``ntpath``, a stand-in event-loop policy).
"""

import ntpath
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from course_notebooks import files, notebook

from mnist_helpers.course import hub, runner
from mnist_helpers.course.notebooks import shown
from mnist_helpers.course.outputs import Agreement, compare_notebooks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def course(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return folder


@pytest.mark.slow  # runs a notebook and copies MNIST from the mirror
def test_a_relative_data_folder_is_made_absolute_for_every_kernel(course, tmp_path, monkeypatch, capsys):
    if not os.environ.get("MNIST_MIRROR"):
        pytest.skip("needs MNIST_MIRROR, a folder holding MNIST's four files")
    notebook(course, "01_data", [("from mnist_helpers import load_mnist\nprint(len(load_mnist()[1]))", "60000\n")])
    before = files(course)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNIST_DATA", "mnist-data")  # relative to where the teacher runs the check
    monkeypatch.setenv("MNIST_MIRROR", os.path.relpath(os.environ["MNIST_MIRROR"], tmp_path))
    assert runner.main([], 1, tmp_path / "build", in_place=False, strict=True, notebooks=course) == 0
    assert "1/1 notebooks ran" in capsys.readouterr().out
    assert files(course) == before  # no second MNIST copied into the notebooks' folder
    assert (tmp_path / "mnist-data" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


@pytest.mark.slow  # runs notebooks
def test_a_hanging_cell_shows_progress_and_meets_the_time_limit(course, tmp_path, monkeypatch, capfd):
    notebook(course, "01_slow", [("import time\ntime.sleep(3)\nprint('done')", "done\n")])
    notebook(course, "02_hangs", [("print('start')", "start\n"), ("import time\ntime.sleep(120)", "")])
    monkeypatch.setattr(runner, "PROGRESS_EVERY", 1.0)
    assert runner.main([], 2, tmp_path / "build", False, False, course, timeout=10, class_size=30) == 1
    out, err = capfd.readouterr()
    assert "... 01_slow: cell 0 of 1 running" in err and "... 02_hangs: cell 1 of 2 running" in err
    assert "FAILED: stopped after 10 s (the time limit, --timeout) in cell 1" in out
    assert "without encryption" not in out + err  # ipykernel's warning never reaches the teacher
    settings = yaml.safe_load(out.split("# Zero to JupyterHub (config.yaml):\n")[1])
    assert set(settings["singleuser"]) == {"memory", "cpu", "extraEnv"}
    assert settings["singleuser"]["extraEnv"] == {"OMP_NUM_THREADS": "1"}
    assert "sudo tljh-config set limits.memory" in out and "A hub for 30 learners" in out


@pytest.mark.slow  # runs a kernel
def test_ctrl_c_stops_in_one_line_and_leaves_no_kernel(course, tmp_path):
    marker = tmp_path / "kernel.pid"
    notebook(course, "01_sleeps", [(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                                    "time.sleep(120)", "")])
    notebook(course, "02_after", [("print('after')", "after\n")])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    check = subprocess.Popen([sys.executable, "-m", "mnist_helpers", "notebooks", "--jobs", "1", "--notebooks",
                              str(course), "--out", str(tmp_path / "build")], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        deadline = time.monotonic() + 120
        while not (marker.is_file() and marker.read_text(encoding="utf-8")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.is_file(), "the notebook's cell never started"
        check.send_signal(signal.SIGINT)
        out, err = check.communicate(timeout=60)
    finally:
        check.kill()
    assert check.returncode == 130, (out, err)
    assert "interrupted (Ctrl-C): the run was stopped and its kernels shut down" in err
    assert "Traceback" not in err and "ZMQError" not in err and "FAILED" not in out, (out, err)
    assert "01_sleeps" in out and "interrupted while it ran" in out
    assert "02_after" in out and "not run (interrupted)" in out and "2 not run to the end" in out
    kernel = int(marker.read_text(encoding="utf-8"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{kernel}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{kernel}").exists(), "a kernel was left running"
    assert not (tmp_path / "build").exists()  # nothing written for an interrupted run


def test_a_path_on_another_windows_drive_is_shown_as_it_is():
    on_d = "D:\\course\\notebooks"
    assert shown(on_d, relpath=lambda p: ntpath.relpath(p, "C:\\Users\\teacher")) == on_d
    with pytest.raises(ValueError):  # what os.path.relpath does on Windows across drives
        ntpath.relpath(on_d, "C:\\Users\\teacher")


def test_windows_gets_the_selector_event_loop(monkeypatch):
    class SelectorPolicy:  # the name asyncio has on Windows only
        pass

    monkeypatch.setattr(runner.asyncio, "WindowsSelectorEventLoopPolicy", SelectorPolicy, raising=False)
    assert isinstance(runner.windows_loop_policy("win32"), SelectorPolicy)
    assert runner.windows_loop_policy("linux") is None and runner.windows_loop_policy("darwin") is None


def test_fashion_mnist_is_fetched_before_the_kernels_when_a_notebook_uses_it(monkeypatch):
    import nbformat

    from mnist_helpers import download

    fetched = []
    monkeypatch.setattr(download, "ensure_mnist", lambda: fetched.append("mnist"))
    monkeypatch.setattr(download, "ensure_dataset", lambda name: fetched.append(name))
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("get_data_loaders()")])
    fashion = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('get_data_loaders(dataset="fashion-mnist")')])
    runner.prefetch({"05": plain})
    assert fetched == ["mnist"]
    runner.prefetch({"05": plain, "08": fashion})
    assert fetched == ["mnist", "mnist", "fashion-mnist"]


def test_the_kernels_get_absolute_data_folders(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNIST_DATA", "data here")
    monkeypatch.setenv("MNIST_MIRROR", "mirror")
    monkeypatch.delenv("FASHION_MNIST_MIRROR", raising=False)
    env = runner.kernel_environment(1)
    assert env["MNIST_DATA"] == str(tmp_path / "data here") and env["MNIST_MIRROR"] == str(tmp_path / "mirror")
    assert "FASHION_MNIST_MIRROR" not in env


def test_verdicts_are_an_enum():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    assert compare_notebooks(nb, nb).verdict is Agreement.IDENTICAL and Agreement("within noise") is Agreement.NOISE


@pytest.mark.parametrize("class_size", [1, 30, 200])
def test_the_hub_is_sized_by_tljh_formula_with_headroom(class_size):
    peak = 700 * 2**20
    figures = hub.plan(peak, class_size)
    assert figures["guarantee"] == 768 * 2**20 and figures["limit"] == 1024 * 2**20  # 700 MiB x 1.25 -> 1G
    assert figures["ram_at_peak"] == class_size * peak + 128 * 2**20  # TLJH: users x peak + 128 MB
    assert figures["ram"] == class_size * figures["limit"] + 128 * 2**20 and figures["cores"] == class_size + 1
    values = yaml.safe_load(hub.z2jh_values(figures))["singleuser"]
    assert values == {"memory": {"guarantee": "768M", "limit": "1024M"}, "cpu": {"guarantee": 0.5, "limit": 1},
                      "extraEnv": {"OMP_NUM_THREADS": "1"}}
