"""fit's live progress bar: when it shows, what it shows, and that it changes nothing else."""

import copy
import re

import pytest
import torch

from mnist_helpers import MnistModel, fit
from mnist_helpers import progress as progress_module
from mnist_helpers.progress import NoProgress, live_display_wanted, training_progress


class FakeHandle:
    """Stands in for IPython's DisplayHandle: records every redraw."""

    def __init__(self, shown):
        self.bundles = [shown]

    def update(self, bundle, raw):
        assert raw
        self.bundles.append(bundle)


@pytest.fixture()
def fake_display(monkeypatch):
    handles = []

    def display(bundle, raw, display_id):
        assert raw and display_id
        handles.append(FakeHandle(bundle))
        return handles[-1]

    monkeypatch.setattr("IPython.display.display", display)
    return handles


@pytest.mark.parametrize("setting, expected", [
    ("plain", False), ("live", True), ("auto", False), ("", False), (" LIVE ", True),
])
def test_mnist_progress_setting(monkeypatch, setting, expected):
    monkeypatch.setenv("MNIST_PROGRESS", setting)
    assert live_display_wanted() is expected  # auto: live only inside a Jupyter kernel, and pytest is not one


def test_an_explicit_choice_beats_the_setting(monkeypatch):
    monkeypatch.setenv("MNIST_PROGRESS", "plain")
    assert live_display_wanted(True) is True
    monkeypatch.setenv("MNIST_PROGRESS", "live")
    assert live_display_wanted(False) is False
    assert isinstance(training_progress(3, 10, False), NoProgress)


def test_a_bad_setting_says_what_is_allowed(monkeypatch):
    monkeypatch.setenv("MNIST_PROGRESS", "fancy")
    with pytest.raises(ValueError, match="MNIST_PROGRESS must be one of auto, live, plain; got 'fancy'"):
        live_display_wanted()


def test_live_bar_ends_on_the_last_epoch_and_changes_no_number(small_loaders, fake_display, capsys):
    torch.manual_seed(0)
    model = MnistModel()
    twin = copy.deepcopy(model)
    quiet = fit(2, 0.3, twin, *copy.deepcopy(small_loaders), progress=False)
    history = fit(2, 0.3, model, *small_loaders, progress=True)
    assert history == quiet  # the bar only watches
    (handle,) = fake_display
    batches = len(small_loaders[0])
    final = handle.bundles[-1]
    assert final["text/plain"].startswith(f"epoch 2/2 · batch {batches}/{batches} · train loss ")
    assert f"val_acc {history[-1]['val_acc']:.4f}" in final["text/plain"]
    assert re.search(rf'<progress value="{2 * batches}" max="{2 * batches}"', final["text/html"])
    assert 'class="mnist-progress"' in final["text/html"] and "<script" not in final["text/html"]
    assert capsys.readouterr().out.count("Epoch [") == 4  # the plain per-epoch lines still print, for both runs


def test_bar_redraws_are_throttled(small_loaders, fake_display, monkeypatch):
    monkeypatch.setattr(progress_module, "UPDATE_EVERY", 0.0)
    fit(1, 0.3, MnistModel(), *small_loaders, progress=True)
    every_batch = len(fake_display[0].bundles)
    monkeypatch.setattr(progress_module, "UPDATE_EVERY", 3600.0)
    fit(1, 0.3, MnistModel(), *small_loaders, progress=True)
    assert every_batch == 1 + len(small_loaders[0]) + 1  # shown, once per batch, once at the epoch's end
    assert len(fake_display[1].bundles) == 2  # shown, then once at the epoch's end
