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
# # Factorized networks and universal channel weights
#
# [Chapter 4](04_spatial.ipynb) found that what training adds to convolution filters is, in space, dominated by a
# blob and two gradients (mostly what smoothness alone gives). If space is that simple, we can
# stop learning it. This chapter builds **factorized networks**, whose spatial filters are frozen
# to a few such eigenvectors (pooled over the layers of one network) and
# which learn only how to mix channels, and checks how much accuracy that costs. Then it asks
# the same question of the channels: are the learned channel weights also shared between
# networks trained on different data? Channels, unlike pixels, come in an arbitrary order, so we
# first align the networks (the method of Part I) and then compare their weight covariances.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/06_factorized.ipynb)

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
PROFILE = "quick"  # "quick": offline photos (two disjoint sets) and digits, CPU; "full": CIFAR-10/100, MNIST
SEED = 0  # seed of the first network; the others use SEED + 1, SEED + 2, ...
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # training epochs of every network (None: the profile's value)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from deepinside import alignment, data, models, plotting, runtime, setups, tasks
from deepinside.covariance import (
    activation_covariances,
    bures_similarity,
    participation_ratio,
    weight_covariance,
)
from deepinside.linalg import eigh_desc
from deepinside.notebook import glue, glue_all
from deepinside.runtime import progress
from deepinside.training import TrainedModel, train, trained

plotting.setup()

# %% [markdown]
# The chapter's settings per profile. The factorized networks have the widths of the [Chapter 4](04_spatial.ipynb)
# networks and see grayscale images, so that one probe set can be fed to all of them. `quick`
# splits the ten photographs into two disjoint natural datasets of five; `full` uses CIFAR-10 and
# CIFAR-100, and MNIST for digits, padded with black from 28 to 32 pixels so that VGG-11's five
# poolings fit.

# %%
SETTINGS = {
    "quick": {"config": setups.VGG_QUICK,
              "natural": [{"dataset": "photos", "classes": [0, 2, 4, 6, 8], "name": "photos A"},
                          {"dataset": "photos", "classes": [1, 3, 5, 7, 9], "name": "photos B"}],
              "digits": "mnist5k", "digits_pad": 0, "digits_images": 2000, "filters": 3, "filter_sweep": [1, 3, 5],
              "epochs": 8, "lr": 1e-3, "batch_size": 128, "rotations": 10, "compared_layers": None},
    "full": {"config": setups.VGG11,
             "natural": [{"dataset": "cifar10", "classes": None, "name": "cifar10"},
                         {"dataset": "cifar100", "classes": None, "name": "cifar100"}],
             "digits": "mnist", "digits_pad": 2, "digits_images": 20000, "filters": 3, "filter_sweep": [1, 2, 3, 5, 9],
             "epochs": 30, "lr": 1e-3, "batch_size": 128, "rotations": 10, "compared_layers": None},
}  # fmt: skip
session = runtime.start(PROFILE, SEED, DEVICE, SETTINGS, epochs=EPOCHS)
settings, device, generator = session.settings, session.device, session.generator
M = settings["filters"]
print(settings)

# %% [markdown]
# ## The frozen spatial filters
#
# We take the $3\times 3$ network of [Chapter 4](04_spatial.ipynb) (same profile and seed, from the cache when that
# chapter ran), average the spatial covariances of the learned part of its eight layers (each
# normalized to trace 1) and keep the eigenvectors, largest first (`spatial.universal_eigenvectors`).

# %%
filters = setups.universal_filters(PROFILE, SEED, device)
fig, axes = plt.subplots(1, len(filters), figsize=(1.2 * len(filters), 1.6))
plotting.show_filters(axes, filters)
for i, ax in enumerate(axes, start=1):
    ax.set_title(f"{i}", fontsize=9)
fig.suptitle("universal spatial eigenvectors (3×3), largest first", y=1.08)
plt.show()

# %% [markdown]
# ## The factorized layer
#
# A standard layer applies one learned $3\times 3$ filter to every (input, output) pair of channels.
# A **factorized layer** splits this in two:
#
# 1. a **depthwise** convolution applies the same $m$ frozen spatial filters to every input
#    channel separately, giving $m$ maps per channel;
# 2. a ReLU;
# 3. a learned **pointwise** ($1\times 1$) convolution mixes all these maps into the output
#    channels.
#
# The ReLU sits between the two so that the spatial filters are never recombined linearly across
# channels. It would also discard the negative half of every filter's response, so we freeze each
# eigenvector together with its negative ($u$ and $-u$: $\mathrm{ReLU}(a) - \mathrm{ReLU}(-a) = a$
# keeps the full response), $2m$ maps per channel (`models.factorized`). The networks have the
# widths of [Chapter 4](04_spatial.ipynb)'s, and all are trained on grayscale images, so that the same probe images
# can later be fed to every one of them.


# %%
def factorized_data(settings: dict, generator: torch.Generator) -> dict[str, tuple]:
    """Grayscale train and test sets: the natural datasets, digits (a random subset), and the
    first natural dataset with randomly permuted labels. {name: (train, test)}."""
    sets = {}
    for natural in settings["natural"]:
        split = [data.load(natural["dataset"], s, gray=True) for s in ("train", "test")]
        classes, name = natural["classes"], natural["name"]
        sets[name] = tuple(x.with_classes(classes, name) if classes else x for x in split)
    train_set, test_set = (
        data.load(settings["digits"], s, gray=True, pad=settings["digits_pad"])
        for s in ("train", "test")
    )
    pick = torch.randperm(len(train_set), generator=generator)[: settings["digits_images"]]
    sets["digits"] = (train_set.subset(pick), test_set)
    first = settings["natural"][0]["name"]
    sets[f"{first} random labels"] = (
        tasks.with_random_labels(sets[first][0], generator),
        sets[first][1],
    )
    return sets


def factorized_network(
    filters: torch.Tensor, m: int, train_set: data.ImageSet, test_set: data.ImageSet, seed: int
) -> TrainedModel:
    """A factorized network with the top ``m`` of ``filters`` and their negatives frozen in its
    depthwise convolutions (2m per channel), trained from ``seed`` (cached when possible)."""
    arguments = {
        "config": settings["config"],
        "filters": torch.cat([filters[:m], -filters[:m]]),
        "in_channels": train_set.image_shape[0],
        "image_size": train_set.image_shape[1],
        "num_classes": train_set.num_classes,
    }
    return trained(
        f"factorized_m{m}",
        models.factorized,
        arguments,
        train_set,
        test_set,
        seed=seed,
        device=device,
        **setups.fit_arguments(settings),
    )


def learned_parameters(model: torch.nn.Module) -> int:
    """How many weights training updates (the frozen spatial filters excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


sets = factorized_data(settings, generator)
names = list(sets)
first = names[0]
train_set, test_set = sets[first]
standard = setups.train_vgg(settings, 3, train_set, test_set, SEED, device)
sweep = {
    m: factorized_network(filters, m, train_set, test_set, SEED)
    for m in progress(settings["filter_sweep"], "factorized networks")
}
accuracy = pd.DataFrame(
    [
        {
            "network": "standard 3×3",
            "spatial filters per channel": 9,
            "learned parameters": learned_parameters(standard.model),
            "test accuracy (%)": standard.mean_test_accuracy(),
        }
    ]
    + [
        {
            "network": f"factorized, m = {m}",
            "spatial filters per channel": 2 * m,
            "learned parameters": learned_parameters(net.model),
            "test accuracy (%)": net.mean_test_accuracy(),
        }
        for m, net in sweep.items()
    ]
)

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(list(sweep), [net.mean_test_accuracy() for net in sweep.values()], "o-", label="factorized")
ax.axhline(standard.mean_test_accuracy(), color="k", ls="--", label="standard 3×3")
ax.axhline(100 / train_set.num_classes, color="gray", ls=":", label="chance")
ax.set(
    xlabel="frozen eigenvectors m (each with its negative)",
    ylabel="test accuracy (%)",
    title=f"{first}: accuracy vs number of frozen spatial filters",
    xticks=list(sweep),
)
ax.legend(fontsize=8)
plt.show()

# %%
glue_all(
    "fact",
    first=first,
    second=names[1],
    standard_acc=standard.mean_test_accuracy(),
    factorized_acc=sweep[M].mean_test_accuracy(),
    acc_ratio=sweep[M].mean_test_accuracy() / standard.mean_test_accuracy(),
    m=M,
    smallest_m=min(sweep),
    smallest_m_acc=sweep[min(sweep)].mean_test_accuracy(),
    better_word="higher than"
    if sweep[M].mean_test_accuracy() > standard.mean_test_accuracy()
    else "lower than",
)
accuracy.round(1)

# %% [markdown]
# Accuracies are the mean over the last three epochs (the test accuracy of a single epoch
# fluctuates, by several points on the `quick` profile's small test sets).
# <a id="claim-factorized-accuracy"></a>On {glue:text}`fact_first`, the standard network reaches
# {glue:text}`fact_standard_acc:.1f` % and the factorized network with $m =$
# {glue:text}`fact_m` frozen eigenvectors {glue:text}`fact_factorized_acc:.1f` %, a ratio of
# {glue:text}`fact_acc_ratio:.2f`: in this run the factorized network scores
# {glue:text}`fact_better_word` the standard one, with fewer learned parameters. With
# $m =$ {glue:text}`fact_smallest_m`, the blob alone, it gives
# {glue:text}`fact_smallest_m_acc:.1f` %. These are single runs: read differences no larger than
# the spread between two seeds of one recipe as ties ([Chapter 4](04_spatial.ipynb)'s reference
# and ceiling networks; here, the two seeds on {glue:text}`fact_first` below differ by
# {glue:text}`fact_seed_spread:.1f` points).
# <a id="claim-sweep-spread"></a>What the sweep does
# show is that frozen spatial filters lose nothing beyond that spread here.
#
# ## Comparing channel weights across networks
#
# Now train factorized networks ($m =$ {glue:text}`fact_m`) on different data and from different
# seeds:

# %%
runs = {f"{first}, seed {SEED}": (first, SEED)}
runs[f"{first}, seed {SEED + 1}"] = (first, SEED + 1)
for offset, name in enumerate(names[1:], start=2):
    runs[f"{name}, seed {SEED + offset}"] = (name, SEED + offset)
nets = {
    label: (
        sweep[M]
        if (name, seed) == (first, SEED)
        else factorized_network(filters, M, *sets[name], seed)
    )
    for label, (name, seed) in progress(list(runs.items()), "factorized networks")
}
seed_pair = [nets[label].mean_test_accuracy() for label in list(runs)[:2]]  # two seeds, `first`
glue("fact_seed_spread", abs(seed_pair[0] - seed_pair[1]))
pd.DataFrame(
    [
        {
            "network": label,
            "test accuracy (%)": net.mean_test_accuracy(),
            "chance (%)": 100 / sets[runs[label][0]][0].num_classes,
        }
        for label, net in nets.items()
    ]
).round(1)

# %% [markdown]
# The learned weights of layer $\ell$ form a matrix $W_\ell$ (output channels × input maps); as in
# Chapters [4](04_spatial.ipynb) and [5](05_energy.ipynb) we keep the learned part $W_\ell - W_\ell^0$, whose **channel-weight
# covariance** is $C_\ell = \frac1{n}(W_\ell - W_\ell^0)^\top(W_\ell - W_\ell^0)$. Its rows and
# columns are indexed by the layer's input maps, the hidden representation $\phi_\ell(x)$ after the
# depthwise convolution and ReLU. Two networks order those maps arbitrarily, so before comparing
# $C_\ell$ we **align** the representations as in [Chapter 2](02_alignment.ipynb): feed the same
# probe images ({glue:text}`fact_probe`) to both, and find the rotation $A_\ell$ minimizing
# $\mathbb{E}\|A_\ell\phi_\ell - \psi_\ell\|^2$ (orthogonal Procrustes). The first network's
# covariance, expressed in the second one's basis, is $A_\ell C_\ell A_\ell^\top$. In the first
# layer both networks read the same pixels through the same frozen filters, so $A_1 = I$.
#
# We then compare covariances with the **normalized Bures similarity**
#
# $$\mathcal{B}(C, C') = \frac{\operatorname{tr}\big((C^{1/2} C' C^{1/2})^{1/2}\big)}{\sqrt{\operatorname{tr} C\,\operatorname{tr} C'}}
# \in [0, 1],$$ (eq-bures)
#
# the Bures similarity of the trace-normalized covariances $\hat C = C / \operatorname{tr} C$ and
# $\hat C'$: $\mathcal{B} = 1 - \tfrac12 W_2^2$, where $W_2$ is the 2-Wasserstein distance between
# zero-mean Gaussian distributions with covariances $\hat C$ and $\hat C'$. It is 1 exactly when
# one covariance is a multiple of the other, and it does not change when either is rescaled or both are rotated
# alike (`covariance.bures_similarity`, tested for all three). The **baseline** keeps everything
# about $A_\ell C_\ell A_\ell^\top$ but its eigenvectors: it rotates it at random, $Q A_\ell C_\ell
# A_\ell^\top Q^\top$, averaged over {glue:text}`fact_rotations` random rotations $Q$. A
# similarity above the baseline means that the two networks share *directions* in channel space,
# not just a spectrum. {numref}`fig-channel-similarity` shows both, layer by layer.

# %%
glue("fact_rotations", settings["rotations"])
glue("fact_probe", f"{data.TITLES[settings['natural'][0]['dataset']]}, test split, in grayscale")
probe = data.load(settings["natural"][0]["dataset"], "test", gray=True)
reference_label = next(iter(nets))
reference = nets[reference_label]
compared = settings["compared_layers"]  # the first layers compared (None: all)
hidden = models.hidden_layers(reference.model)[:compared]
pointwise = models.pointwise_layers(reference.model)[:compared]


def learned_covariances(net):
    return [weight_covariance(net.model[i].weight - net.initial[i].weight).cpu() for i in pointwise]


reference_cov = learned_covariances(reference)
rotations = torch.Generator().manual_seed(SEED)


def aligned_similarity(cross, c_ref, c_other):
    """Similarity after aligning with ``cross`` (reference × other), and its rotation baseline
    (mean and standard deviation over random rotations)."""
    align = alignment.orthogonal_alignment(cross.T)  # maps the reference's maps to the other's
    aligned = align @ c_ref @ align.T
    rotated = [
        bures_similarity(q @ aligned @ q.T, c_other)
        for q in (
            alignment.random_orthogonal(len(aligned), len(aligned), rotations).double()
            for _ in range(settings["rotations"])
        )
    ]
    return bures_similarity(aligned, c_other), np.mean(rotated), np.std(rotated, ddof=1)


rows = []
for label, net in progress(list(nets.items())[1:], "aligning"):
    crosses = {
        centered: activation_covariances(
            reference.model, probe, hidden, other=net.model, centered=centered, device=device
        )
        for centered in (False, True)
    }
    for layer, (c_ref, c_other, xc, xc_centered) in enumerate(
        zip(reference_cov, learned_covariances(net), crosses[False], crosses[True]), start=1
    ):
        sim, base, spread = aligned_similarity(xc, c_ref, c_other)
        rows.append(
            {
                "comparison": label,
                "layer": layer,
                "similarity": sim,
                "baseline": base,
                "baseline sd": spread,
                "centered alignment": aligned_similarity(xc_centered, c_ref, c_other)[0],
            }
        )
similarity = pd.DataFrame(rows)
similarity["above null"] = (
    similarity.similarity > similarity.baseline + 2 * similarity["baseline sd"]
)

kind = {
    label: (
        "same data, other seed"
        if runs[label][0] == first
        else "random labels"
        if "random" in runs[label][0]
        else "digits"
        if runs[label][0] == "digits"
        else "other natural data"
    )
    for label in list(nets)[1:]
}
similarity["kind"] = similarity.comparison.map(kind)

# the mean direction of the reference's hidden maps: E[φφᵀ] − Cov(φ) = μμᵀ
second, covariance = (
    activation_covariances(reference.model, probe, hidden, centered=c, device=device)
    for c in (False, True)
)
mean_share = []
for c_ref, m2, cov in zip(reference_cov, second, covariance):
    mean_direction = eigh_desc(m2 - cov)[1][0]
    mean_share.append(float(mean_direction @ c_ref @ mean_direction / c_ref.trace()))
baseline = similarity.groupby("layer").baseline.mean()

# %%
# Figure fig-channel-similarity: Bures similarity of aligned channel-weight covariances, layer by layer, for each comparison network against the reference, and for random eigenvectors (dashed).
fig, ax = plt.subplots(figsize=(7.5, 3.8))
for label, group in similarity.groupby("comparison", sort=False):
    ax.plot(group.layer, group.similarity, marker="o", label=f"{kind[label]}: {label}")
ax.plot(baseline.index, baseline.values, "k--", label="random eigenvectors (mean over pairs)")
ax.set(
    xlabel="layer",
    ylabel="Bures similarity",
    ylim=(0, 1.02),
    title=f"aligned channel-weight covariances vs {reference_label}",
)
ax.legend(fontsize=7)
plt.show()

# %%
def at(kind_name, layer, column="similarity"):
    return float(
        similarity[(similarity.kind == kind_name) & (similarity.layer == layer)][column].mean()
    )


for layer in (1, 2):
    glue(f"fact_sim_seed_l{layer}", at("same data, other seed", layer))
    glue(f"fact_sim_dataset_l{layer}", at("other natural data", layer))
    glue(f"fact_sim_digits_l{layer}", at("digits", layer))
    glue(f"fact_sim_labels_l{layer}", at("random labels", layer))
    glue(f"fact_sim_random_l{layer}", float(baseline[layer]))
    glue(f"fact_base_seed_l{layer}", at("same data, other seed", layer, "baseline"))
    glue(f"fact_base_dataset_l{layer}", at("other natural data", layer, "baseline"))
KEYS = {"seed": "same data, other seed", "dataset": "other natural data", "digits": "digits",
        "labels": "random labels"}  # fmt: skip
for key, kind_name in KEYS.items():
    rows_of = similarity[similarity.kind == kind_name]
    glue(f"fact_{key}_above_layers", int(rows_of["above null"].sum()))
    for layer in (1, 2):
        above = bool(rows_of[rows_of.layer == layer]["above null"].all())
        glue(f"fact_{key}_l{layer}_word", "above its null" if above else "within its null")
    glue(
        f"fact_{key}_margin_deep",
        float((rows_of.similarity - rows_of.baseline)[rows_of.layer > 2].mean()),
    )
    glue(f"fact_centered_{key}_l2", at(kind_name, 2, "centered alignment"))
glue("fact_base_sd_l1", float(similarity[similarity.layer == 1]["baseline sd"].mean()))
glue("fact_above_l2", int(similarity[similarity.layer == 2]["above null"].sum()))
glue("fact_comparisons", len(KEYS))
margin_l2 = {key: at(KEYS[key], 2) - at(KEYS[key], 2, "baseline") for key in ("seed", "dataset")}
glue("fact_dataset_seed_margin_ratio_l2", margin_l2["dataset"] / margin_l2["seed"])
glue(
    "fact_dataset_seed_word_l2",
    "close to" if margin_l2["dataset"] >= 0.75 * margin_l2["seed"] else "clearly below",
)
deep = {
    key: float(
        (similarity.similarity - similarity.baseline)[
            (similarity.kind == KEYS[key]) & (similarity.layer > 2)
        ].mean()
    )
    for key in KEYS
}
glue(
    "fact_digits_deep_word",
    "fall back toward the baseline, below the other natural data"
    if deep["digits"] < deep["dataset"]
    else "stay as far above the baseline as the other natural data",
)

# %%
glue(
    "fact_sim_seed_layers",
    similarity[similarity.kind == "same data, other seed"].similarity.round(3).tolist(),
)
glue(
    "fact_sim_dataset_layers",
    similarity[similarity.kind == "other natural data"].similarity.round(3).tolist(),
)
glue("fact_sim_random_layers", baseline.round(3).tolist())
margin = similarity.similarity - similarity.baseline
glue("fact_layers", len(pointwise))
similarity.pivot(index="layer", columns="kind", values="similarity").assign(
    baseline=baseline
).round(2)

# %% [markdown]
# ## Effective dimensionality
#
# How many directions of channel space does each layer's learned weights use? The participation
# ratio $(\sum_i \mu_i)^2 / \sum_i \mu_i^2$ of the eigenvalues $\mu_i$ of $C_\ell$ counts them
# ([Chapter 1](01_dimensionality.ipynb)), out of the layer's number of input maps.

# %%
dims = pd.DataFrame(
    {
        label: [participation_ratio(eigh_desc(c)[0]) for c in learned_covariances(net)]
        for label, net in nets.items()
    },
    index=pd.RangeIndex(1, len(pointwise) + 1, name="layer"),
)
inputs = [reference.model[i].weight.shape[1] for i in pointwise]

# %%
fig, ax = plt.subplots(figsize=(7, 3.4))
for label in dims:
    ax.plot(dims.index, dims[label], marker="o", label=label)
ax.plot(dims.index, inputs, "k:", label="input maps")
ax.set(
    yscale="log",
    xlabel="layer",
    ylabel="participation ratio",
    title="effective dimension of the learned channel weights",
)
ax.legend(fontsize=7)
plt.show()

# %%
glue("fact_dim_l1", float(dims.iloc[0].mean()))
glue("fact_inputs_l1", inputs[0])
glue("fact_dim_last", float(dims.iloc[-1].mean()))
random_column = [c for c in dims if "random" in c]
glue("fact_dim_random", float(dims[random_column].values.mean()))
glue("fact_dim_true", float(dims.drop(columns=random_column).values.mean()))
glue(
    "fact_dim_random_word",
    "more"
    if dims[random_column].values.mean() > dims.drop(columns=random_column).values.mean()
    else "fewer",
)
glue("fact_inputs_last", inputs[-1])
dims.round(1)

# %% [markdown]
# <a id="claim-fraction-used"></a>
# The learned channel weights use a fraction of the available directions: about
# {glue:text}`fact_dim_l1:.1f` of {glue:text}`fact_inputs_l1` in the first layer and
# {glue:text}`fact_dim_last:.1f` of {glue:text}`fact_inputs_last` in the last, averaged over the
# networks.
# <a id="claim-dim-random"></a>The network trained on random labels spreads its weights over
# {glue:text}`fact_dim_random_word` directions ({glue:text}`fact_dim_random:.1f` on average over
# the layers, against {glue:text}`fact_dim_true:.1f` for the others).
#
# ## The shared mean direction
#
# The hidden maps are outputs of ReLUs without biases: they are non-negative, so they have a large
# mean, and every network has one. Procrustes on uncentered representations aligns these means
# first, and the random-rotation baseline destroys that match. How much of the similarity could
# the mean direction alone carry?
# <a id="claim-mean-share"></a>In the reference, the share of $\operatorname{tr} C_\ell$ along
# its mean direction $\hat\mu_\ell$, $\hat\mu_\ell^\top C_\ell \hat\mu_\ell /
# \operatorname{tr} C_\ell$, is {glue:text}`fact_mean_share_l1:.2f` in layer 1,
# {glue:text}`fact_mean_share_l2:.2f` in layer 2 and at most {glue:text}`fact_mean_share_deep:.2f`
# deeper (an isotropic covariance would give one over the number of maps:
# {glue:text}`fact_isotropic_share_l1:.2f` in layer 1, {glue:text}`fact_isotropic_share_l2:.3f`
# in layer 2). <a id="claim-centered"></a>And aligning
# *centered* representations instead, which ignores the means, gives a layer-2 similarity of
# {glue:text}`fact_centered_seed_l2:.2f` for two seeds (uncentered:
# {glue:text}`fact_sim_seed_l2:.2f`) and {glue:text}`fact_centered_dataset_l2:.2f` for the other
# natural data (uncentered: {glue:text}`fact_sim_dataset_l2:.2f`), against a baseline of
# {glue:text}`fact_sim_random_l2:.2f`.

# %%
glue("fact_mean_share_l1", mean_share[0])
glue("fact_mean_share_l2", mean_share[1])
glue("fact_mean_share_deep", max(mean_share[2:]))
glue("fact_isotropic_share_l1", 1 / len(reference_cov[0]))
glue("fact_isotropic_share_l2", 1 / len(reference_cov[1]))
similarity.pivot(index="layer", columns="kind", values="centered alignment").assign(
    **{"mean-direction share": mean_share}
).round(2)

# %% [markdown]
# ## What the measurements support, layer by layer
#
# A similarity counts as **above its null** when it exceeds the rotation baseline of its own pair by
# more than twice the baseline's standard deviation over the {glue:text}`fact_rotations` rotations.
#
# - **Layer 1.**
#   <a id="claim-layer1"></a>
#   Two networks trained on the same images from different seeds have learned
#   channel covariances with similarity {glue:text}`fact_sim_seed_l1:.2f` (baseline
#   {glue:text}`fact_base_seed_l1:.2f`), {glue:text}`fact_seed_l1_word`; trained on *different*
#   natural images, {glue:text}`fact_sim_dataset_l1:.2f` (baseline
#   {glue:text}`fact_base_dataset_l1:.2f`), {glue:text}`fact_dataset_l1_word`. Digits give
#   {glue:text}`fact_sim_digits_l1:.2f` ({glue:text}`fact_digits_l1_word`) and random labels
#   {glue:text}`fact_sim_labels_l1:.2f` ({glue:text}`fact_labels_l1_word`).
#   <a id="claim-layer1-baseline"></a>The baseline is high
#   here, {glue:text}`fact_sim_random_l1:.2f` on average (standard deviation about
#   {glue:text}`fact_base_sd_l1:.2f`), because this layer has few input maps compared with how
#   widely its learned weights spread over them (participation ratio
#   {glue:text}`fact_dim_l1:.1f` of {glue:text}`fact_inputs_l1`): the flatter a spectrum relative
#   to its dimension, the closer any rotation of the covariance stays to it.
# - **Layer 2.**
#   <a id="claim-layer2"></a>Same data: {glue:text}`fact_sim_seed_l2:.2f`; other natural data:
#   {glue:text}`fact_sim_dataset_l2:.2f`; digits {glue:text}`fact_sim_digits_l2:.2f`; random
#   labels {glue:text}`fact_sim_labels_l2:.2f`; baseline {glue:text}`fact_sim_random_l2:.2f`.
#   <a id="claim-layer2-margin-ratio"></a>
#   {glue:text}`fact_above_l2` of the {glue:text}`fact_comparisons` comparisons are above their
#   null, and the other natural data's margin over the baseline is
#   {glue:text}`fact_dataset_seed_margin_ratio_l2:.2f` times that of two seeds on the same data
#   ({glue:text}`fact_dataset_seed_word_l2` it).
# - **All layers.**
#   <a id="claim-layers-above-null"></a>
#   Counting the {glue:text}`fact_layers` layers where a comparison is above its
#   null: two seeds {glue:text}`fact_seed_above_layers`, other natural data
#   {glue:text}`fact_dataset_above_layers`, digits {glue:text}`fact_digits_above_layers`, random
#   labels {glue:text}`fact_labels_above_layers`.
#   <a id="claim-digits-deep"></a>Beyond layer 2, digits
#   {glue:text}`fact_digits_deep_word` (mean margin {glue:text}`fact_digits_margin_deep:.2f`
#   against {glue:text}`fact_dataset_margin_deep:.2f`), and even two seeds on the same data stay
#   far from identical (mean margin {glue:text}`fact_seed_margin_deep:.2f`).
#
# <a id="claim-labels-share"></a>
# What this supports, at the scale of this profile: channel weights learned on different natural
# images share directions beyond chance in {glue:text}`fact_dataset_above_layers` of the
# {glue:text}`fact_layers` layers; so do the random-label network
# ({glue:text}`fact_labels_above_layers`, mean margin beyond layer 2
# {glue:text}`fact_labels_margin_deep:.2f`) and digits ({glue:text}`fact_digits_above_layers`).
# What is shared is therefore not shown to come from what the labels ask for. What it does not
# show: universality in an absolute sense, nor anything beyond the two natural datasets compared
# here ({glue:text}`fact_first` and {glue:text}`fact_second`) and this profile's network.
#
# ## What we learned
#
# - Freezing the spatial filters to a few eigenvectors and learning only channel mixing, a
#   factorized network reaches {glue:text}`fact_acc_ratio:.2f` times the standard network's
#   accuracy in this run (single seeds; read differences against the spread between seeds).
# - Channel weights live in an arbitrary basis; aligning representations first makes them
#   comparable, and the normalized Bures similarity compares the covariances.
# - Networks trained on different natural images learn channel covariances that share directions
#   beyond a random-rotation null in {glue:text}`fact_dataset_above_layers` of
#   {glue:text}`fact_layers` layers; in layer 2 their margin is
#   {glue:text}`fact_dataset_seed_margin_ratio_l2:.2f` times that of two seeds on the same images.
#   A network trained on random labels shares directions in
#   {glue:text}`fact_labels_above_layers` layers too: the sharing is not shown to depend on the
#   labels.
#
# ## Exercises
#
# **1. One sign only.** Build a factorized network with eigenvectors but without their negatives,
# at the same parameter count: the top $2m$ eigenvectors with one sign each, against the top $m$
# with both signs (both give $2m$ maps per channel). Train it like the others. What happens to
# accuracy, and why?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: the learned parameters of both networks, then their test accuracies (in %)
torch.manual_seed(SEED)
one_sign = models.factorized(
    settings["config"], filters[: 2 * M], 1, train_set.image_shape[1], train_set.num_classes
)
print(
    f"learned parameters: one sign {learned_parameters(one_sign)}, "
    f"both signs {learned_parameters(sweep[M].model)}"
)
history = train(one_sign, train_set, test_set, device=device, **setups.fit_arguments(settings))
print(
    f"one sign, top {2 * M}: {np.mean([r['test_acc'] for r in history[-3:]]):.1f} %; "
    f"both signs, top {M}: {sweep[M].mean_test_accuracy():.1f} %"
)
# The ReLU after the depthwise filter keeps only where the response is positive; without −u,
# the negative half of every spatial pattern is lost before the channels can be mixed. At equal
# parameter count the one-sign network trades those halves for finer spatial patterns; compare
# the difference with the spread between seeds before concluding.

# %% [markdown]
# **2. Without alignment.** Recompute the layer-2 similarity between the two seeds without
# aligning (take $A = I$). How much of the similarity is due to the alignment?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: two similarities between 0 and 1, aligned and unaligned
other = nets[list(nets)[1]]
print(
    f"aligned: {at('same data, other seed', 2):.2f}; unaligned: "
    f"{bures_similarity(reference_cov[1], learned_covariances(other)[1]):.2f}"
)
# Without alignment the channels of the two networks are matched by index, which is arbitrary.

# %% [markdown]
# ## References
#
# - Factorized networks and aligned channel-weight covariances: {footcite:t}`guth2024universality`.
# - Aligning hidden representations; weight covariances: {footcite:t}`guth2023rainbow`.
# - Depthwise separable convolutions: {footcite:t}`chollet2017xception`.
# - The Bures metric: {footcite:t}`bures1969extension`.
#
# ```{footbibliography}
# ```
