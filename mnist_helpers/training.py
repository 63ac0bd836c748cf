"""Training and judging a model: ``evaluate``, ``fit``, ``predict_image``.

``fit`` and ``evaluate`` are the original tutorial's generic loops: they call the model's own
``training_step``, ``validation_step``, ``validation_epoch_end`` and ``epoch_end`` (written once,
in ``ImageClassificationBase``, for every model of the series; the steps also check each batch's
labels, from whatever loader). The checks and the progress bar sit in small functions of their
own, so the loops read as the lesson.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn as nn

from .device import model_device, to_device
from .model import NUM_CLASSES
from .progress import training_progress


def evaluate(model: nn.Module, val_loader) -> dict[str, float]:
    """Validation loss and accuracy over every image of ``val_loader``, without gradients."""
    device = model_device(model)
    model.eval()
    with torch.no_grad():
        outputs = [model.validation_step(to_device(batch, device)) for batch in val_loader]
    check_not_empty(outputs)
    return model.validation_epoch_end(outputs)


def fit(epochs: int, lr: float, model: nn.Module, train_loader, val_loader, opt_func=torch.optim.SGD,
        progress: bool | None = None, schedule=None) -> list[dict]:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return one result dict per epoch.

    Each result holds ``val_loss`` and ``val_acc`` (``evaluate`` after the epoch) and
    ``train_loss`` (the mean loss of the epoch's batches, measured while the weights moved).
    ``progress``: a live progress bar or not; by default, only in Jupyter (see progress.py).
    ``schedule``: none (the same learning rate throughout), or a learning-rate scheduler such as
    ``torch.optim.lr_scheduler.OneCycleLR``, built as ``schedule(optimizer, max_lr=lr, epochs=epochs,
    steps_per_epoch=len(train_loader))`` and stepped after every batch: one optimizer, one schedule, for
    the whole training.
    """
    check_settings(epochs, lr)
    device = model_device(model)
    optimizer = opt_func(model.parameters(), lr)
    scheduler = None
    if schedule is not None:
        scheduler = schedule(optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=len(train_loader))
    bar = training_progress(epochs, len(train_loader), progress)
    history = []
    for epoch in range(epochs):
        # Training phase
        model.train()
        train_losses = []
        for batch in train_loader:
            loss = model.training_step(to_device(batch, device))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if scheduler:
                scheduler.step()  # the learning rate of the next batch
            train_losses.append(loss.detach())
            bar.batch_done(epoch, loss)
        # Validation phase
        result = evaluate(model, val_loader)
        result["train_loss"] = torch.stack(train_losses).mean().item()
        check_finite(result, epoch, lr)
        bar.epoch_done(epoch, result)
        model.epoch_end(epoch, result)
        history.append(result)
    return history


def recipe(training: dict) -> dict:
    """``fit``'s optimizer and schedule for a model's recipe (its class's ``training``, see model.py)."""
    opt_func = functools.partial(torch.optim.SGD, momentum=training["momentum"], nesterov=training["nesterov"])
    return {"opt_func": opt_func, "schedule": torch.optim.lr_scheduler.OneCycleLR if training["one_cycle"] else None}


def check_settings(epochs: int, lr: float) -> None:
    """Refuse an epoch count or learning rate that cannot train anything."""
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be a whole number of at least 1, got {epochs!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr (the learning rate) must be a positive number, got {lr!r}")


def check_not_empty(outputs: list) -> None:
    """Refuse to report on a loader that held no images."""
    if not outputs:
        raise ValueError("evaluate() got a loader with no images")


def check_finite(result: dict, epoch: int, lr: float) -> None:
    """Stop with a clear message once the loss has become infinite or not a number."""
    if not math.isfinite(result["val_loss"]) or not math.isfinite(result["train_loss"]):
        raise FloatingPointError(
            f"training diverged in epoch {epoch}: the loss is {result['val_loss']} (training: {result['train_loss']}). "
            f"Try a smaller learning rate than lr={lr}."
        )


def predict_image(img: torch.Tensor, model: nn.Module) -> int:
    """The digit ``model`` sees in one image (a ``1x28x28`` tensor, as ToTensor gives)."""
    xb = img.unsqueeze(0).to(model_device(model))  # a batch of one image, where the model is
    model.eval()
    with torch.no_grad():
        yb = model(xb)
    _, preds = torch.max(yb, dim=1)
    return preds[0].item()


def predictions(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels for every image of ``loader``, on the CPU."""
    device = model_device(model)
    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for images, batch_labels in loader:
            preds.append(model(images.to(device)).argmax(dim=1).cpu())
            labels.append(batch_labels.cpu())
    return torch.cat(preds), torch.cat(labels)


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Counts: row = true digit, column = predicted digit."""
    return torch.bincount(labels * num_classes + preds, minlength=num_classes**2).reshape(num_classes, num_classes)
