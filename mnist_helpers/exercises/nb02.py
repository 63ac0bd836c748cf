"""Exercises of notebook 2: a seeded split of your own, its label counts, batches per epoch."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Subset, random_split

from . import Exercise, Wrong, as_float64_tensor, as_whole_numbers, call, explain, mnist

SEED = 7


def _split(seed: int, sizes=(50_000, 10_000)) -> tuple[list[int], list[int]]:
    first, second = random_split(range(60_000), list(sizes), generator=torch.Generator().manual_seed(seed))
    return list(first.indices), list(second.indices)


def _same(got: torch.Tensor, expected) -> bool:
    expected = torch.as_tensor(expected, dtype=torch.float64)
    return got.shape == expected.shape and bool(torch.equal(got, expected))


def _my_split(answer) -> str:
    labels = mnist()[1]
    train, val = _split(SEED)
    if isinstance(answer, Subset):
        raise Wrong("that is the validation part itself (a Subset): give the labels of the images it holds, "
                    "picked from labels by its indices", "subset-not-labels")
    got = as_float64_tensor(answer, "my_val_labels")
    if got.ndim != 1:
        raise Wrong(f"give one label per image, a tensor of shape [10000]; got shape {list(got.shape)}",
                    "not-one-label-per-image")
    if len(got) == 50_000:
        raise Wrong("these are 50,000 labels, the training part: give the labels of the 10,000 validation images",
                    "training-part")
    if len(got) == 60_000:
        raise Wrong("these are all 60,000 labels: keep only those of your validation part", "all-labels")
    if len(got) != 10_000:
        raise Wrong(f"the validation part should hold 10,000 labels, got {len(got):,}", "wrong-size")
    if _same(got, labels[val]) or _same(got, labels[sorted(val)]):  # in the split's order or in the file's
        return "the same split on every machine that uses seed 7."
    raise explain(got, [
        (val, "indices-not-labels",
              "these are the positions of your validation images (0 to 59,999), not their labels: use them to "
              "pick from labels"),
        (sorted(val), "sorted-indices-not-labels",
                      "these are the positions of your validation images (0 to 59,999), not their labels: use them "
                      "to pick from labels"),
        (labels[-10_000:], "last-not-random",
                           "these are the last 10,000 labels in the file's order, not a random split: use "
                           "random_split"),
        (labels[:10_000], "first-not-random",
                          "these are the first 10,000 labels in the file's order, not a random split: use "
                          "random_split"),
        (labels[_split(42)[1]], "seed-42", "this is the series' split (seed 42): make yours with seed 7"),
        (labels[_split(SEED, (10_000, 50_000))[0]], "sizes-swapped",
                                                    "you split into [10_000, 50_000]: the sizes go in the order "
                                                    "[training, validation], 50,000 first"),
    ], "these are not the labels of the validation part random_split gives with seed 7 (a torch.Generator seeded "
       "with 7, sizes 50,000 and 10,000)", same=_same)


def _as_counts(answer):
    """A dictionary {digit: count} (collections.Counter) as a list of ten counts; anything else as it is."""
    if isinstance(answer, dict):
        if not set(answer) <= set(range(10)):
            raise Wrong("a dictionary of counts should have the digits 0 to 9 as its keys (use .tolist() before "
                        "counting, so that the keys are plain numbers)", "dict-keys-not-digits")
        return [answer.get(digit, 0) for digit in range(10)]
    return answer


def _counts(answer) -> str:
    labels = mnist()[1]
    train, val = _split(SEED)
    truth = torch.bincount(labels[val], minlength=10)
    pair = isinstance(answer, tuple) and len(answer) == 2
    if pair and all(isinstance(x, (torch.Tensor, np.ndarray)) for x in answer):
        raise Wrong("that is a pair of tensors (the digits, then their counts, as unique(return_counts=True) gives): "
                    "give only the ten counts", "unique-pair")
    got = as_float64_tensor(_as_counts(answer), "my_val_counts")
    if got.shape != (10,):
        raise Wrong(f"give ten counts, one per digit (shape [10]); got shape {list(got.shape)}", "not-ten-counts")
    if not torch.isfinite(got).all():
        raise Wrong("some of your counts are nan or inf: count the labels of each digit", "not-finite")
    if _same(got, truth):
        most, least = truth.argmax().item(), truth.argmin().item()
        return f"digit {most} is the most common ({truth[most]:,}) and digit {least} the least ({truth[least]:,})."
    if abs(got.sum().item() - 1) < 1e-3:
        raise Wrong("these are shares that add up to 1: the task asks for counts (how many images)",
                    "shares-not-counts")
    if abs(got.sum().item() - 100) < 1e-1:
        raise Wrong("these are percentages that add up to 100: the task asks for counts (how many images)",
                    "percentages-not-counts")
    raise explain(got, [
        (torch.bincount(labels[train], minlength=10), "training-part",
                                                      "these counts add up to 50,000: count the validation part, "
                                                      "not the training part"),
        (torch.bincount(labels, minlength=10), "all-labels",
                                               "these counts add up to 60,000: count only your validation part"),
        (torch.bincount(labels[_split(42)[1]], minlength=10), "seed-42",
                                                              "these are the counts of the series' split (seed 42): "
                                                              "count your seed-7 validation part"),
    ], "these are not the label counts of your seed-7 validation part, digit 0 to 9 in order", same=_same)


def _batches(answer) -> str:
    cases = [(50_000, 96), (60_000, 128), (10, 3), (128, 128), (10, 96), (256, 128), (1, 1)]
    for images, batch_size in cases:
        result = call(answer, images, batch_size, given=f"{images:,} images and batch_size={batch_size}")
        count, last = as_whole_numbers(result, "the answer", 2)
        full, rest = divmod(images, batch_size)
        truth = (full + (rest > 0), rest or batch_size)
        if (count, last) == truth:
            continue
        about = f"for {images:,} images in batches of {batch_size}"
        if (count, last) == truth[::-1]:
            raise Wrong(f"{about} you give ({count}, {last}): the two numbers are the wrong way round, first the "
                        "number of batches, then the size of the last batch", "order-swapped")
        if (count, last) == (60_000 // batch_size + (60_000 % batch_size > 0), 60_000 % batch_size or batch_size):
            raise Wrong(f"{about} you give the answer for 60,000 images: use the number of images your function is "
                        "given, not the notebook's images", "ignores-argument")
        if count == full and rest:
            raise Wrong(f"{about} you count {count} batches: the last, smaller batch counts too", "floor-division")
        if count == full + 1 and not rest:
            raise Wrong(f"{about} you count {count} batches: {batch_size} divides {images:,} exactly, so there is "
                        "no extra batch", "extra-batch")
        if last == 0:
            raise Wrong(f"a last batch of 0 images does not exist: when {batch_size} divides {images:,}, the last "
                        "batch is full", "empty-last-batch")
        if last == batch_size and rest:
            raise Wrong(f"{about} the last batch is not full: it holds only the images left over", "last-batch-full")
        raise Wrong(f"{about} the answer is not ({count}, {last})")
    return "the last batch holds what is left over, and it still counts as a batch."


q1 = Exercise(judge=_my_split,
              hint="random_split takes the seed through its generator= argument, as in the split above; "
              "the validation part is the second of the two parts, and its .indices say which of the 60,000 labels "
              "belong to it.", answer="my_val_labels", mistakes={
    "subset-not-labels": "A Subset holds positions into the dataset: show subset.indices, then labels[indices].",
    "not-one-label-per-image": "Ask them to print the shape: one label per image is a 1-D tensor.",
    "training-part": "random_split returns the parts in the order of the sizes: the second part is validation.",
    "all-labels": "They skipped the split: pick the labels by the validation part's indices.",
    "wrong-size": "Recall the sizes [50_000, 10_000]: the validation part holds 10,000 images.",
    "indices-not-labels": "Indices say which images, labels say which digits: index labels with them.",
    "sorted-indices-not-labels": "Indices say which images, labels say which digits, sorted or not: index labels with "
                                 "them.",
    "last-not-random": "Slicing the end is not a random split: the file's order is not shuffled for you.",
    "first-not-random": "Slicing the start is not a random split: use random_split with its generator.",
    "seed-42": "They copied the notebook's seed: the point is that another seed gives another split.",
    "sizes-swapped": "The order of the sizes is the order of the parts: training first.",
})
q2 = Exercise(judge=_counts,
              hint="notebook 1 counted each digit of a set of labels with one function: the same works on "
              "your validation labels (mind digits that might not appear: minlength).",
              answer="my_val_counts", mistakes={
    "dict-keys-not-digits": "Counter over tensors counts each tensor object: .tolist() first gives plain numbers as "
                            "keys.",
    "unique-pair": "unique(return_counts=True) returns two tensors: take the second, or use bincount.",
    "not-ten-counts": "Ask them to print the shape: ten counts, one per digit (minlength=10).",
    "not-finite": "A count is a whole number of images: look for a division in their code.",
    "shares-not-counts": "They normalised: the task asks for counts.",
    "percentages-not-counts": "They turned counts into percentages: the task asks for counts.",
    "training-part": "They counted the training part: the second part of random_split is validation.",
    "all-labels": "They counted every label: count only the validation part's.",
    "seed-42": "They counted the notebook's split: count the seed-7 one.",
})
q3 = Exercise(judge=_batches, hint="think in full batches and what is left over: integer division (//) and remainder "
              "(%), or divmod for both. Leftover images make one more, smaller batch; none left over means the "
              "last batch is full.", answer="batches_per_epoch", mistakes={
    "order-swapped": "Read the task's order aloud: number of batches, then the size of the last one.",
    "ignores-argument": "The function uses the notebook's variable instead of its argument: show a function tried on "
                        "other numbers.",
    "floor-division": "// drops the leftover images: they make one more, smaller batch.",
    "extra-batch": "Always adding one is wrong when the batch size divides the count: test with 256 and 128.",
    "empty-last-batch": "The remainder is 0 when the division is exact: then the last batch is full.",
    "last-batch-full": "The last batch holds the remainder, when there is one.",
})
