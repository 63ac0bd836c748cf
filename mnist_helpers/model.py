"""The model: logistic regression on the 784 pixels of an MNIST image."""

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


class MnistModel(nn.Module):
    """One linear layer, ``nn.Linear(784, 10)``: ten scores per image, one per digit."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(INPUT_SIZE, NUM_CLASSES)

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        if xb.shape[-2:] != (28, 28) or not xb.is_floating_point():
            raise ValueError(
                "MnistModel expects float images of 28x28 pixels, a batch shaped [B, 1, 28, 28] "
                f"(what ToTensor() gives); got a {xb.dtype} tensor of shape {list(xb.shape)}"
            )
        xb = xb.reshape(-1, INPUT_SIZE)  # flatten each image: a view, no copy
        return self.linear(xb)

    def training_step(self, batch):
        images, labels = batch
        out = self(images)
        return F.cross_entropy(out, labels)

    def validation_step(self, batch):
        images, labels = batch
        out = self(images)
        loss = F.cross_entropy(out, labels)
        acc = accuracy(out, labels)
        return {"val_loss": loss.detach(), "val_acc": acc}

    def validation_epoch_end(self, outputs):
        """Mean of the batch results (the tutorial's way; ``evaluate`` is exact)."""
        epoch_loss = torch.stack([x["val_loss"] for x in outputs]).mean()
        epoch_acc = torch.stack([x["val_acc"] for x in outputs]).mean()
        return {"val_loss": epoch_loss.item(), "val_acc": epoch_acc.item()}

    def epoch_end(self, epoch, result):
        print(f"Epoch [{epoch}], val_loss: {result['val_loss']:.4f}, val_acc: {result['val_acc']:.4f}")
