"""The models: softmax regression (``MnistModel``), a hidden layer (``MnistMLP``), a small CNN (``MnistCNN``).

They follow the original tutorial's design: a model knows its own training and validation step,
and ``fit`` and ``evaluate`` (training.py) are generic loops that call them. The steps are
written once, in ``ImageClassificationBase`` (the name the tutorial's later parts use); each
model defines only its layers and ``forward``.

A model class of the series also carries what the command line and checkpoints need: its
``name`` (``--model cnn``), a one-line ``about`` for the CLI's help, its default ``training``
settings, ``accelerated`` (whether ``--device auto`` may put it on a GPU), and ``settings()``,
what its constructor needs to rebuild it. Defining a class with a
``name`` adds it to ``MODELS``: nothing else lists the models.
"""

from __future__ import annotations

from typing import ClassVar

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
    one_channel = xb.dim() in (2, 3) or (xb.dim() == 4 and xb.shape[1] == 1)  # [28, 28], [B, 28, 28] or [B, 1, 28, 28]
    if xb.shape[-2:] != (28, 28) or not one_channel or not xb.is_floating_point():
        raise ValueError(
            "the model expects float images of 28x28 pixels, a batch shaped [B, 1, 28, 28] "
            f"(what ToTensor() gives); got a {xb.dtype} tensor of shape {list(xb.shape)}"
        )


def check_labels(images: torch.Tensor, labels: torch.Tensor) -> None:
    """Refuse labels that are not one digit (int64, 0-9) per image: never train on wrong data."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: each image needs one label")
    if labels.dtype != torch.int64 or (len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES)):
        found = f"from {labels.min().item()} to {labels.max().item()}" if len(labels) else "(none)"
        fix = ": convert them with labels.long()" if labels.dtype != torch.int64 else ""
        raise ValueError(f"labels must be int64 digits 0-{NUM_CLASSES - 1}; got {labels.dtype} values {found}{fix}")


# Each model's recipe, the CLI's training when --epochs and --lr are not given (training.recipe builds fit's
# arguments from it): plain SGD at one learning rate; the CNN adds Nesterov momentum and a one-cycle schedule
# (OneCycleLR: the rate rises to lr, then falls far below it), as notebook 9 trains it.
TRAINING = {"epochs": 10, "lr": 0.3, "momentum": 0.0, "nesterov": False, "one_cycle": False}
MODELS: dict[str, type[ImageClassificationBase]] = {}  # by the names the CLI and checkpoints use, filled below


class ImageClassificationBase(nn.Module):
    """What every model of the series shares: its part in training, called by ``fit`` and ``evaluate``.

    A model derived from it defines only its layers (``__init__``) and ``forward``. To be one of the
    series' models (``--model``, checkpoints), a class also sets ``name`` and ``about``, and
    ``training``, ``accelerated`` and ``settings()`` where they differ from the defaults.
    """

    name: ClassVar[str | None] = None  # the name in MODELS, --model and checkpoints; None: not registered
    about: ClassVar[str] = ""  # one line for the CLI's help
    training: ClassVar[dict] = TRAINING  # the CLI's defaults for this model (see TRAINING)
    accelerated: ClassVar[bool] = True  # whether --device auto may put it on a GPU (device.pick_device)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            MODELS[cls.name] = cls

    def settings(self) -> dict:
        """What ``type(self)(**settings)`` needs to rebuild this model (empty: the defaults)."""
        return {}

    def training_step(self, batch):
        """The loss on one batch of training images: what ``fit`` backpropagates."""
        images, labels = batch
        check_labels(images, labels)
        out = self(images)
        return F.cross_entropy(out, labels)

    def validation_step(self, batch):
        """Loss and accuracy on one batch, and its size: what ``evaluate`` collects."""
        images, labels = batch
        check_labels(images, labels)
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


class MnistModel(ImageClassificationBase):
    """One linear layer, ``nn.Linear(784, 10)``: ten scores (logits) per image, one per digit."""

    name, about = "linear", "MnistModel, nn.Linear(784, 10)"
    accelerated = False  # one matrix product per batch: too little work to repay moving each batch to a GPU

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(INPUT_SIZE, NUM_CLASSES)

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        check_images(xb)
        xb = xb.reshape(-1, INPUT_SIZE)  # flatten each image into a row of 784 pixels
        return self.linear(xb)


class MnistMLP(ImageClassificationBase):
    """One hidden layer: 784 pixels -> ``hidden`` units with ReLU -> 10 scores (logits) per image."""

    name, about = "mlp", "MnistMLP, a hidden layer of 256 ReLU units"

    def __init__(self, hidden: int = 256):
        super().__init__()
        self.hidden = nn.Linear(INPUT_SIZE, hidden)
        self.output = nn.Linear(hidden, NUM_CLASSES)

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        check_images(xb)
        xb = xb.reshape(-1, INPUT_SIZE)
        return self.output(F.relu(self.hidden(xb)))

    def settings(self) -> dict:
        return {"hidden": self.hidden.out_features}


class MnistCNN(ImageClassificationBase):
    """Two convolution layers, then one linear layer: 10 scores (logits) per image.

    Each convolution layer: 5x5 filters, batch normalisation, ReLU, then 2x2 max pooling. Shapes:
    [B, 1, 28, 28] -> [B, channels[0], 24, 24] -> pooling -> [B, channels[0], 12, 12]
    -> [B, channels[1], 8, 8] -> pooling -> [B, channels[1], 4, 4] -> flatten -> [B, 10].
    """

    name = "cnn"
    about = "MnistCNN, two 5x5 convolution layers (16 and 32 channels, batch normalisation, max pooling)"
    training = {"epochs": 2, "lr": 0.2, "momentum": 0.9, "nesterov": True, "one_cycle": True}  # notebook 9's

    def settings(self) -> dict:
        return {"channels": [self.conv1.out_channels, self.conv2.out_channels]}

    def __init__(self, channels: tuple[int, int] = (16, 32)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels[0], kernel_size=5)
        self.norm1 = nn.BatchNorm2d(channels[0])
        self.conv2 = nn.Conv2d(channels[0], channels[1], kernel_size=5)
        self.norm2 = nn.BatchNorm2d(channels[1])
        self.output = nn.Linear(channels[1] * 4 * 4, NUM_CLASSES)

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        check_images(xb)
        if xb.device.type == "cpu":
            # "Channels last": the images as [B, 28, 28, 1], the one channel (grey levels) last, viewed as
            # [B, 1, 28, 28]. The same numbers, and the model computes the same thing, but the convolutions then
            # store their feature maps pixel by pixel rather than channel by channel, and run faster on a CPU.
            # Elsewhere (CUDA, MPS) the usual layout is kept, the one those devices are tested with most.
            xb = xb.reshape(-1, 28, 28, 1).permute(0, 3, 1, 2)
        else:
            xb = xb.reshape(-1, 1, 28, 28)  # one channel (grey levels)
        xb = F.max_pool2d(F.relu(self.norm1(self.conv1(xb))), 2)  # [B, channels[0], 12, 12]
        xb = F.max_pool2d(F.relu(self.norm2(self.conv2(xb))), 2)  # [B, channels[1], 4, 4]
        return self.output(xb.flatten(1))

