"""Training and judging a model: ``evaluate``, ``fit``, ``predict_image``."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import NUM_CLASSES
from .progress import training_progress


def evaluate(model: nn.Module, val_loader) -> dict[str, float]:
    """Loss and accuracy over every image of ``val_loader``, exactly.

    Sums over all images (a short last batch counts for what it holds, not as
    much as a full one), in eval mode and without gradients.
    """
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in val_loader:
            outputs = model(images)
            total_loss += F.cross_entropy(outputs, labels, reduction="sum").item()
            correct += (outputs.argmax(dim=1) == labels).sum().item()
            count += len(labels)
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate() got a loader with no images")
    return {"val_loss": total_loss / count, "val_acc": correct / count}


def _check_labels(labels: torch.Tensor) -> None:
    if labels.dtype != torch.int64 or labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise ValueError(
            f"labels must be int64 digits 0-{NUM_CLASSES - 1}; got {labels.dtype} values "
            f"from {labels.min().item()} to {labels.max().item()}"
        )


def fit(epochs: int, lr: float, model: nn.Module, train_loader, val_loader, opt_func=torch.optim.SGD,
        progress: bool | None = None) -> list[dict]:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return one result dict per epoch.

    Each batch: loss, backpropagate, step, zero the gradients. After each epoch:
    ``evaluate`` on ``val_loader``. Each dict holds ``val_loss``, ``val_acc`` and
    ``train_loss``, ``train_acc`` (averaged over the epoch while the weights moved).
    ``progress``: show a live progress bar or not; by default, only in Jupyter (see progress.py).
    """
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be a whole number of at least 1, got {epochs!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr (the learning rate) must be a positive number, got {lr!r}")
    optimizer = opt_func(model.parameters(), lr)
    bar = training_progress(epochs, len(train_loader), progress)
    history = []
    for epoch in range(epochs):
        model.train()
        total_loss, correct, count = torch.zeros(()), torch.zeros((), dtype=torch.int64), 0
        for batch_number, (images, labels) in enumerate(train_loader):
            if epoch == 0 and batch_number == 0:
                _check_labels(labels)
            outputs = model(images)
            loss = F.cross_entropy(outputs, labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total_loss += loss.detach() * len(labels)
            correct += (outputs.argmax(dim=1) == labels).sum()
            count += len(labels)
            bar.batch_done(epoch, batch_number, loss)
        result = evaluate(model, val_loader)
        result["train_loss"] = total_loss.item() / count
        result["train_acc"] = correct.item() / count
        if not math.isfinite(result["val_loss"]):
            raise FloatingPointError(
                f"training diverged in epoch {epoch}: the loss is {result['val_loss']}. Try a smaller learning rate than lr={lr}."
            )
        bar.epoch_done(epoch, result)
        if hasattr(model, "epoch_end"):
            model.epoch_end(epoch, result)
        history.append(result)
    return history


def predict_image(img: torch.Tensor, model: nn.Module) -> int:
    """The digit ``model`` sees in one image (a ``1x28x28`` tensor, as ToTensor gives)."""
    xb = img.unsqueeze(0)  # a batch of one image
    model.eval()
    with torch.no_grad():
        yb = model(xb)
    _, preds = torch.max(yb, dim=1)
    return preds[0].item()


def predictions(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels for every image of ``loader``."""
    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for images, batch_labels in loader:
            preds.append(model(images).argmax(dim=1))
            labels.append(batch_labels)
    return torch.cat(preds), torch.cat(labels)


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Counts: row = true digit, column = predicted digit."""
    return torch.bincount(labels * num_classes + preds, minlength=num_classes**2).reshape(num_classes, num_classes)
