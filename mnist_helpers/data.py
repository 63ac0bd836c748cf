"""Serving MNIST (or Fashion-MNIST) fast from memory: tensors, the seeded split, the loaders.

The files are put on disk, verified, by ``download.py``; here they are decoded once into one
float tensor, exactly what ``transforms.ToTensor()`` makes of each image, and served in batches.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset, random_split

from .download import ensure_dataset, raw_folder
from .model import check_labels

DEFAULT_SEED = 42  # the series' seed: same split, same batches, same numbers
DEFAULT_VAL_SIZE = 10_000
DEFAULT_BATCH_SIZE = 128
TRAIN_SIZE = 60_000


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST file format) into a uint8 array."""
    data = path.read_bytes()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(train: bool = True, data_root: str | os.PathLike | None = None,
               dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """All images and labels of one set (training or test) of MNIST, or Fashion-MNIST, as tensors.

    Images are float32 in [0, 1] shaped ``[N, 1, 28, 28]``: exactly what
    ``transforms.ToTensor()`` makes of each image. Labels are int64 ``[N]``.
    """
    raw = raw_folder(ensure_dataset(dataset, data_root), dataset)
    prefix = "train" if train else "t10k"
    pixels = torch.from_numpy(read_idx(raw / f"{prefix}-images-idx3-ubyte").copy())
    labels = torch.from_numpy(read_idx(raw / f"{prefix}-labels-idx1-ubyte").astype(np.int64))
    images = pixels.unsqueeze(1).to(torch.float32).div_(255)  # what ToTensor() does
    return images, labels


def split_indices(n: int, val_size: int, seed: int = DEFAULT_SEED) -> tuple[list[int], list[int]]:
    """A seeded random split of ``range(n)`` into training and validation indices.

    Uses ``random_split`` with a seeded ``torch.Generator``: the same seed splits
    a torchvision dataset of ``n`` images into exactly the same two parts.
    """
    if not 1 <= val_size < n:
        raise ValueError(f"val_size must be between 1 and {n - 1}, got {val_size}")
    generator = torch.Generator().manual_seed(seed)
    train_part, val_part = random_split(range(n), [n - val_size, val_size], generator=generator)
    return list(train_part.indices), list(val_part.indices)


class FastLoader:
    """Batches of ``(images, labels)`` from tensors held in memory.

    Yields the same batches as a ``DataLoader`` over the same images (when shuffling, in the
    first epoch, one with ``sampler=RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))``),
    without the per-image Python work: one ``randperm`` per epoch, then one gather per batch.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = DEFAULT_BATCH_SIZE,
                 shuffle: bool = False, seed: int = DEFAULT_SEED):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        check_labels(images, labels)
        self.dataset = TensorDataset(images, labels)
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield self.images[start : start + self.batch_size], self.labels[start : start + self.batch_size]
            else:
                idx = order[start : start + self.batch_size]
                yield self.images.index_select(0, idx), self.labels.index_select(0, idx)


def get_data_loaders(batch_size: int = DEFAULT_BATCH_SIZE, val_size: int = DEFAULT_VAL_SIZE,
                     seed: int = DEFAULT_SEED, data_root: str | os.PathLike | None = None,
                     dataset: str = "mnist") -> tuple[FastLoader, FastLoader]:
    """Training loader (shuffled, seeded) and validation loader, split from the 60,000 training images."""
    images, labels = load_mnist(train=True, data_root=data_root, dataset=dataset)
    train_idx, val_idx = (torch.tensor(i) for i in split_indices(len(labels), val_size, seed))
    train_loader = FastLoader(images[train_idx], labels[train_idx], batch_size, shuffle=True, seed=seed)
    val_loader = FastLoader(images[val_idx], labels[val_idx], batch_size)
    return train_loader, val_loader


def get_test_loader(batch_size: int = DEFAULT_BATCH_SIZE, data_root: str | os.PathLike | None = None,
                    dataset: str = "mnist") -> FastLoader:
    """Loader over the 10,000 standard test images, in their original order."""
    images, labels = load_mnist(train=False, data_root=data_root, dataset=dataset)
    return FastLoader(images, labels, batch_size)
