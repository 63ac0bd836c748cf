"""Exercises of notebook 5: one training step, one epoch, and an exact accuracy, each written by hand.

Each check gives the answer a small seeded model, an optimizer and random images of its own, then
compares the weights the answer leaves with those of the task done step by step (``_step``), and
with those of typical mistakes, each with its own message.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ..data import FastLoader
from ..model import MnistModel
from . import Exercise, Wrong, as_number, call, close, explain

LR = 0.37  # a learning rate the notebook does not use: the step must be that of the optimizer the answer is given


def _setup(seed: int, n_images: int):
    """A model and labelled random images, all seeded (a check runs with a random state of its own)."""
    torch.manual_seed(seed)
    model = MnistModel()
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n_images, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (n_images,), generator=generator)
    return model, images, labels


def _batches(images, labels, size: int = 64) -> list:
    return [(images[i:i + size], labels[i:i + size]) for i in range(0, len(labels), size)]


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same_weights(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, rtol=0, atol=1e-5) for x, y in zip(a, b, strict=True))


# A step written as the task says, and two typical mistakes.
def _step(model, images, labels, optimizer) -> float:
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def _step_without_zero_grad(model, images, labels, optimizer) -> float:
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_before_backward(model, images, labels, optimizer) -> float:
    loss = F.cross_entropy(model(images), labels)
    optimizer.step()  # moves by the gradients left by the previous call
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def _run(step, model, batches) -> tuple[list[torch.Tensor], list[float]]:
    """The weights after ``step`` on each batch in turn, from a copy of ``model``, and the losses it returned."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    losses = [step(model, images, labels, optimizer) for images, labels in batches]
    return _weights(model), losses


def _train_step(answer) -> str:
    model, images, labels = _setup(0, 128)
    start, batches = copy.deepcopy(model), _batches(images, labels)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    results = [call(answer, model, x, y, optimizer, given=f"a model, a batch of 64 images, their labels and an SGD "
                                                          f"optimizer (step {i} of 2)")
               for i, (x, y) in enumerate(batches, 1)]
    weights, losses = _run(_step, start, batches)
    if not _same_weights(_weights(model), weights):
        raise explain(_weights(model), [
            (_weights(start), "no-step",
                              "the weights did not move: take the optimizer's step after backward() has computed the "
                              "gradients, and before zero_grad() clears them"),
            (_run(_step_without_zero_grad, start, batches)[0], "zero-grad-missing",
                                                               "the second step followed the sum of both batches' "
             "gradients: clear the gradients in every step (zero_grad), before backward() or after step()"),
            (_run(_step_before_backward, start, batches)[0], "step-before-backward",
                                                             "each step used the gradients of the previous batch: call "
                                                             "backward() before step()"),
        ], "the weights moved, but not as one step of the optimizer you are given, on each batch's cross-entropy, "
           "would move them", same=_same_weights)
    for result, before, after in zip(results, losses, _losses_after_steps(start, batches), strict=True):
        got = as_number(result, "the loss", graph=False)
        if not close(got, before, 1e-5):
            raise explain(got, [(after, "loss-after-step",
                                        "you returned the loss after the step: return the loss the step was taken on, "
                                        "computed before it")],
                          "return the loss of the batch before the step, the one you called backward() on")
    return "forward, loss, backward, step, zero_grad: one step of SGD."


def _losses_after_steps(model, batches) -> list[float]:
    """The loss of each batch just after the step taken on it."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    after = []
    for images, labels in batches:
        _step(model, images, labels, optimizer)
        with torch.no_grad():
            after.append(F.cross_entropy(model(images), labels).item())
    return after


def _unchanged(loader: FastLoader, images: torch.Tensor, labels: torch.Tensor, name: str) -> None:
    if not (torch.equal(loader.images, images) and torch.equal(loader.labels, labels)):
        raise Wrong(f"{name} changed the images or labels of the loader it was given (in place): leave the data as "
                    "it is, and compute new tensors instead", "changed-data")


def _train_epoch(answer) -> str:
    model, images, labels = _setup(1, 200)
    start, batches = copy.deepcopy(model), _batches(images, labels)  # 64, 64, 64 and 8 images
    loader = FastLoader(images.clone(), labels.clone(), batch_size=64)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    result = call(answer, model, loader, optimizer, given="a model, a loader of 200 images in batches of 64, 64, 64 "
                                                          "and 8, and an SGD optimizer")
    _unchanged(loader, images, labels, "train_epoch")
    weights, losses = _run(_step, start, batches)
    if not _same_weights(_weights(model), weights):
        raise explain(_weights(model), [
            (_weights(start), "no-step", "the weights did not move: take one step on every batch of the loader"),
            (_run(_step, start, batches[:1])[0], "first-batch-only",
                                                 "your loop stopped after the first batch: an epoch takes a step on "
                                                 "every batch of the loader"),
            (_run(_step, start, batches[-1:])[0], "step-outside-loop",
                                                  "only the last batch moved the weights: take the step inside the "
                                                  "loop, once per batch"),
            (_run(_step_without_zero_grad, start, batches)[0], "zero-grad-missing",
                                                               "gradients are left over between batches: clear them "
             "in every step (zero_grad), or each step follows the sum of all the gradients so far"),
            (_run(_step, start, batches * 2)[0], "two-passes",
                                                 "you went over the loader twice: an epoch is one pass over it"),
        ], "after your epoch the weights are not those of one step per batch, in the loader's order",
            same=_same_weights)
    if isinstance(result, (list, tuple)):
        raise Wrong(f"you returned a {type(result).__name__}: return one number, the mean of the batches' losses",
                    "list-not-mean")
    got = as_number(result, "the mean loss", graph=False)
    mean = sum(losses) / len(losses)
    if close(got, mean, 1e-5):
        return "one step per batch, every batch once: that is an epoch, and fit repeats it."
    sizes = [len(y) for _, y in batches]
    raise explain(got, [
        (losses[-1], "last-loss",
                     "you returned the loss of the last batch: return the mean of the losses of all batches"),
        (losses[0], "first-loss",
                    "you returned the loss of the first batch: return the mean of the losses of all batches"),
        (sum(losses), "sum-not-mean",
                      "you returned the sum of the batches' losses: divide it by the number of batches"),
        (sum(losses) / len(labels), "divided-by-images",
                                    "you divided by the number of images: the mean of the batches' losses divides "
                                    "by the number of batches"),
        (sum(loss * n for loss, n in zip(losses, sizes, strict=True)) / len(labels), "weighted-mean",
                                                                                     "you weighted each batch's "
         "loss by its number of images: the task asks for the plain mean of the batches' losses, each batch "
         "counting once"),
    ], "return the mean of the batches' losses (each batch's loss before its step)")


class _Watched(MnistModel):
    """An MnistModel that notes whether PyTorch tracked gradients while it ran."""

    def __init__(self):
        super().__init__()
        self.tracked = False

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        self.tracked = self.tracked or torch.is_grad_enabled()
        return super().forward(xb)


def _accuracy(answer) -> str:
    torch.manual_seed(2)
    model = _Watched()
    images = torch.rand(150, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    # The model is right on 32 of the first 64 images, 48 of the next 64, and all 22 of the short last batch.
    right = torch.zeros(150, dtype=torch.bool)
    right[0:64:2] = right[64:112] = right[128:] = True
    labels = torch.where(right, predicted, (predicted + 1) % 10)
    truth = 102 / 150
    loader = FastLoader(images.clone(), labels.clone(), batch_size=64)
    model.tracked, before = False, _weights(model)
    result = call(answer, model, loader, given="a model and a loader of 150 images in batches of 64, 64 and 22")
    _unchanged(loader, images, labels, "accuracy_of")
    if not _same_weights(_weights(model), before):
        raise Wrong("accuracy_of changed the model's weights: it should only measure", "changed-weights")
    got = as_number(result, "the accuracy", graph=False)
    if not close(got, truth, 1e-6):
        raise explain(got, [
            (100 * truth, "percentage", f"{got:g} is a percentage: return a fraction between 0 and 1"),
            (102, "count-not-fraction", f"{got:g} is the number of right answers: divide it by the number of images"),
            ((32 / 64 + 48 / 64 + 22 / 22) / 3, "mean-of-batches",
                                                "you averaged the batches' accuracies: the short last batch then "
             "counts as much as a full one; count the right answers and the images over all batches, then divide"),
            (102 / 192, "full-batches",
                        "you divided by the number of batches times the batch size: the last batch holds only 22 "
                        "images"),
            (80 / 128, "last-batch-missing", "you left out the last, short batch: its images count too"),
            (32 / 64, "first-batch-only",
                      "that is the accuracy of the first batch only: go over every batch of the loader"),
            (1 - truth, "error-rate", "that is the fraction of mistakes: return the fraction the model gets right"),
        ], "this is not the fraction of the loader's images the model gets right")
    if model.tracked:
        raise Wrong("the number is right, but PyTorch tracked gradients while your model ran: measure inside "
                    "torch.no_grad(), which is faster and keeps no graph", "grad-tracked")
    return "exact over every image, however the batches fall."


q1 = Exercise(judge=_train_step,
              hint="the section 'One training step, by hand' above does it line by line: your function "
              "does the same on the batch and the optimizer it is given. Which call computes the gradients, which one "
              "moves the weights, which one clears them? A one-element tensor becomes a number with .item().",
              answer="train_step", mistakes={
    "no-step": "Walk through the order: backward computes gradients, step uses them, zero_grad clears them.",
    "zero-grad-missing": "PyTorch adds gradients up: without zero_grad each step follows every batch so far.",
    "step-before-backward": "step() before backward() moves by the previous batch's gradients: backward first.",
    "loss-after-step": "The loss to report is the one the step was taken on: compute it once, before the step.",
})
q2 = Exercise(judge=_train_epoch,
              hint="the section 'One epoch, written out' loops over a loader; you have a function for "
              "the body of that loop. Keep each batch's loss in a list, then average the list.", answer="train_epoch",
              mistakes={
    "changed-data": "An in-place operation on a batch changes the dataset: compute new tensors instead.",
    "no-step": "The loop body must take the step: call the training step on every batch.",
    "first-batch-only": "A return inside the loop ends it after one batch: return after the loop.",
    "step-outside-loop": "The step sits after the loop: indent it into the loop, once per batch.",
    "zero-grad-missing": "PyTorch adds gradients up: without zero_grad each step follows every batch so far.",
    "two-passes": "An epoch is one pass: look for a second loop or a second call.",
    "list-not-mean": "They returned the list of losses: average it, sum(losses) / len(losses).",
    "last-loss": "The last batch's loss is not the epoch's: keep every batch's loss and average.",
    "first-loss": "The first batch's loss is not the epoch's: keep every batch's loss and average.",
    "sum-not-mean": "A sum grows with the number of batches: divide by it.",
    "divided-by-images": "The mean of the batches' losses divides by the number of batches, not of images.",
    "weighted-mean": "Weighting by batch size is a fair idea, but the task asks for the plain mean: say why the two "
                     "differ.",
})
q3 = Exercise(judge=_accuracy,
              hint="keep two running totals over the batches, right answers and images, and divide only "
              "at the end: a short last batch then counts for exactly the images it holds. evaluate (its source is "
              "printed above) shows how to measure without tracking gradients.", answer="accuracy_of", mistakes={
    "changed-data": "An in-place operation on a batch changes the dataset: compute new tensors instead.",
    "changed-weights": "Measuring must not train: no step, no optimizer in an accuracy function.",
    "percentage": "The task asks for a fraction between 0 and 1: leave out the 100.",
    "count-not-fraction": "They returned the count: divide by the number of images.",
    "mean-of-batches": "A mean of batch accuracies overweights the short last batch: count right answers and images, "
                       "divide at the end.",
    "full-batches": "The last batch is shorter: count the images, do not multiply batches by the batch size.",
    "last-batch-missing": "Something skips the short batch (a drop_last, a slice): every image counts.",
    "first-batch-only": "A return inside the loop ends it after one batch: return after the loop.",
    "error-rate": "The comparison is the wrong way round: != counts mistakes, == counts right answers.",
    "grad-tracked": "Measuring needs no gradients: torch.no_grad() is faster and keeps no graph.",
})
