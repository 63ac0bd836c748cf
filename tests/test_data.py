"""Where MNIST comes from, how it is verified, and the fast in-memory loaders."""

import gzip
import shutil
import socket
import time
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, Subset
from torchvision.datasets import MNIST
from torchvision.transforms import ToTensor

from conftest import copy_raw
from mnist_helpers import FastLoader, MnistDataError, ensure_mnist, get_data_loaders, get_test_loader, split_indices
from mnist_helpers.download import MNIST_SHA256, raw_folder, sha256_of

# --- resolution: data folder -> MNIST_MIRROR -> download -------------------------------------


def test_files_already_present_are_used_without_mirror(raw_files, tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    copy_raw(raw_files, raw_folder(tmp_path))
    assert ensure_mnist(tmp_path, download=False) == tmp_path


def test_mirror_of_gz_archives_is_copied_and_verified(raw_files, mirror_env):
    root, mirror = mirror_env
    for name, path in raw_files.items():
        with open(path, "rb") as src, gzip.open(mirror / f"{name}.gz", "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst)
    ensure_mnist(root, download=False)
    for name, digest in MNIST_SHA256.items():
        assert sha256_of(raw_folder(root) / name) == digest
    # torchvision's own loader now finds the files and needs no download
    assert len(MNIST(root=root, train=False)) == 10_000


def test_mirror_of_decompressed_files(raw_files, mirror_env):
    root, mirror = mirror_env
    copy_raw(raw_files, mirror)
    ensure_mnist(root, download=False)
    assert sorted(p.name for p in raw_folder(root).iterdir()) == sorted(MNIST_SHA256)  # no temp files left


def test_damaged_file_in_data_folder_is_replaced_from_mirror(raw_files, mirror_env):
    root, mirror = mirror_env
    copy_raw(raw_files, mirror)
    copy_raw(raw_files, raw_folder(root))
    target = raw_folder(root) / "t10k-labels-idx1-ubyte"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    ensure_mnist(root, download=False)
    assert sha256_of(target) == MNIST_SHA256["t10k-labels-idx1-ubyte"]


def test_corrupt_mirror_file_is_refused_and_named(raw_files, mirror_env):
    root, mirror = mirror_env
    copy_raw(raw_files, mirror)
    bad = mirror / "train-labels-idx1-ubyte"
    data = bytearray(bad.read_bytes())
    data[5000] = (data[5000] + 1) % 10  # one label changed: still a valid-looking file
    bad.write_bytes(bytes(data))
    with pytest.raises(MnistDataError, match="train-labels-idx1-ubyte is damaged") as err:
        ensure_mnist(root, download=False)
    assert "MNIST_MIRROR" in str(err.value)
    assert not (raw_folder(root) / "train-labels-idx1-ubyte").exists()


def test_truncated_gz_in_mirror_is_refused(raw_files, mirror_env):
    root, mirror = mirror_env
    copy_raw(raw_files, mirror, ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"])
    packed = gzip.compress(raw_files["t10k-labels-idx1-ubyte"].read_bytes())
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(MnistDataError, match="damaged or truncated"):
        ensure_mnist(root, download=False)
    assert not (raw_folder(root) / "t10k-labels-idx1-ubyte").exists()
    assert [p.name for p in raw_folder(root).glob(".*")] == []  # the temporary file was removed


def test_truncated_file_in_data_folder_is_not_used(raw_files, tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    copy_raw(raw_files, raw_folder(tmp_path))
    target = raw_folder(tmp_path) / "train-images-idx3-ubyte"
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(MnistDataError, match="train-images-idx3-ubyte is damaged"):
        ensure_mnist(tmp_path, download=False)


def test_missing_everything_says_what_was_tried_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    with pytest.raises(MnistDataError) as err:
        ensure_mnist(tmp_path, download=False)
    message = str(err.value)
    assert "train-images-idx3-ubyte is missing" in message
    assert "MNIST_MIRROR is not set" in message
    assert "set the environment variable MNIST_MIRROR to a folder" in message and "export" not in message


def test_mirror_missing_a_file(raw_files, mirror_env):
    root, mirror = mirror_env
    copy_raw(raw_files, mirror, ["train-images-idx3-ubyte"])
    with pytest.raises(MnistDataError,
                       match=r"train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz is not in MNIST_MIRROR"):
        ensure_mnist(root, download=False)


def test_no_network_fails_fast(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_MIRROR", raising=False)

    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    start = time.perf_counter()
    with pytest.raises(MnistDataError, match="no network"):
        ensure_mnist(tmp_path, download=True)
    assert time.perf_counter() - start < 5


def test_a_damaged_file_is_replaced_by_the_download(raw_files, tmp_path, monkeypatch):
    """All four files present, one damaged, no mirror: the download must still bring a good copy.

    The stand-in for torchvision's download behaves like the real one: it skips a file that exists.
    """
    import torchvision.datasets

    from mnist_helpers import download

    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    monkeypatch.setattr(download, "_probe", lambda host, timeout: None)  # the network is there

    class Downloading:
        def __init__(self, root, train=True, download=False):
            raw = raw_folder(root)
            for name in MNIST_SHA256:
                if not (raw / name).exists():  # torchvision checks existence only
                    copy_raw(raw_files, raw, [name])

    monkeypatch.setattr(torchvision.datasets, "MNIST", Downloading)
    copy_raw(raw_files, raw_folder(tmp_path))
    target = raw_folder(tmp_path) / "train-labels-idx1-ubyte"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))
    assert ensure_mnist(tmp_path) == tmp_path
    assert sha256_of(target) == MNIST_SHA256["train-labels-idx1-ubyte"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MNIST"]  # the download's temporary folder is gone


def test_the_data_folder_rule(tmp_path, monkeypatch):
    """An explicit folder, else $MNIST_DATA, else data/ in the repository (the user's cache when installed)."""
    from mnist_helpers import download, files

    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "shared"))
    assert download.default_data_root() == tmp_path / "shared"
    assert download.raw_folder(tmp_path / "mine") == tmp_path / "mine" / "MNIST" / "raw"
    monkeypatch.delenv("MNIST_DATA")
    assert download.default_data_root() == files.repository_root() / "data"
    monkeypatch.setattr(download, "repository_root", lambda: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert download.default_data_root() == tmp_path / "cache" / "mnist_helpers"


def test_the_cache_folder_is_the_systems(tmp_path, monkeypatch):
    """Installed without the repository: platformdirs' cache folder (XDG on Linux, Library/Caches on a Mac)."""
    import platformdirs

    from mnist_helpers import download

    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(download, "repository_root", lambda: None)
    assert download.default_data_root() == Path(platformdirs.user_cache_dir("mnist_helpers", appauthor=False))
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda name, appauthor=None: f"C:/Users/Łukasz/AppData/{name}")
    assert download.default_data_root() == Path("C:/Users/Łukasz/AppData/mnist_helpers")


def test_a_relative_mnist_data_is_taken_from_the_current_folder_and_shown_absolute(tmp_path, monkeypatch):
    from mnist_helpers import download

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    monkeypatch.setenv("MNIST_DATA", "mnist-data")
    assert download.default_data_root() == tmp_path / "mnist-data"
    with pytest.raises(MnistDataError) as caught:
        ensure_mnist(download=False)
    assert f"data folder {tmp_path / 'mnist-data' / 'MNIST' / 'raw'}:" in str(caught.value)


def unwritable(folder: Path, monkeypatch) -> None:
    """``folder`` refuses new files, as a read-only cache or another user's folder does (root ignores chmod)."""
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self == folder or folder in self.parents:
            raise PermissionError(1, "Operation not permitted", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def test_an_unwritable_data_folder_is_one_line_saying_how_to_choose_another(tmp_path, monkeypatch, capsys):
    from mnist_helpers import data, download
    from mnist_helpers.cli import main

    monkeypatch.setattr(download, "repository_root", lambda: None)
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    unwritable(tmp_path / "cache", monkeypatch)
    expected = (f"cannot write to the data folder {tmp_path / 'cache' / 'mnist_helpers'} (Operation not permitted): "
                "choose another data folder with the environment variable MNIST_DATA, or with data_root=")
    with pytest.raises(MnistDataError) as caught:  # in a notebook: the course's error, not a bare PermissionError
        data.load_mnist(train=False)
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)
    assert main(["train"]) == 1  # the command line: the same line
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected}") and err.count("\n") == 1


def proxy_server():
    """A stand-in proxy on 127.0.0.1: records each request line, answers CONNECT, then hangs up."""
    import socketserver
    import threading

    seen = []

    class Proxy(socketserver.StreamRequestHandler):
        def handle(self):
            seen.append(self.rfile.readline().decode("latin-1").strip())
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def test_the_network_probe_goes_through_the_proxy_https_proxy_names(monkeypatch):
    from mnist_helpers import download

    server, seen = proxy_server()
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("https_proxy", raising=False)
        with pytest.raises(MnistDataError, match="could not reach example.invalid through the proxy HTTPS_PROXY"):
            download._probe("example.invalid", timeout=5)  # the stand-in speaks no TLS
    finally:
        server.shutdown()
        server.server_close()
    assert [line.rsplit(" ", 1)[0] for line in seen] == ["CONNECT example.invalid:443"]  # not straight to the host


def test_the_checks_use_the_folder_the_notebook_used(raw_files, tmp_path, monkeypatch):
    from mnist_helpers import download

    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "empty"))
    copy_raw(raw_files, raw_folder(tmp_path / "mine"))
    monkeypatch.setattr(download, "_IN_USE", {})
    assert download.data_root_in_use() == tmp_path / "empty"
    ensure_mnist(tmp_path / "mine", download=False)
    assert download.data_root_in_use() == tmp_path / "mine"


# --- the fast path gives exactly what ToTensor gives --------------------------------------------


def test_fast_loader_equals_totensor_dataloader(data_root):
    train_loader, val_loader = get_data_loaders(batch_size=100, val_size=10_000, seed=42, data_root=data_root)
    dataset = MNIST(root=data_root, train=True, transform=ToTensor())
    _, val_idx = split_indices(60_000, 10_000, seed=42)
    reference = DataLoader(Subset(dataset, val_idx[:300]), batch_size=100)
    # zip stops after the reference's 3 batches: the first 300 validation images are compared.
    for (ours, our_labels), (theirs, their_labels) in zip(val_loader, reference, strict=False):
        assert ours.dtype == theirs.dtype == torch.float32
        assert ours.shape == theirs.shape == (100, 1, 28, 28)
        assert torch.equal(ours, theirs)
        assert torch.equal(our_labels, their_labels)


def test_test_loader_equals_torchvision_test_set(data_root):
    loader = get_test_loader(batch_size=128, data_root=data_root)
    dataset = MNIST(root=data_root, train=False, transform=ToTensor())
    assert len(loader.labels) == 10_000 and len(loader) == 79
    images, labels = next(iter(loader))
    for i in (0, 57, 127):
        image, label = dataset[i]
        assert torch.equal(images[i], image) and labels[i].item() == label
    assert 0.0 == loader.images.min().item() and loader.images.max().item() == 1.0


def test_split_matches_random_split_of_a_dataset():
    from torch.utils.data import random_split

    train_idx, val_idx = split_indices(60_000, 10_000, seed=7)
    a, b = random_split(list(range(60_000)), [50_000, 10_000], generator=torch.Generator().manual_seed(7))
    assert train_idx == a.indices and val_idx == b.indices
    assert len(set(train_idx) | set(val_idx)) == 60_000
    assert split_indices(60_000, 10_000, seed=8)[1] != val_idx


@pytest.mark.parametrize("bad", [0, 60_000, -5])
def test_split_refuses_impossible_sizes(bad):
    with pytest.raises(ValueError, match="val_size must be between 1 and 59999"):
        split_indices(60_000, bad)


def test_shuffling_is_seeded_and_changes_every_epoch(train_tensors):
    images, labels = train_tensors

    def epochs(seed):
        loader = FastLoader(images[:1000], labels[:1000], 100, shuffle=True, seed=seed)
        return [torch.cat([y for _, y in loader]) for _ in range(2)]

    first, second = epochs(1), epochs(1)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(first[0], first[1])  # a new order each epoch
    assert torch.equal(first[0].sort().values, labels[:1000].sort().values)  # same images, reordered
    assert not torch.equal(epochs(2)[0], first[0])


def test_shuffled_batches_equal_a_seeded_dataloader(train_tensors):
    from torch.utils.data import RandomSampler, TensorDataset

    images, labels = train_tensors[0][:700], train_tensors[1][:700]
    ours = FastLoader(images, labels, 128, shuffle=True, seed=5)
    dataset = TensorDataset(images, labels)
    theirs = DataLoader(dataset, 128, sampler=RandomSampler(dataset, generator=torch.Generator().manual_seed(5)))
    # The first epoch only: RandomSampler draws a spare permutation at the end of each epoch.
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        assert torch.equal(x, tx) and torch.equal(y, ty)


def test_loader_batches_and_short_last_batch(train_tensors):
    images, labels = train_tensors
    loader = FastLoader(images[:300], labels[:300], batch_size=128)
    shapes = [tuple(x.shape) for x, _ in loader]
    assert shapes == [(128, 1, 28, 28), (128, 1, 28, 28), (44, 1, 28, 28)]
    assert len(loader) == 3 and len(loader.dataset) == 300


def test_loader_refuses_mismatched_inputs(train_tensors):
    images, labels = train_tensors
    with pytest.raises(ValueError, match="100 images but 99 labels"):
        FastLoader(images[:100], labels[:99])
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        FastLoader(images[:100], labels[:100], batch_size=0)


def test_default_split_sizes(data_root):
    train_loader, val_loader = get_data_loaders(data_root=data_root)
    assert len(train_loader.labels) == 50_000 and len(val_loader.labels) == 10_000
    xb, yb = next(iter(train_loader))
    assert xb.shape == (128, 1, 28, 28) and yb.shape == (128,)
