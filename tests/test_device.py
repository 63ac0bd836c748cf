"""Helpers that follow the model's device: CPU here; CUDA wherever a GPU is present."""

import time

import pytest
import torch
import torch.nn as nn

from mnist_helpers import MnistModel, evaluate, fit, predict_image, predictions
from mnist_helpers.device import DeviceError, available_devices, pick_device, to_device
from mnist_helpers.model import MnistMLP


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu") and available_devices() == ["cpu"]
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda") and available_devices() == ["cuda", "mps", "cpu"]


def test_a_device_that_is_not_there_is_named_with_what_is(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="device 'cuda' is not available on this machine; available: cpu"):
        pick_device("cuda")
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        pick_device("gpu")


class Recorded:
    """Stands in for a tensor: records where it was asked to go."""

    def __init__(self):
        self.moved_to = None

    def to(self, device):
        self.moved_to = device
        return self


def test_batches_are_moved_to_the_models_device():
    images, labels = Recorded(), Recorded()
    moved = to_device((images, labels), torch.device("cuda"))
    assert moved == (images, labels) and images.moved_to == labels.moved_to == torch.device("cuda")


def test_a_model_on_the_meta_device_gets_a_clear_error(small_loaders):
    model = MnistModel().to("meta")
    for call in (lambda: fit(1, 0.1, model, *small_loaders), lambda: evaluate(model, small_loaders[1]),
                 lambda: predictions(model, small_loaders[1])):
        with pytest.raises(DeviceError, match="meta device, which holds no numbers"):
            call()


def test_a_model_split_across_devices_gets_a_clear_error(small_loaders):
    model = MnistModel()
    model.linear.bias = nn.Parameter(torch.zeros(10, device="meta"))
    with pytest.raises(DeviceError, match="parameters are on cpu, meta: move the whole model"):
        fit(1, 0.1, model, *small_loaders)


def test_the_mlp_learns_with_the_same_fit(seeded, small_loaders):
    model = MnistMLP(hidden=32)
    assert sum(p.numel() for p in model.parameters()) == 784 * 32 + 32 + 32 * 10 + 10
    history = fit(3, 0.3, model, *small_loaders)
    assert history[-1]["val_acc"] > 0.8
    image = small_loaders[1].images[0]
    assert predict_image(image, model) == predictions(model, small_loaders[1])[0][0].item()


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="no CUDA GPU on this machine: the GPU path is tested where there is one")
def test_the_series_training_runs_on_cuda(data_root, capsys):
    from mnist_helpers import get_data_loaders, get_test_loader

    results = {}
    for name in ("cpu", "cuda"):
        torch.manual_seed(42)
        train_loader, val_loader = get_data_loaders(data_root=data_root)
        model = MnistModel().to(name)
        start = time.perf_counter()
        history = fit(3, 0.3, model, train_loader, val_loader)
        seconds_per_epoch = (time.perf_counter() - start) / 3
        test = evaluate(model, get_test_loader(data_root=data_root))
        results[name] = (history[-1]["val_acc"], seconds_per_epoch, test)
    with capsys.disabled():
        print(f"\nseconds per epoch: cpu {results['cpu'][1]:.3f}, cuda {results['cuda'][1]:.3f}")
    assert abs(results["cuda"][0] - results["cpu"][0]) < 0.005  # the same training, to floating-point differences
    assert results["cuda"][2]["val_acc"] > 0.9


def test_auto_keeps_the_linear_model_on_the_cpu(monkeypatch):
    from mnist_helpers.model import MnistCNN

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    for linear in ("linear", MnistModel, MnistModel()):
        assert pick_device("auto", linear) == torch.device("cpu")
    for other in ("cnn", "mlp", MnistCNN, MnistMLP()):
        assert pick_device("auto", other) == torch.device("mps")
    assert pick_device("mps", "linear") == torch.device("mps")  # named explicitly: used

    class Small(MnistModel):  # a model of one's own says so in its class, as the linear model does
        accelerated = True

    assert pick_device("auto", Small) == pick_device("auto", torch.nn.Linear(2, 2)) == torch.device("mps")


def test_the_command_line_asks_for_the_device_of_its_model(monkeypatch, capsys):
    from mnist_helpers import cli

    chosen = []

    def record(name, model=None):
        chosen.append((name, model))
        raise DeviceError("stopped here")

    monkeypatch.setattr(cli, "pick_device", record)
    assert cli.main(["train", "--model", "linear"]) == 2 and cli.main(["train", "--model", "cnn"]) == 2
    assert chosen == [("auto", "linear"), ("auto", "cnn")]


MPS = torch.backends.mps.is_available()


@pytest.mark.skipif(not MPS, reason="no Apple MPS device here: the MPS test runs on a Mac with Apple silicon")
def test_the_cnn_gets_the_same_gradients_on_mps_as_on_the_cpu():
    """MnistCNN feeds channels-last tensors to BatchNorm2d, where MPS once gave wrong gradients (pytorch#175189)."""
    from mnist_helpers.model import MnistCNN

    torch.manual_seed(0)
    cpu_model = MnistCNN()
    mps_model = MnistCNN()
    mps_model.load_state_dict(cpu_model.state_dict())
    mps_model.to("mps")
    images, labels = torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,))
    for model, device in ((cpu_model, "cpu"), (mps_model, "mps")):
        nn.functional.cross_entropy(model(images.to(device)), labels.to(device)).backward()
    for (name, cpu_param), mps_param in zip(cpu_model.named_parameters(), mps_model.parameters(), strict=True):
        assert torch.allclose(cpu_param.grad, mps_param.grad.cpu(), rtol=1e-3, atol=1e-4), name
