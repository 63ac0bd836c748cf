"""Notebook 9's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view


def positions_by_conv2d(size, kernel_size, padding, stride):
    """Ask PyTorch: the width of a real convolution's output."""
    return F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel_size, kernel_size), padding=padding,
                    stride=stride).shape[-1]


def convolve_with_loops(image, kernel):
    k = kernel.shape[0]
    out = torch.zeros(image.shape[0] - k + 1, image.shape[1] - k + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i:i + k, j:j + k] * kernel).sum()
    return out


def convolve_with_unfold(image, kernel):
    k = kernel.shape[0]
    patches = image.unfold(0, k, 1).unfold(1, k, 1)  # [rows, columns, k, k]
    return (patches * kernel).sum(dim=(-2, -1))


def convolve_in_place(image, kernel):
    image -= image.mean()  # changes the learner's copy of the check's image
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


def convolve_one_short(image, kernel):
    k = kernel.shape[0]
    out = torch.zeros(image.shape[0] - k, image.shape[1] - k)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i:i + k, j:j + k] * kernel).sum()
    return out


def pool_with_loops(maps):
    channels, rows, cols = maps.shape
    out = torch.empty(channels, rows // 2, cols // 2)
    for c in range(channels):
        for i in range(rows // 2):
            for j in range(cols // 2):
                out[c, i, j] = maps[c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max()
    return out


def pool_by_reshape(maps):
    channels, rows, cols = maps.shape
    even = maps[:, : rows // 2 * 2, : cols // 2 * 2]
    return even.reshape(channels, rows // 2, 2, cols // 2, 2).amax(dim=(2, 4))


def pool_by_slices(maps):
    rows, cols = maps.shape[1] // 2 * 2, maps.shape[2] // 2 * 2
    m = maps[:, :rows, :cols]
    return torch.maximum(torch.maximum(m[:, 0::2, 0::2], m[:, 0::2, 1::2]),
                         torch.maximum(m[:, 1::2, 0::2], m[:, 1::2, 1::2]))


def pool_from_zero(maps):
    channels, rows, cols = maps.shape
    out = torch.zeros(channels, rows // 2, cols // 2)
    for i in range(rows // 2):
        for j in range(cols // 2):
            for a in range(2):
                for b in range(2):
                    out[:, i, j] = torch.maximum(out[:, i, j], maps[:, 2 * i + a, 2 * j + b])
    return out


def pool_in_place(maps):
    maps.relu_()
    return F.max_pool2d(maps, 2)


RIGHT = {
    "q1": [lambda n, k, p, s: (n + 2 * p - k) // s + 1,
           lambda n, k, p, s: math.floor((n + 2 * p - k) / s) + 1,
           positions_by_conv2d,
           lambda n, k, p, s: len(range(0, n + 2 * p - k + 1, s)),
           lambda n, k, p, s: torch.tensor(n + 2 * p - k).div(s, rounding_mode="floor") + 1,
           lambda n, k, p, s: np.int64((n + 2 * p - k) // s + 1),
           lambda n, k, p, s: float((n - k + 2 * p) // s + 1)],
    "q2": [convolve_with_loops,
           convolve_with_unfold,
           lambda image, kernel: torch.einsum("ijkl,kl->ij", image.unfold(0, len(kernel), 1).unfold(1, len(kernel), 1),
                                              kernel),
           lambda image, kernel: (sliding_window_view(image.numpy(), kernel.shape) * kernel.numpy()).sum(axis=(2, 3))],
    "q3": [pool_with_loops,
           pool_by_reshape,
           pool_by_slices,
           lambda maps: maps.unfold(1, 2, 2).unfold(2, 2, 2).amax(dim=(-2, -1)),
           lambda maps: sliding_window_view(maps.numpy(), (2, 2), axis=(1, 2))[:, ::2, ::2].max(axis=(3, 4))],
}

WRONG = {
    "q1": [(lambda n, k, p, s: (n + 2 * p - k) // s, "one position too few"),
           (lambda n, k, p, s: (n + 2 * p - k) // s + 2, "one position too many"),
           (lambda n, k, p, s: (n - k) // s + 1, "left out the padding"),
           (lambda n, k, p, s: (n + p - k) // s + 1, "added the padding once"),
           (lambda n, k, p, s: n + 2 * p - k + 1, "left out the stride"),
           (lambda n, k, p, s: math.ceil((n + 2 * p - k) / s) + 1, "rounded up"),
           (lambda n, k, p, s: (n + 2 * p) // s, "left out the filter's size"),
           (lambda n, k, p, s: n, "return the input's size"),
           (lambda n, k, p, s: (n + 2 * p - k) / s + 1, "not a whole number"),
           (lambda n, k, p, s: ((n + 2 * p - k) // s + 1,) * 2, "got a tuple"),
           (lambda n, k, p, s: (n + 2 * p - k) // s + 1 if s == 1 else (n + 2 * p - k) // s, "has more positions "
                                                                                               "in each direction"),
           (lambda n, k, p, s: print((n + 2 * p - k) // s + 1), "returned nothing")],
    "q2": [(lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0], "without `F.conv2d`"),
           (lambda image, kernel: F.conv2d(image[None, None], kernel.flip(0, 1)[None, None])[0, 0], "flipped"),
           (lambda image, kernel: F.conv2d(image[None, None], kernel.t()[None, None])[0, 0], "kernel's rows and "
                                                                                            "columns are swapped"),
           (lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0] / kernel.numel(),
            "mean of the products"),
           (lambda image, kernel: F.conv2d(image[None, None], torch.ones_like(kernel)[None, None])[0, 0],
            "add up the pixels"),
           (lambda image, kernel: F.relu(F.conv2d(image[None, None], kernel[None, None])[0, 0]), "no negative values"),
           (lambda image, kernel: F.conv2d(image[None, None], kernel[None, None]), "without the batch and channel"),
           (lambda image, kernel: F.conv2d(image[None, None], kernel[None, None], padding="same")[0, 0],
            "as large as the image"),
           (convolve_one_short, "you miss the last positions"),
           (lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0].t(),
            "its rows and columns are swapped"),
           (convolve_in_place, "changed the tensor it was given"),
           (lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0] + 1,
            "differs from what F.conv2d gives"),
           (lambda image, kernel: F.conv2d(image, kernel), "raised RuntimeError"),
           (lambda image, kernel: {"map": F.conv2d(image[None, None], kernel[None, None])}, "should be a tensor")],
    "q3": [(lambda maps: F.max_pool2d(maps, 2), "without `F.max_pool2d`"),
           (lambda maps: F.avg_pool2d(maps, 2), "average of each window"),
           (lambda maps: maps[:, ::2, ::2], "top-left one"),
           (pool_from_zero, "all negative"),
           (lambda maps: F.max_pool2d(maps, 2).amax(dim=0, keepdim=True).expand(maps.shape[0], -1, -1),
            "pooled across the channels too"),
           (lambda maps: F.max_pool2d(maps, 2, stride=1), "windows overlap"),
           (lambda maps: F.max_pool2d(maps, 2, ceil_mode=True), "odd last row or column"),
           (lambda maps: F.max_pool2d(maps, 2).transpose(1, 2), "rows and columns are swapped"),
           (lambda maps: maps.amax(dim=0), "largest value across the channels"),
           (lambda maps: F.max_pool2d(maps, 2).squeeze(0), "keep the channel dimension"),
           (lambda maps: maps.amax(dim=(1, 2)), "one value per map"),
           (lambda maps: maps.max(), "you return one number"),
           (lambda maps: F.max_pool2d(maps[None], 2), "drop the batch dimension"),
           (pool_in_place, "changed the tensor it was given"),
           (lambda maps: F.max_pool2d(maps, 2) * 2, "your values differ from max pooling's")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["has more positions in each direction"],
    "q2": ["differs from what F.conv2d gives"],
    "q3": ["your values differ from max pooling's"],
}
