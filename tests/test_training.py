"""MnistModel, accuracy, evaluate, fit and predict_image, with the tutorial's calls (the models: test_model.py)."""

import functools

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset, random_split
from torchvision.datasets import MNIST
from torchvision.transforms import ToTensor

from mnist_helpers import FastLoader, MnistModel, accuracy, confusion_matrix, evaluate, fit, predict_image, predictions


def test_model_shape_and_parameter_count(seeded):
    model = MnistModel()
    assert isinstance(model.linear, torch.nn.Linear)
    assert model.linear.weight.shape == (10, 784) and model.linear.bias.shape == (10,)
    assert sum(p.numel() for p in model.parameters()) == 7850
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)


def test_accuracy_counts_matches():
    outputs = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy(outputs, torch.tensor([1, 0, 0, 0])).item() == pytest.approx(0.75)


def test_evaluate_is_exact_over_uneven_batches(seeded, train_tensors):
    images, labels = train_tensors
    model = MnistModel()
    loader = FastLoader(images[:1000], labels[:1000], batch_size=300)  # 300, 300, 300, 100
    outputs = model(images[:1000])
    expected_loss = F.cross_entropy(outputs, labels[:1000]).item()
    expected_acc = (outputs.argmax(1) == labels[:1000]).float().mean().item()
    result = evaluate(model, loader)
    assert result["val_loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert result["val_acc"] == pytest.approx(expected_acc)
    # a plain mean of the batch means (every batch counting the same) would not be exact here
    steps = [model.validation_step(b) for b in loader]
    assert [s["size"] for s in steps] == [300, 300, 300, 100]
    plain_mean = sum(s["val_loss"] for s in steps) / len(steps)
    assert plain_mean != pytest.approx(expected_loss, rel=1e-5)


def test_fit_and_evaluate_call_the_models_own_steps(seeded, small_loaders):
    """The tutorial's design: the model knows its steps; fit and evaluate are generic loops."""
    calls = []

    class Recording(MnistModel):
        def training_step(self, batch):
            calls.append("training_step")
            return super().training_step(batch)

        def validation_step(self, batch):
            calls.append("validation_step")
            return super().validation_step(batch)

        def validation_epoch_end(self, outputs):
            calls.append("validation_epoch_end")
            return super().validation_epoch_end(outputs)

        def epoch_end(self, epoch, result):
            calls.append("epoch_end")

    train_loader, val_loader = small_loaders
    fit(1, 0.1, Recording(), train_loader, val_loader)
    assert calls == (["training_step"] * len(train_loader) + ["validation_step"] * len(val_loader)
                     + ["validation_epoch_end", "epoch_end"])


def test_evaluate_refuses_an_empty_loader(seeded):
    with pytest.raises(ValueError, match="no images"):
        evaluate(MnistModel(), [])


def test_fit_learns_and_reports_each_epoch(seeded, small_loaders, capsys):
    train_loader, val_loader = small_loaders
    model = MnistModel()
    before = evaluate(model, val_loader)
    history = fit(3, 0.5, model, train_loader, val_loader)
    assert len(history) == 3
    assert set(history[0]) == {"val_loss", "val_acc", "train_loss"}
    assert before["val_acc"] < 0.3 < 0.8 < history[-1]["val_acc"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < before["val_loss"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Epoch [0], val_loss: ") and len(printed) == 3


def test_same_seed_same_history(small_loaders, train_tensors):
    def run():
        torch.manual_seed(3)
        images, labels = train_tensors
        train = FastLoader(images[:2000], labels[:2000], 64, shuffle=True, seed=3)
        val = FastLoader(images[2000:2500], labels[2000:2500], 64)
        return fit(2, 0.1, MnistModel(), train, val)

    assert run() == run()


def test_tutorial_calls_work_on_a_torchvision_loader(seeded, data_root):
    dataset = MNIST(root=data_root, train=True, transform=ToTensor())
    small = Subset(dataset, range(1200))
    train_ds, val_ds = random_split(small, [1000, 200], generator=torch.Generator().manual_seed(42))
    train_loader = DataLoader(train_ds, batch_size=128, shuffle=True)
    val_loader = DataLoader(val_ds, batch_size=128)
    model = MnistModel()
    result0 = evaluate(model, val_loader)
    assert 0.0 <= result0["val_acc"] <= 0.3
    history = fit(2, 0.5, model, train_loader, val_loader)
    assert history[-1]["val_acc"] > 0.7
    loss = model.training_step(next(iter(train_loader)))
    assert loss.ndim == 0 and loss.requires_grad
    step = model.validation_step(next(iter(val_loader)))
    assert set(step) == {"val_loss", "val_acc", "size"} and step["size"] == 128
    img, label = dataset[0]
    assert predict_image(img, model) in range(10)


@pytest.mark.parametrize("epochs, lr, message", [(0, 0.1, "epochs"), (2.5, 0.1, "epochs"), (1, 0.0, "lr"),
                                                 (1, float("nan"), "lr"), (1, -1, "lr")])
def test_fit_refuses_nonsense_settings(small_loaders, epochs, lr, message):
    with pytest.raises(ValueError, match=message):
        fit(epochs, lr, MnistModel(), *small_loaders)


@pytest.mark.parametrize("change", [lambda labels: labels + 10, lambda labels: labels - 1,
                                    lambda labels: labels.float()])
def test_loaders_refuse_labels_that_are_not_digits(train_tensors, change):
    images, labels = train_tensors
    with pytest.raises(ValueError, match="labels must be int64 digits 0-9"):
        FastLoader(images[:64], change(labels[:64]), 32)


def test_fit_stops_when_training_diverges(seeded, small_loaders):
    with pytest.raises(FloatingPointError, match="Try a smaller learning rate"):
        fit(2, 1e38, MnistModel(), *small_loaders)


def test_predict_image_and_confusion_matrix(seeded, small_loaders):
    train_loader, val_loader = small_loaders
    model = MnistModel()
    fit(3, 0.5, model, train_loader, val_loader)
    preds, labels = predictions(model, val_loader)
    assert preds.shape == labels.shape == (500,)
    image = val_loader.images[7]
    assert predict_image(image, model) == preds[7].item()
    matrix = confusion_matrix(preds, labels)
    assert matrix.shape == (10, 10) and matrix.sum().item() == 500
    assert matrix.trace().item() == (preds == labels).sum().item()
    assert torch.equal(matrix.sum(dim=1), torch.bincount(labels, minlength=10))


class Recording(torch.optim.SGD):
    """SGD that notes the learning rate of each of its steps."""

    rates: list[float]

    def step(self, closure=None):
        self.rates.append(self.param_groups[0]["lr"])
        return super().step(closure)


def test_a_schedule_is_built_once_and_moved_on_after_every_batch(seeded, small_loaders, monkeypatch):
    """fit builds the schedule with its optimizer, max_lr, epochs and steps per epoch, and steps it per batch."""
    built = []

    def schedule(optimizer, **settings):
        built.append(settings)
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, **settings)

    monkeypatch.setattr(Recording, "rates", [], raising=False)
    train_loader, val_loader = small_loaders
    fit(2, 0.4, MnistModel(), train_loader, val_loader, progress=False, schedule=schedule,
        opt_func=functools.partial(Recording, momentum=0.9))
    rates = Recording.rates
    assert built == [{"max_lr": 0.4, "epochs": 2, "steps_per_epoch": len(train_loader)}]
    assert len(rates) == 2 * len(train_loader)  # one optimizer, one schedule, across both epochs
    assert rates[0] == pytest.approx(0.4 / 25) and max(rates) == pytest.approx(0.4, rel=0.01) and rates[-1] < 0.4 / 25


def test_without_a_schedule_the_rate_stays_as_given(seeded, small_loaders, monkeypatch):
    monkeypatch.setattr(Recording, "rates", [], raising=False)
    fit(1, 0.3, MnistModel(), *small_loaders, opt_func=Recording, progress=False)
    assert set(Recording.rates) == {0.3}
