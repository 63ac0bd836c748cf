"""The three things the benchmark times, each as one epoch of the same model on the same batches.

(a) the tutorial's pipeline: torchvision ``MNIST`` with ``ToTensor()``, ``random_split``,
    ``DataLoader(batch_size=128, shuffle=True)`` and the tutorial's training step;
(b) ours: ``mnist_helpers``' in-memory loaders and ``fit``;
(c) the floor: the same arithmetic as one full-batch step over the training set plus one
    forward pass over the validation set.

Both loaders are seeded the same way, so (a) and (b) visit the same images in the same order and
end an epoch with the same weights: the comparison is of speed only. Run on its own,
``python -m benchmarks.pipelines tutorial`` trains the tutorial's pipeline for one epoch (the
benchmark uses it to measure that process's peak memory).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

import torch
import torch.nn.functional as F

from mnist_helpers import FastLoader, MnistModel, fit, get_data_loaders, load_mnist, split_indices
from mnist_helpers.data import DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_VAL_SIZE, TRAIN_SIZE

LR = 0.3  # the CLI's learning rate; the speed of a step does not depend on it


def tutorial_loaders(size: int = TRAIN_SIZE, val_size: int = DEFAULT_VAL_SIZE, seed: int = DEFAULT_SEED,
                     data_root=None) -> tuple:
    """The tutorial's ``DataLoader``s over the first ``size`` training images (PIL image -> ToTensor per item)."""
    from torch.utils.data import DataLoader, RandomSampler, Subset, random_split
    from torchvision.datasets import MNIST
    from torchvision.transforms import ToTensor

    from mnist_helpers import ensure_mnist

    dataset = MNIST(root=ensure_mnist(data_root), train=True, transform=ToTensor())
    if size < len(dataset):
        dataset = Subset(dataset, range(size))
    train_ds, val_ds = random_split(dataset, [size - val_size, val_size], generator=torch.Generator().manual_seed(seed))
    # The tutorial's shuffle=True draws from the global generator; a seeded sampler costs the same
    # and shuffles exactly as FastLoader does, so (a) and (b) see the same batches.
    shuffle = RandomSampler(train_ds, generator=torch.Generator().manual_seed(seed))
    train_loader = DataLoader(train_ds, DEFAULT_BATCH_SIZE, sampler=shuffle)
    return train_loader, DataLoader(val_ds, DEFAULT_BATCH_SIZE)


def our_loaders(size: int = TRAIN_SIZE, val_size: int = DEFAULT_VAL_SIZE, seed: int = DEFAULT_SEED,
                data_root=None) -> tuple[FastLoader, FastLoader]:
    """``get_data_loaders``, or the same split of only the first ``size`` images for a quick run."""
    if size == TRAIN_SIZE:
        return get_data_loaders(DEFAULT_BATCH_SIZE, val_size, seed, data_root)
    images, labels = load_mnist(train=True, data_root=data_root)
    train_idx, val_idx = (torch.tensor(part) for part in split_indices(size, val_size, seed))
    return (FastLoader(images[train_idx], labels[train_idx], DEFAULT_BATCH_SIZE, shuffle=True, seed=seed),
            FastLoader(images[val_idx], labels[val_idx], DEFAULT_BATCH_SIZE))


def tutorial_epoch(model: MnistModel, train_loader, val_loader) -> dict:
    """(a) One epoch as the tutorial writes it: a step per batch, then the mean of the validation batches."""
    optimizer = torch.optim.SGD(model.parameters(), LR)
    for batch in train_loader:
        loss = model.training_step(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    outputs = [model.validation_step(batch) for batch in val_loader]
    return model.validation_epoch_end(outputs)


def our_epoch(model: MnistModel, train_loader, val_loader) -> dict:
    """(b) One epoch of ``fit`` (its printed progress line is swallowed)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fit(1, LR, model, train_loader, val_loader)[0]


def cnn_epoch(model, train_loader, val_loader) -> dict:
    """(b) with ``MnistCNN``: one epoch of ``fit`` with the recipe notebook 9 and the CLI train it with."""
    from mnist_helpers.model import MnistCNN
    from mnist_helpers.training import recipe

    with contextlib.redirect_stdout(io.StringIO()):
        return fit(1, MnistCNN.training["lr"], model, train_loader, val_loader, **recipe(MnistCNN.training))[0]


def floor_epoch(model: MnistModel, train_loader: FastLoader, val_loader: FastLoader) -> None:
    """(c) The arithmetic of an epoch with no per-batch cost: one step on all training images at once."""
    optimizer = torch.optim.SGD(model.parameters(), LR)
    loss = F.cross_entropy(model(train_loader.images), train_loader.labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    with torch.no_grad():
        model(val_loader.images)


def step_breakdown(model: MnistModel, train_loader: FastLoader) -> dict[str, float]:
    """Seconds spent in each part of ``fit``'s training step, summed over one epoch."""
    optimizer = torch.optim.SGD(model.parameters(), LR)
    parts = dict.fromkeys(
        ["take a batch", "forward + loss", "backward", "optimizer.step", "zero_grad", "record the loss"], 0.0)
    train_losses = []
    batches = iter(train_loader)
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            break
        t1 = time.perf_counter()
        loss = model.training_step(batch)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        optimizer.step()
        t4 = time.perf_counter()
        optimizer.zero_grad()
        t5 = time.perf_counter()
        train_losses.append(loss.detach())
        t6 = time.perf_counter()
        for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True):
            parts[name] += seconds
    return parts


def by_hand_epoch(model: MnistModel, train_loader: FastLoader) -> None:
    """The same SGD steps with the gradients written out: no autograd, no optimizer object.

    Shows what the per-batch arithmetic costs without PyTorch's per-step machinery.
    """
    weight, bias = model.linear.weight.detach(), model.linear.bias.detach()
    with torch.no_grad():
        for images, labels in train_loader:
            x = images.reshape(len(labels), -1)
            grad = torch.softmax(torch.addmm(bias, x, weight.t()), dim=1)
            grad[torch.arange(len(labels)), labels] -= 1  # d(cross-entropy)/d(scores), times the batch size
            grad /= len(labels)
            weight.sub_(grad.t() @ x, alpha=LR)
            bias.sub_(grad.sum(dim=0), alpha=LR)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pipelines",
        description="Train the tutorial's pipeline for one epoch (to measure its process).")
    parser.add_argument("pipeline", choices=["tutorial"])
    parser.add_argument("--size", type=int, default=TRAIN_SIZE, help="use only the first SIZE training images")
    parser.add_argument("--val-size", type=int, default=DEFAULT_VAL_SIZE)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args(argv)
    torch.manual_seed(DEFAULT_SEED)
    loaders = tutorial_loaders(args.size, args.val_size, data_root=args.data_root)
    print(tutorial_epoch(MnistModel(), *loaders))


if __name__ == "__main__":
    main()
