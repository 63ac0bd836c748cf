"""The drawing pad in JupyterLab, in a real browser: Playwright draws on it with the mouse.

A small notebook trains a linear model in seconds, shows the pad and puts a test digit on it
from Python (``pad.draw``): the canvas shows it, with the guess Python has. Then the test clears
the pad and draws on it with the mouse, a vertical stroke (a "1") and a loop (a "0"): a guess and
its ten probabilities appear, the "1" is read as 1, Python sees the same guess and image
(``pad.guess``, ``pad.image``), and the page loaded nothing from outside the local JupyterLab.
A picture of the pad, with a small "7" drawn in its corner, goes to artifacts/browser/pad.png
(docs/pad.png is a copy).
"""

import contextlib
import math

import nbformat
import pytest
from lab_session import ARTIFACTS, printed, run_notebook, screenshot, wait_for_new_output, wait_until

pytestmark = pytest.mark.slow  # a browser, a JupyterLab and a training

TRAIN_AND_SHOW = """\
import torch
from mnist_helpers import FastLoader, MnistModel, fit, load_mnist
from mnist_helpers.drawing import DrawingPad

images, labels = load_mnist(train=True)
torch.manual_seed(0)
model = MnistModel()
history = fit(3, 0.5, model, FastLoader(images[:20_000], labels[:20_000], 128, shuffle=True, seed=0),
              FastLoader(images[50_000:52_000], labels[50_000:52_000], 500), progress=False)"""
DRAW_FROM_PYTHON = """\
from mnist_helpers.drawing import digit_on_pad

test_images, test_labels = load_mnist(train=False)
pad.draw(digit_on_pad(test_images[0], size=0.5, centre=(0.3, 0.65)))  # a 7, twice as large, low on the left"""
REPORT = 'print("guess:", pad.guess, "image:", None if pad.guess is None else list(pad.image.shape))'

ONE = [(0.5, 0.15 + 0.07 * i) for i in range(11)]  # top to bottom, as fractions of the pad
SEVEN = [(0.12, 0.12), (0.42, 0.12), (0.36, 0.25), (0.3, 0.38), (0.25, 0.5)]  # small, in the top-left corner
LOOP = [(0.5 + 0.22 * math.sin(a), 0.5 - 0.32 * math.cos(a)) for a in (k * 2 * math.pi / 36 for k in range(37))]


def write_notebook(folder) -> None:
    cells = [nbformat.v4.new_code_cell(source)
             for source in (TRAIN_AND_SHOW, "pad = DrawingPad(model)\npad", DRAW_FROM_PYTHON, REPORT)]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=metadata), folder / "99_pad.ipynb")


def draw(page, points) -> None:
    """One stroke with the mouse through ``points`` (fractions of the pad's width and height)."""
    canvas = page.locator(".mnist-pad-canvas")
    canvas.scroll_into_view_if_needed()  # running a cell may have scrolled the notebook
    box = canvas.bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def shown_guess(page) -> str:
    return page.locator(".mnist-pad").get_attribute("data-guess") or ""


def wait_for_guess(page, shown: bool) -> None:
    """Playwright's own wait, in the page: until the pad shows a guess (``shown``) or none (after Clear)."""
    test = "!!" if shown else "!"
    wait_until(page, f"() => {test}(document.querySelector('.mnist-pad') || {{dataset: {{}}}}).dataset.guess", 30,
               "the pad to show a guess" if shown else "the pad's guess to be cleared")


def ink_on_canvas(page) -> int:
    """How many of the pad's canvas pixels hold ink."""
    return page.locator(".mnist-pad-canvas").evaluate("""canvas => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let ink = 0;
      for (let i = 0; i < data.length; i += 4) ink += data[i] > 128;
      return ink;
    }""")


def python_report(page) -> str:
    """Run the last cell again: what Python knows of the pad now."""
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    cell = notebook.locator(".jp-CodeCell").filter(has_text="print(\"guess:\"").first
    before = printed(cell)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")  # run it, stay on it
    return wait_for_new_output(page, cell, before, 30, "the report cell to run").strip()


def test_drawing_on_the_pad_in_jupyterlab(lab, page):
    write_notebook(lab.root / "notebooks")
    outside = []

    def note_outside(request) -> None:
        if not request.url.startswith((lab.url, "data:", "blob:")):
            outside.append(request.url)

    page.on("request", note_outside)
    try:
        cells = run_notebook(page, lab, "99_pad")
        assert not any(c["stderr"] for c in cells), [c["stderr"] for c in cells]
        # Drawn from Python (pad.draw): the canvas shows it, and the guess is the same on both sides.
        python_guess = cells[3]["stdout"].strip()
        wait_for_guess(page, shown=True)
        assert python_guess == f"guess: {shown_guess(page)} image: [1, 28, 28]", (python_guess, shown_guess(page))
        assert ink_on_canvas(page) > 1000
        pad = page.locator(".mnist-pad")
        assert pad.locator(".mnist-pad-bar").count() == 10
        print(f"the linear model read test digit 0 (a 7) drawn from Python as {shown_guess(page)}")

        pad.locator(".mnist-pad-clear").click()
        wait_for_guess(page, shown=False)
        assert ink_on_canvas(page) == 0 and python_report(page) == "guess: None image: None"

        draw(page, ONE)
        wait_for_guess(page, shown=True)
        assert shown_guess(page) == "1", f"a vertical stroke was read as {shown_guess(page)}"
        assert pad.locator(".mnist-pad-guess").text_content() == "guess: 1"
        percents = pad.locator(".mnist-pad-percent").all_text_contents()
        assert len(percents) == 10 and all(p.endswith("%") for p in percents)
        assert python_report(page) == "guess: 1 image: [1, 28, 28]"

        pad.locator(".mnist-pad-clear").click()
        wait_for_guess(page, shown=False)

        draw(page, LOOP)
        wait_for_guess(page, shown=True)
        loop_guess = shown_guess(page)
        assert python_report(page) == f"guess: {loop_guess} image: [1, 28, 28]"

        pad.locator(".mnist-pad-clear").click()  # the picture: a small "7" in a corner, prepared like MNIST's
        wait_for_guess(page, shown=False)
        draw(page, SEVEN)
        wait_for_guess(page, shown=True)
        print(f"the linear model read the vertical stroke as 1, the loop as {loop_guess}, "
              f"the small 7 as {shown_guess(page)}")
        cell = page.locator(".jp-CodeCell").filter(has=page.locator(".mnist-pad"))
        cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        cell.screenshot(path=str(ARTIFACTS / "pad.png"))
        assert not outside, f"the page loaded from outside JupyterLab: {outside[:5]}"
    except Exception:
        with contextlib.suppress(Exception):
            screenshot(page, ARTIFACTS / "99_pad.png")
        raise
    finally:
        page.remove_listener("request", note_outside)
        lab.shut_down_kernels()
