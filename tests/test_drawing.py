"""The drawing pad: the MNIST-like preparation of a drawing, and the pad's Python half (no browser).

The preparation is checked on MNIST's own test digits, drawn larger, smaller and off-centre on
the pad: once prepared, a trained linear model reads them as it reads the originals. The pad is
driven as the browser drives it (the drawing arrives as bytes through the widget's state) and
from Python (``pad.draw``); headless, it shows a static figure and keeps no widget in the outputs.
The browser itself is tested in test_pad_browser.py.
"""

import json
import math
import re

import nbformat
import pytest
import torch
import torch.nn as nn

from mnist_helpers import FastLoader, MnistModel, fit, load_mnist
from mnist_helpers.drawing import (
    PAD_GRID,
    DrawingPad,
    centre_of_mass,
    crop_to_ink,
    digit_on_pad,
    fit_in_box,
    place_centred,
    prepare_digit,
    resize_only,
)

SAMPLE = 500  # test digits per check


def stroke(points: list[tuple[float, float]], width: float = 8.0, grid: int = PAD_GRID) -> torch.Tensor:
    """A pen stroke through ``points`` (x, y in pad pixels) as the browser sends it: white ink, soft edges.

    The pad's pen is 20 of its 280 canvas pixels wide, 8 of the 112 pixels the drawing travels in.
    """
    ys, xs = torch.meshgrid(torch.arange(grid) + 0.5, torch.arange(grid) + 0.5, indexing="ij")
    distance = torch.full((grid, grid), math.inf)
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        dx, dy = x1 - x0, y1 - y0
        t = (((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-9)).clamp(0, 1)
        distance = torch.minimum(distance, ((xs - x0 - t * dx) ** 2 + (ys - y0 - t * dy) ** 2).sqrt())
    return (width / 2 + 0.5 - distance).clamp(0, 1)


VERTICAL = [(56, 20), (58, 92)]  # a "1"
LOOP = [(56 + 25 * math.sin(a), 56 - 35 * math.cos(a)) for a in (k * 2 * math.pi / 40 for k in range(41))]  # a "0"


class Constant(nn.Module):
    """A stand-in model that always gives the same scores: its guess is known in advance."""

    def __init__(self, digit: int):
        super().__init__()
        self.scores = nn.Parameter(torch.nn.functional.one_hot(torch.tensor(digit), 10).float() * 5)

    def forward(self, xb):
        return self.scores.expand(len(xb), 10)


@pytest.fixture(scope="module")
def test_tensors(data_root):
    images, labels = load_mnist(train=False, data_root=data_root)
    return images[:SAMPLE], labels[:SAMPLE]


@pytest.fixture(scope="module")
def linear_model(train_tensors):
    """A linear model trained in seconds (about 90% on the test set), as in notebook 06."""
    images, labels = train_tensors
    torch.manual_seed(0)
    model = MnistModel()
    fit(3, 0.5, model, FastLoader(images[:20_000], labels[:20_000], 128, shuffle=True, seed=0),
        FastLoader(images[50_000:52_000], labels[50_000:52_000], 500), progress=False)
    return model


def read(model, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(images).argmax(dim=1)


# The preparation, step by step


def test_crop_to_ink_keeps_the_smallest_rectangle_around_the_ink():
    image = torch.zeros(30, 40)
    image[5, 7] = image[12, 30] = 1.0
    image[20, 20] = 0.05  # fainter than ink: left out
    assert crop_to_ink(image).shape == (8, 24)


def test_fit_in_box_keeps_proportions_and_grey_levels():
    tall = fit_in_box(torch.ones(80, 20))
    assert tall.shape == (20, 5)
    wide = fit_in_box(torch.ones(3, 12))  # small drawings are scaled up
    assert wide.shape == (5, 20)
    bar = torch.zeros(60, 60)
    bar[:, 28:32] = 1  # a 4-pixel stroke becomes 4/3 pixels: grey edges, nothing outside [0, 1]
    scaled = fit_in_box(bar)
    assert scaled.min() >= 0 and scaled.max() <= 1 and ((scaled > 0.05) & (scaled < 0.95)).any()


def test_place_centred_puts_the_centre_of_mass_at_14_14():
    blob = torch.zeros(16, 12)
    blob[:4, :] = 1  # heavy at the top
    blob[:, :2] = 1  # and on the left
    placed = place_centred(blob)
    row, col = centre_of_mass(placed)
    assert placed.shape == (28, 28)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert placed.sum() == pytest.approx(blob.sum())  # nothing cut off


def test_prepare_digit_leaves_mnist_digits_as_they_are(test_tensors):
    """MNIST's digits were prepared this way already: preparing them again changes almost nothing."""
    images, _ = test_tensors
    prepared = torch.stack([prepare_digit(image) for image in images[:200]])
    assert prepared.shape == (200, 1, 28, 28)
    assert (prepared - images[:200]).abs().mean() < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("size, centre", [(0.5, (0.3, 0.65)), (0.15, (0.8, 0.2)), (0.9, (0.5, 0.45))],
                         ids=["twice as large, lower left", "small, top right", "filling the pad"])
def test_moved_and_scaled_digits_are_read_like_the_originals(linear_model, test_tensors, size, centre):
    images, labels = test_tensors
    drawn = [digit_on_pad(image, size=size, centre=centre) for image in images]
    prepared = torch.stack([prepare_digit(d) for d in drawn])
    agree = (read(linear_model, prepared) == read(linear_model, images)).float().mean().item()
    assert agree >= 0.85, f"only {agree:.0%} of the prepared digits read like the originals"
    for image in prepared:
        row, col = centre_of_mass(image[0])
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert prepared.min() >= 0 and prepared.max() <= 1


@pytest.mark.slow
def test_without_the_preparation_an_off_centre_digit_is_misread(linear_model, test_tensors):
    """Why the preparation matters: the whole pad shrunk to 28x28 puts a small digit in a corner."""
    images, labels = test_tensors
    drawn = [digit_on_pad(image, size=0.5, centre=(0.3, 0.65)) for image in images]
    shrunk = torch.stack([resize_only(d) for d in drawn])
    prepared = torch.stack([prepare_digit(d) for d in drawn])
    correct_shrunk = (read(linear_model, shrunk) == labels).float().mean().item()
    correct_prepared = (read(linear_model, prepared) == labels).float().mean().item()
    assert correct_shrunk < 0.3 and correct_prepared > 0.8, (correct_shrunk, correct_prepared)


@pytest.mark.slow
def test_strokes_of_a_1_and_a_0_are_read_as_1_and_0(linear_model):
    pad = DrawingPad(linear_model, live=False)
    pad.draw(stroke(VERTICAL))
    assert pad.guess == 1
    pad.draw(stroke(LOOP))
    assert pad.guess == 0


def test_digit_on_pad_places_the_frame_where_asked():
    square = torch.ones(28, 28)
    drawn = digit_on_pad(square, size=0.5, centre=(0.25, 0.75))
    assert drawn.shape == (PAD_GRID, PAD_GRID) and drawn.sum() == pytest.approx(56 * 56)
    row, col = centre_of_mass(drawn)
    assert (row, col) == pytest.approx((0.75 * PAD_GRID - 0.5, 0.25 * PAD_GRID - 0.5))
    corner = digit_on_pad(square, size=0.5, centre=(0, 0))  # what falls off the pad is cut
    assert corner.sum() == pytest.approx(28 * 28) and corner[0, 0] == 1
    with pytest.raises(ValueError, match="fraction of the pad's width"):
        digit_on_pad(square, size=2)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(112, 112), "the drawing is empty: draw a digit first"),
    (torch.ones(2, 3, 4), r"shaped \[H, W\] or \[1, H, W\]; got shape \[2, 3, 4\]"),
    (torch.full((28, 28), 255.0), r"grey levels in \[0, 1\].*from 255 to 255"),
    (torch.full((28, 28), float("nan")), r"grey levels in \[0, 1\]"),
    (torch.full((28, 28), 255, dtype=torch.int64), r"got torch.int64 values from 255 to 255: .*divide by 255 "
                                                   r"\(image / 255\)"),
])
def test_prepare_digit_refuses_what_it_cannot_prepare(bad, message):
    with pytest.raises(ValueError, match=message):
        prepare_digit(bad)


def test_prepare_digit_takes_uint8_pixels_like_the_mnist_files():
    image = (digit_on_pad(torch.ones(10, 4), size=0.4) * 255).to(torch.uint8)
    assert torch.equal(prepare_digit(image), prepare_digit(image.float() / 255))


# The pad's Python half


def test_an_empty_pad_says_so():
    pad = DrawingPad(Constant(3), live=False)
    assert pad.guess is None and pad.probabilities is None
    assert pad.summary() == "Drawing pad: nothing drawn yet"
    with pytest.raises(ValueError, match=r"the pad is empty: draw a digit on it first \(or .*pad\.draw"):
        _ = pad.image


def test_a_stroke_from_the_browser_is_prepared_and_read():
    """The browser sends the drawing as bytes in the widget's state; the result goes back the same way."""
    pad = DrawingPad(Constant(3), live=False)
    grey_levels = (stroke(VERTICAL) * 255).round().to(torch.uint8)  # one byte per pixel, row by row
    pad.set_state({"_drawing": memoryview(grey_levels.numpy().tobytes())})
    assert pad.guess == 3 and pad.probabilities.sum().item() == pytest.approx(1)
    assert torch.equal(pad.drawing, grey_levels / 255)
    assert torch.equal(pad.image, prepare_digit(grey_levels))
    state = pad.get_state()
    assert len(state["_prepared"]) == 28 * 28 and len(state["_probabilities"]) == 10
    pad.set_state({"_drawing": memoryview(b"")})  # the Clear button
    assert pad.guess is None and pad.get_state()["_prepared"] == b"" and pad.get_state()["_probabilities"] == []


def test_draw_and_clear_from_python():
    pad = DrawingPad(Constant(3), live=False)
    digit = torch.zeros(28, 28)
    digit[4:24, 12:15] = 1
    pad.draw(digit)  # any square image fills the pad
    assert pad.drawing.shape == (PAD_GRID, PAD_GRID) and pad.guess == 3
    assert pad.image[0].sum() > 0
    pad.clear()
    assert pad.guess is None and pad.drawing.sum() == 0
    with pytest.raises(ValueError, match="give pad.draw.. a square image; got 28x40"):
        pad.draw(torch.zeros(28, 40))


def test_another_model_reads_the_same_strokes():
    pad = DrawingPad(Constant(3), live=False)
    pad.draw(stroke(LOOP))
    pad.model = Constant(8)
    assert pad.guess == 8


def test_a_convolutional_model_reads_the_pad_too():
    """The pad hands the model a batch shaped [1, 1, 28, 28]: what a CNN (notebook 9) reads as well."""
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    pad = DrawingPad(cnn, live=False)
    pad.draw(stroke(LOOP))
    assert pad.guess in range(10) and pad.probabilities.shape == (10,)


@pytest.mark.parametrize("model, error, message", [
    ("model.pth", TypeError, r"needs a trained model \(an nn.Module such as MnistModel\); got str"),
    (nn.Sequential(nn.Flatten(), nn.Linear(784, 5)), ValueError, r"10 scores per image.*\[1, 5\]"),
    (nn.Linear(10, 10), ValueError, r"could not read a batch of one 28x28 image"),
])
def test_a_model_that_cannot_read_digits_is_refused_at_once(model, error, message):
    with pytest.raises(error, match=message):
        DrawingPad(model)


def test_a_model_failing_on_a_drawing_says_so_on_the_pad():
    class FailsOnInk(Constant):
        def forward(self, xb):
            if xb.sum() > 0:
                raise RuntimeError("out of memory")
            return super().forward(xb)

    pad = DrawingPad(FailsOnInk(1), live=False)
    pad.draw(stroke(VERTICAL))  # a stroke's callback must not raise: the browser would never show it
    assert pad.guess is None
    assert pad.get_state()["_message"] == "The model could not read this drawing: out of memory"


def test_a_tap_is_too_little_ink_to_read():
    pad = DrawingPad(Constant(3), live=False)
    for tap in (stroke([(30, 40), (30, 40)]), stroke([(60, 60), (64, 62)])):  # a dot of the pen, a short dash
        pad.draw(tap)
        assert pad.guess is None and pad.probabilities is None
        assert "too little ink to read" in pad.get_state()["_message"] and pad.summary().endswith("larger")
    pad.draw(stroke(VERTICAL))  # a "1" is narrow but tall: read
    assert pad.guess == 3 and pad.get_state()["_message"] == ""


def nan_model() -> nn.Module:
    model = MnistModel()
    with torch.no_grad():
        model.linear.weight.fill_(float("nan"))
    return model


def test_a_model_with_weights_that_are_not_numbers_is_refused():
    with pytest.raises(ValueError, match=r"gives no numbers \(NaN or infinite scores\).*diverged training"):
        DrawingPad(nan_model())
    pad = DrawingPad(Constant(3), live=False)
    pad.draw(stroke(VERTICAL))
    with pytest.raises(ValueError, match="gives no numbers"):
        pad.model = nan_model()
    assert pad.guess == 3 and isinstance(pad.model, Constant)  # the pad kept its model and its reading


def test_a_model_that_diverges_after_it_was_given_says_it_gives_no_numbers():
    model = MnistModel()
    pad = DrawingPad(model, live=False)
    with torch.no_grad():
        model.linear.weight.fill_(float("nan"))  # trained on in place, and diverged
    pad.draw(stroke(VERTICAL))
    assert pad.guess is None and "gives no numbers" in pad.get_state()["_message"]


def usable(pad: DrawingPad) -> None:
    """Every way of looking at the pad still works."""
    assert pad.figure() is not None and pad.drawing.shape == (PAD_GRID, PAD_GRID)
    assert set(pad.static_bundle()) == {"image/png", "text/plain"} and "DrawingPad" in repr(pad)


@pytest.mark.parametrize("sent, why", [
    (memoryview(b"x" * 100), "100 bytes, not the 112x112 = 12544 of a drawing"),
    (memoryview(bytes(10**6)), "1000000 bytes"),
    (1e9, "float, not the bytes of a drawing"),
    (10**9, "int, not the bytes of a drawing"),
    ("abc", "str, not"),
    ([[1, 2], [3]], "list, not"),
    ([300] * 12544, "list, not"),
    (list(range(10**6)), "list, not"),
])
def test_a_malformed_drawing_from_the_browser_leaves_the_pad_as_it_was(sent, why):
    pad = DrawingPad(Constant(3), live=False)
    pad.draw(stroke(VERTICAL))
    before = pad.drawing.clone()
    pad.set_state({"_drawing": sent})  # what ipywidgets' handler calls: it must not raise
    assert torch.equal(pad.drawing, before) and pad.guess == 3
    assert pad.get_state()["_message"].startswith(f"The pad ignored a drawing from the browser: {why}")
    usable(pad)
    pad.set_state({"_drawing": memoryview(b"")})  # and it still takes the next stroke
    assert pad.guess is None


def test_a_message_the_browser_may_not_send_is_ignored_through_ipywidgets_handler(capfd):
    pad = DrawingPad(Constant(3), live=False)
    pad.draw(stroke(VERTICAL))
    for state in ({"_grid": "big"}, {"_probabilities": [float("nan")]}, {"_drawing": 1e9, "_message": 5}):
        pad._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}})
    assert pad.guess == 3 and pad._grid == PAD_GRID and "Traceback" not in "".join(capfd.readouterr())
    usable(pad)


def test_python_cannot_put_a_drawing_of_the_wrong_size_on_the_pad():
    pad = DrawingPad(Constant(3), live=False)
    with pytest.raises(Exception, match="12544 bytes"):
        pad._drawing = b"x" * 100
    usable(pad)


# What a notebook shows


def test_headless_the_pad_shows_a_static_figure(monkeypatch):
    monkeypatch.setenv("MNIST_PROGRESS", "plain")  # what the runner, nbval and papermill runs set
    pad = DrawingPad(Constant(3))
    pad.draw(stroke(VERTICAL))
    bundle = pad._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    assert bundle["text/plain"] == f"Drawing pad: the model reads 3 ({math.exp(5) / (math.exp(5) + 9):.0%})"
    assert bundle["image/png"].startswith("iVBORw0KGgo")  # a PNG, base64-encoded


def test_live_the_pad_is_a_widget(monkeypatch):
    monkeypatch.setenv("MNIST_PROGRESS", "live")
    pad = DrawingPad(Constant(3))
    data, _ = pad._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == pad.model_id
    assert "image/png" not in data
    assert DrawingPad(Constant(3), live=False)._repr_mimebundle_().keys() == {"image/png", "text/plain"}


def test_the_front_end_comes_with_the_package():
    """The widget's module and style are the package's own files, and load nothing from the network."""
    pad = DrawingPad(Constant(3))
    esm, css = pad._esm, pad._css
    assert "export default { render }" in esm and ".mnist-pad-canvas" in css
    assert not re.search(r"^\s*import\b|\bimport\(|https?:", esm, re.M)
    assert not re.search(r"@import|url\(|https?:", css)


@pytest.mark.slow
def test_a_headless_notebook_stores_the_figure_and_no_widget(tmp_path):
    """Run as the runner runs notebooks: the stored cell holds the figure and its summary, nothing of a widget."""
    from nbclient import NotebookClient

    from mnist_helpers.course.outputs import clean_metadata
    from mnist_helpers.course.runner import kernel_environment

    code = """\
import torch
from mnist_helpers import MnistModel
from mnist_helpers.drawing import DrawingPad, digit_on_pad
torch.manual_seed(0)
model = MnistModel()
digit = torch.zeros(28, 28)
digit[4:24, 12:15] = 1
pad = DrawingPad(model)
pad.draw(digit_on_pad(digit, size=0.5, centre=(0.3, 0.6)))
pad"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell("pad.show()")])
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=kernel_environment(jobs=1))
    for cell in nb.cells:
        (output,) = cell.outputs
        assert set(output["data"]) == {"image/png", "text/plain"}, output
        assert output["data"]["text/plain"].startswith("Drawing pad: the model reads ")
    clean_metadata(nb)
    assert "widget" not in json.dumps(nb.metadata) and "widget" not in json.dumps([c.outputs for c in nb.cells])
