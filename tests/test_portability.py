"""The course on every laptop: Windows, macOS and Linux behaviour, simulated here where it cannot be run.

Encoding (PEP 597): every process of the suite warns about a text file opened without encoding=, and the
course's own code turns that warning into an error (conftest.py, pyproject.toml, mnist_helpers.files).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def test_the_suite_runs_with_encoding_warnings_on():
    assert sys.flags.warn_default_encoding, "conftest.py should have run pytest with -X warn_default_encoding"
    assert os.environ.get("PYTHONWARNDEFAULTENCODING") == "1"  # inherited by the workers, kernels and subprocesses


def test_an_open_without_encoding_is_an_error_in_the_tests(tmp_path):
    with pytest.raises(EncodingWarning):
        open(tmp_path / "notes.txt", "w").close()  # the very mistake the suite must catch
    with pytest.raises(EncodingWarning):
        (tmp_path / "notes.txt").write_text("x")


PROBE = """
import sys, types
import mnist_helpers.files  # sets the filter, as in a kernel
probe = types.ModuleType("mnist_helpers.probe")
exec("def write(path):\\n    open(path, 'w').close()", probe.__dict__)
try:
    probe.write(sys.argv[1])
except EncodingWarning:
    print("error")
else:
    print("no error")
"""


def test_an_open_without_encoding_in_the_package_is_an_error_in_a_kernel(tmp_path):
    """A kernel or subprocess inherits the flag, and importing the package makes its encoding-less opens errors."""
    ran = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "x.txt")], capture_output=True,
                         encoding="utf-8", timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "error"


def test_an_output_folder_spelled_in_another_case_is_the_notebooks_folder_on_a_mac(monkeypatch):
    from mnist_helpers.course import folders
    from mnist_helpers.files import repository_root

    notebooks = repository_root() / "notebooks"
    shouted = notebooks.parent / "NOTEBOOKS"
    monkeypatch.setattr(folders.sys, "platform", "darwin")  # APFS and NTFS ignore case
    with pytest.raises(folders.OutputFolderError, match="is the teacher notebooks' folder"):
        folders.refuse_overlap(shouted, notebooks)
    with pytest.raises(folders.OutputFolderError, match="lies inside the teacher notebooks' folder"):
        folders.refuse_overlap(shouted / "Build", notebooks)
    monkeypatch.setattr(folders.sys, "platform", "linux")  # ext4 does not: another folder
    folders.refuse_overlap(shouted, notebooks, inside_repository=True)


WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "ci.yml"


def validate_workflow(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with the GitHub workflow schema it ships (no network)."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, encoding="utf-8", timeout=120)


def test_the_ci_workflow_is_valid_for_github(tmp_path):
    checked = validate_workflow(WORKFLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"), encoding="utf-8")
    assert validate_workflow(broken).returncode != 0  # the check can fail


def test_the_ci_workflow_runs_the_quick_subset_and_the_readiness_check_on_three_systems():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["os"] == ["ubuntu-latest", "windows-latest", "macos-latest"]
    setup = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "3.11"
    commands = "\n".join(step.get("run", "") for step in job["steps"])
    assert "--index-url https://download.pytorch.org/whl/cpu" in commands
    assert 'python -m pytest tests -m "not slow"' in commands and "python -m mnist_helpers notebooks" in commands
    pins = (WORKFLOW.parent.parent.parent / "requirements.txt").read_text(encoding="utf-8")
    for package in ("torch", "torchvision"):  # the CPU wheels of the tested versions
        pinned = next(line for line in pins.splitlines() if line.startswith(f"{package}=="))
        assert pinned in commands
