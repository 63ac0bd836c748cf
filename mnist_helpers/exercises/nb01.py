"""Exercises of notebook 1: counting and looking at the images of one digit, the average image."""

from __future__ import annotations

import torch

from . import Exercise, Wrong, close, explain, mnist, number, numbers_in


def _how_many(answer) -> int:
    """How many numbers ``answer`` holds, if it is a tensor, an array, a list or a tuple (else 1)."""
    if isinstance(answer, torch.Tensor):
        return answer.numel()
    return len(answer) if isinstance(answer, (list, tuple)) else getattr(answer, "size", 1)


def _count_of_sevens(answer) -> str:
    (_, labels), (_, test_labels) = mnist(), mnist(train=False)
    truth = int((labels == 7).sum())
    if _how_many(answer) == 10:
        raise Wrong("that is ten numbers, one count per digit: give only the count of 7s")
    count = number(answer, "the count of 7s")
    if count == truth:
        return f"{truth:,} of the 60,000 training images are 7s."
    raise explain(count, [
        (int((test_labels == 7).sum()), f"{count:,} is the number of 7s in the test set: count them in the training "
                                        "set (dataset.targets)"),
        (len(labels), f"{count:,} is the number of all training images: count only those labelled 7"),
        (len(labels) - truth, f"{count:,} is the number of training images that are NOT 7s"),
        (truth / len(labels), f"{count:.4f} is the share of 7s, a fraction: the task asks how many images"),
        (int((labels[:16] == 7).sum()), f"{count:,} counts the 7s among the 16 images shown above: count all 60,000 "
                                        "labels in dataset.targets"),
    ], f"{count:,} is not the number of training images labelled 7")


def _first_sevens(answer) -> str:
    (images, labels), (test_images, test_labels) = mnist(), mnist(train=False)
    sevens = (labels == 7).nonzero().flatten()[:8]
    if isinstance(answer, (list, tuple)):
        raise Wrong(f"that is a {type(answer).__name__} of images: stack them into one tensor (torch.stack)")
    got = numbers_in(answer, "first_sevens")
    if got.shape == (8, 28, 28):
        raise Wrong("shape [8, 28, 28] has lost the channel dimension: keep it, [8, 1, 28, 28], as ToTensor gives")
    if got.shape != (8, 1, 28, 28):
        raise Wrong(f"the answer should have shape [8, 1, 28, 28] (8 images as ToTensor gives them), got "
                    f"{list(got.shape)}")
    if close(got, images[sevens] * 255):
        raise Wrong("these values go from 0 to 255: ToTensor gives floats from 0 to 1 (take the images through "
                    "the dataset, dataset[i][0], or divide by 255)")
    if close(got, images[sevens], 1e-6):
        return f"the first eight 7s are training images {sevens.tolist()}."
    raise explain(got, [
        (images[:8], "these are the first eight training images, of every digit: pick the ones labelled 7"),
        (test_images[(test_labels == 7).nonzero().flatten()[:8]], "these are the first eight 7s of the test set: "
                                                                   "take them from the training set"),
    ], "these are not the first eight 7s of the training set, in order", same=lambda a, b: close(a, b, 1e-6))


def _average_image(answer) -> str:
    (images, _), (test_images, _) = mnist(), mnist(train=False)
    truth = images.mean(dim=0)[0]
    got = numbers_in(answer, "mean_image")
    if got.shape == (1, 28, 28):
        raise Wrong("shape [1, 28, 28] still has the channel dimension, and plt.imshow cannot draw it: make it 28x28")
    if got.shape != (28, 28):
        raise Wrong(f"the average image is one 28x28 image; got shape {list(got.shape)}: average over the images, "
                    "the first dimension (dim=0)")
    if close(got, truth, 1e-4):
        return "a blurry blob where most digits have ink, brightest in the middle."
    raise explain(got, [
        (truth * 255, "its values go up to 255: bring them to 0-1 by dividing by 255 (ToTensor's scale)"),
        (truth * len(images), "these are sums over the images, not averages: divide by the number of images"),
        (truth * len(images) * 255, "these are sums of values 0-255: divide by the number of images, and by 255"),
        (test_images.mean(dim=0)[0], "this is the average of the test images: average the 60,000 training images"),
        (images[:16].mean(dim=0)[0], "this is the average of only the first 16 images: average all 60,000"),
    ], "this is not the average of all 60,000 training images", same=lambda a, b: close(a, b, 1e-4))


q1 = Exercise("q1", _count_of_sevens, "the section 'Picking the images of one digit' counts the 3s: do the same "
              "for 7 (or read it off the counts per digit above). The check wants a plain number: a one-element tensor "
              "becomes one with .item().", "sevens")
q2 = Exercise("q2", _first_sevens, "the same section finds the positions of the 3s: find those of the 7s and keep the "
              "first eight, in order; then build one tensor from their images, as the grid of 16 images was built.",
              "first_sevens")
q3 = Exercise("q3", _average_image, "average along the first dimension, the one that counts the images, as the section "
              "above did for 16 images. dataset.data holds integers 0-255 in a [60000, 28, 28] tensor: make them "
              "floats first, and bring the result to 0-1.", "mean_image")
