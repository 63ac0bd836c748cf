"""Every notebook of the series, run in JupyterLab in a real browser (Chromium, driven by Playwright).

For each notebook: open it, clear its outputs, Run > Run All Cells, wait for the kernel, then
check what the page shows: every code cell ran, in order; nothing raised or wrote to stderr;
every figure of the stored notebook rendered as an image; the printed text is what the stored
notebook shows; training showed its live progress bar, run to the end. A screenshot of each
notebook goes to artifacts/browser/.
"""

import contextlib
import re

import nbformat
import pytest
from lab_session import CHROMIUM_ARGS, ROOT, find_chromium, run_notebook, running_jupyterlab, screenshot, wait_for

from mnist_helpers.course.outputs import sanitized, text_difference

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "artifacts" / "browser"

@pytest.fixture(scope="module")
def lab(chromium, data_root):
    with running_jupyterlab(data_root) as lab:
        yield lab


@pytest.fixture(scope="module")
def page(lab, chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def problems(name: str, shown: list[dict], stored: list) -> list[str]:
    """Everything that differs from a clean run of the stored notebook, naming the notebook and the cell."""
    if len(shown) != len(stored):
        return [f"{name}: JupyterLab shows {len(shown)} cells, the file has {len(stored)}"]
    found, count = [], 0
    for index, (cell, original) in enumerate(zip(shown, stored, strict=True)):
        if original.cell_type != "code":
            continue
        count += 1
        where = f"{name}, cell {index} ({cell['source'][:60]!r})"
        if cell["stderr"]:
            found.append(f"{where} raised or wrote to stderr:\n{cell['stderr'][-2000:]}")
        if cell["prompt"].strip() != f"[{count}]:":
            found.append(f"{where}: shows {cell['prompt'].strip()!r}, expected [{count}]: (every cell run, in order)")
            continue
        # A drawing pad is stored as its static figure (headless runs) and shows live in JupyterLab:
        # there it must show the stored guess, read by the model from the same drawing.
        pads = [re.match(r"Drawing pad: the model reads (\d)", str(o.get("data", {}).get("text/plain", "")))
                for o in original.outputs]
        stored_guesses = [pad.group(1) for pad in pads if pad]  # pad.show() draws the figure live too
        if cell["pads"] != stored_guesses[:len(cell["pads"])]:
            found.append(f"{where}: the live drawing pads guess {cell['pads']}, stored: {stored_guesses}")
        pads = cell["pads"]
        figures = sum("image/png" in o.get("data", {}) for o in original.outputs) - len(pads)
        if len(cell["images"]) != figures or not all(cell["images"]):
            found.append(f"{where}: {sum(cell['images'])} figures rendered, the stored notebook has {figures}")
        printed = "".join(o.text for o in original.outputs if o.output_type == "stream" and o.name == "stdout")
        # The readiness check's rule: words and whole numbers equal, decimals within floating-point noise.
        _, differs = text_difference(sanitized(printed), sanitized(cell["stdout"]))
        if differs:
            found.append(f"{where}: {differs}; printed\n{cell['stdout'][:1000]}\nbut the stored notebook shows\n"
                         f"{printed[:1000]}")
        trainings = printed.count("Epoch [0],")
        if len(cell["bars"]) != trainings or not all(value == maximum > 0 for value, maximum in cell["bars"]):
            found.append(f"{where}: live progress bars {cell['bars']} (value, max) for {trainings} trainings")
    return found


def run_and_check(page, lab, name: str, stored: list) -> list[str]:
    """Run the notebook in JupyterLab; return its problems. A failing notebook leaves a full-height screenshot."""
    found = [f"{name}: did not finish"]
    try:
        found = problems(name, run_notebook(page, lab, name), stored)
        if name == "05_train":  # the README's picture: live training progress and its curves, as a learner sees them
            page.set_viewport_size({"width": 1280, "height": 1150})
            page.locator(".mnist-progress").last.evaluate(
                "bar => bar.closest('.jp-Cell').scrollIntoView({block: 'start'})")
            page.wait_for_timeout(500)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-05_train.png"))
            page.set_viewport_size({"width": 1280, "height": 900})
        return found
    finally:
        if found:
            with contextlib.suppress(Exception):  # a picture of a failure helps; its absence must not hide the failure
                screenshot(page, ARTIFACTS / f"{name}.png")
        lab.shut_down_kernels()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(lab, page, name):
    stored = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4).cells
    found = run_and_check(page, lab, name, stored)
    assert not found, "\n".join(found)


def test_a_failing_cell_is_named(lab, page):
    """The checks above can fail: a notebook whose second cell raises is reported cell by cell."""
    cells = [nbformat.v4.new_code_cell("print('before')"), nbformat.v4.new_code_cell("1 / 0"),
             nbformat.v4.new_code_cell("print('after')")]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=metadata), lab.root / "notebooks" / "99_broken.ipynb")
    stored = [nbformat.v4.new_code_cell(c.source, outputs=[nbformat.v4.new_output("stream", text=t)] if t else [])
              for c, t in zip(cells, ["before\n", "", "after\n"], strict=True)]
    found = run_and_check(page, lab, "99_broken", stored)
    assert len(found) == 2, found
    assert found[0].startswith("99_broken, cell 1 ('1 / 0') raised") and "ZeroDivisionError" in found[0]
    assert found[1].startswith("99_broken, cell 2 (\"print('after')\"): shows '[ ]:', expected [3]:")
    assert (ARTIFACTS / "99_broken.png").is_file()  # the failure's picture


ANSWER = "def count_parameters(inputs, outputs):\n    return inputs * outputs + outputs\n"


def test_a_learner_answers_an_exercise_in_the_student_edition(lab, page):
    """The path a learner takes: open a student notebook, run it, type an answer, run it and its check: Correct."""
    from mnist_helpers.course.student import build

    build(lab.root / "student")
    try:
        cells = run_notebook(page, lab, "03_model", folder="student")
        checks = [c["stdout"] for c in cells if c["source"].startswith("exercises.q")]
        assert len(checks) == 3 and all(c.startswith("Not answered yet") for c in checks), checks
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        exercise = notebook.locator(".jp-CodeCell").filter(has_text="def count_parameters").first
        exercise.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(ANSWER)  # as typed, without the editor's auto-indent
        page.keyboard.press("Shift+Enter")  # run the answer; the check cell below is selected
        page.keyboard.press("Shift+Enter")  # run the check
        check = notebook.locator(".jp-CodeCell").filter(has_text="exercises.q1.check(count_parameters)").first
        output = check.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')
        wait_for(page, lambda: output.count() > 0 and "Not answered yet" not in output.first.text_content(), 60,
                 "the check to answer")
        assert output.first.text_content().startswith("Correct: weights (inputs x outputs) plus one bias per output.")
    except Exception:
        with contextlib.suppress(Exception):
            screenshot(page, ARTIFACTS / "student-03_model.png")
        raise
    finally:
        lab.shut_down_kernels()


def test_browser_search_order(monkeypatch, tmp_path):
    """$MNIST_CHROMIUM first, then a browser on the PATH (not Ubuntu's snap stub), else None."""

    fake = tmp_path / "bin"
    fake.mkdir()
    stub = fake / "chromium-browser"
    stub.write_text("#!/bin/sh\necho 'Please install it with: snap install chromium'\n")
    stub.chmod(0o755)
    real = fake / "google-chrome"
    real.write_text("#!/bin/sh\nexec true\n")
    real.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    monkeypatch.delenv("MNIST_CHROMIUM", raising=False)
    assert find_chromium() == real  # the snap stub is passed over
    real.unlink()
    monkeypatch.setattr("playwright.sync_api.sync_playwright", lambda: (_ for _ in ()).throw(RuntimeError("no driver")))
    assert find_chromium() is None
    monkeypatch.setenv("MNIST_CHROMIUM", str(stub))
    assert find_chromium() == stub
    monkeypatch.setenv("MNIST_CHROMIUM", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="MNIST_CHROMIUM"):
        find_chromium()
