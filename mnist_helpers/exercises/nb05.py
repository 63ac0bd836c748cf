"""Exercises of notebook 5: one training step, one epoch, and an exact accuracy, each written by hand."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from . import Exercise, Wrong, call


def _setup(seed: int = 0, images: int = 200):
    """A small model, optimizer and labelled images of its own, all seeded."""
    from ..data import FastLoader
    from ..model import MnistModel

    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = MnistModel()
    x = torch.rand(images, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (images,), generator=generator)
    return model, torch.optim.SGD(model.parameters(), lr=0.5), FastLoader(x, y, batch_size=64)


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _reference_step(model, images, labels, optimizer) -> float:
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def _train_step(answer) -> str:
    model, optimizer, loader = _setup()
    twin = copy.deepcopy(model)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.5)
    images, labels = loader.images[:64], loader.labels[:64]
    before = _weights(model)
    got = call(answer, model, images, labels, optimizer, given="a model, a batch of 64 images, their labels and an SGD optimizer")
    expected_loss = _reference_step(twin, images, labels, twin_optimizer)
    if all(torch.equal(a, b) for a, b in zip(before, _weights(model))):
        raise Wrong("the weights did not move: call optimizer.step() after loss.backward() (and zero_grad() after step())")
    if any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters()):
        raise Wrong("the gradients are still there after your step: call optimizer.zero_grad(), or the next batch's "
                    "gradients will add up with these")
    if not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(_weights(model), _weights(twin))):
        raise Wrong("the weights moved, but not as one SGD step on this batch's cross-entropy would move them")
    if isinstance(got, torch.Tensor):
        raise Wrong("return the loss as a plain number with loss.item(), not the tensor (it holds the whole graph)")
    if not isinstance(got, float) or abs(got - expected_loss) > 1e-5:
        raise Wrong("return the loss of the batch before the step, as a number (loss.item())")
    return "forward, loss, backward, step, zero_grad: one step of SGD."


def _train_epoch(answer) -> str:
    model, optimizer, loader = _setup(seed=1)
    twin = copy.deepcopy(model)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.5)
    got = call(answer, model, loader, optimizer, given="a model, a loader of 200 images in 4 batches, and an SGD optimizer")
    losses = [_reference_step(twin, x, y, twin_optimizer) for x, y in copy.deepcopy(loader)]
    if not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(_weights(model), _weights(twin))):
        first_only, first_optimizer = _setup(seed=1)[:2]
        _reference_step(first_only, loader.images[:64], loader.labels[:64], first_optimizer)
        if all(torch.allclose(a, b, atol=1e-6) for a, b in zip(_weights(model), _weights(first_only))):
            raise Wrong("your loop stopped after the first batch: an epoch takes a step on every batch of the loader")
        if any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters()):
            raise Wrong("gradients are left over between batches: call optimizer.zero_grad() after each step, or "
                        "each step follows the sum of all gradients so far")
        raise Wrong("after your epoch the weights are not those of one SGD step per batch, in the loader's order")
    if isinstance(got, torch.Tensor):
        got = got.item()
    if abs(got - losses[-1]) < 1e-6 and abs(losses[-1] - sum(losses) / len(losses)) > 1e-6:
        raise Wrong("you returned the loss of the last batch: return the mean of the losses of all batches")
    if abs(got - sum(losses) / len(losses)) > 1e-5:
        raise Wrong("return the mean of the batches' losses (the loss of each batch before its step)")
    return "one step per batch, every batch once: that is an epoch, and fit repeats it."


def _accuracy(answer) -> str:
    model, _, loader = _setup(seed=2, images=150)  # batches of 64, 64 and 22: the last one is short
    outputs = model(loader.images)
    truth = (outputs.argmax(dim=1) == loader.labels).float().mean().item()
    got = call(answer, model, loader, given="a model and a loader of 150 images in batches of 64, 64 and 22")
    if isinstance(got, torch.Tensor):
        got = got.item()
    if got > 1:
        raise Wrong(f"{got} is more than 1: divide the number of right answers by the number of images")
    batch_means = [(model(x).argmax(dim=1) == y).float().mean().item() for x, y in loader]
    if abs(got - sum(batch_means) / len(batch_means)) < 1e-6 and abs(got - truth) > 1e-6:
        raise Wrong("you averaged the batches' accuracies: the short last batch then counts as much as a full one; "
                    "count the right answers and the images over all batches, then divide")
    if abs(got - truth) > 1e-6:
        raise Wrong("this is not the fraction of the loader's images the model gets right")
    return "exact over every image, however the batches fall."


q1 = Exercise("q1", _train_step, "loss = F.cross_entropy(model(images), labels), then loss.backward(), optimizer.step(), "
              "optimizer.zero_grad(), and return loss.item().")
q2 = Exercise("q2", _train_epoch, "for images, labels in loader: the four lines of one step; keep each loss.item() in a list "
              "and return sum(losses) / len(losses).")
q3 = Exercise("q3", _accuracy, "with torch.no_grad(): for each batch add (model(images).argmax(dim=1) == labels).sum().item() "
              "to a count of right answers and len(labels) to a count of images.")
