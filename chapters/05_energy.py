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
# two architectures, trained with true or random labels, learn directions roughly in the order of
# their patch energy; this chapter checks how much more than that order they share, against
# shuffled controls. A linear theory predicts the shape: gradient descent first picks up the
# strongest patch directions (like PCA), then moves toward equalizing them (whitening).
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/05_energy.ipynb)

# %% tags=["hide-cell"]
# @title Setup: in Colab, install the book's helper package `deepinside`
import sys

if "google.colab" in sys.modules:  # elsewhere the package is installed with the book
    import subprocess
    import tempfile
    from importlib import metadata, util

    REPOSITORY, RELEASE = "https://github.com/deepinside/deepinside", "v0.1.0"
    if util.find_spec("deepinside") is None:
        installed = {d.metadata["Name"].lower(): d.version for d in metadata.distributions()}
        keep = [f"{name}=={installed[name]}" for name in ("numpy", "torch", "torchvision", "scipy", "pandas", "matplotlib") if name in installed]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
            constraints.write("\n".join(keep))
        package = f"deepinside @ git+{REPOSITORY}@{RELEASE}"
        pip = [sys.executable, "-m", "pip", "install", "-q", "-c", constraints.name, package]
        if subprocess.run(pip).returncode != 0:
            raise RuntimeError(
                f"Could not install {package}. Without access to {REPOSITORY}, install the "
                "package another way and run this cell again: upload a wheel and "
                "`pip install deepinside-*.whl`, or in a clone of the repository "
                "`pip install -e .` (a local path works too: `pip install /path/to/clone`)."
            )

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
# The chapter's settings per profile. `quick` shares Chapter 4's VGG networks (Adam); `full`
# follows the source's recipe: VGG-11 and ResNet20 on CIFAR-10, SGD without momentum at learning
# rate 0.01, batch 256, 30 epochs (100 with random labels).
SETTINGS = {
    "quick": {"config": setups.VGG_QUICK, "reference_dataset": "photos", "epochs": 8,
              "random_label_epochs": 8, "optimizer": "adam", "momentum": 0.0, "lr": 1e-3,
              "batch_size": 128,
              "resnet": {"widths": [16, 32, 64, 128], "blocks": [1, 1, 1, 1], "stem_pool": True},
              "linear_images": 500, "linear_filters": 8, "linear_steps": 1000,
              "linear_checkpoints": [3, 10, 30, 100, 300, 1000]},
    "full": {"config": setups.VGG11, "reference_dataset": "cifar10", "epochs": 30,
             "random_label_epochs": 100, "optimizer": "sgd", "momentum": 0.0, "lr": 0.01,
             "batch_size": 256,
             "resnet": {"widths": [16, 32, 64], "blocks": [3, 3, 3], "stem_pool": False},
             "linear_images": 2000, "linear_filters": 16, "linear_steps": 3000,
             "linear_checkpoints": [3, 10, 30, 100, 300, 1000, 3000]},
}  # fmt: skip
session = runtime.start(PROFILE, SEED, DEVICE, SETTINGS, epochs=EPOCHS)
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
# $$\lambda_i^2 = \frac1N\sum_n (p_n^\top u_i)^2$$ (eq-patch-spectrum)
#
# is the patch energy along $u_i$: $\lambda_i$ is the typical size of a patch's component along
# $u_i$ (uncentered; the per-channel standardization makes the mean patch nearly zero).

# %%
lambdas, basis = energy.patch_pca(energy.patch_moment(train_set.x, 3))

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(np.arange(1, len(lambdas) + 1), lambdas, "o-", ms=3)
ax.set(xlabel="principal direction i", ylabel=r"$\lambda_i$", title=f"patch energy ({dataset})")
plt.show()

shown = 12
tiles = basis[:shown].reshape(shown, 3, 3, 3)
low, high = tiles.amin(dim=(1, 2, 3), keepdim=True), tiles.amax(dim=(1, 2, 3), keepdim=True)
tiles = (tiles - low) / (high - low)  # each direction stretched to [0, 1] for display
fig, axes = plt.subplots(2, shown // 2, figsize=(10, 3.8))
for i, (ax, tile) in enumerate(zip(axes.flat, tiles), start=1):
    ax.imshow(tile.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_title(f"$u_{{{i}}}$", fontsize=10)
    ax.set_xticks([]), ax.set_yticks([])
fig.suptitle(f"the first {shown} principal directions as 3×3 colour patches", y=1.0)
plt.tight_layout()
plt.show()

# %%
glue("energy_lambda_ratio", (lambdas[0] / lambdas[-1]).item())
# %% [markdown]
# The energies span a factor {glue:text}`energy_lambda_ratio:.0f` from the first direction (the
# patch's mean brightness) to the last. In the tiles above, the next ones look like smooth
# gradients and colour contrasts and the later ones like ever finer checkerboards: for natural
# patches, ordering by energy roughly orders by spatial frequency (read from the pictures, not
# measured here).
#
# ## Energy profiles of trained first layers
#
# For the $F$ filters $w_f$ of a first layer, with their initial values $w_f^0$ subtracted so that
# only what training added is measured, the **energy profile** is
#
# $$e_i = \sqrt{\frac1F\sum_f \big((w_f - w_f^0)^\top u_i\big)^2},$$ (eq-energy-profile)
#
# divided by its maximum (`energy.energy_profile`). We measure it for two architectures trained on
# the same images, each with the true labels and with randomly permuted labels: the VGG-type
# network of [Chapter 4](04_spatial.ipynb) with $3\times 3$ filters, and a small ResNet (its first
# layer is also a $3\times 3$ convolution). Each of the four trains from its own seed
# (initialization, batch order, label permutation), so that no two share anything but the images.

# %% [markdown]
# The energy profile, from the package itself:

# %% tags=["hide-input"]
# @title The code of `energy.energy_profile`
show_source(energy.energy_profile)


# %%
def first_conv(model):
    return next(iter(models.conv_layers(model).values())).weight.detach().cpu()


test_set = data.load(dataset, "test")
seeds = {"VGG, true labels": SEED, "VGG, random labels": SEED + 1000,
         "ResNet, true labels": SEED + 2000, "ResNet, random labels": SEED + 3000}  # fmt: skip
random_train = tasks.with_random_labels(
    train_set, torch.Generator().manual_seed(seeds["ResNet, random labels"])
)
random_epochs = settings["random_label_epochs"] if EPOCHS is None else EPOCHS
random_settings = {**settings, "epochs": random_epochs}
fit, resnet = setups.fit_arguments(settings), settings["resnet"]


def train_resnet(images, epochs, seed):
    return setups.train_resnet(
        dataset, resnet["widths"], images, test_set, epochs, seed, device,
        resnet["blocks"], resnet["stem_pool"], fit,
    )  # fmt: skip


nets = {
    "VGG, true labels": setups.vgg_network(settings, dataset, 3, SEED, device=device),
    "VGG, random labels": setups.vgg_network(
        random_settings, dataset, 3, seeds["VGG, random labels"], True, device
    ),
    "ResNet, true labels": train_resnet(
        train_set, settings["epochs"], seeds["ResNet, true labels"]
    ),
    "ResNet, random labels": train_resnet(
        random_train, random_epochs, seeds["ResNet, random labels"]
    ),
}
COLORS = {label: f"C{i}" for i, label in enumerate(nets)}  # one colour per network throughout
profiles = {
    label: energy.energy_profile(first_conv(net.model), first_conv(net.initial), basis)
    for label, net in nets.items()
}
fits = {label: energy.fit_profile(lambdas, e) for label, e in profiles.items()}

index = np.arange(1, len(lambdas) + 1)

# %%
# Figure fig-energy-profiles: First-layer energy profiles of the four networks (left), and the formula fitted to each (right).
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for label, e in profiles.items():
    style = "--" if "random" in label else "-"
    axes[0].plot(index, e, style, marker="o", ms=3, color=COLORS[label], label=label)
axes[0].set(
    xlabel="principal direction i",
    ylabel="energy $e_i$ (max = 1)",
    title="first-layer energy profiles",
)
axes[0].legend(fontsize=8)
for label, e in profiles.items():
    s, corr = fits[label]
    axes[1].plot(index, e, "o", ms=3, color=COLORS[label])
    axes[1].plot(
        index,
        energy.whitening_profile(lambdas, s),
        "-",
        color=COLORS[label],
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
            "seed": seeds[label],
            "test accuracy (%)": net.mean_test_accuracy(),
            "train accuracy (%)": net.history[-1]["train_acc"],
            "peak at direction": int(profiles[label].argmax()) + 1,
            "fitted s": fits[label][0],
            "formula correlation": fits[label][1],
        }
        for label, net in nets.items()
    ]
).set_index("network")

# %%
glue("energy_formula_corr", float(table["formula correlation"].mean()))
glue("energy_formula_corr_min", float(table["formula correlation"].min()))
for label in nets:
    key = label.lower().replace(", ", "_").replace(" labels", "")
    glue(f"energy_peak_{key}", int(table.loc[label, "peak at direction"]))
glue("energy_peak_max", int(table["peak at direction"].max()))
random_fit = {
    arch: table.loc[f"{arch}, random labels", "train accuracy (%)"] for arch in ("VGG", "ResNet")
}
memorized = [arch for arch, acc in random_fit.items() if acc > 200 / train_set.num_classes]
glue("energy_random_train_acc_vgg", random_fit["VGG"])
glue("energy_random_train_acc_resnet", random_fit["ResNet"])
glue(
    "energy_random_memorized",
    "both have memorized part of them."
    if len(memorized) == 2
    else "neither has memorized them: for these networks random labels are a task with nothing "
    "to learn."
    if not memorized
    else f"the {memorized[0]} has memorized part of them, the other has not.",
)
glue_all(
    "energy",
    optimizer={"adam": "Adam", "sgd": "SGD"}[settings["optimizer"]],
    lr=settings["lr"],
    batch=settings["batch_size"],
    epochs=settings["epochs"],
    random_label_epochs=random_epochs,
    resnet_depth=2 * sum(resnet["blocks"]) + 2,
)
source_recipe = {  # what the source's peak positions were measured with
    "data": dataset == "cifar10",
    "architecture": settings["config"] == setups.VGG11,
    "optimizer": settings["optimizer"] == "sgd" and settings["momentum"] == 0,
    "length": settings["epochs"] == 30,
}
differs = [what for what, same in source_recipe.items() if not same]
if differs:
    listed = " and ".join([", ".join(differs[:-1]), differs[-1]] if len(differs) > 1 else differs)
    recipe_note = (
        f"The recipes differ in {listed} (next section); we have not measured which of these "
        "moves the peak, so we do not attribute it to any one of them."
    )
else:
    recipe_note = (
        "This run follows the source's recipe apart from the bias-free VGG (next section), so "
        "the two peak positions can be compared directly."
    )
glue("energy_recipe_note", recipe_note)
table.round(3)

# %% [markdown]
# <a id="claim-formula-fit"></a>
# The formula fits the four profiles with a correlation of {glue:text}`energy_formula_corr:.2f`
# on average (at least
# {glue:text}`energy_formula_corr_min:.2f`); the profiles peak at direction
# {glue:text}`energy_peak_vgg_true`, {glue:text}`energy_peak_vgg_random`,
# {glue:text}`energy_peak_resnet_true` and {glue:text}`energy_peak_resnet_random`.
#
# {numref}`fig-energy-profiles` shows the profiles and the fitted formula.
#
# **What a high correlation proves here.** Little, on its own. Any decreasing profile correlates
# with some curve of this one-parameter family, and a profile that peaks at direction 1 dominates
# a Pearson correlation. Two controls, measured on the same data:
#
# - a linear **ramp** from 1 to 0.05 over the {glue:text}`energy_d` directions, fitted the same
#   way, reaches r = {glue:text}`energy_ramp_fit_corr:.2f`;
# - each measured profile with its **tail permuted** (direction 1 kept, directions 2 to
#   {glue:text}`energy_d` shuffled) reaches {glue:text}`energy_permuted_fit_corr:.2f` on average
#   and {glue:text}`energy_permuted_fit_q95:.2f` at the 95th percentile, over
#   {glue:text}`energy_fit_permutations` shuffles (a hundred per profile).
#
# <a id="claim-fit-vs-controls"></a>
# The weakest measured fit {glue:text}`energy_fit_vs_permuted` the shuffled tails' 95th
# percentile, and the mean fit {glue:text}`energy_fit_vs_ramp` the ramp's. That a plain ramp
# already reaches {glue:text}`energy_ramp_fit_corr:.2f` shows how much of any such correlation
# comes from falling with $i$. The sharper test of the formula {eq}`eq-energy-prediction` is the linear CNN below, where its
# time constant is predicted, not fitted.
#
# **Comparing profiles.** For each pair of networks, three measures, each against the same pair
# with the tail of one profile permuted:
#
# - the Pearson correlation of the profiles (what the source reports);
# - the correlation of the log-profiles over directions 2 to {glue:text}`energy_d`, which a peak
#   at direction 1 cannot dominate;
# - the correlation of what is left of each log-profile after removing its linear trend in
#   $\log\lambda_i$ (directions 2 onward): the structure two profiles share *beyond* falling with
#   the patch energy.

# %%
rng = np.random.default_rng(SEED)
PERMUTATIONS = 1000
log_lambdas = np.log(lambdas.numpy())


def detrended(e):
    """log e_i (i ≥ 2) minus its least-squares line in log λ_i."""
    y, x = np.log(e[1:]), log_lambdas[1:]
    design = np.stack([np.ones_like(x), x], axis=1)
    return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]


MEASURES = {
    "Pearson": lambda a, b: np.corrcoef(a, b)[0, 1],
    "log-profiles, i ≥ 2": lambda a, b: np.corrcoef(np.log(a[1:]), np.log(b[1:]))[0, 1],
    "beyond the trend in log λ": lambda a, b: np.corrcoef(detrended(a), detrended(b))[0, 1],
}


def permuted_tail(e):
    out = e.copy()
    out[1:] = rng.permutation(e[1:])
    return out


def compare_profiles(a, b):
    """Each measure for profiles a and b, and its null (b's tail permuted): mean and q95."""
    nulls = [permuted_tail(b) for _ in range(PERMUTATIONS)]
    row = {}
    for name, measure in MEASURES.items():
        values = np.array([measure(a, n) for n in nulls])
        row |= {name: measure(a, b), f"{name} null q95": np.quantile(values, 0.95)}
    return row


np_profiles = {label: e.numpy() for label, e in profiles.items()}
pairs = {
    "VGG: true vs random labels": ("VGG, true labels", "VGG, random labels"),
    "ResNet: true vs random labels": ("ResNet, true labels", "ResNet, random labels"),
    "true labels: VGG vs ResNet": ("VGG, true labels", "ResNet, true labels"),
    "random labels: VGG vs ResNet": ("VGG, random labels", "ResNet, random labels"),
}
comparison = pd.DataFrame(
    {name: compare_profiles(np_profiles[a], np_profiles[b]) for name, (a, b) in pairs.items()}
).T
trend = {
    label: np.corrcoef(np.log(e[1:]), log_lambdas[1:])[0, 1] for label, e in np_profiles.items()
}
ramp = torch.linspace(1, 0.05, len(lambdas), dtype=torch.float64)
permuted_fits = [
    energy.fit_profile(lambdas, torch.from_numpy(permuted_tail(e)))[1]
    for e in np_profiles.values()
    for _ in range(PERMUTATIONS // 10)
]
true_vs_random = comparison.loc[list(pairs)[:2]]
beyond = "beyond the trend in log λ"
glue_all(
    "energy",
    d=len(lambdas),
    permutations=PERMUTATIONS,
    ramp_fit_corr=energy.fit_profile(lambdas, ramp)[1],
    permuted_fit_corr=float(np.mean(permuted_fits)),
    permuted_fit_q95=float(np.quantile(permuted_fits, 0.95)),
    fit_permutations=len(permuted_fits),
    true_vs_random_corr=true_vs_random["Pearson"].mean(),
    true_vs_random_corr_min=true_vs_random["Pearson"].min(),
    true_vs_random_log_corr_min=true_vs_random["log-profiles, i ≥ 2"].min(),
    log_null_q95_max=comparison["log-profiles, i ≥ 2 null q95"].max(),
    pearson_null_q95_max=comparison["Pearson null q95"].max(),
    log_corr_min=comparison["log-profiles, i ≥ 2"].min(),
    vgg_vs_resnet_corr=comparison.loc["true labels: VGG vs ResNet", "Pearson"],
    trend_corr_min=min(trend.values()),
    beyond_min=comparison[beyond].min(),
    beyond_max=comparison[beyond].max(),
    beyond_null_q95=comparison[f"{beyond} null q95"].mean(),
    beyond_pairs_above_null=int((comparison[beyond] > comparison[f"{beyond} null q95"]).sum()),
    pairs=len(pairs),
)
above = int((comparison[beyond] > comparison[f"{beyond} null q95"]).sum())
glue(
    "energy_beyond_verdict",
    "Beyond that trend they share no structure that these four profiles can detect."
    if above == 0
    else "Every pair also shares structure beyond that trend."
    if above == len(pairs)
    else f"Beyond that trend only some pairs share structure above the null "
    f"({', '.join(comparison.index[comparison[beyond] > comparison[f'{beyond} null q95']])}), "
    "so a finer shape common to all four is not established.",
)
glue(
    "energy_fit_vs_permuted",
    "exceeds"
    if table["formula correlation"].min() > np.quantile(permuted_fits, 0.95)
    else "does not exceed",
)
glue(
    "energy_fit_vs_ramp",
    "exceeds"
    if table["formula correlation"].mean() > energy.fit_profile(lambdas, ramp)[1] + 0.02
    else "does not clearly exceed",
)
comparison.round(2)

# %% [markdown]
# <a id="claim-random-memorized"></a>
# By the last epoch the random-label networks fit {glue:text}`energy_random_train_acc_vgg:.0f` %
# (VGG) and {glue:text}`energy_random_train_acc_resnet:.0f` % (ResNet) of their training labels
# (chance {glue:text}`energy_chance_acc:.0f` %): {glue:text}`energy_random_memorized`
# <a id="claim-true-vs-random"></a>True- and
# random-label profiles of the same architecture correlate at
# {glue:text}`energy_true_vs_random_corr:.2f` on average (Pearson, at least
# {glue:text}`energy_true_vs_random_corr_min:.2f`), and the VGG and ResNet profiles at
# {glue:text}`energy_vgg_vs_resnet_corr:.2f`.
# <a id="claim-shared-order"></a>On log-profiles without the first direction, every
# pair correlates at {glue:text}`energy_log_corr_min:.2f` or more, against at most
# {glue:text}`energy_log_null_q95_max:.2f` for a shuffled tail: the profiles share their order.
#
# <a id="claim-follows-energy"></a>
# That shared order is, to a large extent, the patch energy itself: each log-profile correlates
# with $\log\lambda_i$ at {glue:text}`energy_trend_corr_min:.2f` or more.
# <a id="claim-beyond-trend"></a>Remove that trend and
# the residuals of two profiles correlate at {glue:text}`energy_beyond_min:.2f` to
# {glue:text}`energy_beyond_max:.2f`; {glue:text}`energy_beyond_pairs_above_null` of the
# {glue:text}`energy_pairs` pairs exceed the 95th percentile of their shuffled null (about
# {glue:text}`energy_beyond_null_q95:.2f`). What these profiles support, then: a first layer, with
# true labels or random ones, in a VGG or a ResNet, learns directions roughly in the order of
# their patch energy. {glue:text}`energy_beyond_verdict`
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
# \;\approx\; \frac{1 - e^{-s\lambda_i^2}}{\lambda_i}, \qquad s \approx \eta t.$$ (eq-energy-prediction)
#
# Early ($s\lambda_i^2 \ll 1$) this is $s\lambda_i$: the profile follows the patch energies, like
# PCA, strongest directions first. Late it tends to $1/\lambda_i$: weak directions are amplified
# until all are equalized, a **whitening** of the input. In between, the profile peaks where
# $s\lambda_i^2 \approx 1$. `energy.whitening_profile` is the right-hand form;
# `energy.fit_profile` fits its one parameter $s$ by maximizing the Pearson correlation with a
# measured profile, as for the four networks above.
#
# **The time constant, predicted.** Write $z_{f,p}(x) = w_f^\top p_p(x)$ for the response of
# filter $f$ at position $p$ ($P$ positions, $F$ filters, $K$ outputs). With the loss
# $\frac12\,\mathbb{E}_x\|A z(x) - y(x)\|^2$, the gradient for $w_f$ is
# $\mathbb{E}_x \sum_p [A^\top (A z - y)]_{f,p}\, p_p(x)$. The read-out has i.i.d. entries of
# variance $1/(FP)$, so $A^\top A \approx \frac{K}{FP} I$, and the part of the gradient that depends on
# $w_f$ is $\frac{K}{FP} \sum_p \mathbb{E}_x[p_p p_p^\top]\, w_f = \frac{K}{F} M w_f$, with $M$ the
# patch second-moment matrix (eigenvalues $\lambda_i^2$). Along $u_i$ the step contracts by
# $1 - \eta\frac{K}{F}\lambda_i^2$, hence
#
# $$s = c\,\eta t \quad\text{with}\quad c = \frac{K}{F}$$ (eq-time-constant)
#
# ({glue:text}`energy_linear_classes` outputs and {glue:text}`energy_linear_filters` filters give
# $c =$ {glue:text}`energy_linear_c_predicted:.2f`). Below we also fit $c$ freely, as a check of
# the prediction.
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
c_predicted = train_set.num_classes / settings["linear_filters"]
per_t_predicted = {
    t: matrix_correlation(energy.whitening_profile(lin_lambdas, c_predicted * eta * t), e)
    for t, e in linear_profiles.items()
}
glue_all(
    "energy_linear",
    classes=train_set.num_classes,
    filters=settings["linear_filters"],
    c_predicted=c_predicted,
    c_ratio=c_best / c_predicted,
    cnn_corr_predicted=float(np.mean(list(per_t_predicted.values()))),
    cnn_corr_predicted_min=min(per_t_predicted.values()),
    peak_last_predicted=int(
        energy.whitening_profile(lin_lambdas, c_predicted * eta * last_t).argmax()
    )
    + 1,
    c=c_best,
    cnn_corr=float(np.mean(list(per_t.values()))),
    cnn_corr_min=min(per_t.values()),
    first_t=first_t,
    last_t=last_t,
    peak_first=int(linear_profiles[first_t].argmax()) + 1,
    peak_last=int(linear_profiles[last_t].argmax()) + 1,
    pca_first=matrix_correlation(linear_profiles[first_t], lin_lambdas),
    pca_last=matrix_correlation(linear_profiles[last_t], lin_lambdas),
)
# %% [markdown]
# <a id="claim-linear-predicted"></a>
# With the predicted $c =$ {glue:text}`energy_linear_c_predicted:.2f` and nothing fitted, the
# formula correlates with the measured profile at
# {glue:text}`energy_linear_cnn_corr_predicted:.2f` on average over the checkpoints (at least
# {glue:text}`energy_linear_cnn_corr_predicted_min:.2f`).
# <a id="claim-fitted-c"></a>Fitting $c$ freely gives
# $c =$ {glue:text}`energy_linear_c:.2f`, {glue:text}`energy_linear_c_ratio:.2f` times the
# prediction, and a mean correlation of {glue:text}`energy_linear_cnn_corr:.2f` (at least
# {glue:text}`energy_linear_cnn_corr_min:.2f`). <a id="claim-pca-to-whitening"></a>At
# $t =$ {glue:text}`energy_linear_first_t` the profile peaks at direction
# {glue:text}`energy_linear_peak_first` and correlates with $\lambda$ at
# {glue:text}`energy_linear_pca_first:.2f` (PCA-like); by $t =$ {glue:text}`energy_linear_last_t`
# the peak has moved to direction {glue:text}`energy_linear_peak_last`, the correlation with
# $\lambda$ has fallen to {glue:text}`energy_linear_pca_last:.2f`, and weak directions have
# gained on strong ones (the formula with the predicted $c$ peaks at direction
# {glue:text}`energy_linear_peak_last_predicted` at that step): the first layer is on its way to whitening the
# patches (the full $1/\lambda$ profile is the limit $t \to \infty$). Unlike the fits to the
# trained networks, this is a test: the time constant was derived, not chosen.
#
# <a id="claim-peak-position"></a>
# The trained non-linear networks above peak at direction {glue:text}`energy_peak_max` or
# earlier; the source, training
# VGG-11 with SGD for 30 epochs on CIFAR-10, found peaks around directions 4 to 8.
# {glue:text}`energy_recipe_note`
#
# ## How much does the first layer matter?
#
# If what the first layer learns is mostly set by the patch statistics, how much does learning it
# buy? We train the VGG network again from the same seed (same initialization, same batches) with
# its first convolution **frozen** at its random initialization, and compare test accuracies
# (mean of the last three epochs).

# %%
frozen = setups.train_vgg(settings, 3, train_set, test_set, SEED, device, frozen_first=True)
glue_all(
    "energy",
    frozen_first_acc=frozen.mean_test_accuracy(),
    trained_first_acc=nets["VGG, true labels"].mean_test_accuracy(),
    frozen_first_cost=nets["VGG, true labels"].mean_test_accuracy() - frozen.mean_test_accuracy(),
    chance_acc=100 / train_set.num_classes,
)
cost = nets["VGG, true labels"].mean_test_accuracy() - frozen.mean_test_accuracy()
glue(
    "energy_frozen_first_effect",
    f"costs {cost:.1f} points of accuracy"
    if cost > 0
    else f"costs nothing (the frozen network scores {-cost:.1f} points higher)",
)

# %% [markdown]
# <a id="claim-frozen-first"></a>
# With its first layer trained the network reaches {glue:text}`energy_trained_first_acc:.1f` %;
# frozen at initialization, {glue:text}`energy_frozen_first_acc:.1f` % (chance
# {glue:text}`energy_chance_acc:.0f` %): freezing {glue:text}`energy_frozen_first_effect`. For a
# rough scale of that difference, compare the spread between seeds of one recipe in
# [Chapter 4](04_spatial.ipynb) (the reference and its ceiling network; the same recipe as here
# in the `quick` profile only).
#
# ## Where this departs from the source
#
# - **Recipe.** The source trains VGG-11 and ResNet20 on CIFAR-10 with SGD (learning rate 0.01,
#   no momentum, batch 256) for 30 epochs, 100 with random labels. This run trains with
#   {glue:text}`energy_optimizer` (learning rate {glue:text}`energy_lr`, batch
#   {glue:text}`energy_batch`) for {glue:text}`energy_epochs` epochs,
#   {glue:text}`energy_random_label_epochs` with random labels: the `full` profile follows the
#   source; `quick` uses Adam and short training, as in [Chapter 4](04_spatial.ipynb).
# - **Architecture.** The VGG is bias-free. In `quick` it is narrowed (16 to 64 channels, three
#   poolings) and the ResNet is a small four-stage one with one block per stage; `full` uses
#   VGG-11 and ResNet20, whose shortcuts, where the shape changes, are 1×1 projections (the
#   source's option B). This run's ResNet has {glue:text}`energy_resnet_depth` weight layers.
# - **Data.** `quick` uses crops of ten photographs; `full` uses CIFAR-10, as the source.
#
# ## What we learned
#
# - An energy profile says how much a first layer weighs each principal direction of the image
#   patches, ordered by energy.
# - First layers of different architectures, trained with true or random labels, learn directions
#   roughly in the order of their patch energy: their log-profiles follow $\log\lambda$ (correlation
#   {glue:text}`energy_trend_corr_min:.2f` or more). Beyond that trend,
#   {glue:text}`energy_beyond_pairs_above_null` of {glue:text}`energy_pairs` pairs share structure
#   above a shuffled null.
# - A one-parameter fit to a decreasing profile is weak evidence on its own (a ramp fits at
#   {glue:text}`energy_ramp_fit_corr:.2f`, the measured profiles at
#   {glue:text}`energy_formula_corr:.2f`). The depth-2 linear CNN is the sharper test: with its time
#   constant predicted as $s = (K/F)\,\eta t$, the formula follows its profiles from PCA-like to
#   whitening at correlation {glue:text}`energy_linear_cnn_corr_predicted:.2f`, its peak moving
#   from direction {glue:text}`energy_linear_peak_first` to
#   {glue:text}`energy_linear_peak_last` (the formula's:
#   {glue:text}`energy_linear_peak_last_predicted`; near its flat top the peak position is a
#   coarse measure).
# - Freezing the first layer at initialization {glue:text}`energy_frozen_first_effect` in this
#   run, a difference to read against the spread between seeds.
#
# ## Exercises
#
# **1. True labels in the linear CNN.** Train the same linear CNN on the true labels of the same
# images. Does the formula still fit? Which directions behave differently, and why?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: per training time, the best-fit correlation and the direction of the peak
true_targets = F.one_hot(train_set.y[pick], train_set.num_classes).float()
start_true, filters_true = energy.linear_cnn_filters(
    images, true_targets, settings["linear_filters"], 300, eta, [30, 300], generator
)
for t, w in filters_true.items():
    e = energy.energy_profile(w, start_true, lin_basis)
    s, corr = energy.fit_profile(lin_lambdas, e)
    print(f"t = {t}: best-fit correlation {corr:.2f}, peak at direction {int(e.argmax()) + 1}")
# With true labels the correlation between targets and patches along u_i is no longer ∝ λ_i: the
# directions that tell the classes apart are learned first, whatever their energy, and the
# one-parameter formula describes the profile less well.

# %% [markdown]
# **2. Centering.** The patches were not centered. Subtract the mean patch before computing the
# moment matrix and compare the principal directions: which one changes?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: the |cosine| between each top direction before and after centering
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
