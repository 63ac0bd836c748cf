"""Getting a dataset's four files onto disk, verified: MNIST and Fashion-MNIST.

Both datasets come as four IDX files (training and test images and labels). They are looked
for in this order:

1. the data folder (``data/`` at the repository root unless you pass another), if the files
   there are intact;
2. a mirror folder named by an environment variable (``MNIST_MIRROR``,
   ``FASHION_MNIST_MIRROR``), holding the four files, ``.gz`` or decompressed;
3. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package
   (``/usr/share/datasets/fashion-mnist/``);
4. torchvision's own download from the internet.

Every file is checked against the SHA-256 of the original release's decompressed content (a
mirror may hold recompressed archives), so a damaged or truncated file is never trained on.
The files end up where torchvision's ``MNIST(root=...)`` and ``FashionMNIST(root=...)`` look.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import MnistHelpersError
from .files import atomic_write, cache_folder, repository_root


@dataclass(frozen=True)
class Source:
    """Where one dataset's files live and how to recognise them."""

    name: str  # as the command line spells it
    folder: str  # torchvision's folder under the data root
    sha256: dict[str, str]  # of each decompressed file of the original release
    mirror_variable: str  # the environment variable naming a mirror folder
    download_host: str  # torchvision's first download mirror
    system_folder: str | None = None  # where a system package puts the archives


DATASETS = {
    "mnist": Source("mnist", "MNIST", {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }, "MNIST_MIRROR", "ossci-datasets.s3.amazonaws.com"),
    "fashion-mnist": Source("fashion-mnist", "FashionMNIST", {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }, "FASHION_MNIST_MIRROR", "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
       system_folder="/usr/share/datasets/fashion-mnist"),
}
MNIST_SHA256 = DATASETS["mnist"].sha256


class MnistDataError(MnistHelpersError, RuntimeError):
    """A dataset could not be found, copied or downloaded intact."""


def source(dataset: str) -> Source:
    """The ``Source`` of ``dataset`` ("mnist" or "fashion-mnist"), or a clear error."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[dataset]


def default_data_root() -> Path:
    """The data folder used when none is given: ``$MNIST_DATA`` if set (a relative one taken from the current
    folder, and returned absolute), else ``data/`` in the course's repository, else (the package installed
    without the repository) the system's cache folder (``files.cache_folder``: ``~/.cache/mnist_helpers`` on
    Linux, honouring ``$XDG_CACHE_HOME``)."""
    if os.environ.get("MNIST_DATA"):
        return Path(os.environ["MNIST_DATA"]).absolute()
    repository = repository_root()
    if repository is not None:
        return repository / "data"
    return cache_folder()


HOW_TO_CHOOSE = ("choose another data folder with the environment variable MNIST_DATA, or with data_root= "
                 "(load_mnist(data_root=...), --data-root on the command line)")


def _writable(root: Path, raw: Path) -> None:
    """Refuse, in one line, a data folder this process cannot write into (before anything is copied)."""
    try:
        raw.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=raw):
            pass
    except OSError as err:
        raise MnistDataError(f"cannot write to the data folder {root} ({err.strerror or err}): "
                             f"{HOW_TO_CHOOSE}") from None


def data_root_in_use(dataset: str = "mnist") -> Path:
    """The data folder this process last got ``dataset`` from (the notebook's ``data_root``), else the default.

    The exercise checks load their data from here, so that they use the same folder as the notebook.
    """
    return _IN_USE.get(dataset) or default_data_root()


_IN_USE: dict[str, Path] = {}  # dataset -> the folder ensure_dataset last returned


def _in_use(dataset: str, root: Path) -> Path:
    """Remember ``root`` as the folder ``dataset`` comes from in this process; return it."""
    _IN_USE[dataset] = root
    return root


def raw_folder(data_root: str | os.PathLike | None = None, dataset: str = "mnist") -> Path:
    """Where torchvision keeps the decompressed files: ``<data_root>/MNIST/raw`` (or ``FashionMNIST/raw``)."""
    root = Path(data_root) if data_root is not None else default_data_root()
    return root / source(dataset).folder / "raw"


def sha256_of(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _problems(folder: Path, sha256: dict[str, str]) -> list[str]:
    """What is missing or damaged among the four files in ``folder`` (empty list: all good)."""
    problems = []
    for name, expected in sha256.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif sha256_of(path) != expected:
            problems.append(f"{name} is damaged (its SHA-256 does not match the original release)")
    return problems


def _copy_from_folder(folder: Path, raw: Path, sha256: dict[str, str], label: str) -> None:
    """Copy (and decompress) the four files from ``folder`` into ``raw``, each verified.

    ``label`` names the folder in messages: a variable (``MNIST_MIRROR``) or the folder itself.
    """
    where = f"{label}={folder}" if label.isupper() else str(folder)
    if not folder.is_dir():
        raise MnistDataError(f"{where} is not a folder")
    raw.mkdir(parents=True, exist_ok=True)
    for name, expected in sha256.items():
        target = raw / name
        if target.is_file() and sha256_of(target) == expected:
            continue
        plain, packed = folder / name, folder / f"{name}.gz"
        if plain.is_file():
            path, opener = plain, open
        elif packed.is_file():
            path, opener = packed, gzip.open
        else:
            raise MnistDataError(f"{name} or {name}.gz is not in {where}")
        # Written under a temporary name and renamed only once its content is verified:
        # a failed or damaged copy never leaves a file under the real name.
        try:
            with opener(path, "rb") as src, atomic_write(target) as dst:
                if _copy_hashed(src, dst) != expected:
                    raise MnistDataError(f"{path} is damaged: its content does not match the original release")
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            raise MnistDataError(f"{path} could not be read ({err}): the archive is damaged or truncated") from err


def _copy_hashed(src, dst) -> str:
    """Copy ``src`` into ``dst`` in chunks; return the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: src.read(1 << 20), b""):
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest()


def _download(root: Path, data: Source, timeout: float = 10.0) -> None:
    """Download with torchvision into a temporary folder, then copy the verified files into place.

    torchvision skips a file that already exists, damaged or not; downloading beside the data
    folder and copying each verified file over the old one (atomically) replaces a damaged file
    and never leaves the data folder worse than it was. Fails fast when the network is unreachable.
    """
    host = os.environ.get("MNIST_DOWNLOAD_HOST", data.download_host)  # tests point it nowhere
    _probe(host, timeout)
    import torchvision.datasets  # slow to import, so only here

    dataset_class = getattr(torchvision.datasets, data.folder)
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    root.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=root, prefix=".download.") as fresh:
            dataset_class(root=fresh, train=True, download=True)
            dataset_class(root=fresh, train=False, download=True)
            _copy_from_folder(Path(fresh) / data.folder / "raw", raw_folder(root, data.name), data.sha256,
                              "the downloaded files")
    except MnistDataError:
        raise
    except Exception as err:  # torchvision raises RuntimeError, URLError or socket errors
        raise MnistDataError(f"torchvision's download failed: {err}") from err
    finally:
        socket.setdefaulttimeout(old_timeout)


def _probe(host: str, timeout: float) -> None:
    """Fail fast, saying so, when ``host`` cannot be reached over HTTPS: directly, or through the proxy that
    ``HTTPS_PROXY`` (or the system's settings, on Windows and macOS) names, as torchvision's download goes."""
    try:
        opener = urllib.request.build_opener()  # reads the proxy settings now (urlopen keeps its first ones)
        opener.open(urllib.request.Request(f"https://{host}/", method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        pass  # the server answered (403, 404...): the network is there
    except (OSError, ValueError) as err:  # URLError, a timeout, a refused tunnel, a malformed proxy setting
        reason = getattr(err, "reason", err)
        proxy = urllib.request.getproxies().get("https")
        hint = ("through the proxy HTTPS_PROXY names" if proxy and os.environ.get("HTTPS_PROXY") == proxy
                else f"through the proxy {proxy}" if proxy else "directly; behind a proxy, set HTTPS_PROXY to it")
        raise MnistDataError(f"no network: could not reach {host} {hint} ({reason})") from err


def ensure_dataset(dataset: str = "mnist", data_root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Make sure the four verified files of ``dataset`` are in the data folder; return that folder.

    Tries the data folder, the mirror folder, the system package's folder, then torchvision's
    download (unless ``download=False``). Raises ``MnistDataError`` saying what was tried and
    how to fix it.
    """
    data = source(dataset)
    root = Path(data_root).absolute() if data_root is not None else default_data_root()
    raw = raw_folder(root, dataset)
    found = _problems(raw, data.sha256)
    if not found:
        return _in_use(dataset, root)
    tried = [f"data folder {raw}: " + "; ".join(found)]
    _writable(root, raw)

    mirror = os.environ.get(data.mirror_variable)
    folders = [("mirror", Path(mirror) if mirror else None, data.mirror_variable, f"{data.mirror_variable} is not set")]
    if data.system_folder:
        folders.append(("system package", Path(data.system_folder), data.system_folder,
                        f"{data.system_folder} does not exist (Debian's dataset-fashion-mnist package puts the files "
                        "there)"))
    for kind, folder, label, absent in folders:
        if folder is None or (kind == "system package" and not folder.is_dir()):
            tried.append(f"{kind}: {absent}")
            continue
        try:
            _copy_from_folder(folder, raw, data.sha256, label)
            return _in_use(dataset, root)
        except MnistDataError as err:
            tried.append(f"{kind}: {err}")

    if download:
        try:
            _download(root, data)
            if not _problems(raw, data.sha256):
                return _in_use(dataset, root)
            tried.append("download: " + "; ".join(_problems(raw, data.sha256)))
        except MnistDataError as err:
            tried.append(f"download: {err}")
    else:
        tried.append("download: not attempted (download=False)")

    raise MnistDataError(
        f"{data.folder} is not available. Tried:\n  - " + "\n  - ".join(tried)
        + f"\nTo fix it, set the environment variable {data.mirror_variable} to a folder holding the four files ("
        + ", ".join(data.sha256) + "; each may end in .gz)"
        + (", install Debian's dataset-fashion-mnist package" if data.system_folder else "")
        + ", or connect to the internet and run again."
    )


def ensure_mnist(data_root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """``ensure_dataset("mnist", ...)``: the four verified MNIST files in the data folder."""
    return ensure_dataset("mnist", data_root, download)
