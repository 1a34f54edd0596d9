# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # ConvRFM: feature learning without backpropagation
#
# Chapter 7 found that a trained convolutional layer's filter covariance is close to the
# **patch-AGOP**, the average outer product of the network's gradients with respect to the image
# patches the layer reads. The patch-AGOP needs no network: any predictor that reads an image
# through its patches has one. This chapter uses it to give feature learning to a *kernel
# machine*, which by itself learns none. The recipe is the **Convolutional Recursive Feature
# Machine** (ConvRFM): fit kernel ridge regression, measure the patch-AGOP $M$ of the fitted
# predictor, let the kernel compare patches through $M$, and repeat. No gradient step is taken
# anywhere.
#
# We test it where fixed convolutional kernels are known to fail: small signals in a large field
# of noise. We then look at what $M$ learned (edge detectors), stack ConvRFMs into a deep
# model, and measure what all this costs.
#
# [![Open In Colab](../book/_static/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/08_convrfm.ipynb)

# %% tags=["hide-cell"]
# Setup: on Colab, install the book's helper package (elsewhere it is already installed).
import subprocess
import sys

if "google.colab" in sys.modules:
    package = "deepinside @ git+https://github.com/deepinside/deepinside"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": offline digits and synthetic bars, CPU; "full": MNIST, CIFAR-10, SVHN
SEED = 0  # seed of every random draw: noise, data subsets, random filters, CNN initialization
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
ITERATIONS = None  # ConvRFM iterations after the fixed kernel (None: the profile's value)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from torch import nn

from deepinside import cnfa, data, models, plotting, rfm, runtime, tasks
from deepinside.linalg import eigh_desc, sqrt_factor
from deepinside.notebook import glue, show_source
from deepinside.runtime import progress
from deepinside.training import train

plotting.setup()

# %% [markdown]
# The chapter's settings per profile: the local-signal tasks of the source (bars in noise, digits
# pasted into noise), split into train, validation and test sets of the sizes given. `quick`
# halves the digits (14×14 in a 21×21 frame, as 28 in 42); `full` keeps them whole and adds
# CIFAR-10 and SVHN subsets.

# %%
SETTINGS = {
    "quick": {"bars_sizes": {"train": 1000, "val": 500, "test": 1000},
              "bars_noise": [0.5, 1.0, 2.0, 3.0], "digits": "mnist5k",
              "digits_sizes": {"train": 1500, "val": 500, "test": 1000}, "pool": 2, "frame": 21,
              "digits_noise": [0.0, 0.25, 0.5], "q": 3, "bandwidth": 1.0, "iterations": 3,
              "agop_images": 100, "width": 8, "layers": 2, "cnn_epochs": 20, "cnn_lr": 3e-3,
              "benchmarks": [], "benchmark_sizes": {"train": 0, "val": 0, "test": 0}},
    "full": {"bars_sizes": {"train": 1000, "val": 500, "test": 1000},
             "bars_noise": [0.5, 1.0, 2.0, 3.0, 4.0], "digits": "mnist",
             "digits_sizes": {"train": 5000, "val": 1000, "test": 2000}, "pool": 1, "frame": 42,
             "digits_noise": [0.0, 0.25, 0.5, 0.75], "q": 3, "bandwidth": 1.0, "iterations": 5,
             "agop_images": 200, "width": 32, "layers": 3, "cnn_epochs": 50, "cnn_lr": 1e-3,
             "benchmarks": ["cifar10", "svhn"],
             "benchmark_sizes": {"train": 5000, "val": 1000, "test": 2000}},
}  # fmt: skip
session = runtime.start(PROFILE, SEED, DEVICE, SETTINGS, iterations=ITERATIONS)
settings, device, generator = session.settings, session.device, session.generator
kernel = rfm.PatchKernel("laplace", settings["q"], settings["bandwidth"])
print(settings)


def bars(noise: float) -> tasks.Splits:
    """Train, validation and test sets of the bars task at ``noise``."""
    return tasks.bars_splits(noise, generator, **settings["bars_sizes"])


def digits(noise: float) -> tasks.Splits:
    """Train, validation and test sets of digits pasted into noise of level ``noise``."""
    return tasks.digits_splits(
        settings["digits"],
        noise,
        generator,
        pool=settings["pool"],
        frame=settings["frame"],
        **settings["digits_sizes"],
    )


# %% [markdown]
# ## A kernel that reads patches
#
# Cut an image $x$ into its $P$ overlapping $q\times q$ patches $x_p \in \mathbb{R}^{d}$,
# $d = Cq^2$ (stride 1, no padding). A positive semi-definite $d\times d$ matrix $M$ defines a
# metric on patches, $\|x_p - z_p\|_M^2 = (x_p - z_p)^\top M (x_p - z_p)$, and with it two patch
# kernels:
#
# - the **Laplace patch kernel**, a Laplace kernel on the whole image read through its patches,
#   $$K_M(x, z) = \exp\Big(-\tfrac{1}{L}\sqrt{\tfrac{1}{P}\textstyle\sum_p \|x_p - z_p\|_M^2}\Big);$$
# - the **ReLU patch kernel**, the Gaussian-process kernel of a one-hidden-layer ReLU CNN with a
#   linear read-out, $K_M(x, z) = \frac{1}{P}\sum_p \check\phi(x_p, z_p)$ with the arc-cosine
#   kernel $\check\phi(a, b) = \frac{1}{\pi}\big(a^\top M b\,(\pi - \theta) + \sqrt{\|a\|_M^2\|b\|_M^2 -
#   (a^\top M b)^2}\big)$, $\theta$ the angle between $M^{1/2}a$ and $M^{1/2}b$.
#
# With $M = I$ both are *fixed* kernels. `rfm.metric_patches` computes $M^{1/2}x_p$ for every
# patch at once, as one convolution with the filters $\Lambda^{1/2}V^\top$ from $M$'s
# eigenvectors; nothing is unfolded. Kernel ridge regression on one-hot labels $Y$ gives the
# predictor $f(x) = \sum_i \alpha_i K_M(x_i, x)$ with $\alpha = (K + \lambda I)^{-1}Y$, after
# dividing the train kernel by its largest entry. Its patch-AGOP,
#
# $$\mathrm{AGOP}(f) = \frac{1}{n}\sum_{x}\sum_{p}\sum_{c} \nabla_{x_p} f_c(x)\,\nabla_{x_p} f_c(x)^\top,$$
#
# has closed-form gradients for both kernels. **ConvRFM** (Algorithm 1 of the source) starts
# from $M = I$ and alternates *fit* and *$M \leftarrow$ AGOP*. We rescale each new $M$ to
# trace $d$, the trace of the identity it starts from, so that a white-noise patch keeps its
# expected squared norm. The ridge $\lambda \in \{10^{-8}, 10^{-5}, 10^{-3}\}$ and the iteration
# are chosen on a validation split; the test split is only scored.
#
# The chapter uses the Laplace kernel: its kernel matrix is one matrix product of
# patch features, while the ReLU kernel needs an arc-cosine for every pair of images *and* every
# position. First a check that both kernels give positive semi-definite matrices, as a kernel must.

# %% [markdown]
# ConvRFM, from the package itself: each pass of the loop fits, scores on the validation split
# and sets $M$ to the rescaled patch-AGOP.

# %% tags=["hide-input"]
show_source(rfm.conv_rfm)

# %%
check = tasks.bars_in_noise(300, 1.0, generator)
u = rfm.metric_patches(check.x, sqrt_factor(torch.eye(settings["q"] ** 2)), settings["q"])
smallest = {}
for name in rfm.KERNELS:
    k = rfm.PatchKernel(name, settings["q"], settings["bandwidth"]).matrix(u, u)
    eigenvalues = torch.linalg.eigvalsh(k)
    smallest[name] = float(eigenvalues[0] / eigenvalues[-1])
glue("rfm_psd_worst", min(smallest.values()))
print({name: f"{value:.1e}" for name, value in smallest.items()})

# %% [markdown]
# The smallest eigenvalue relative to the largest is {glue:text}`rfm_psd_worst:.0e` at worst:
# zero up to rounding.
#
# ## Two tasks where the signal is small
#
# The source takes two tasks from the study of *local signal adaptivity*, the ability to find a
# small signal and ignore the rest of the image:
#
# - **bars**: $16\times 32$ images of Gaussian noise in which one random row is a bar of pixels
#   $\pm 1/\sqrt{32}$; the class is the bar's sign;
# - **digits in noise**: a handwritten digit pasted at a random place into a frame of Gaussian
#   noise. In the `quick` profile the 5000 offline MNIST digits are halved to $14\times 14$ and
#   the frame is $21\times 21$ (the source: $28\times 28$ digits in $42\times 42$ frames, kept in
#   `full`).
#
# The noise level is the background's standard deviation in units of the signal's pixel value.

# %%
fig, axes = plt.subplots(2, 4, figsize=(10, 4.2))
for ax, noise in zip(axes[0], settings["bars_noise"]):
    example = tasks.bars_in_noise(1, noise, generator)
    ax.imshow(example.x[0, 0], cmap="gray")
    ax.set_title(f"bars, noise {noise:g} (class {example.classes[example.y[0]]})", fontsize=9)
for ax, noise in zip(axes[1], settings["digits_noise"] + [None]):
    if noise is None:
        ax.axis("off")
        continue
    example = digits(noise).test
    ax.imshow(example.x[0, 0], cmap="gray")
    ax.set_title(f"digits, noise {noise:g} (digit {example.classes[example.y[0]]})", fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# ## Fixed kernel, ConvRFM, Deep ConvRFM and a CNN
#
# For each task and noise level we compare four models on the same train, validation and test
# splits:
#
# - the **fixed kernel** ($M = I$), the first iteration of ConvRFM;
# - **ConvRFM**, the iteration with the best validation accuracy;
# - **Deep ConvRFM** (Algorithm 2): after a ConvRFM, draw filters $W = G R$ with $G$ standard
#   normal and $R^\top R = M$ (so each filter is a sample of $\mathcal N(0, M)$), replace the
#   images by $\mathrm{ReLU}(W * x)$ and run a ConvRFM on that;
# - a **CNN of the same shape**: as many $3\times 3$ convolution layers of the same width, ReLU,
#   and a linear read-out, trained with Adam and cross-entropy; we report its last epoch.
#
# `compare_on_task` runs all four; the bars first. Choices (ridge, iteration) are made on the
# validation split.


# %%
def compare_on_task(splits: tasks.Splits, layers: int = 2) -> dict:
    """Test accuracies (%) on one task of the fixed kernel (M = I), ConvRFM, Deep ConvRFM with
    1…``layers`` feature-learning layers and a CNN of the same shape (``layers`` 3×3
    convolutions of ``width`` channels, ReLU, a linear read-out; Adam, cross-entropy, the last
    epoch's accuracy)."""
    train_set, val_set, test_set = splits
    deep = rfm.deep_conv_rfm(
        train_set,
        val_set,
        kernel,
        layers=layers,
        width=settings["width"],
        generator=generator,
        report=test_set,
        iterations=settings["iterations"],
        agop_images=settings["agop_images"],
        device=device,
    )
    c, h, w = train_set.image_shape
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
    cnn = models.cnn(
        [c] + [settings["width"]] * layers,
        (h, w),
        train_set.num_classes,
        kernel_size=settings["q"],
        stride=1,
    )
    history = train(
        cnn,
        train_set,
        test_set,
        epochs=settings["cnn_epochs"],
        lr=settings["cnn_lr"],
        optimizer="adam",
        device=device,
        desc="training the CNN",
    )
    return {
        "fixed": deep.stages[0].report_accuracy[0],
        "convrfm": deep.report_accuracy[0],
        "deep": deep.report_accuracy,
        "cnn": history[-1]["test_acc"],
    }


def sweep(task: str) -> tuple[pd.DataFrame, dict]:
    make = bars if task == "bars" else digits
    noises = settings[f"{task}_noise"]
    rows, runs = [], {}
    for noise in progress(noises, f"{task}: noise levels"):
        result = compare_on_task(make(noise), settings["layers"])
        runs[noise] = result
        rows.append(
            {
                "noise": noise,
                "fixed kernel": result["fixed"],
                "ConvRFM": result["convrfm"],
                "Deep ConvRFM": result["deep"][-1],
                "CNN": result["cnn"],
            }
        )
    return pd.DataFrame(rows).set_index("noise"), runs


bars_table, bars_runs = sweep("bars")
bars_table.round(1)

# %%
digits_table, digits_runs = sweep("digits")
digits_table.round(1)

# %%
for task, table in (("bars", bars_table), ("digits", digits_table)):
    top = table.iloc[-1]
    glue(f"rfm_{task}_top_noise", float(table.index[-1]))
    glue(f"rfm_{task}_fixed_acc", top["fixed kernel"])
    glue(f"rfm_{task}_convrfm_acc", top["ConvRFM"])
    glue(f"rfm_{task}_gain", top["ConvRFM"] - top["fixed kernel"])
    glue(f"rfm_{task}_deep_acc", top["Deep ConvRFM"])
    glue(f"rfm_{task}_cnn_acc", top["CNN"])
    glue(f"rfm_{task}_mean_gain", float((table["ConvRFM"] - table["fixed kernel"]).mean()))

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, (task, table) in zip(axes, (("bars", bars_table), ("digits in noise", digits_table))):
    long = table.reset_index().melt("noise", var_name="model", value_name="test accuracy (%)")
    sns.lineplot(long, x="noise", y="test accuracy (%)", hue="model", marker="o", ax=ax)
    ax.axhline(100 / (2 if task == "bars" else 10), color="gray", ls=":", label="chance")
    ax.set_title(task)
    ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# At the highest noise level, the fixed kernel classifies the bars at
# {glue:text}`rfm_bars_fixed_acc:.1f` % and ConvRFM at {glue:text}`rfm_bars_convrfm_acc:.1f` %
# ({glue:text}`rfm_bars_gain:.1f` points more; Deep ConvRFM {glue:text}`rfm_bars_deep_acc:.1f` %,
# the CNN {glue:text}`rfm_bars_cnn_acc:.1f` %). On the digits the gap is much wider: the fixed
# kernel is at {glue:text}`rfm_digits_fixed_acc:.1f` %, ConvRFM at
# {glue:text}`rfm_digits_convrfm_acc:.1f` % ({glue:text}`rfm_digits_gain:.1f` points more), Deep
# ConvRFM with two feature-learning layers at {glue:text}`rfm_digits_deep_acc:.1f` % and the CNN
# at {glue:text}`rfm_digits_cnn_acc:.1f` %. Averaged over the noise levels, ConvRFM adds
# {glue:text}`rfm_bars_mean_gain:.1f` points on the bars and {glue:text}`rfm_digits_mean_gain:.1f`
# on the digits.
#
# Why the fixed kernel fails: $M = I$ weighs every pixel of every patch alike, so at high noise
# the distance between two images is mostly the distance between their noise. ConvRFM learns an
# $M$ that keeps the few patch directions the labels depend on; noise in the other directions no
# longer counts. The bars gain less than the digits: a bar's sign is only certain after summing
# its whole row of 32 pixels, while a one-layer patch kernel compares rows 3 pixels at a time.
#
# ## How many feature-learning layers?
#
# Deep ConvRFM ran with {glue:text}`rfm_layers` feature-learning layers, and each layer's ConvRFM
# was scored on the test split, so the sweep also tells what the extra layer does.

# %%
depth = (
    pd.DataFrame(
        {
            (task, noise): dict(enumerate(run["deep"], 1))
            for task, runs in (("bars", bars_runs), ("digits", digits_runs))
            for noise, run in runs.items()
        }
    )
    .T.rename_axis(["task", "noise"])
    .rename(columns=lambda k: f"{k} layer(s)")
)
glue("rfm_layers", settings["layers"])
glue("rfm_deep_helps", int((depth.iloc[:, -1] > depth.iloc[:, 0]).sum()))
glue("rfm_deep_cases", len(depth))
depth.round(1)

# %% [markdown]
# The last layer beats the first in {glue:text}`rfm_deep_helps` of the
# {glue:text}`rfm_deep_cases` settings. Depth is no free lunch here: a layer keeps only
# {glue:text}`rfm_width` random filters drawn from $M$, and when $M$ has collapsed onto one or
# two directions (as it does at high noise) these filters are nearly copies of each other, so the
# next ConvRFM starts from less information than the images held. The CNN *trains* its filters
# of the same number and does not have this problem.
#
# ## What $M$ learns: edge detectors
#
# To look at the features themselves we run one ConvRFM step on the digits without noise, with
# $5\times 5$ patches so the filters have room to show a shape, and draw the top eigenvectors of
# $M$ as $5\times 5$ images.

# %%
glue("rfm_width", settings["width"])
clean = digits(0.0)
edges = rfm.conv_rfm(
    clean[0],
    clean[1],
    rfm.PatchKernel("laplace", 5, settings["bandwidth"]),
    iterations=1,
    agop_images=settings["agop_images"],
    device=device,
)
values, vectors = eigh_desc(edges.metrics[1])
filters = vectors[:8].reshape(8, 5, 5)


def orientation_coherence(f: torch.Tensor) -> float:
    """(λ₁ − λ₂)/(λ₁ + λ₂) of the structure tensor Σ ∇f ∇fᵀ: 1 for a straight edge, 0 with no
    preferred orientation."""
    gy, gx = np.gradient(f.numpy())
    tensor = np.array([[np.sum(gx * gx), np.sum(gx * gy)], [np.sum(gx * gy), np.sum(gy * gy)]])
    small, large = np.linalg.eigvalsh(tensor)
    return float((large - small) / (large + small))


stats = pd.DataFrame(
    {
        "share of trace": (values[:8] / values.sum()).numpy(),
        "cosine with constant filter": [float(f.sum().abs() / (5 * f.norm())) for f in filters],
        "orientation coherence": [orientation_coherence(f) for f in filters],
    },
    index=pd.RangeIndex(1, 9, name="eigenvector"),
)
is_edge = (stats["cosine with constant filter"] < 0.2) & (stats["orientation coherence"] > 0.5)
glue("rfm_edge_count", int(is_edge.iloc[1:5].sum()))
glue("rfm_top_constant_cos", float(stats["cosine with constant filter"].iloc[0]))
glue("rfm_edge_coherence_mean", float(stats["orientation coherence"].iloc[1:5].mean()))

fig, axes = plt.subplots(1, 8, figsize=(12, 1.9))
for i, (ax, f) in enumerate(zip(axes, filters), 1):
    ax.imshow(f, cmap="RdBu_r", vmin=-f.abs().max(), vmax=f.abs().max())
    ax.set_title(f"#{i}: {stats['share of trace'][i]:.0%}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("top eigenvectors of M (5×5), digits")
stats.round(2)

# %% [markdown]
# The top eigenvector is a local average (its cosine with the constant filter is
# {glue:text}`rfm_top_constant_cos:.2f`): it measures how much ink a patch holds. Of the next
# four, {glue:text}`rfm_edge_count` are **oriented edge detectors**: they sum to nearly zero and
# their gradients point one way (mean orientation coherence
# {glue:text}`rfm_edge_coherence_mean:.2f`, where 1 is a straight edge). These are the features
# the first layer of a CNN learns, found here by a kernel machine and one gradient *measurement*.
#
# Applied to photographs it has never seen, the map $\|M^{1/2} x_p\|$ is mostly a blurred copy
# of the photograph: the local average dominates $M$. Remove that one direction,
# $M_{\text{edges}} = M - \lambda_1 v_1 v_1^\top$, and what is left lights up along the
# photograph's edges, as the source shows for ConvRFMs trained on SVHN:

# %%
gray = data.photographs(128, ("camera", "astronaut", "coffee"), gray=True)
geometry = nn.Conv2d(1, 1, 5, bias=False)
m_full = edges.metrics[1]
m_edges = m_full - values[0] * torch.outer(vectors[0], vectors[0])
rows = {
    "photograph": gray[:, 0],
    "‖M^½ x_p‖, M learned on digits": cnfa.patch_norm_map(gray, m_full, geometry),
    "the same without the local average": cnfa.patch_norm_map(gray, m_edges, geometry),
}
fig, axes = plt.subplots(3, 3, figsize=(9, 9))
for r, (title, images) in enumerate(rows.items()):
    for i in range(3):
        axes[r, i].imshow(images[i], cmap="gray" if r == 0 else "magma")
        axes[r, i].axis("off")
    axes[r, 0].set_title(title, loc="left")
fig.tight_layout()

# %% [markdown]
# ## What it costs
#
# Each ConvRFM iteration builds an $n\times n$ kernel matrix from patch features of size
# $P\cdot r$ ($r$ the rank of $M$): time $O(n^2 P r)$ plus $O(n^3)$ for the eigendecomposition
# that solves every ridge at once, memory $O(n^2 + nPr)$. The patch-AGOP adds
# $O(n_{\mathrm{AGOP}}\, n\, P\, r\, c)$ for $n_{\mathrm{AGOP}}$ images and $c$ classes. We time one
# iteration (fit, validation, AGOP) on digits at several training-set sizes, and give the size of
# the two largest arrays, the kernel matrix (float64) and the train patch features (float32).

# %%
train_set, val_set, _ = digits(settings["digits_noise"][-1])
sizes = sorted({n for n in (250, 500, 1000) if n < len(train_set)} | {len(train_set)})
positions = (train_set.x.shape[2] - settings["q"] + 1) * (train_set.x.shape[3] - settings["q"] + 1)
cost_rows = []
for n in progress(sizes, "timing ConvRFM"):
    subset = train_set.subset(torch.arange(n))
    start = time.perf_counter()
    rfm.conv_rfm(
        subset, val_set, kernel, iterations=1, agop_images=settings["agop_images"], device=device
    )
    cost_rows.append(
        {
            "train images": n,
            "seconds": time.perf_counter() - start,
            "kernel matrix (MiB)": n * n * 8 / 2**20,
            "patch features (MiB)": n * positions * settings["q"] ** 2 * 4 / 2**20,
        }
    )
cost = pd.DataFrame(cost_rows).set_index("train images")
slope_time = float(np.polyfit(np.log(cost.index[-3:]), np.log(cost["seconds"].iloc[-3:]), 1)[0])
glue("rfm_time_exponent", slope_time)
glue("rfm_time_largest", float(cost["seconds"].iloc[-1]))
glue("rfm_memory_largest", float(cost.iloc[-1, 1:].sum()))
glue("rfm_largest_n", int(cost.index[-1]))
cost.round(2)

# %% [markdown]
# Over the largest sizes, time grows as $n^a$ with $a \approx$ {glue:text}`rfm_time_exponent:.1f`,
# between the quadratic cost of the kernel matrix and the cubic cost of the solve; with
# {glue:text}`rfm_largest_n` images one iteration takes {glue:text}`rfm_time_largest:.1f` s and
# its two largest arrays hold {glue:text}`rfm_memory_largest:.0f` MiB; both grow without bound in
# $n$ (the kernel matrix quadratically). Tens of thousands of images call
# for a GPU and iterative solvers; a CNN's cost instead grows linearly with $n$.
#
# ## Natural images (`full` profile)
#
# The `full` profile repeats the comparison on subsets of CIFAR-10 and SVHN
# (`settings["benchmarks"]`); the `quick` profile, offline, skips it.

# %%
benchmark_rows = []
for name in settings["benchmarks"]:
    splits = tasks.benchmark_splits(name, generator, **settings["benchmark_sizes"])
    result = compare_on_task(splits, settings["layers"])
    benchmark_rows.append(
        {
            "dataset": name,
            "fixed kernel": result["fixed"],
            "ConvRFM": result["convrfm"],
            "Deep ConvRFM": result["deep"][-1],
            "CNN": result["cnn"],
        }
    )
pd.DataFrame(benchmark_rows).round(1) if benchmark_rows else print("quick profile: skipped")

# %% [markdown]
# ## What we learned
#
# - The patch-AGOP of a kernel predictor plays the role the filter covariance plays in a CNN.
#   Feeding it back into the kernel's metric, ConvRFM learns features with no backpropagation.
# - On small signals in noise, the learned metric ignores the noise directions. ConvRFM beats the
#   fixed kernel by {glue:text}`rfm_digits_gain:.0f` points on the noisiest digits and by
#   {glue:text}`rfm_bars_gain:.0f` on the noisiest bars.
# - After the local average, the top eigenvectors of $M$ are oriented edge detectors, and they
#   find edges in photographs.
# - Deep ConvRFM stacks random filters drawn from $M$. Here depth helps only when the drawn
#   filters keep enough information; a CNN of the same width trains its filters instead.
# - The price is the kernel matrix: time between $n^2$ and $n^3$, memory $n^2$.
#
# ## Exercises
#
# **1. The ReLU patch kernel.** Run one ConvRFM iteration with `rfm.PatchKernel("relu", 3)` on
# the bars at noise 2 and compare with the Laplace kernel. Which is slower, and why?

# %% tags=["hide-input"]
# Solution
bars_splits = bars(2.0)
for name in rfm.KERNELS:
    start = time.perf_counter()
    run = rfm.conv_rfm(
        *bars_splits[:2], rfm.PatchKernel(name, 3), iterations=1, report=bars_splits[2]
    )
    seconds = time.perf_counter() - start
    print(
        f"{name:8s} fixed {run.report_accuracy[0]:.1f} %, ConvRFM "
        f"{run.report_accuracy[run.best[0]]:.1f} % test accuracy, {seconds:.1f} s"
    )
# The ReLU kernel evaluates an arc-cosine per pair of images and per position (P of them);
# the Laplace kernel only needs one matrix product of the patch features.

# %% [markdown]
# **2. Sharper metrics.** The source's code uses $M = \mathrm{AGOP}^2$ by default. Try
# `power=2` in `rfm.conv_rfm` on the noisiest digits. What happens to $M$'s spectrum?

# %% tags=["hide-input"]
# Solution
noisy = digits(settings["digits_noise"][-1])
for power in (1, 2):
    run = rfm.conv_rfm(*noisy[:2], kernel, iterations=2, power=power, report=noisy[2])
    top = torch.linalg.eigvalsh(run.metrics[-1]).flip(0)
    print(
        f"power {power}: test {run.report_accuracy[run.best[0]]:.1f} %, "
        f"top eigenvalue holds {float(top[0] / top.sum()):.0%} of the trace"
    )
# Squaring concentrates M on its top directions faster; whether that helps depends on how
# many directions the task needs.

# %% [markdown]
# ## References
#
# - ConvRFM and Deep ConvRFM (Algorithms 1 and 2, appendix B): {footcite:t}`beaglehole2023cnfa`.
# - Recursive feature machines (RFM): {footcite:t}`radhakrishnan2024rfm`.
# - The bars and digits tasks of local signal adaptivity: {footcite:t}`karp2021local`.
# - Arc-cosine kernels: {footcite:t}`cho2009kernel`.
#
# ```{footbibliography}
# ```
