"""Notebook 2's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import math
from collections import Counter

import numpy as np
import torch
from exercise_tables import From
from torch.utils.data import TensorDataset, random_split


def labels(d):
    return d[0][1]


def split(seed=7, sizes=(50_000, 10_000)):
    return random_split(range(60_000), list(sizes), generator=torch.Generator().manual_seed(seed))


def val(d):
    return labels(d)[split()[1].indices]


def split_with_the_global_seed(d):
    torch.manual_seed(7)  # random_split without a generator draws from the global one
    return labels(d)[random_split(range(60_000), [50_000, 10_000])[1].indices]


def batches_per_epoch(images, batch_size):
    full, rest = divmod(images, batch_size)
    return full + (rest > 0), rest or batch_size


RIGHT = {
    "q1": [From(val),
           From(lambda d: labels(d)[random_split(range(60_000), [5 / 6, 1 / 6],
                                                 generator=torch.Generator().manual_seed(7))[1].indices]),
           From(split_with_the_global_seed),
           From(lambda d: torch.stack([y for _, y in random_split(TensorDataset(d[0][0], labels(d)), [50_000, 10_000],
                                                                  generator=torch.Generator().manual_seed(7))[1]])),
           From(lambda d: labels(d)[sorted(split()[1].indices)]),  # the same images, in the file's order
           From(lambda d: [labels(d)[i].item() for i in split()[1].indices])],
    "q2": [From(lambda d: torch.bincount(val(d), minlength=10)),
           From(lambda d: Counter(val(d).tolist())),
           From(lambda d: [int((val(d) == digit).sum()) for digit in range(10)]),
           From(lambda d: np.bincount(val(d).numpy())),
           From(lambda d: val(d).unique(return_counts=True)[1]),
           From(lambda d: torch.histc(val(d).float(), bins=10, min=0, max=9))],
    "q3": [batches_per_epoch,
           lambda n, b: (math.ceil(n / b), n - (math.ceil(n / b) - 1) * b),
           lambda n, b: [-(-n // b), n % b or b],
           lambda n, b: (np.ceil(n / b), np.int64(n - b * (np.ceil(n / b) - 1))),
           lambda n, b: (len(torch.arange(n).split(b)), len(torch.arange(n).split(b)[-1])),
           lambda n, b: torch.tensor([(n + b - 1) // b, n - ((n + b - 1) // b - 1) * b])],
}

WRONG = {
    "q1": [(From(lambda d: labels(d)[split(42)[1].indices]), "series' split (seed 42)"),
           (From(lambda d: labels(d)[split()[0].indices]), "the training part"),
           (From(lambda d: labels(d)[-10_000:]), "last 10,000 labels"),
           (From(lambda d: labels(d)[:10_000]), "first 10,000 labels"),
           (From(lambda d: torch.tensor(split()[1].indices)), "positions of your validation images"),
           (split()[1], "the validation part itself"),
           (From(lambda d: labels(d)[split(7, (10_000, 50_000))[0].indices]), "sizes go in the order"),
           (From(labels), "all 60,000 labels"),
           (From(lambda d: labels(d)[split(8)[1].indices]), "not the labels of the validation part random_split"),
           (From(lambda d: val(d)[:, None]), "one label per image")],
    "q2": [(From(lambda d: torch.bincount(val(d), minlength=10) / 10_000), "shares that add up to 1"),
           (From(lambda d: torch.bincount(val(d), minlength=10) / 100), "percentages that add up to 100"),
           (From(lambda d: torch.bincount(labels(d)[split()[0].indices], minlength=10)), "not the training part"),
           (From(lambda d: torch.bincount(labels(d), minlength=10)), "add up to 60,000"),
           (From(lambda d: torch.bincount(labels(d)[split(42)[1].indices], minlength=10)), "series' split (seed 42)"),
           (From(lambda d: val(d).unique(return_counts=True)), "pair of tensors"),
           (From(lambda d: Counter(val(d))), "the digits 0 to 9 as its keys"),
           (From(lambda d: torch.bincount(val(d))[:9]), "give ten counts"),
           (From(lambda d: torch.bincount(val(d)[:5_000], minlength=10)), "not the label counts of your seed-7")],
    "q3": [(lambda n, b: (n // b, n % b), "the last, smaller batch counts too"),
           (lambda n, b: (math.ceil(n / b), n % b), "a last batch of 0 images does not exist"),
           (lambda n, b: (n // b + 1, n % b or b), "no extra batch"),
           (lambda n, b: (math.ceil(n / b), b), "the last batch is not full"),
           (lambda n, b: batches_per_epoch(n, b)[::-1], "the wrong way round"),
           (lambda images, batch_size: batches_per_epoch(60_000, batch_size), "the answer for 60,000 images"),
           (lambda n, b: (n / b, n % b or b), "not a whole number"),
           (lambda n, b: math.ceil(n / b), "got one int"),
           (lambda n, b: (math.ceil(n / b), n % b or b, b), "got 3 values")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["not the labels of the validation part random_split"],
    "q2": ["not the label counts of your seed-7"],
}
