"""The figures of the series. Each function draws one figure and returns it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from .model import MnistModel


def show_images(images: torch.Tensor, labels, predictions=None, ncols: int = 8, title: str | None = None,
                names: list[str] | None = None) -> Figure:
    """A grid of images with their labels (or ``names[label]``); with ``predictions``, mistakes are marked in red."""
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    row_height = 1.6 if predictions is None else 1.9  # two-line titles need more room
    # constrained layout leaves each row's titles room above it (tight_layout let them run into the row above)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, row_height * nrows), squeeze=False,
                             layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i].reshape(28, 28).cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        label = int(labels[i])
        shown = names[label] if names else str(label)
        if predictions is None:
            ax.set_title(shown, fontsize=10 if not names else 8)
        else:
            pred = int(predictions[i])
            wrong = pred != label
            ax.set_title(f"label {shown}\npred {names[pred] if names else pred}", fontsize=9,
                         color="red" if wrong else "black")
            if wrong:
                ax.add_patch(plt.Rectangle((-0.5, -0.5), 28, 28, fill=False, edgecolor="red", linewidth=3))
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig


def plot_label_counts(counts: dict[str, torch.Tensor], title: str = "Images per digit") -> Figure:
    """Bars of how many images of each digit, one group of bars per named set."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(counts)
    for i, (name, per_digit) in enumerate(counts.items()):
        xs = [d + (i - (len(counts) - 1) / 2) * width for d in range(10)]
        ax.bar(xs, [int(c) for c in per_digit], width=width, label=name)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("number of images")
    ax.set_title(title)
    if len(counts) > 1:
        ax.set_ylim(top=ax.get_ylim()[1] * 1.15)  # room for the legend above the bars
        ax.legend(ncol=len(counts), loc="upper center")
    fig.tight_layout()
    return fig


def plot_history(history: list[dict], title: str = "Training progress") -> Figure:
    """Accuracy and loss against epochs: validation, and training wherever ``history`` records it."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = range(1, len(history) + 1)
    for split, name in (("val", "validation"), ("train", "training")):
        for metric, ax in (("acc", ax_acc), ("loss", ax_loss)):
            if f"{split}_{metric}" in history[0]:
                ax.plot(epochs, [r[f"{split}_{metric}"] for r in history], "-o", markersize=3, label=name)
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    ax_loss.set(xlabel="epoch", ylabel="loss (cross-entropy)", title="Loss")
    for ax in (ax_acc, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix: torch.Tensor, title: str = "Confusion matrix", darkest: int | None = None) -> Figure:
    """True digit down, predicted digit across; each cell shows its count.

    Only the mistakes are coloured, on a scale of their own: the right answers on the diagonal,
    ten times as many, would leave every mistake nearly white. ``darkest``: the count drawn
    darkest (by default this matrix's largest mistake); give two matrices the same to compare them.
    """
    fig, ax = plt.subplots(figsize=(6, 5.5))
    matrix = matrix.cpu()
    mistakes = matrix.clone().double()
    mistakes.fill_diagonal_(float("nan"))  # drawn in light gray (set_bad), outside the colour scale
    cmap = plt.get_cmap("Reds").copy()
    cmap.set_bad("#e8e8e8")
    if darkest is None:
        darkest = max(int(mistakes.nan_to_num(0).max()), 1)
    image = ax.imshow(mistakes.numpy(), cmap=cmap, vmin=0, vmax=darkest)
    threshold = darkest / 2
    for true in range(matrix.shape[0]):
        for pred in range(matrix.shape[1]):
            count = int(matrix[true, pred])
            right = true == pred
            ax.text(pred, true, str(count), ha="center", va="center", fontsize=8,
                    fontweight="bold" if right else "normal",
                    color="white" if not right and count > threshold else "black")
    ax.set_xticks(range(matrix.shape[1]))
    ax.set_yticks(range(matrix.shape[0]))
    ax.set(xlabel="predicted digit", ylabel="true digit", title=title)
    fig.colorbar(image, ax=ax, shrink=0.8, label="wrong predictions (the diagonal, in gray, is right)")
    fig.tight_layout()
    return fig


def plot_weights(model: torch.nn.Module, title: str = "What each output looks for") -> Figure:
    """The learned weights of each digit's output as a 28x28 image (red: pushes up, blue: pushes down).

    Only for ``MnistModel``, whose single layer connects every pixel straight to each digit.
    """
    if not isinstance(model, MnistModel):
        raise TypeError(f"plot_weights draws an MnistModel's weights, one 28x28 image per digit; "
                        f"a {type(model).__name__} has no layer that links each pixel straight to a digit")
    weights = model.linear.weight.detach().cpu().reshape(10, 28, 28).numpy()
    limit = abs(weights).max()
    fig, axes = plt.subplots(2, 5, figsize=(10, 4.4))
    for digit, ax in enumerate(axes.flat):
        ax.imshow(weights[digit], cmap="coolwarm", vmin=-limit, vmax=limit)
        ax.set_title(f"digit {digit}")
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
