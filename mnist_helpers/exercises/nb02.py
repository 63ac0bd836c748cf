"""Exercises of notebook 2: a seeded split of your own, its label counts, batches per epoch."""

from __future__ import annotations

import torch
from torch.utils.data import random_split

from . import Exercise, Wrong, call, mnist

SEED = 7


def _split(seed: int) -> tuple[list[int], list[int]]:
    train, val = random_split(range(60_000), [50_000, 10_000], generator=torch.Generator().manual_seed(seed))
    return list(train.indices), list(val.indices)


def _my_split(answer) -> str:
    labels = mnist()[1]
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"give the labels of your validation part as a tensor, got a {type(answer).__name__}")
    if len(answer) == 50_000:
        raise Wrong("these are 50,000 labels, the training part: give the labels of the 10,000 validation images")
    if len(answer) != 10_000:
        raise Wrong(f"the validation part should hold 10,000 labels, got {len(answer):,}")
    if torch.equal(answer, labels[-10_000:]) or torch.equal(answer, labels[:10_000]):
        raise Wrong("these are 10,000 labels in the file's order, not a random split: use random_split")
    if torch.equal(answer, labels[_split(42)[1]]):
        raise Wrong("this is the series' split (seed 42): make yours with seed 7")
    if not torch.equal(answer, labels[_split(SEED)[1]]):
        raise Wrong("this is not the split random_split gives with generator=torch.Generator().manual_seed(7) "
                    "(and sizes [50_000, 10_000])")
    return "the same split on every machine that uses seed 7."


def _counts(answer) -> str:
    labels = mnist()[1]
    truth = torch.bincount(labels[_split(SEED)[1]], minlength=10)
    if not isinstance(answer, torch.Tensor) or answer.shape != (10,):
        shape = list(answer.shape) if isinstance(answer, torch.Tensor) else type(answer).__name__
        raise Wrong(f"give ten counts, one per digit (a tensor of shape [10]); got {shape}")
    if answer.is_floating_point() and abs(answer.sum().item() - 1) < 1e-3:
        raise Wrong("these are shares that add up to 1: the task asks for counts (how many images)")
    if int(answer.sum()) == 50_000:
        raise Wrong("these counts add up to 50,000: count the validation part, not the training part")
    if not torch.equal(answer.long(), truth):
        raise Wrong("these are not the label counts of your seed-7 validation part")
    most, least = truth.argmax().item(), truth.argmin().item()
    return f"digit {most} is the most common ({truth[most]:,}) and digit {least} the least ({truth[least]:,})."


def _batches(answer) -> str:
    cases = [(50_000, 96), (60_000, 128), (10, 3), (128, 128)]
    for images, batch_size in cases:
        got = call(answer, images, batch_size, given=f"{images:,} images and batch_size={batch_size}")
        full, rest = divmod(images, batch_size)
        truth = (full + (rest > 0), rest or batch_size)
        if not isinstance(got, tuple) or len(got) != 2:
            raise Wrong("return two numbers: (batches per epoch, size of the last batch)")
        if got[0] == full and rest:
            raise Wrong(f"for {images:,} images in batches of {batch_size} you count {full} batches: "
                        "the last, smaller batch counts too")
        if got[1] == 0:
            raise Wrong(f"a last batch of 0 images does not exist: when {batch_size} divides {images:,}, the last batch is full")
        if tuple(got) != truth:
            raise Wrong(f"for {images:,} images in batches of {batch_size} the answer is not {got}")
    return "the last batch holds what is left over, and it still counts as a batch."


q1 = Exercise("q1", _my_split, "random_split(range(60_000), [50_000, 10_000], generator=torch.Generator().manual_seed(7)) "
              "gives two parts; the second part's .indices pick the validation labels: labels[val_part.indices].")
q2 = Exercise("q2", _counts, "torch.bincount(labels, minlength=10) counts how many times each digit 0-9 appears.")
q3 = Exercise("q3", _batches, "divmod(images, batch_size) gives the number of full batches and what is left over; "
              "a leftover makes one more, smaller batch.")
