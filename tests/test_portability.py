"""The course on every laptop: Windows, macOS and Linux behaviour, simulated here where it cannot be run.

Encoding (PEP 597): every process of the suite warns about a text file opened without encoding=, and the
course's own code turns that warning into an error (conftest.py, pyproject.toml, mnist_helpers.files).
"""

import json
import os
import re
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
        open(tmp_path / "notes.txt", "w").close()  # encoding left out on purpose
    with pytest.raises(EncodingWarning):
        (tmp_path / "notes.txt").write_text("x")  # encoding left out on purpose


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


def cp1252_by_default(monkeypatch) -> None:
    """Text opened without an encoding is cp1252 from now on, as on Windows in Western Europe."""
    import builtins
    import io

    real_open = io.open

    def cp1252_open(file, mode="r", buffering=-1, encoding=None, *args, **kwargs):
        if "b" not in mode and encoding is None:
            encoding = "cp1252"
        return real_open(file, mode, buffering, encoding, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", cp1252_open)
    monkeypatch.setattr(io, "open", cp1252_open)


def test_the_benchmark_rewrites_its_readme_whatever_the_locale(tmp_path, monkeypatch):
    from benchmarks.report import END, START, update_readme

    readme = tmp_path / "README.md"
    readme.write_text(f"Łukasz’s notes → 10 classes\n\n{START}\nold\n{END}\n≈ after\n", encoding="utf-8")
    cp1252_by_default(monkeypatch)
    update_readme(readme, "new table, 28×28 ≈ 784\n")
    assert readme.read_text(encoding="utf-8") == (f"Łukasz’s notes → 10 classes\n\n{START}\nnew table, 28×28 ≈ 784\n"
                                                  f"{END}\n≈ after\n")


def test_the_marker_of_a_build_is_written_whatever_the_locale(tmp_path, monkeypatch):
    """Windows in Europe: text opened without an encoding is cp1252, which has no "Ł" (C:\\Users\\Łukasz\\...)."""
    from mnist_helpers.course.folders import write_edition

    cp1252_by_default(monkeypatch)
    out = tmp_path / "Users" / "Łukasz Wójcik" / "edition"
    write_edition(out, {"01_small.ipynb": b"{}"}, "a test")
    assert sorted(p.name for p in out.parent.iterdir()) == ["edition"]  # no staging folder left behind
    assert (out / "01_small.ipynb").read_bytes() == b"{}"


LATIN1 = "en_US.ISO-8859-1"
FOLDER = "Łukasz's course, année 2"  # non-ASCII letters and spaces, as in C:\Users\Łukasz\...


@pytest.fixture(scope="module")
def latin1(tmp_path_factory) -> dict:
    """The environment of a process in a locale that is not UTF-8 (ISO-8859-1), generated with localedef."""
    import shutil

    where = tmp_path_factory.mktemp("locale")
    if shutil.which("localedef"):
        subprocess.run(["localedef", "-i", "en_US", "-f", "ISO-8859-1", str(where / LATIN1)], capture_output=True)
    if not (where / LATIN1).exists():
        message = (f"cannot generate the {LATIN1} locale: localedef and its sources (Debian's locales package) "
                   "are needed")
        if os.environ.get("MNIST_REQUIRE_LOCALE"):  # .ci/run: a missing locale is a failure, never a silent skip
            pytest.fail(message + " (MNIST_REQUIRE_LOCALE is set)")
        pytest.skip(message)
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONUTF8", "PYTHONIOENCODING")}
    return env | {"LOCPATH": str(where), "LANG": LATIN1, "LC_ALL": LATIN1}


def course(latin1, *args, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m mnist_helpers ARGS`` in the ISO-8859-1 locale, from ``cwd``."""
    return subprocess.run([sys.executable, "-m", "mnist_helpers", *args], cwd=cwd, env=latin1, capture_output=True,
                          encoding="latin-1", timeout=600)


@pytest.mark.slow
def test_readiness_check_student_and_site_builds_in_a_latin1_locale_from_a_non_ascii_folder(latin1, tmp_path):
    import nbformat

    from mnist_helpers.course.student import build
    from mnist_helpers.files import repository_root

    probe = subprocess.run([sys.executable, "-c", "import locale; print(locale.getpreferredencoding())"],
                           env=latin1, capture_output=True, encoding="latin-1")
    assert probe.stdout.strip() == "ISO-8859-1"
    home = tmp_path / FOLDER
    notebooks = home / "notebooks"
    notebooks.mkdir(parents=True)
    nb = nbformat.read(repository_root() / "notebooks" / "01_explore.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("Łukasz's note: 28×28 pixels → 10 classes, ≈ 92 %"))
    nb.cells[1].id = "nonascii"
    nbformat.write(nb, notebooks / "01_explore.ipynb")

    ran = course(latin1, "notebooks", "01_explore", "--notebooks", "notebooks", "--out", "executed", "--strict",
                 cwd=home)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "1/1 notebooks ran" in ran.stdout and "different" not in ran.stdout and "FAILED" not in ran.stdout
    assert "EncodingWarning" not in ran.stderr and "Traceback" not in ran.stderr, ran.stderr[-3000:]

    made = course(latin1, "student", "--notebooks", "notebooks", "--out", "student edition", cwd=home)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    build(tmp_path / "utf-8 edition", folder=notebooks)  # this process: UTF-8
    built = {p.name: p.read_bytes() for p in (home / "student edition").iterdir()}
    assert built == {p.name: p.read_bytes() for p in (tmp_path / "utf-8 edition").iterdir()}

    site = course(latin1, "site", "--out", "site", cwd=home)
    assert site.returncode == 0, site.stdout[-3000:] + site.stderr[-3000:]
    assert "Traceback" not in site.stderr and (home / "site" / "index.html").is_file()
    assert sorted(p.name for p in home.iterdir()) == ["executed", "notebooks", "site", "student edition"]


NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# A path in printed text: folders joined by "/" (or "\"), ending in a file name with an extension.
PRINTED_PATH = re.compile(r"(?<![\w/\\:.])(?:[\w.-]+[/\\])+[\w.-]+\.\w+")


def os_dependent_paths(nb: dict) -> list[str]:
    """Paths in a notebook's stored text outputs that a Windows laptop would print with "\\" instead of "/".

    A path printed as written (a string in the cell's source) or with ``as_posix()`` is the same everywhere;
    one printed through ``str(path)`` or an f-string of a ``Path`` is not.
    """
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            for path in PRINTED_PATH.findall(text):
                # a zip's member names (namelist()) use "/" on every system
                if "\\" in path or (path not in source and "as_posix" not in source and "namelist" not in source):
                    found.append(f"cell {cell.get('id')}: {path}")
    return found


def test_the_path_scan_finds_a_path_printed_through_str():
    printed = {"cell_type": "code", "id": "c", "source": 'path = Path("models") / "m.pth"\nprint(f"saved {path}")',
               "outputs": [{"output_type": "stream", "name": "stdout", "text": "saved models/m.pth\n"}]}
    assert os_dependent_paths({"cells": [printed]}) == ["cell c: models/m.pth"]
    printed["source"] = printed["source"].replace("{path}", "{path.as_posix()}")
    assert os_dependent_paths({"cells": [printed]}) == []
    printed["outputs"][0]["text"] = "saved models\\m.pth\n"  # stored on Windows
    assert os_dependent_paths({"cells": [printed]}) == ["cell c: models\\m.pth"]


@pytest.mark.parametrize("name", [path.name for path in sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb"))])
def test_no_stored_output_depends_on_the_path_separator(name):
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    assert os_dependent_paths(nb) == []


def text_opens_without_encoding(source: str) -> list[int]:
    """Lines of ``source`` that open a text file, or run a text subprocess, without naming the encoding."""
    import ast

    def mode(call: ast.Call, position: int) -> str | None:
        given = next((k.value for k in call.keywords if k.arg == "mode"), None)
        given = given if given is not None else call.args[position] if len(call.args) > position else None
        return "r" if given is None else given.value if isinstance(given, ast.Constant) else None

    found, lines = [], source.splitlines()
    for call in ast.walk(ast.parse(source)):
        if not isinstance(call, ast.Call) or {k.arg for k in call.keywords} & {"encoding", None}:
            continue
        func, text = call.func, False
        if isinstance(func, ast.Name) and func.id == "open":
            text = "b" not in (mode(call, 1) or "b")
        elif isinstance(func, ast.Attribute) and func.attr in ("read_text", "write_text", "TextIOWrapper"):
            text = True
        elif isinstance(func, ast.Attribute) and func.attr == "open" and getattr(func.value, "id", None) not in (
                "gzip", "os", "tarfile", "zipfile", "webbrowser"):
            text = "b" not in (mode(call, 0) or "b")
        elif isinstance(func, ast.Attribute) and func.attr in ("run", "Popen", "check_output"):
            text = any(k.arg in ("text", "universal_newlines") and getattr(k.value, "value", False)
                       for k in call.keywords)
        if text and not lines[call.lineno - 1].endswith("# encoding left out on purpose"):
            found.append(call.lineno)
    return found


def test_the_scan_for_text_opens_finds_each_kind():
    source = ('open("a")\nopen("a", "rb")\nPath("a").read_text()\np.open("w")\np.open("rb")\n'
              'subprocess.run(["x"], text=True)\nopen("a", encoding="utf-8")\ngzip.open("a")\n')
    assert text_opens_without_encoding(source) == [1, 3, 4, 6]


def test_every_text_open_in_the_code_names_its_encoding():
    """Read, not run: also the lines the suite never reaches on Linux (Windows' and macOS' branches)."""
    root = Path(__file__).resolve().parent.parent
    files = [root / "conftest.py", *sorted(p for folder in ("mnist_helpers", "tests", "benchmarks")
                                           for p in (root / folder).rglob("*.py"))]
    missing = [f"{path.relative_to(root)}:{line}" for path in files
               for line in text_opens_without_encoding(path.read_text(encoding="utf-8"))]
    assert missing == []
