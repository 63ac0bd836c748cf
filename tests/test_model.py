"""The models: one base class with the tutorial's steps; each model only its layers and forward; the CNN."""

import functools
import inspect

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from mnist_helpers import FastLoader, ImageClassificationBase, MnistCNN, MnistMLP, MnistModel, evaluate, fit

MODELS = [MnistModel, MnistMLP, MnistCNN]
STEPS = ["training_step", "validation_step", "validation_epoch_end", "epoch_end"]


@pytest.mark.parametrize("model_class", MODELS)
def test_each_model_defines_only_its_layers_and_forward(model_class):
    assert issubclass(model_class, ImageClassificationBase)
    own_methods = {name for name, value in vars(model_class).items() if inspect.isfunction(value)}
    assert own_methods - {"settings"} == {"__init__", "forward"}  # settings(): what rebuilds it, for checkpoints
    for step in STEPS:
        assert getattr(model_class, step) is getattr(ImageClassificationBase, step)


def test_the_models_are_not_each_other():
    mlp, cnn = MnistMLP(), MnistCNN()
    assert not isinstance(mlp, MnistModel) and not isinstance(cnn, MnistModel) and not isinstance(cnn, MnistMLP)
    assert all(isinstance(m, ImageClassificationBase) for m in (MnistModel(), mlp, cnn))


def test_the_cnn_output_shape_and_parameter_count(seeded):
    model = MnistCNN()
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert model(torch.rand(5, 28, 28)).shape == (5, 10)  # the channel is added, as MnistModel flattens
    conv1 = 16 * 1 * 5 * 5 + 16
    conv2 = 32 * 16 * 5 * 5 + 32
    norms = 2 * 16 + 2 * 32  # a scale and a shift per channel
    output = 32 * 4 * 4 * 10 + 10  # 5x5 filters without padding, then 2x2 pooling: 28 -> 24 -> 12 -> 8 -> 4
    assert sum(p.numel() for p in model.parameters()) == conv1 + conv2 + norms + output == 18_474
    small = MnistCNN(channels=(4, 8))
    assert (small.conv1.out_channels, small.conv2.out_channels, small.output.in_features) == (4, 8, 8 * 4 * 4)


def test_the_cnn_gives_the_same_scores_in_either_memory_layout(seeded):
    """Channels last is only how the numbers are stored: the same layers fed the usual layout score the same."""
    model = MnistCNN().eval()
    layouts = []  # whether conv1 stored its feature maps channels last
    model.conv1.register_forward_hook(lambda _, args, out: layouts.append(
        out.is_contiguous(memory_format=torch.channels_last)))
    images = torch.rand(8, 1, 28, 28)
    scores = model(images)
    assert layouts == [True] and images.is_contiguous()  # on the CPU, forward computes channels last
    xb = F.max_pool2d(F.relu(model.norm1(model.conv1(images))), 2)  # forward's steps, in the usual layout
    xb = F.max_pool2d(F.relu(model.norm2(model.conv2(xb))), 2)
    assert layouts == [True, False] and torch.allclose(scores, model.output(xb.flatten(1)), atol=1e-5)


def test_the_cnn_keeps_its_weights_in_the_usual_layout_for_other_devices():
    """Channels last is chosen per batch on the CPU only: the weights a GPU or MPS receives are in the usual layout."""
    model = MnistCNN()
    assert all(p.is_contiguous() for p in model.parameters())


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("bad", [torch.rand(4, 1, 32, 32), torch.rand(4, 784), torch.rand(4, 3, 28, 28),
                                 torch.rand(2, 4, 1, 28, 28), torch.zeros(4, 1, 28, 28, dtype=torch.uint8)])
def test_every_model_refuses_images_it_cannot_read(model_class, bad):
    with pytest.raises(ValueError, match=r"the model expects float images of 28x28 pixels.*got a torch\.\w+ tensor"):
        model_class()(bad)


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (4, 28, 28)])
def test_every_model_reads_a_batch_with_or_without_its_channel(model_class, shape):
    assert model_class()(torch.rand(shape)).shape == (4, 10)


def test_the_cnn_learns_with_the_same_fit(seeded, small_loaders):
    model = MnistCNN()
    sgd_with_momentum = functools.partial(torch.optim.SGD, momentum=0.9)
    history = fit(2, 0.05, model, *small_loaders, opt_func=sgd_with_momentum, progress=False)
    assert history[-1]["val_acc"] > 0.85 and history[-1]["val_loss"] < history[0]["val_loss"]


def test_the_cnn_learns_with_its_recipe(seeded, small_loaders):
    """The recipe the CLI and notebook 9 share (one-cycle schedule, Nesterov momentum) trains in fit."""
    from mnist_helpers.training import recipe

    history = fit(2, MnistCNN.training["lr"], MnistCNN(), *small_loaders, progress=False, **recipe(MnistCNN.training))
    assert history[-1]["val_acc"] > 0.85 and history[-1]["val_loss"] < history[0]["val_loss"]


def plain_loader(images, labels, batch_size=64):
    """The tutorial's kind of loader: a torch DataLoader, which checks nothing."""
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size)


@pytest.mark.parametrize("model_class", MODELS)
def test_int32_labels_from_any_loader_get_the_label_message_and_its_fix(seeded, train_tensors, model_class):
    images, labels = train_tensors[0][:256], train_tensors[1][:256].int()
    loader = plain_loader(images, labels)
    message = (r"^labels must be int64 digits 0-9; got torch\.int32 values from 0 to 9: "
               r"convert them with labels\.long\(\)$")
    with pytest.raises(ValueError, match=message):
        fit(1, 0.1, model_class(), loader, loader, progress=False)
    with pytest.raises(ValueError, match=message):
        evaluate(model_class(), loader)


@pytest.mark.parametrize("change", [lambda labels: labels + 2, lambda labels: labels - 1,
                                    lambda labels: labels.float()])
def test_labels_that_are_not_digits_get_the_message_fastloader_gives(seeded, train_tensors, change):
    images, labels = train_tensors[0][:64], change(train_tensors[1][:64])
    with pytest.raises(ValueError) as from_fastloader:
        FastLoader(images, labels, 64)
    with pytest.raises(ValueError) as from_fit:
        fit(1, 0.1, MnistModel(), plain_loader(images, labels), plain_loader(images, labels), progress=False)
    assert str(from_fit.value).startswith(str(from_fastloader.value))  # the same words (fit may add how to fix it)
    assert "labels must be int64 digits 0-9" in str(from_fit.value)


def test_labels_10_and_11_stop_training_before_any_step(seeded, train_tensors):
    images, labels = train_tensors[0][:128], train_tensors[1][:128].clone()
    labels[100:] = torch.tensor([10, 11]).repeat(14)
    model = MnistModel()
    before = [p.detach().clone() for p in model.parameters()]
    loader = plain_loader(images, labels, batch_size=128)
    with pytest.raises(ValueError, match="labels must be int64 digits 0-9; got torch.int64 values from 0 to 11$"):
        fit(1, 0.1, model, loader, loader, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))  # nothing learned from them


def test_a_batch_with_fewer_labels_than_images_is_refused(train_tensors):
    images, labels = train_tensors[0][:10], train_tensors[1][:9]
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        MnistModel().training_step((images, labels))
