"""Notebook 1's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import numpy as np
import torch
from exercise_tables import From


def images(d):
    return d[0][0]


def labels(d):
    return d[0][1]


def sevens(d, data=0):
    return (d[data][1] == 7).nonzero().flatten()[:8]


def first_positions_of_7(d):
    """A loop, as a learner who has not met .nonzero() writes it."""
    found = []
    for i, label in enumerate(labels(d).tolist()):
        if label == 7 and len(found) < 8:
            found.append(i)
    return found


def as_bytes(d):
    """What dataset.data holds: [60000, 28, 28] integers 0-255."""
    return (images(d)[:, 0] * 255).round().to(torch.uint8)


RIGHT = {
    "q1": [From(lambda d: (labels(d) == 7).sum().item()),
           From(lambda d: (labels(d) == 7).sum()),                    # a 0-d tensor
           From(lambda d: np.sum(labels(d).numpy() == 7)),            # a NumPy integer
           From(lambda d: torch.bincount(labels(d), minlength=10)[7:8]),  # a one-element tensor
           From(lambda d: float((labels(d) == 7).sum())),
           From(lambda d: labels(d).tolist().count(7))],
    "q2": [From(lambda d: images(d)[sevens(d)]),
           From(lambda d: torch.stack([images(d)[i] for i in first_positions_of_7(d)])),
           From(lambda d: images(d).numpy()[np.where(labels(d).numpy() == 7)[0][:8]]),  # a NumPy array
           From(lambda d: as_bytes(d)[sevens(d)].unsqueeze(1).double() / 255)],
    "q3": [From(lambda d: images(d).mean(dim=0)[0]),
           From(lambda d: as_bytes(d).float().mean(dim=0) / 255),
           From(lambda d: images(d).numpy()[:, 0].mean(axis=0)),
           From(lambda d: images(d).sum(dim=0).squeeze() / len(images(d))),
           From(lambda d: images(d).double().mean(dim=0).squeeze())],
}

WRONG = {
    "q1": [(From(lambda d: (d[1][1] == 7).sum().item()), "in the test set"),
           (60_000, "number of all training images"),
           (From(lambda d: torch.bincount(labels(d))), "one count per digit"),
           (From(lambda d: (labels(d) != 7).sum().item()), "NOT 7s"),
           (From(lambda d: (labels(d) == 7).float().mean().item()), "share of 7s"),
           (From(lambda d: (labels(d)[:16] == 7).sum().item()), "among the 16 images shown above"),
           ("6265", "got text"),
           (True, "a yes/no value"),
           (float("nan"), "should be a finite number"),
           (6000, "is not the number of training images labelled 7")],
    "q2": [(From(lambda d: images(d)[sevens(d)][:, 0]), "lost the channel dimension"),
           (From(lambda d: images(d)[:8]), "of every digit"),
           (From(lambda d: images(d)[(labels(d) == 7).nonzero().flatten()[1:9]]), "not the first eight 7s"),
           (From(lambda d: d[1][0][sevens(d, 1)]), "of the test set"),
           (From(lambda d: as_bytes(d)[sevens(d)].unsqueeze(1)), "go from 0 to 255"),
           (From(lambda d: [images(d)[i] for i in sevens(d)]), "stack them into one tensor"),
           (From(lambda d: images(d)[sevens(d)][:7]), "should have shape [8, 1, 28, 28]")],
    "q3": [(From(lambda d: images(d).mean(dim=0)[0] * 255), "go up to 255"),
           (From(lambda d: images(d).mean(dim=0)), "still has the channel dimension"),
           (From(lambda d: images(d).mean(dim=1)), "average over the images, the first dimension"),
           (From(lambda d: images(d).sum(dim=0)[0]), "sums over the images"),
           (From(lambda d: as_bytes(d).float().sum(dim=0)), "sums of values 0-255"),
           (From(lambda d: d[1][0].mean(dim=0)[0]), "average of the test images"),
           (From(lambda d: images(d)[:16].mean(dim=0)[0]), "only the first 16 images"),
           (From(lambda d: images(d).amax(dim=0)[0]), "not the average of all 60,000")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["is not the number of training images labelled 7"],
    "q2": ["not the first eight 7s"],
    "q3": ["not the average of all 60,000"],
}
