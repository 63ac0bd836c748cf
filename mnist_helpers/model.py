"""The model: softmax regression (multinomial logistic regression) on the 784 pixels of an MNIST image.

``MnistModel`` follows the original tutorial's design: the model knows its own training and
validation step, and ``fit`` and ``evaluate`` (training.py) are generic loops that call them.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

INPUT_SIZE = 28 * 28  # pixels per image, read as one long vector
NUM_CLASSES = 10  # the digits 0-9


def accuracy(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose largest output is at the correct label."""
    _, preds = torch.max(outputs, dim=1)
    return torch.tensor(torch.sum(preds == labels).item() / len(preds))


def check_images(xb: torch.Tensor) -> None:
    """Refuse a batch that is not float images of 28x28 pixels, saying what was expected."""
    if xb.shape[-2:] != (28, 28) or not xb.is_floating_point():
        raise ValueError(
            "MnistModel expects float images of 28x28 pixels, a batch shaped [B, 1, 28, 28] "
            f"(what ToTensor() gives); got a {xb.dtype} tensor of shape {list(xb.shape)}"
        )


class MnistModel(nn.Module):
    """One linear layer, ``nn.Linear(784, 10)``: ten scores (logits) per image, one per digit."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(INPUT_SIZE, NUM_CLASSES)

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        check_images(xb)
        xb = xb.reshape(-1, INPUT_SIZE)  # flatten each image into a row of 784 pixels
        return self.linear(xb)

    def training_step(self, batch):
        """The loss on one batch of training images: what ``fit`` backpropagates."""
        images, labels = batch
        out = self(images)
        return F.cross_entropy(out, labels)

    def validation_step(self, batch):
        """Loss and accuracy on one batch, and its size: what ``evaluate`` collects."""
        images, labels = batch
        out = self(images)
        loss = F.cross_entropy(out, labels)
        acc = accuracy(out, labels)
        return {"val_loss": loss.item(), "val_acc": acc.item(), "size": len(labels)}

    def validation_epoch_end(self, outputs):
        """Loss and accuracy over all batches, each weighted by its size: a short last batch counts less."""
        total = sum(x["size"] for x in outputs)
        epoch_loss = sum(x["val_loss"] * x["size"] for x in outputs) / total
        epoch_acc = sum(x["val_acc"] * x["size"] for x in outputs) / total
        return {"val_loss": epoch_loss, "val_acc": epoch_acc}

    def epoch_end(self, epoch, result):
        """Print one line per epoch."""
        print(f"Epoch [{epoch}], val_loss: {result['val_loss']:.4f}, val_acc: {result['val_acc']:.4f}")


class MnistMLP(MnistModel):
    """One hidden layer: 784 pixels -> ``hidden`` units with ReLU -> 10 scores (logits) per image.

    The same training and validation steps as ``MnistModel``; only the layers and ``forward`` differ.
    """

    def __init__(self, hidden: int = 256):
        nn.Module.__init__(self)  # not MnistModel.__init__: this model has no single linear layer
        self.hidden = nn.Linear(INPUT_SIZE, hidden)
        self.output = nn.Linear(hidden, NUM_CLASSES)

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        check_images(xb)
        xb = xb.reshape(-1, INPUT_SIZE)
        return self.output(F.relu(self.hidden(xb)))
