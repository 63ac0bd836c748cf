"""A drawing pad: the trained model reads your own handwriting, live in the notebook.

Two halves:

- **The preparation** (plain PyTorch, below): ``prepare_digit`` turns a drawing into the kind of
  image MNIST's digits are. MNIST's digits were cropped to their ink, scaled to fit a 20x20 box
  keeping their proportions (with anti-aliasing, hence the grey edges), and placed in a 28x28
  image with their centre of mass at the centre. A model trained on them expects exactly that:
  the same strokes drawn small or in a corner look like another digit to it.
- **The pad** (``DrawingPad``, an anywidget): a square canvas in the notebook (``pad.js``) to draw
  on with a mouse, a pen or a finger, and a Clear button. When a stroke ends, the browser sends the
  drawing to Python as ``PAD_GRID`` x ``PAD_GRID`` grey levels; Python prepares the 28x28 image,
  the model predicts, and the pad shows the guess, the ten probabilities and the image the model
  received.

Without a live front end (``python -m mnist_helpers notebooks``, nbval, papermill, which set
``MNIST_PROGRESS=plain``), displaying the pad shows a static figure instead: the drawing, the
prepared image and the probabilities. ``pad.draw(image)`` puts a drawing on the pad from Python,
so such runs show a preparation and a prediction without anyone drawing.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import anywidget
import torch
import torch.nn as nn
import torch.nn.functional as F
import traitlets
from matplotlib.figure import Figure

from .device import model_device
from .model import NUM_CLASSES
from .progress import live_display_wanted

PAD_GRID = 112  # the drawing travels from the browser as 112 x 112 grey levels (4 x 28)
BOX = 20  # MNIST's digits fit a 20x20 box...
SIZE = 28  # ...placed in a 28x28 image
INK = 0.1  # a pixel at least this bright (0: background, 1: full ink) is part of the digit when cropping
LEAST_INK = PAD_GRID // 8  # a drawing whose ink fits in 14x14 of the pad's 112x112 (a tap, a dot) is not read


def resized(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``image`` (2D, in [0, 1]) scaled to ``size`` (rows, columns), anti-aliased: each new pixel averages the
    old pixels it covers, so strokes keep grey edges."""
    scaled = F.interpolate(image[None, None], size=size, mode="bilinear", antialias=True, align_corners=False)
    return scaled[0, 0].clamp(0, 1)


def as_grey_image(image) -> torch.Tensor:
    """``image`` as a 2D float tensor in [0, 1]: accepts [H, W] or [1, H, W], floats in [0, 1] or uint8 0-255."""
    image = torch.as_tensor(image).detach().cpu()
    if image.dim() == 3 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 2 or min(image.shape) == 0:
        raise ValueError(f"expected one grey image shaped [H, W] or [1, H, W]; got shape {list(image.shape)}")
    if image.dtype == torch.uint8:
        return image.float() / 255
    if not image.is_floating_point() and image.numel() and image.max() > 1:
        raise ValueError(f"expected grey levels in [0, 1] (0: background, 1: ink); got {image.dtype} values from "
                         f"{image.min().item()} to {image.max().item()}: for grey levels 0-255, divide by 255 "
                         "(image / 255) or give a uint8 image")
    image = image.float()
    if not torch.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ValueError("expected grey levels in [0, 1] (0: background, 1: ink), as ToTensor() gives; "
                         f"got values from {image.min().item():g} to {image.max().item():g}")
    return image


def crop_to_ink(image: torch.Tensor, threshold: float = INK) -> torch.Tensor:
    """The smallest rectangle of ``image`` (2D) holding every pixel brighter than ``threshold``."""
    rows = torch.nonzero((image > threshold).any(dim=1)).flatten()
    cols = torch.nonzero((image > threshold).any(dim=0)).flatten()
    if len(rows) == 0:
        raise ValueError("the drawing is empty: draw a digit first")
    return image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def fit_in_box(image: torch.Tensor, box: int = BOX) -> torch.Tensor:
    """``image`` (2D) scaled so that its longer side is ``box`` pixels, keeping its proportions (see ``resized``)."""
    height, width = image.shape
    scale = box / max(height, width)
    return resized(image, (max(1, round(height * scale)), max(1, round(width * scale))))


def centre_of_mass(image: torch.Tensor) -> tuple[float, float]:
    """The (row, column) of ``image``'s centre of mass: the average pixel position, weighted by brightness."""
    rows = torch.arange(image.shape[0], dtype=image.dtype)
    cols = torch.arange(image.shape[1], dtype=image.dtype)
    total = image.sum()
    return (image.sum(dim=1) @ rows / total).item(), (image.sum(dim=0) @ cols / total).item()


def paste(canvas: torch.Tensor, image: torch.Tensor, top: int, left: int) -> torch.Tensor:
    """Copy ``image`` into ``canvas`` (both 2D) with its top-left pixel at (top, left); what falls outside is cut."""
    height, width = image.shape
    rows = slice(max(top, 0), min(top + height, canvas.shape[0]))
    cols = slice(max(left, 0), min(left + width, canvas.shape[1]))
    if rows.start < rows.stop and cols.start < cols.stop:
        canvas[rows, cols] = image[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
    return canvas


def place_centred(image: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """A ``size`` x ``size`` image with ``image`` (2D) pasted so that its centre of mass is at the centre.

    As MNIST did: the shift is rounded to whole pixels, so the centre of mass lands within half a
    pixel of (14, 14) for 28x28.
    """
    row, col = centre_of_mass(image)
    canvas = torch.zeros(size, size)
    return paste(canvas, image, round(size / 2 - row), round(size / 2 - col))


def prepare_digit(drawing) -> torch.Tensor:
    """A drawing made into an MNIST-like image: a [1, 28, 28] float tensor in [0, 1], as ToTensor() gives.

    ``drawing``: a grey image of any size, ink bright on a dark background ([H, W] or [1, H, W]).
    Crop to the ink, scale into a 20x20 box keeping proportions, scale so the strongest ink is 1
    (as in MNIST), then centre the centre of mass in 28x28.
    """
    digit = fit_in_box(crop_to_ink(as_grey_image(drawing)))
    digit = digit / digit.max()
    return place_centred(digit).unsqueeze(0)


def resize_only(drawing) -> torch.Tensor:
    """What the model would get without the preparation: the whole drawing shrunk to [1, 28, 28]."""
    return resized(as_grey_image(drawing), (SIZE, SIZE)).unsqueeze(0)


def digit_on_pad(digit, size: float = 0.5, centre: tuple[float, float] = (0.5, 0.5),
                 grid: int = PAD_GRID) -> torch.Tensor:
    """A [grid, grid] drawing of ``digit`` (an MNIST image, say) as someone might draw it on the pad.

    ``size``: the digit's frame (its 28x28 for an MNIST image) as a fraction of the pad's width,
    0.25 for 28 of 112 pixels, 0.5 for twice that. ``centre``: where the frame's centre goes,
    (x from the left, y from the top) as fractions of the pad: (0.5, 0.5) is the middle.
    """
    image = as_grey_image(digit)
    if not 0 < size <= 1:
        raise ValueError(f"size is a fraction of the pad's width, from 0 (excluded) to 1; got {size}")
    scale = size * grid / max(image.shape)
    new_size = (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale)))
    scaled = resized(image, new_size)
    top = round(centre[1] * grid - new_size[0] / 2)
    left = round(centre[0] * grid - new_size[1] / 2)
    return paste(torch.zeros(grid, grid), scaled, top, left)


def predict_probabilities(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """The model's ten probabilities (softmax of its scores) for one [1, 28, 28] image, on the CPU."""
    model.eval()
    with torch.no_grad():
        scores = model(image.unsqueeze(0).to(model_device(model)))
        return F.softmax(scores, dim=1)[0].cpu()


def check_model(model: nn.Module) -> None:
    """Refuse a model that cannot read one 28x28 image into ten scores, saying what is expected."""
    if not isinstance(model, nn.Module):
        raise TypeError("DrawingPad needs a trained model (an nn.Module such as MnistModel); "
                        f"got {type(model).__name__}")
    device = model_device(model)  # a model with no parameters, or spread over devices, gets its own clear error
    try:
        model.eval()
        with torch.no_grad():
            scores = model(torch.zeros(1, 1, SIZE, SIZE, device=device))
    except Exception as err:
        raise ValueError("the pad's model could not read a batch of one 28x28 image, shaped [1, 1, 28, 28]: "
                         f"{err}") from None
    if tuple(scores.shape) != (1, NUM_CLASSES):
        raise ValueError(f"the pad's model must give {NUM_CLASSES} scores per image (one per digit); "
                         f"it gave shape {list(scores.shape)} for one image")
    if not torch.isfinite(scores).all():
        raise ValueError("the pad's model gives no numbers (NaN or infinite scores) for an image: its weights are "
                         "not numbers, as after a diverged training; train it again with a smaller learning rate")


def plot_pad(drawing: torch.Tensor | None, image: torch.Tensor | None, probabilities: torch.Tensor | None) -> Figure:
    """The pad as a static figure: the drawing, the 28x28 image the model received, the ten probabilities."""
    fig = Figure(figsize=(9, 2.9))  # not pyplot's: shown only when asked for, never twice
    ax_drawing, ax_image, ax_bars = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.6]})
    for ax, picture, title in ((ax_drawing, drawing, "the drawing"), (ax_image, image, "what the model gets (28x28)")):
        if picture is not None:
            ax.imshow(picture.reshape(picture.shape[-2:]).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if probabilities is None:
        ax_bars.text(0.5, 0.5, "nothing drawn yet", ha="center", va="center", transform=ax_bars.transAxes)
        ax_bars.set_title("the model's probabilities", fontsize=10)
    else:
        guess = int(probabilities.argmax())
        colours = ["tab:orange" if digit == guess else "tab:blue" for digit in range(NUM_CLASSES)]
        ax_bars.bar(range(NUM_CLASSES), probabilities.numpy(), color=colours)
        ax_bars.set_title(f"guess: {guess} ({probabilities[guess]:.0%})", fontsize=10)
    ax_bars.set(xticks=range(NUM_CLASSES), ylim=(0, 1), xlabel="digit", ylabel="probability")
    fig.tight_layout()
    return fig


def _ink_bytes(image: torch.Tensor) -> bytes:
    """A 2D image in [0, 1] as bytes of grey levels 0-255, row by row: how it travels to and from the browser."""
    return (image * 255).round().to(torch.uint8).flatten().numpy().tobytes()


DRAWING_BYTES = (0, PAD_GRID * PAD_GRID)  # an empty pad, or one byte per pixel


def _bytes_from_browser(value, widget) -> bytes:
    """The browser sends the drawing as a binary buffer (a memoryview here): keep it as bytes."""
    return b"" if value is None else bytes(value)


def _drawing_refused(value) -> str | None:
    """Why ``value``, sent by the browser as the drawing, is not one (None: it is), judged before copying it."""
    if value is None:
        return None
    if not isinstance(value, (bytes, bytearray, memoryview)):
        return f"{type(value).__name__}, not the bytes of a drawing"
    size = memoryview(value).nbytes
    if size not in DRAWING_BYTES:
        return f"{size} bytes, not the {PAD_GRID}x{PAD_GRID} = {PAD_GRID * PAD_GRID} of a drawing"
    return None


class DrawingPad(anywidget.AnyWidget):
    """A square pad to draw a digit on; ``model`` guesses it as each stroke ends.

    ``pad = DrawingPad(model)`` then ``pad`` as the last line of a cell shows it. Afterwards:
    ``pad.image`` is the [1, 28, 28] image the model received, ``pad.guess`` its guess,
    ``pad.probabilities`` the ten probabilities; ``pad.draw(image)`` and ``pad.clear()`` change the
    drawing from Python; ``pad.show()`` shows the pad as a static figure. ``live``: the live pad
    or the static figure when displayed; by default live wherever ``fit`` shows its live progress
    bar (in Jupyter, unless ``MNIST_PROGRESS=plain``, see progress.py).
    """

    _esm = Path(__file__).parent / "pad.js"
    _css = Path(__file__).parent / "pad.css"

    # Synced with the browser (pad.js). The drawing: PAD_GRID x PAD_GRID bytes, 0 background, 255 ink.
    _grid = traitlets.Int(PAD_GRID).tag(sync=True)
    _drawing = traitlets.Bytes(b"").tag(sync=True, from_json=_bytes_from_browser, echo_update=False)
    _prepared = traitlets.Bytes(b"").tag(sync=True)  # the 28x28 image the model received, 784 bytes
    _probabilities = traitlets.List(traitlets.Float()).tag(sync=True)
    _message = traitlets.Unicode("").tag(sync=True)  # shown under the pad when something went wrong

    def __init__(self, model: nn.Module, live: bool | None = None, **kwargs):
        check_model(model)
        self._model = model
        self.live = live
        self._image: torch.Tensor | None = None
        self._probs: torch.Tensor | None = None
        super().__init__(**kwargs)

    @traitlets.validate("_drawing")
    def _check_drawing(self, proposal) -> bytes:
        if len(proposal["value"]) not in DRAWING_BYTES:
            raise traitlets.TraitError(f"the drawing is {PAD_GRID * PAD_GRID} bytes (one per pixel) or empty; "
                                       f"got {len(proposal['value'])}")
        return proposal["value"]

    def set_state(self, sync_data) -> None:
        """Take the drawing from the browser; anything else it sends, or a drawing of the wrong size or kind, is
        ignored (the pad says so and stays as it was), so nothing raises inside ipywidgets' message handler."""
        if not isinstance(sync_data, dict):
            return
        refused = {key for key in sync_data if key != "_drawing"}
        if "_drawing" in sync_data and (why := _drawing_refused(sync_data["_drawing"])):
            self._message = f"The pad ignored a drawing from the browser: {why}"
        elif "_drawing" in sync_data:
            super().set_state({"_drawing": sync_data["_drawing"]})
        if refused:
            self._message = f"The pad ignored what the browser sent for {', '.join(sorted(map(str, refused)))}"

    @property
    def model(self) -> nn.Module:
        """The model that reads the drawing; set another one to see its guess for the same strokes."""
        return self._model

    @model.setter
    def model(self, model: nn.Module) -> None:
        check_model(model)
        self._model = model
        self._update()

    @property
    def drawing(self) -> torch.Tensor:
        """The drawing as it is on the pad: a [PAD_GRID, PAD_GRID] tensor in [0, 1] (all 0 when empty)."""
        if not self._drawing:
            return torch.zeros(PAD_GRID, PAD_GRID)
        return torch.frombuffer(bytearray(self._drawing), dtype=torch.uint8).reshape(PAD_GRID, PAD_GRID).float() / 255

    @property
    def image(self) -> torch.Tensor:
        """The [1, 28, 28] image the model received, ready for ``model(pad.image.unsqueeze(0))`` or a plot."""
        if self._image is None:
            raise ValueError("the pad is empty: draw a digit on it first (or put one there with pad.draw(image))")
        return self._image.clone()

    @property
    def probabilities(self) -> torch.Tensor | None:
        """The model's ten probabilities for ``pad.image``, or None while the pad is empty."""
        return None if self._probs is None else self._probs.clone()

    @property
    def guess(self) -> int | None:
        """The digit the model sees in the drawing, or None while the pad is empty."""
        return None if self._probs is None else int(self._probs.argmax())

    def draw(self, image) -> None:
        """Put ``image`` on the pad, filling it, as if drawn there; the model reads it at once.

        ``image``: a square grey image, ink bright on a dark background ([H, W] or [1, H, W]), as
        ``digit_on_pad`` makes: ``pad.draw(digit_on_pad(digit, size=0.5, centre=(0.3, 0.6)))`` is an
        MNIST digit drawn twice as large, low on the left.
        """
        image = as_grey_image(image)
        if image.shape[0] != image.shape[1]:
            raise ValueError("the pad is square: give pad.draw() a square image; "
                             f"got {image.shape[0]}x{image.shape[1]} (digit_on_pad(image) puts any image on the pad)")
        if image.shape[0] != PAD_GRID:
            image = resized(image, (PAD_GRID, PAD_GRID))
        self._drawing = _ink_bytes(image)

    def clear(self) -> None:
        """Wipe the pad, as its Clear button does."""
        self._drawing = b""

    @traitlets.observe("_drawing")
    def _drawing_changed(self, change) -> None:
        self._update()

    def _update(self) -> None:
        """Prepare the drawing, predict, and send both to the browser in one message."""
        image = probabilities = None
        message = ""
        try:
            drawing = self.drawing
            if (drawing > INK).any():  # else nothing is drawn (or it was cleared)
                if max(crop_to_ink(drawing).shape) < LEAST_INK:
                    raise ValueError(f"too little ink to read (it fits in {LEAST_INK}x{LEAST_INK} pixels of the "
                                     f"pad's {PAD_GRID}x{PAD_GRID}): draw the whole digit, larger")
                image = prepare_digit(drawing)
                probabilities = predict_probabilities(self._model, image)
                if not torch.isfinite(probabilities).all():
                    raise ValueError("the model gives no numbers (NaN) for it: its weights are not numbers")
        except Exception as err:  # shown on the pad: an error in a stroke's callback would go unseen
            image = probabilities = None
            message = f"The model could not read this drawing: {err}"
        self._image, self._probs = image, probabilities
        with self.hold_sync():
            self._prepared = b"" if image is None else _ink_bytes(image[0])
            self._probabilities = [] if probabilities is None else [round(p, 4) for p in probabilities.tolist()]
            self._message = message

    def figure(self) -> Figure:
        """The pad as a static figure (see ``plot_pad``)."""
        return plot_pad(self.drawing if self._drawing else None, self._image, self._probs)

    def summary(self) -> str:
        """One line: what the model reads on the pad."""
        if self._probs is None:
            return "Drawing pad: " + (self._message or "nothing drawn yet")
        return f"Drawing pad: the model reads {self.guess} ({self._probs[self.guess]:.0%})"

    def static_bundle(self) -> dict[str, str]:
        """The static figure as a PNG, with the one-line summary as its plain-text twin."""
        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png", bbox_inches="tight")
        return {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": self.summary()}

    def show(self) -> None:
        """Show the pad as it is now as a static figure (kept in the notebook, unlike the live pad)."""
        from IPython.display import display

        display(self.static_bundle(), raw=True)

    def _repr_mimebundle_(self, **kwargs):
        """The live pad in Jupyter; the static figure in headless runs (see the class docstring)."""
        if live_display_wanted(self.live):
            return super()._repr_mimebundle_(**kwargs)
        return self.static_bundle()

    def __repr__(self) -> str:
        return f"<DrawingPad of {type(self._model).__name__}: {self.summary()}>"
