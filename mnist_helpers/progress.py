"""Live training progress for ``fit``: an updating bar with the current metrics in Jupyter.

In a notebook opened in JupyterLab, ``fit`` shows one output that updates as it trains: a
progress bar, the epoch and batch, the running training loss and the last validation
accuracy. Anywhere else (a script, the CLI, tests) there is no bar, only the plain line per
epoch that ``ImageClassificationBase.epoch_end`` prints.

Headless notebook runs (``python -m mnist_helpers notebooks``, papermill, nbval) set
``MNIST_PROGRESS=plain``, so stored notebooks hold only those plain lines: nothing that
depends on timing, and no widget state (the bar is plain HTML).
"""

from __future__ import annotations

import html
import os
import sys
import time

MODES = ("auto", "live", "plain")
UPDATE_EVERY = 0.25  # seconds between two redraws of the bar


def live_display_wanted(progress: bool | None = None) -> bool:
    """Whether to show live output (``fit``'s bar, the live drawing pad): ``progress`` if given, else
    ``$MNIST_PROGRESS``.

    ``MNIST_PROGRESS`` is ``auto`` (the default: live inside a Jupyter kernel), ``live`` or ``plain``.
    """
    if progress is not None:
        return bool(progress)
    mode = os.environ.get("MNIST_PROGRESS", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(
            f"MNIST_PROGRESS must be one of {', '.join(MODES)}; got {mode!r}. Unset it for the default (auto)."
        )
    if mode == "auto":
        return "ipykernel" in sys.modules and _in_kernel()
    return mode == "live"


def _in_kernel() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class NoProgress:
    """The headless choice: shows nothing (the per-epoch lines come from ``epoch_end``)."""

    def batch_done(self, epoch: int, loss) -> None:
        pass

    def epoch_done(self, epoch: int, result: dict) -> None:
        pass


class LiveProgress(NoProgress):
    """One output in the notebook, redrawn at most every ``UPDATE_EVERY`` seconds and after each epoch."""

    def __init__(self, epochs: int, batches_per_epoch: int):
        from IPython.display import display

        self.epochs, self.batches = epochs, batches_per_epoch
        self.start = self.last_draw = time.monotonic()
        self.epoch, self.batch, self.loss, self.val_acc = 0, 0, None, None
        self.handle = display(self.bundle(), raw=True, display_id=True)

    def batch_done(self, epoch: int, loss) -> None:
        self.batch = self.batch + 1 if epoch == self.epoch else 1
        self.epoch = epoch
        if time.monotonic() - self.last_draw >= UPDATE_EVERY:
            self.loss = loss.item()
            self.draw()

    def epoch_done(self, epoch: int, result: dict) -> None:
        self.epoch, self.batch = epoch, self.batches
        self.loss, self.val_acc = result["train_loss"], result["val_acc"]
        self.draw()

    def draw(self) -> None:
        self.last_draw = time.monotonic()
        self.handle.update(self.bundle(), raw=True)

    def bundle(self) -> dict[str, str]:
        """The bar as HTML, with a plain-text twin for frontends without HTML."""
        done = self.epoch * self.batches + self.batch
        parts = [f"epoch {self.epoch + 1}/{self.epochs}", f"batch {self.batch}/{self.batches}"]
        if self.loss is not None:
            parts.append(f"train loss {self.loss:.4f}")
        if self.val_acc is not None:
            parts.append(f"val_acc {self.val_acc:.4f}")
        parts.append(f"{time.monotonic() - self.start:.1f} s")
        text = " · ".join(parts)
        return {
            "text/plain": text,
            "text/html": f'<div class="mnist-progress"><progress value="{done}" max="{self.epochs * self.batches}" '
                         f'style="width: 20em; vertical-align: middle"></progress> '
                         f'<span>{html.escape(text)}</span></div>',
        }


def training_progress(epochs: int, batches_per_epoch: int, progress: bool | None = None) -> NoProgress:
    """A ``LiveProgress`` bar when wanted (see ``live_display_wanted``), else a ``NoProgress``."""
    if live_display_wanted(progress):
        return LiveProgress(epochs, batches_per_epoch)
    return NoProgress()
