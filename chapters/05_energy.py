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
# # What the first layer learns, and why
#
# The first layer of a CNN is the one layer whose input basis we know: pixels. Its filters can
# be read directly, and a classic observation is that different networks learn much the same
# first layer. This chapter measures *what* they learn with one curve, the **energy profile**:
# how much the learned filters weigh each principal direction of the image patches. Networks of
# two architectures give nearly the same profile, and so does training with random labels, so it
# is not about the task. A linear theory explains the shape: gradient descent first picks up the
# strongest patch directions (like PCA), then moves toward equalizing them (whitening).
#
# [![Open In Colab](../book/_static/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/05_energy.ipynb)

# %% tags=["hide-cell"]
# Setup: on Colab, install the book's helper package (elsewhere it is already installed).
import subprocess
import sys

if "google.colab" in sys.modules:
    package = "deepinside @ git+https://github.com/deepinside/deepinside"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": offline photo crops, CPU; "full": CIFAR-10
SEED = 0  # seed of the initializations, data order, random labels and the linear CNN
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # training epochs of its four networks (None: the profile's value)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from deepinside import data, energy, models, plotting, runtime, setups, tasks
from deepinside.linalg import matrix_correlation
from deepinside.notebook import glue, glue_all, show_source
from deepinside.runtime import progress

plotting.setup()
session = runtime.start(PROFILE, SEED, DEVICE, setups.SPATIAL, epochs=EPOCHS)
settings, device, generator = session.settings, session.device, session.generator
dataset = settings["reference_dataset"]
train_set = data.load(dataset, "train")
print(settings)

# %% [markdown]
# ## The principal directions of image patches
#
# Cut every training image (standardized per channel) into all its $3\times 3$ patches
# $p_n\in\mathbb{R}^{d}$, $d = 3\cdot 3\cdot 3 = 27$. Their second-moment matrix
# $\frac1N\sum_n p_n p_n^\top$ is only $27\times 27$, so we accumulate it batch by batch and never
# hold the millions of patches at once (`energy.patch_moment`). Its eigenvectors $u_i$ are the
# principal directions of the patches, and
#
# $$\lambda_i^2 = \frac1N\sum_n (p_n^\top u_i)^2$$
#
# is the patch energy along $u_i$: $\lambda_i$ is the typical size of a patch's component along
# $u_i$ (uncentered; the per-channel standardization makes the mean patch nearly zero).

# %%
lambdas, basis = energy.patch_pca(energy.patch_moment(train_set.x, 3))

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.2), gridspec_kw={"width_ratios": [1, 1.6]})
axes[0].semilogy(np.arange(1, len(lambdas) + 1), lambdas, "o-", ms=3)
axes[0].set(
    xlabel="principal direction i", ylabel=r"$\lambda_i$", title=f"patch energy ({dataset})"
)
shown = 12
tiles = basis[:shown].reshape(shown, 3, 3, 3)
tiles = (tiles - tiles.amin(dim=(1, 2, 3), keepdim=True)) / np.ptp(tiles.numpy(), axis=(1, 2, 3))[
    :, None, None, None
]
canvas = torch.ones(3, 4, 4 * shown)
for i, tile in enumerate(tiles):
    canvas[:, :3, 4 * i : 4 * i + 3] = tile
axes[1].imshow(canvas.permute(1, 2, 0).numpy())
axes[1].set_xticks(4 * np.arange(shown) + 1, [str(i) for i in range(1, shown + 1)])
axes[1].set_yticks([])
axes[1].set_title(f"the first {shown} directions $u_i$ as 3×3 color patches")
plt.tight_layout()
plt.show()

# %%
glue("energy_lambda_ratio", (lambdas[0] / lambdas[-1]).item());

# %% [markdown]
# The energies span a factor {glue:text}`energy_lambda_ratio:.0f` from the first direction (the
# patch's mean brightness) to the last. The next ones are smooth gradients and color contrasts,
# the later ones ever finer checkerboards: principal directions of natural patches are ordered by
# spatial frequency.
#
# ## Energy profiles of trained first layers
#
# For the $F$ filters $w_f$ of a first layer, with their initial values $w_f^0$ subtracted so that
# only what training added is measured, the **energy profile** is
#
# $$e_i = \sqrt{\frac1F\sum_f \big((w_f - w_f^0)^\top u_i\big)^2},$$
#
# divided by its maximum (`energy.energy_profile`). We measure it for two architectures trained on
# the same images, each with the true labels and with randomly permuted labels: the VGG-type
# network of Chapter 4 with $3\times 3$ filters, and the small ResNet of Chapter 9 (its first
# layer is also a $3\times 3$ convolution).

# %% [markdown]
# The energy profile, from the package itself:

# %% tags=["hide-input"]
show_source(energy.energy_profile)


# %%
def first_conv(model):
    return next(iter(models.conv_layers(model).values())).weight.detach().cpu()


test_set = data.load(dataset, "test")
random_train = tasks.with_random_labels(train_set, torch.Generator().manual_seed(SEED))
nets = {
    "VGG, true labels": setups.vgg_network(settings, dataset, 3, SEED, device=device),
    "VGG, random labels": setups.vgg_network(
        settings, dataset, 3, SEED, random_labels=True, device=device
    ),
    "ResNet, true labels": setups.train_resnet(
        dataset, settings["resnet_widths"], train_set, test_set, settings["epochs"], SEED, device
    ),
    "ResNet, random labels": setups.train_resnet(
        dataset, settings["resnet_widths"], random_train, test_set, settings["epochs"], SEED, device
    ),
}
profiles = {
    label: energy.energy_profile(first_conv(net.model), first_conv(net.initial), basis)
    for label, net in nets.items()
}
fits = {label: energy.fit_profile(lambdas, e) for label, e in profiles.items()}

index = np.arange(1, len(lambdas) + 1)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for (label, e), color in zip(profiles.items(), ["C0", "C0", "C1", "C1"]):
    style = "--" if "random" in label else "-"
    axes[0].plot(index, e, style, marker="o", ms=3, color=color, label=label)
axes[0].set(
    xlabel="principal direction i",
    ylabel="energy $e_i$ (max = 1)",
    title="first-layer energy profiles",
)
axes[0].legend(fontsize=8)
for (label, e), color in zip(profiles.items(), ["C0", "C2", "C1", "C3"]):
    s, corr = fits[label]
    axes[1].plot(index, e, "o", ms=3, color=color)
    axes[1].plot(
        index,
        energy.whitening_profile(lambdas, s),
        "-",
        color=color,
        label=f"{label}: r = {corr:.2f}",
    )
axes[1].set(
    xlabel="principal direction i",
    ylabel="energy",
    title="measured (dots) and fitted formula (lines)",
)
axes[1].legend(fontsize=7)
plt.tight_layout()
plt.show()

table = pd.DataFrame(
    [
        {
            "network": label,
            "test accuracy (%)": net.test_accuracy,
            "peak at direction": int(profiles[label].argmax()) + 1,
            "fitted s": fits[label][0],
            "formula correlation": fits[label][1],
        }
        for label, net in nets.items()
    ]
)
true_vs_random = {
    arch: matrix_correlation(profiles[f"{arch}, true labels"], profiles[f"{arch}, random labels"])
    for arch in ("VGG", "ResNet")
}

# %%
glue("energy_true_vs_random_corr", float(np.mean(list(true_vs_random.values()))))
glue("energy_true_vs_random_corr_min", min(true_vs_random.values()))
glue(
    "energy_vgg_vs_resnet_corr",
    matrix_correlation(profiles["VGG, true labels"], profiles["ResNet, true labels"]),
)
glue("energy_formula_corr", float(table["formula correlation"].mean()))
glue("energy_formula_corr_min", float(table["formula correlation"].min()))
table.round(3)

# %% [markdown]
# The profile of a network trained on true labels and of the same architecture trained on random
# labels correlate at {glue:text}`energy_true_vs_random_corr:.2f` on average (at least
# {glue:text}`energy_true_vs_random_corr_min:.2f`); the VGG and ResNet profiles, at
# {glue:text}`energy_vgg_vs_resnet_corr:.2f`. Whatever shapes the first layer, it is not what the
# labels say.
#
# ## The linear theory
#
# Take the simplest network with a convolutional first layer: a **depth-2 linear CNN**,
# $f(x) = A\,\mathrm{vec}(W * x)$, trained on the squared loss by gradient descent with step
# $\eta$ from small filters. The filters' gradient is a linear function of the patches, so the
# dynamics decouple along the principal directions $u_i$, and after $t$ steps the energy along
# $u_i$ is
#
# $$e_i \;\propto\; \lambda_i\,\frac{1 - (1 - \eta\lambda_i^2)^t}{\eta\lambda_i^2}
# \;\approx\; \frac{1 - e^{-s\lambda_i^2}}{\lambda_i}, \qquad s \approx \eta t.$$
#
# Early ($s\lambda_i^2 \ll 1$) this is $s\lambda_i$: the profile follows the patch energies, like
# PCA, strongest directions first. Late it tends to $1/\lambda_i$: weak directions are amplified
# until all are equalized, a **whitening** of the input. In between, the profile peaks where
# $s\lambda_i^2 \approx 1$. `energy.whitening_profile` is the right-hand form; we fit its one
# parameter $s$ by maximizing the Pearson correlation with a measured profile
# (`energy.fit_profile`). Fitted to the four trained networks above, the formula correlates at
# {glue:text}`energy_formula_corr:.2f` on average with the measured profiles (at least
# {glue:text}`energy_formula_corr_min:.2f`), though they are non-linear and deep.
#
# Now a depth-2 linear CNN itself, where the theory should hold. The derivation assumes that the
# correlation between the targets and the patches along $u_i$ grows like $\lambda_i$; random
# targets satisfy this on average, so we train on random one-hot targets (true labels are an
# exercise). The read-out $A$ is fixed and random, the filters start at $\mathcal{N}(0, 10^{-8})$,
# the step is $\eta = 0.5/\lambda_1^2$, and the patch basis is that of the training images
# themselves.

# %%
pick = torch.randperm(len(train_set), generator=generator)[: settings["linear_images"]]
images = train_set.x[pick]
targets = F.one_hot(
    torch.randint(0, train_set.num_classes, (len(pick),), generator=generator),
    train_set.num_classes,
).float()
lin_lambdas, lin_basis = energy.patch_pca(energy.patch_moment(images, 3))
eta = 0.5 / lin_lambdas[0].item() ** 2
checkpoints = settings["linear_checkpoints"]
start, filters = energy.linear_cnn_filters(
    images,
    targets,
    settings["linear_filters"],
    settings["linear_steps"],
    eta,
    checkpoints,
    generator,
)
linear_profiles = {t: energy.energy_profile(w, start, lin_basis) for t, w in filters.items()}


def mean_corr(c):
    """Mean correlation over the checkpoints of the formula with s = c·η·t."""
    return np.mean(
        [
            matrix_correlation(energy.whitening_profile(lin_lambdas, c * eta * t), e)
            for t, e in linear_profiles.items()
        ]
    )


grid = np.logspace(-2, 2, 200)
c_best = float(grid[np.argmax([mean_corr(c) for c in progress(grid, "fitting c")])])
per_t = {
    t: matrix_correlation(energy.whitening_profile(lin_lambdas, c_best * eta * t), e)
    for t, e in linear_profiles.items()
}

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
colors = plt.cm.viridis(np.linspace(0, 0.9, len(checkpoints)))
lin_index = np.arange(1, len(lin_lambdas) + 1)
for (t, e), color in zip(linear_profiles.items(), colors):
    axes[0].plot(lin_index, e, "o", ms=3, color=color)
    axes[0].plot(
        lin_index,
        energy.whitening_profile(lin_lambdas, c_best * eta * t),
        "-",
        color=color,
        label=f"t = {t}: r = {per_t[t]:.2f}",
    )
axes[0].set(
    xlabel="principal direction i",
    ylabel="energy (max = 1)",
    title="linear CNN: measured (dots), formula with s = c·η·t (lines)",
)
axes[0].legend(fontsize=7)
axes[1].plot(
    checkpoints,
    [matrix_correlation(linear_profiles[t], lin_lambdas) for t in checkpoints],
    "o-",
    color="C0",
)
axes[1].set(xscale="log", xlabel="gradient-descent step t", title="from PCA-like to whitening")
axes[1].set_ylabel(r"correlation with $\lambda$ (PCA-like)", color="C0")
peaks = axes[1].twinx()
peaks.plot(
    checkpoints, [int(linear_profiles[t].argmax()) + 1 for t in checkpoints], "s--", color="C1"
)
peaks.set_ylabel("peak direction", color="C1")
peaks.spines["right"].set_visible(True)
plt.tight_layout()
plt.show()

first_t, last_t = checkpoints[0], checkpoints[-1]

# %%
glue_all(
    "energy_linear",
    c=c_best,
    cnn_corr=float(np.mean(list(per_t.values()))),
    cnn_corr_min=min(per_t.values()),
    first_t=first_t,
    last_t=last_t,
    peak_first=int(linear_profiles[first_t].argmax()) + 1,
    peak_last=int(linear_profiles[last_t].argmax()) + 1,
    pca_first=matrix_correlation(linear_profiles[first_t], lin_lambdas),
    pca_last=matrix_correlation(linear_profiles[last_t], lin_lambdas),
);

# %% [markdown]
# One constant $c =$ {glue:text}`energy_linear_c:.2f` in $s = c\,\eta t$ serves every checkpoint:
# the formula correlates with the measured profile at {glue:text}`energy_linear_cnn_corr:.2f` on
# average over the checkpoints (at least {glue:text}`energy_linear_cnn_corr_min:.2f`). At
# $t =$ {glue:text}`energy_linear_first_t` the profile peaks at direction
# {glue:text}`energy_linear_peak_first` and correlates with $\lambda$ at
# {glue:text}`energy_linear_pca_first:.2f` (PCA-like); by $t =$ {glue:text}`energy_linear_last_t`
# the peak has moved to direction {glue:text}`energy_linear_peak_last`, the correlation with
# $\lambda$ has fallen to {glue:text}`energy_linear_pca_last:.2f`, and weak directions have
# gained on strong ones: the first layer is on its way to whitening the patches (the full
# $1/\lambda$ profile is the limit $t \to \infty$). The trained non-linear networks above sit early on this path (small fitted $s$, peaks
# among the first directions) after their few epochs; the source, training VGG-11 for 30 epochs on
# CIFAR-10, found profiles peaking around directions 4 to 8.
#
# ## What we learned
#
# - The principal directions of image patches, ordered by energy, are ordered by spatial
#   frequency; an energy profile says how much a first layer weighs each of them.
# - Different architectures, and the same architecture with random labels, learn nearly the same
#   profile: it comes from the images and from gradient descent, not from the task.
# - A depth-2 linear CNN explains the shape in closed form: gradient descent learns strong
#   directions first (PCA-like) and moves toward equalizing all of them (whitening), with a single
#   time constant $s \approx \eta t$.
#
# ## Exercises
#
# **1. True labels in the linear CNN.** Train the same linear CNN on the true labels of the same
# images. Does the formula still fit? Which directions behave differently, and why?

# %% tags=["hide-input"]
# Solution
true_targets = F.one_hot(train_set.y[pick], train_set.num_classes).float()
start_true, filters_true = energy.linear_cnn_filters(
    images, true_targets, settings["linear_filters"], 300, eta, [30, 300], generator
)
for t, w in filters_true.items():
    e = energy.energy_profile(w, start_true, lin_basis)
    s, corr = energy.fit_profile(lin_lambdas, e)
    print(f"t = {t}: best-fit correlation {corr:.2f}, peak at direction {int(e.argmax()) + 1}")
# With true labels the correlation between targets and patches along u_i is no longer ∝ λ_i: the
# directions that tell the photographs apart are learned first, whatever their energy, and the
# one-parameter formula describes the profile less well.

# %% [markdown]
# **2. Centering.** The patches were not centered. Subtract the mean patch before computing the
# moment matrix and compare the principal directions: which one changes?

# %% tags=["hide-input"]
# Solution
total, count = torch.zeros(27, dtype=torch.float64), 0
for batch in train_set.x.split(256):
    patches = F.unfold(batch.double(), 3)
    total, count = total + patches.sum(dim=(0, 2)), count + patches.shape[0] * patches.shape[2]
mean_patch = total / count
centered = energy.patch_moment(train_set.x, 3) - torch.outer(mean_patch, mean_patch)
_, centered_basis = energy.patch_pca(centered)
print(
    "|cosine| between matched directions:",
    np.round((centered_basis[:8] * basis[:8]).sum(1).abs().numpy(), 2),
)
# Standardization leaves the mean patch nearly zero, so most directions stay; where two energies
# are close, the two directions can swap or mix, and the matched cosine drops.

# %% [markdown]
# ## References
#
# - Energy profiles and the linear theory: {footcite:t}`chowers2023firstlayer`, reproduced by
#   {footcite:t}`chadha2023reproduction`.
# - Training on random labels: {footcite:t}`zhang2021rethinking`.
#
# ```{footbibliography}
# ```
