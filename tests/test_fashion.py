"""Fashion-MNIST with the same guarantees as MNIST: verified files, every source, clear errors."""

import dataclasses
import gzip

import pytest
import torch
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

from conftest import copy_raw
from mnist_helpers import MnistDataError, ensure_dataset, get_data_loaders, get_test_loader, load_mnist
from mnist_helpers.download import DATASETS, raw_folder, sha256_of

FASHION = DATASETS["fashion-mnist"]


@pytest.fixture(scope="session")
def fashion_files(data_root):
    """The four verified Fashion-MNIST files (from the data folder, a mirror or Debian's package)."""
    ensure_dataset("fashion-mnist", data_root, download=False)
    return {name: raw_folder(data_root, "fashion-mnist") / name for name in FASHION.sha256}


@pytest.fixture()
def no_sources(monkeypatch, tmp_path):
    """No mirror and no system package folder: only what a test puts in place."""
    monkeypatch.delenv("FASHION_MNIST_MIRROR", raising=False)
    no_package = dataclasses.replace(FASHION, system_folder=str(tmp_path / "no-package"))
    monkeypatch.setitem(DATASETS, "fashion-mnist", no_package)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    return tmp_path / "data", mirror


def test_the_files_are_those_of_the_original_release(fashion_files):
    for name, path in fashion_files.items():
        assert sha256_of(path) == FASHION.sha256[name]


def test_debians_recompressed_archives_are_used_and_verified(fashion_files, tmp_path, monkeypatch):
    package = tmp_path / "package"
    package.mkdir()
    for name, path in fashion_files.items():  # recompressed, as Debian's are: other .gz bytes, same content
        (package / f"{name}.gz").write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
    monkeypatch.delenv("FASHION_MNIST_MIRROR", raising=False)
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(FASHION, system_folder=str(package)))
    root = tmp_path / "data"
    assert ensure_dataset("fashion-mnist", root, download=False) == root
    assert len(FashionMNIST(root=root, train=False)) == 10_000  # where torchvision looks


def test_mirror_then_loaders_equal_torchvision(fashion_files, no_sources, monkeypatch):
    root, mirror = no_sources
    copy_raw(fashion_files, mirror)
    monkeypatch.setenv("FASHION_MNIST_MIRROR", str(mirror))
    test_loader = get_test_loader(batch_size=10_000, data_root=root, dataset="fashion-mnist")
    images, labels = next(iter(test_loader))
    dataset = FashionMNIST(root=root, train=False, transform=ToTensor())
    assert torch.equal(images[:50], torch.stack([dataset[i][0] for i in range(50)]))
    assert torch.equal(labels, dataset.targets)
    train_loader, val_loader = get_data_loaders(data_root=root, dataset="fashion-mnist")
    assert len(train_loader.labels) == 50_000 and len(val_loader.labels) == 10_000
    assert not torch.equal(load_mnist(False, root, "fashion-mnist")[1], load_mnist(False, dataset="mnist")[1])


def test_corrupt_mirror_file_is_refused_and_named(fashion_files, no_sources, monkeypatch):
    root, mirror = no_sources
    copy_raw(fashion_files, mirror)
    bad = mirror / "train-labels-idx1-ubyte"
    data = bytearray(bad.read_bytes())
    data[5000] = (data[5000] + 1) % 10
    bad.write_bytes(bytes(data))
    monkeypatch.setenv("FASHION_MNIST_MIRROR", str(mirror))
    with pytest.raises(MnistDataError, match="train-labels-idx1-ubyte is damaged") as err:
        ensure_dataset("fashion-mnist", root, download=False)
    assert "FASHION_MNIST_MIRROR" in str(err.value)
    assert not (raw_folder(root, "fashion-mnist") / "train-labels-idx1-ubyte").exists()


def test_truncated_archive_is_refused(fashion_files, no_sources, monkeypatch):
    root, mirror = no_sources
    copy_raw(fashion_files, mirror, ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"])
    packed = gzip.compress(fashion_files["t10k-labels-idx1-ubyte"].read_bytes())
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(packed[: len(packed) // 2])
    monkeypatch.setenv("FASHION_MNIST_MIRROR", str(mirror))
    with pytest.raises(MnistDataError, match="damaged or truncated"):
        ensure_dataset("fashion-mnist", root, download=False)
    assert [p.name for p in raw_folder(root, "fashion-mnist").glob(".*")] == []  # no temporary file left


def test_a_file_damaged_in_place_is_replaced(fashion_files, no_sources, monkeypatch):
    root, mirror = no_sources
    copy_raw(fashion_files, mirror)
    copy_raw(fashion_files, raw_folder(root, "fashion-mnist"))
    target = raw_folder(root, "fashion-mnist") / "t10k-images-idx3-ubyte"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))
    monkeypatch.setenv("FASHION_MNIST_MIRROR", str(mirror))
    ensure_dataset("fashion-mnist", root, download=False)
    assert sha256_of(target) == FASHION.sha256["t10k-images-idx3-ubyte"]


def test_missing_everything_says_what_was_tried_and_how_to_fix(no_sources):
    root, _ = no_sources
    with pytest.raises(MnistDataError) as err:
        ensure_dataset("fashion-mnist", root, download=False)
    message = str(err.value)
    assert message.startswith("FashionMNIST is not available")
    assert "FASHION_MNIST_MIRROR is not set" in message
    assert "does not exist (Debian's dataset-fashion-mnist package puts the files there)" in message
    assert "set the environment variable FASHION_MNIST_MIRROR to a folder" in message


def test_an_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="unknown dataset 'kmnist': choose one of mnist, fashion-mnist"):
        ensure_dataset("kmnist")
