"""Serving MNIST (or Fashion-MNIST) fast from memory: tensors, the seeded split, the loaders.

The files are put on disk, verified, by ``download.py``; here they are decoded once and served in
batches of float tensors, exactly what ``transforms.ToTensor()`` makes of each image. The loaders
keep the pixels as bytes (47 MB for MNIST's training set, not 188 MB of float32) and convert each
batch as it is served: the numbers are the same, and a notebook's kernel stays well under 1 GiB.
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
    with open(path, "rb") as f:
        header = f.read(4)
        ndim = header[3]
        shape = tuple(int.from_bytes(f.read(4), "big") for _ in range(ndim))
        return np.fromfile(f, dtype=np.uint8).reshape(shape)  # one writable copy, not the file's bytes and a copy


def load_pixels(train: bool = True, data_root: str | os.PathLike | None = None,
                dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """All images of one set as uint8 ``[N, 1, 28, 28]`` (0-255), and their int64 labels ``[N]``."""
    raw = raw_folder(ensure_dataset(dataset, data_root), dataset)
    prefix = "train" if train else "t10k"
    pixels = torch.from_numpy(read_idx(raw / f"{prefix}-images-idx3-ubyte")).unsqueeze(1)
    labels = torch.from_numpy(read_idx(raw / f"{prefix}-labels-idx1-ubyte").astype(np.int64))
    return pixels, labels


def to_float(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels (0-255) as float32 in [0, 1], exactly what ``transforms.ToTensor()`` makes of them."""
    return pixels.to(torch.float32).div_(255)


def load_mnist(train: bool = True, data_root: str | os.PathLike | None = None,
               dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """All images and labels of one set (training or test) of MNIST, or Fashion-MNIST, as tensors.

    Images are float32 in [0, 1] shaped ``[N, 1, 28, 28]``: exactly what
    ``transforms.ToTensor()`` makes of each image. Labels are int64 ``[N]``.
    """
    pixels, labels = load_pixels(train, data_root, dataset)
    return to_float(pixels), labels


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

    ``images`` are float images, or uint8 pixels (0-255) that are kept as such and converted batch by
    batch (``to_float``): a quarter of the memory, the same batches.

    Yields the same batches as a ``DataLoader`` over the same images (when shuffling, in the
    first epoch, one with ``sampler=RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))``),
    without the per-image Python work: one ``randperm`` per epoch, then one gather per batch.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = DEFAULT_BATCH_SIZE,
                 shuffle: bool = False, seed: int = DEFAULT_SEED):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        check_labels(images, labels)
        self.pixels, self.labels = images, labels  # as given: uint8 pixels stay bytes until served
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def images(self) -> torch.Tensor:
        """All the loader's images as float32 in [0, 1] (made on each access when they are kept as bytes)."""
        return to_float(self.pixels) if self.pixels.dtype == torch.uint8 else self.pixels

    @property
    def dataset(self) -> TensorDataset:
        """The images and labels as a ``TensorDataset``, like a ``DataLoader``'s ``dataset``."""
        return TensorDataset(self.images, self.labels)

    def _served(self, images: torch.Tensor) -> torch.Tensor:
        return to_float(images) if images.dtype == torch.uint8 else images

    def __len__(self) -> int:
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                stop = start + self.batch_size
                yield self._served(self.pixels[start:stop]), self.labels[start:stop]
            else:
                idx = order[start : start + self.batch_size]
                yield self._served(self.pixels.index_select(0, idx)), self.labels.index_select(0, idx)


def get_data_loaders(batch_size: int = DEFAULT_BATCH_SIZE, val_size: int = DEFAULT_VAL_SIZE,
                     seed: int = DEFAULT_SEED, data_root: str | os.PathLike | None = None,
                     dataset: str = "mnist") -> tuple[FastLoader, FastLoader]:
    """Training loader (shuffled, seeded) and validation loader, split from the 60,000 training images."""
    pixels, labels = load_pixels(train=True, data_root=data_root, dataset=dataset)
    train_idx, val_idx = (torch.tensor(i) for i in split_indices(len(labels), val_size, seed))
    train_loader = FastLoader(pixels[train_idx], labels[train_idx], batch_size, shuffle=True, seed=seed)
    val_loader = FastLoader(pixels[val_idx], labels[val_idx], batch_size)
    return train_loader, val_loader


def get_test_loader(batch_size: int = DEFAULT_BATCH_SIZE, data_root: str | os.PathLike | None = None,
                    dataset: str = "mnist") -> FastLoader:
    """Loader over the 10,000 standard test images, in their original order."""
    pixels, labels = load_pixels(train=False, data_root=data_root, dataset=dataset)
    return FastLoader(pixels, labels, batch_size)
