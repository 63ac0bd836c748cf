"""Helpers for the MNIST notebook series: data, model, training, plots, checkpoints.

Everything a notebook imports is here, under the tutorial's own names.
"""

from . import threads
from .checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from .data import DEFAULT_SEED, FastLoader, get_data_loaders, get_test_loader, load_mnist, split_indices
from .device import pick_device
from .download import MnistDataError, ensure_dataset, ensure_mnist
from .model import ImageClassificationBase, MnistCNN, MnistMLP, MnistModel, accuracy
from .training import confusion_matrix, evaluate, fit, predict_image, predictions

threads.apply()  # no more math threads than the process may use (affinity mask, cgroup quota)

__all__ = [
    "CheckpointError", "DEFAULT_SEED", "FastLoader", "ImageClassificationBase", "MnistCNN", "MnistDataError",
    "MnistMLP", "MnistModel", "accuracy", "confusion_matrix", "ensure_dataset", "ensure_mnist", "evaluate", "fit",
    "get_data_loaders", "get_test_loader",
    "load_checkpoint", "load_mnist", "pick_device", "predict_image", "predictions", "save_checkpoint", "split_indices",
]
