"""Getting MNIST onto disk, verified, and serving it fast from memory.

Where the four MNIST files come from, in this order:

1. the data folder (``data/`` at the repository root unless you pass another),
   if the files there are intact;
2. the folder named by the environment variable ``MNIST_MIRROR`` (the four
   archives, ``.gz`` or decompressed), copied into the data folder;
3. torchvision's own download from the internet.

Every file is checked against the SHA-256 of the original MNIST release, so a
damaged or truncated download is never trained on. The files end up where
``torchvision.datasets.MNIST(root=data_root)`` looks for them, so the
tutorial's own loading code reuses them without downloading anything.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset, random_split

from .files import atomic_write
from .model import NUM_CLASSES

# SHA-256 of the four decompressed files of the original MNIST release.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# torchvision's first download mirror; MNIST_DOWNLOAD_HOST overrides it (tests point it nowhere)
DOWNLOAD_HOST = os.environ.get("MNIST_DOWNLOAD_HOST", "ossci-datasets.s3.amazonaws.com")
DEFAULT_SEED = 42  # the series' seed: same split, same batches, same numbers
DEFAULT_VAL_SIZE = 10_000
DEFAULT_BATCH_SIZE = 128
TRAIN_SIZE = 60_000


class MnistDataError(RuntimeError):
    """MNIST could not be found, copied or downloaded intact."""


def default_data_root() -> Path:
    """The data folder shared by the notebooks and the CLI: ``$MNIST_DATA`` or ``<repo>/data``."""
    if os.environ.get("MNIST_DATA"):
        return Path(os.environ["MNIST_DATA"])
    return Path(__file__).resolve().parent.parent / "data"


def raw_folder(data_root: str | os.PathLike | None = None) -> Path:
    """Where torchvision keeps the decompressed files: ``<data_root>/MNIST/raw``."""
    root = Path(data_root) if data_root is not None else default_data_root()
    return root / "MNIST" / "raw"


def sha256_of(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _problems(folder: Path) -> list[str]:
    """What is missing or damaged among the four files in ``folder`` (empty list: all good)."""
    problems = []
    for name, expected in MNIST_SHA256.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif sha256_of(path) != expected:
            problems.append(f"{name} is damaged (its SHA-256 does not match the MNIST release)")
    return problems


def _copy_from_mirror(mirror: Path, raw: Path) -> None:
    """Copy (and decompress) the four files from ``mirror`` into ``raw``, each verified."""
    if not mirror.is_dir():
        raise MnistDataError(f"MNIST_MIRROR={mirror} is not a folder")
    raw.mkdir(parents=True, exist_ok=True)
    for name, expected in MNIST_SHA256.items():
        target = raw / name
        if target.is_file() and sha256_of(target) == expected:
            continue
        plain, packed = mirror / name, mirror / f"{name}.gz"
        if plain.is_file():
            source, opener = plain, open
        elif packed.is_file():
            source, opener = packed, gzip.open
        else:
            raise MnistDataError(f"{name} or {name}.gz is not in MNIST_MIRROR={mirror}")
        # Written under a temporary name and renamed only once its content is verified:
        # a failed or damaged copy never leaves a file under the real name.
        try:
            with opener(source, "rb") as src, atomic_write(target) as dst:
                if _copy_hashed(src, dst) != expected:
                    raise MnistDataError(f"{source} is damaged: its content does not match the MNIST release")
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            raise MnistDataError(f"{source} could not be read ({err}): the archive is damaged or truncated") from err


def _copy_hashed(src, dst) -> str:
    """Copy ``src`` into ``dst`` in chunks; return the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: src.read(1 << 20), b""):
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest()


def _download(root: Path, timeout: float = 10.0) -> None:
    """Download with torchvision, failing fast when the network is unreachable."""
    try:
        socket.create_connection((DOWNLOAD_HOST, 443), timeout=timeout).close()
    except OSError as err:
        raise MnistDataError(f"no network: could not reach {DOWNLOAD_HOST} ({err})") from err
    from torchvision.datasets import MNIST  # slow to import, so only here

    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        MNIST(root=root, train=True, download=True)
        MNIST(root=root, train=False, download=True)
    except Exception as err:  # torchvision raises RuntimeError, URLError or socket errors
        raise MnistDataError(f"torchvision's download failed: {err}") from err
    finally:
        socket.setdefaulttimeout(old_timeout)


def ensure_mnist(data_root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Make sure the four verified MNIST files are in the data folder; return that folder.

    Tries the data folder, then ``$MNIST_MIRROR``, then torchvision's download
    (unless ``download=False``). Raises ``MnistDataError`` saying what was tried
    and how to fix it.
    """
    root = Path(data_root) if data_root is not None else default_data_root()
    raw = raw_folder(root)
    found = _problems(raw)
    if not found:
        return root
    tried = [f"data folder {raw}: " + "; ".join(found)]

    mirror = os.environ.get("MNIST_MIRROR")
    if mirror:
        try:
            _copy_from_mirror(Path(mirror), raw)
            return root
        except MnistDataError as err:
            tried.append(f"mirror: {err}")
    else:
        tried.append("mirror: MNIST_MIRROR is not set")

    if download:
        try:
            _download(root)
            if not _problems(raw):
                return root
            tried.append("download: " + "; ".join(_problems(raw)))
        except MnistDataError as err:
            tried.append(f"download: {err}")
    else:
        tried.append("download: not attempted (download=False)")

    raise MnistDataError(
        "MNIST is not available. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nTo fix it, set MNIST_MIRROR to a folder holding the four MNIST files"
        " (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,"
        " t10k-labels-idx1-ubyte, each may end in .gz), for example"
        " `export MNIST_MIRROR=/path/to/mnist`, or connect to the internet and run again."
    )


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST file format) into a uint8 array."""
    data = path.read_bytes()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(train: bool = True, data_root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All images and labels of one MNIST set as tensors.

    Images are float32 in [0, 1] shaped ``[N, 1, 28, 28]``: exactly what
    ``transforms.ToTensor()`` makes of each image. Labels are int64 ``[N]``.
    """
    raw = raw_folder(ensure_mnist(data_root))
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
    train_part, val_part = random_split(range(n), [n - val_size, val_size], generator=torch.Generator().manual_seed(seed))
    return list(train_part.indices), list(val_part.indices)


def check_labels(images: torch.Tensor, labels: torch.Tensor) -> None:
    """Refuse labels that are not one digit (int64, 0-9) per image: never train on wrong data."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: each image needs one label")
    if labels.dtype != torch.int64 or (len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES)):
        raise ValueError(
            f"labels must be int64 digits 0-{NUM_CLASSES - 1}; got {labels.dtype} values "
            f"from {labels.min().item()} to {labels.max().item()}"
        )


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


def get_data_loaders(batch_size: int = DEFAULT_BATCH_SIZE, val_size: int = DEFAULT_VAL_SIZE, seed: int = DEFAULT_SEED,
                     data_root: str | os.PathLike | None = None) -> tuple[FastLoader, FastLoader]:
    """Training loader (shuffled, seeded) and validation loader, split from the 60,000 training images."""
    images, labels = load_mnist(train=True, data_root=data_root)
    train_idx, val_idx = (torch.tensor(i) for i in split_indices(len(labels), val_size, seed))
    train_loader = FastLoader(images[train_idx], labels[train_idx], batch_size, shuffle=True, seed=seed)
    val_loader = FastLoader(images[val_idx], labels[val_idx], batch_size)
    return train_loader, val_loader


def get_test_loader(batch_size: int = DEFAULT_BATCH_SIZE, data_root: str | os.PathLike | None = None) -> FastLoader:
    """Loader over the 10,000 standard test images, in their original order."""
    images, labels = load_mnist(train=False, data_root=data_root)
    return FastLoader(images, labels, batch_size)
