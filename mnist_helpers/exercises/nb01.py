"""Exercises of notebook 1: counting and looking at the images of one digit, the average image."""

from __future__ import annotations

import math

import torch

from ..data import to_float
from . import Exercise, Wrong, as_float64_tensor, as_number, close, explain, mnist, shape_of


def average(pixels: torch.Tensor) -> torch.Tensor:
    """The average of ``[N, 1, 28, 28]`` uint8 pixels as one float32 28x28 image in [0, 1], without a float copy."""
    return torch.from_numpy(pixels.numpy().mean(axis=(0, 1), dtype="float64") / 255).float()


def _count_of_sevens(answer) -> str:
    (_, labels), (_, test_labels) = mnist(), mnist(train=False)
    truth = int((labels == 7).sum())
    if math.prod(shape_of(answer)) == 10:
        raise Wrong("that is ten numbers, one count per digit: give only the count of 7s", "counts-per-digit")
    count = as_number(answer, "the count of 7s")
    if count == truth:
        return f"{truth:,} of the 60,000 training images are 7s."
    raise explain(count, [
        (int((test_labels == 7).sum()), "test-set",
                                        f"{count:,} is the number of 7s in the test set: count them in the training "
                                        "set (dataset.targets)"),
        (len(labels), "all-images", f"{count:,} is the number of all training images: count only those labelled 7"),
        (len(labels) - truth, "not-sevens", f"{count:,} is the number of training images that are NOT 7s"),
        (truth / len(labels), "share-not-count",
                              f"{count:.4f} is the share of 7s, a fraction: the task asks how many images"),
        (int((labels[:16] == 7).sum()), "shown-images-only",
                                        f"{count:,} counts the 7s among the 16 images shown above: count all 60,000 "
                                        "labels in dataset.targets"),
    ], f"{count:,} is not the number of training images labelled 7")


def _first_sevens(answer) -> str:
    (pixels, labels), (test_pixels, test_labels) = mnist(), mnist(train=False)
    sevens = (labels == 7).nonzero().flatten()[:8]
    truth = to_float(pixels[sevens])
    if isinstance(answer, (list, tuple)):
        raise Wrong(f"that is a {type(answer).__name__} of images: stack them into one tensor (torch.stack)",
                    "list-not-stacked")
    shape = shape_of(answer)  # judged before as_float64_tensor copies the answer
    if shape == (8, 28, 28):
        raise Wrong("shape [8, 28, 28] has lost the channel dimension: keep it, [8, 1, 28, 28], as ToTensor gives",
                    "no-channel")
    if shape != (8, 1, 28, 28):
        raise Wrong(f"the answer should have shape [8, 1, 28, 28] (8 images as ToTensor gives them), got "
                    f"{list(shape)}", "wrong-shape")
    got = as_float64_tensor(answer, "first_sevens")
    if close(got, truth * 255):
        raise Wrong("these values go from 0 to 255: ToTensor gives floats from 0 to 1 (take the images through "
                    "the dataset, dataset[i][0], or divide by 255)", "not-scaled")
    if close(got, truth, 1e-6):
        return f"the first eight 7s are training images {sevens.tolist()}."
    raise explain(got, [
        (to_float(pixels[:8]), "not-filtered",
                     "these are the first eight training images, of every digit: pick the ones labelled 7"),
        (to_float(test_pixels[(test_labels == 7).nonzero().flatten()[:8]]), "test-set",
                                                                  "these are the first eight 7s of the test set: "
                                                                   "take them from the training set"),
    ], "these are not the first eight 7s of the training set, in order", same=lambda a, b: close(a, b, 1e-6))


def _average_image(answer) -> str:
    (pixels, _), (test_pixels, _) = mnist(), mnist(train=False)
    truth = average(pixels)
    shape = shape_of(answer)  # judged before as_float64_tensor copies the answer
    if shape == (1, 28, 28):
        raise Wrong("shape [1, 28, 28] still has the channel dimension, and plt.imshow cannot draw it: make it 28x28",
                    "channel-kept")
    if shape != (28, 28):
        raise Wrong(f"the average image is one 28x28 image; got shape {list(shape)}: average over the images, "
                    "the first dimension (dim=0)", "wrong-dimension")
    got = as_float64_tensor(answer, "mean_image")
    if close(got, truth, 1e-4):
        return "a blurry blob where most digits have ink, brightest in the middle."
    raise explain(got, [
        (truth * 255, "not-scaled", "its values go up to 255: bring them to 0-1 by dividing by 255 (ToTensor's scale)"),
        (truth * len(pixels), "sum-not-mean",
                              "these are sums over the images, not averages: divide by the number of images"),
        (truth * len(pixels) * 255, "sum-not-scaled",
                                    "these are sums of values 0-255: divide by the number of images, and by 255"),
        (average(test_pixels), "test-set",
                                     "this is the average of the test images: average the 60,000 training images"),
        (average(pixels[:16]), "shown-images-only",
                                     "this is the average of only the first 16 images: average all 60,000"),
    ], "this is not the average of all 60,000 training images", same=lambda a, b: close(a, b, 1e-4))


q1 = Exercise(judge=_count_of_sevens, hint="the section 'Picking the images of one digit' counts the 3s: do the same "
              "for 7 (or read it off the counts per digit above). The check wants a plain number: a one-element tensor "
              "becomes one with .item().", answer="sevens", mistakes={
    "counts-per-digit": "They printed every digit's count: show how to pick one entry, or count with labels == 7.",
    "test-set": "Recall the two sets, train=True and train=False: exercises count in the training set.",
    "all-images": "Show that (labels == 7) is a mask: summing it counts the True entries, not all of them.",
    "not-sevens": "The comparison is the wrong way round (!= instead of ==): read the mask aloud.",
    "share-not-count": "They took the mean of the mask: sum counts, mean gives the share.",
    "shown-images-only": "They counted the grid's 16 labels: count all of dataset.targets.",
})
q2 = Exercise(judge=_first_sevens,
              hint="the same section finds the positions of the 3s: find those of the 7s and keep the "
              "first eight, in order; then build one tensor from their images, as the grid of 16 images was built.",
              answer="first_sevens", mistakes={
    "list-not-stacked": "A list of images is not a batch: show torch.stack making one tensor with a new first "
                        "dimension.",
    "no-channel": "They indexed dataset.data (no channel): ToTensor's images are [1, 28, 28]; show unsqueeze or the "
                  "dataset.",
    "wrong-shape": "Ask them to print the shape before checking: a batch of 8 images is [8, 1, 28, 28].",
    "not-scaled": "dataset.data holds 0-255 integers, ToTensor gives 0-1 floats: show both on one pixel.",
    "not-filtered": "They took images[:8]: find the positions of the 7s first, then pick those.",
    "test-set": "Recall train=True and train=False: this exercise picks from the training set.",
})
q3 = Exercise(judge=_average_image,
              hint="average along the first dimension, the one that counts the images, as the section "
              "above did for 16 images. dataset.data holds integers 0-255 in a [60000, 28, 28] tensor: make them "
              "floats first, and bring the result to 0-1.", answer="mean_image", mistakes={
    "channel-kept": "plt.imshow needs [28, 28]: show [0] or squeeze on the mean.",
    "wrong-dimension": "They averaged along another dimension: the images are counted by dim=0.",
    "not-scaled": "The mean of 0-255 values: divide by 255 to get ToTensor's 0-1 scale.",
    "sum-not-mean": "sum adds, mean divides by the count too: compare the two on three numbers.",
    "sum-not-scaled": "Two steps are missing, dividing by the count and by 255: do them one at a time.",
    "test-set": "Recall train=True and train=False: average the training set.",
    "shown-images-only": "They averaged the grid's batch: average all 60,000.",
})
