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
# # Spatial eigenvectors: what convolution filters share
#
# A convolutional layer mixes two things at once: neighbouring pixels (space) and feature maps
# (channels). Its weight tensor $W$ of shape $(C_\text{out}, C_\text{in}, k, k)$ holds
# $C_\text{out} C_\text{in}$ small $k\times k$ spatial filters, one per pair of channels. Looked
# at one by one, they seem a jumble. Looked at statistically, they are not: their covariance has
# a handful of smooth eigenvectors that carry most of the variance, and those eigenvectors are the
# same in every layer, for every filter size, on every dataset we tried, and even when the labels
# are random.
#
# This chapter trains VGG-type networks and measures this, with numbers and pictures. It sets up
# the factorized networks of Chapter 6, which freeze these eigenvectors and learn only how to mix
# channels.
#
# [![Open In Colab](../book/_static/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/04_spatial.ipynb)

# %% tags=["hide-cell"]
# Setup: on Colab, install the book's helper package (elsewhere it is already installed).
import subprocess
import sys

if "google.colab" in sys.modules:
    package = "deepinside @ git+https://github.com/deepinside/deepinside"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": narrow VGGs on offline photos and digits, CPU; "full": VGG-11 on CIFAR
SEED = 0  # seed of the initializations, data order and random labels
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # training epochs of every network (None: the profile's value)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from deepinside import interactive, models, plotting, runtime, setups, spatial
from deepinside.notebook import glue, show_source
from deepinside.runtime import progress

plotting.setup()
session = runtime.start(PROFILE, SEED, DEVICE, setups.SPATIAL, epochs=EPOCHS)
settings, device, generator = session.settings, session.device, session.generator
RANKS = settings["ranks"]
print(settings)


def conv_weights(model):
    """The weights of a network's conv layers, first to last, on the CPU."""
    return [conv.weight.detach().cpu() for conv in models.conv_layers(model).values()]


# %% [markdown]
# ## The networks
#
# The architecture is VGG-11's: eight convolutions without biases, each followed by a ReLU, max
# pooling in between, and a linear classifier. The `quick` profile narrows it (16 to 64 channels)
# and keeps three of the five poolings, so that on 32-pixel images the last four convolutions still
# see $4\times 4$ maps. We train, with Adam:
#
# - the **reference**: filters of size $5\times 5$ on 32-pixel crops of ten photographs (the
#   class is the photograph; `full`: CIFAR-10);
# - the same with $3\times 3$ filters (and $7\times 7$ in `full`);
# - the same on another dataset: handwritten digits (`full`: CIFAR-100);
# - the reference architecture on the photographs with **randomly permuted labels**.

# %%
ref_data, ref_size = settings["reference_dataset"], settings["reference_kernel"]
variants = {f"{ref_data}, {k}×{k}": (ref_data, k, False) for k in settings["sizes"]}
variants |= {
    f"{name}, {ref_size}×{ref_size}": (name, ref_size, False)
    for name in settings["datasets"]
    if name != ref_data
}
variants[f"{ref_data} random labels, {ref_size}×{ref_size}"] = (ref_data, ref_size, True)
nets = {
    label: setups.vgg_network(settings, name, k, SEED, random, device)
    for label, (name, k, random) in progress(list(variants.items()), "networks")
}
reference = f"{ref_data}, {ref_size}×{ref_size}"
pd.DataFrame(
    [
        {
            "network": label,
            "test accuracy (%)": net.test_accuracy,
            "train accuracy (%)": net.history[-1]["train_acc"],
        }
        for label, net in nets.items()
    ]
).round(1)

# %% [markdown]
# ## The spatial covariance and its eigenvectors
#
# Flatten each $k\times k$ filter $W[o, i]$ to a vector $w_{oi}\in\mathbb{R}^{k^2}$. The layer's
# **spatial covariance** averages their outer products over both channel dimensions,
#
# $$C = \frac{1}{C_\text{out} C_\text{in}} \sum_{o, i} w_{oi} w_{oi}^\top \quad (k^2\times k^2,
# \text{ uncentered}),$$
#
# and its eigenvectors, drawn as $k\times k$ images, are the layer's **spatial eigenvectors**
# (`spatial.spatial_eigenvectors`; signs fixed so that the largest entry is positive).
#
# One choice matters with short training. The random initialization $W_0$ has i.i.d. entries, so
# its expected spatial covariance is $\sigma^2 I$: it adds the same amount to every eigenvalue and
# favours no direction, but in a network trained for a few epochs it is still most of the weight.
# We therefore study the **learned part** $W - W_0$, and compare with $W$ itself below.

# %% [markdown]
# The spatial covariance, from the package itself:

# %% tags=["hide-input"]
show_source(spatial.spatial_covariance)

# %%
ref_learned = nets[reference].learned_conv_weights()
ref_initial = conv_weights(nets[reference].initial)
spectra = [spatial.spatial_eigenvectors(w) for w in ref_learned]
k2 = ref_size**2
rows = []
for layer, (w, w0, (values, _)) in enumerate(zip(ref_learned, ref_initial, spectra), start=1):
    rows.append(
        {
            "layer": layer,
            "learned W − W₀": spatial.top_share(values, RANKS),
            "trained W": spatial.top_share(spatial.spatial_eigenvectors(w + w0)[0], RANKS),
            "random W₀": spatial.top_share(spatial.spatial_eigenvectors(w0)[0], RANKS),
        }
    )
shares = pd.DataFrame(rows).set_index("layer")

fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
for layer, (values, _) in enumerate(spectra, start=1):
    axes[0].semilogy(
        np.arange(1, k2 + 1),
        values / values.sum(),
        "o-",
        ms=3,
        color=plt.cm.viridis(layer / len(spectra)),
        label=f"layer {layer}",
    )
axes[0].set(
    xlabel="rank",
    ylabel="share of the variance",
    title=f"spectra of the learned part ({reference})",
)
axes[0].legend(fontsize=7, ncol=2)
shares.plot(kind="bar", ax=axes[1], rot=0)
axes[1].axhline(
    RANKS / k2, color="gray", ls="--", lw=1, label=f"{RANKS}/{k2}: no preferred direction"
)
axes[1].set(ylabel=f"share of the top {RANKS}", title=f"variance in the top {RANKS} eigenvectors")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
glue("spatial_top3_share", shares["learned W − W₀"].mean())
glue("spatial_top3_share_trained", shares["trained W"].mean())
glue("spatial_random_top3_share", shares["random W₀"].mean())
glue("spatial_k2", k2)
glue("spatial_chance", RANKS / k2)
shares.round(2)

# %% [markdown]
# In the learned part, the top three of {glue:text}`spatial_k2` eigenvectors carry
# {glue:text}`spatial_top3_share:.0%` of the spatial variance on average over the layers, against
# {glue:text}`spatial_random_top3_share:.0%` for the random initial filters (three directions out
# of {glue:text}`spatial_k2` carry {glue:text}`spatial_chance:.0%` when none is preferred). In the trained weights $W$, where the initialization is
# still mixed in, the share is {glue:text}`spatial_top3_share_trained:.0%`: the same directions,
# diluted by isotropic noise.
#
# Now the eigenvectors themselves, layer by layer.

# %%
show_ranks = min(6, k2)
fig, axes = plt.subplots(
    len(spectra), show_ranks, figsize=(1.3 * show_ranks + 1, 1.2 * len(spectra))
)
for layer, (_, vectors) in enumerate(spectra, start=1):
    plotting.show_filters(axes[layer - 1], vectors[:show_ranks], f"layer {layer}")
for rank, ax in enumerate(axes[0], start=1):
    ax.set_title(f"rank {rank}", fontsize=9)
fig.suptitle(f"Spatial eigenvectors of the learned filters ({reference})", y=1.0)
plt.tight_layout()
plt.show()

# %% [markdown]
# Every layer shows the same short list: a smooth blob, then two smooth gradients (left-right and
# up-down, sometimes in the other order or rotated into each other when their eigenvalues are
# close). Beyond the third rank the eigenvectors are still noisy after this short training; the
# source, training far longer, sees smooth higher-order patterns there too.
#
# **Explore the eigenvectors.** In a live notebook, choose a network, a layer, the weights to
# decompose and how many eigenvectors to show. The printed page shows the learned part of the
# reference network's first layer.


# %% tags=["hide-input"]
def draw_eigenvectors(network, layer, weights, rank):
    """Spectrum and top ``rank`` spatial eigenvectors of one layer of one network."""
    learned = nets[network].learned_conv_weights()[layer - 1]
    initial = conv_weights(nets[network].initial)[layer - 1]
    w = {"learned W − W₀": learned, "trained W": learned + initial, "random W₀": initial}[weights]
    values, vectors = spatial.spatial_eigenvectors(w)
    rank = min(rank, len(values))
    fig, axes = plt.subplots(
        1,
        rank + 1,
        figsize=(3.2 + 1.3 * rank, 2.4),
        gridspec_kw={"width_ratios": [2.4] + [1] * rank},
    )
    share = (values / values.sum()).numpy()
    axes[0].semilogy(np.arange(1, len(share) + 1), share, "o-", ms=3, color="lightgray")
    axes[0].semilogy(np.arange(1, rank + 1), share[:rank], "o", ms=4, color="C0")
    axes[0].set(xlabel="rank", ylabel="share", title=f"layer {layer}: {weights}")
    plotting.show_filters(axes[1:], vectors[:rank])
    for r, ax in enumerate(axes[1:], start=1):
        ax.set_title(f"{r}: {share[r - 1]:.0%}", fontsize=9)
    fig.suptitle(network, y=1.02)
    plt.tight_layout()


interactive.explore(
    draw_eigenvectors,
    {"network": reference, "layer": 1, "weights": "learned W − W₀", "rank": RANKS},
    network=list(nets),
    layer=range(1, len(ref_learned) + 1),
    weights=["learned W − W₀", "trained W", "random W₀"],
    rank=range(1, 10),
)

# %% [markdown]
# ## Measuring "the same"
#
# Eigenvectors with close eigenvalues can swap ranks or rotate into each other, so comparing them
# one by one would be fragile. We compare the **subspaces** spanned by the top $r = 3$ instead:
# with orthonormal bases $Q_a, Q_b$ of the two subspaces,
#
# $$\mathrm{overlap} = \frac{1}{r}\,\|Q_a^\top Q_b\|_F^2 \in [0, 1],$$
#
# the average squared cosine of the principal angles: 1 for the same subspace, whatever the order
# or sign of the vectors inside it; $r/k^2$ on average for random subspaces
# (`spatial.subspace_overlap`, tested against both extremes). Between layers of the reference:

# %%
tops = [vectors[:RANKS] for _, vectors in spectra]
n_layers = len(tops)
between = np.array([[spatial.subspace_overlap(a, b) for b in tops] for a in tops])
fig, ax = plt.subplots(figsize=(4.6, 3.8))
sns.heatmap(
    between,
    vmin=0,
    vmax=1,
    annot=True,
    fmt=".2f",
    cmap="viridis",
    ax=ax,
    xticklabels=range(1, n_layers + 1),
    yticklabels=range(1, n_layers + 1),
    annot_kws={"fontsize": 7},
)
ax.set(xlabel="layer", ylabel="layer", title="overlap of the top-3 subspaces")
plt.show()
glue("spatial_layer_similarity", between[~np.eye(n_layers, dtype=bool)].mean());

# %% [markdown]
# The mean overlap between two different layers is {glue:text}`spatial_layer_similarity:.2f`
# (chance: {glue:text}`spatial_chance:.2f`).
#
# ## Across filter sizes, datasets and labels
#
# Each comparison takes the top three eigenvectors of a layer in two networks and measures their
# overlap, layer by layer. Filters of another size $k'$ live in another space: we resample their
# eigenvectors onto the reference's $k\times k$ grid over the same field of view (bilinear, corners
# to corners, `spatial.resample`) before comparing. The **random-filter baseline** compares the
# reference's learned eigenvectors with those of random filters, its own initialization $W_0$.


# %%
def top_vectors(weights, size):
    """Top eigenvectors of each layer, resampled to ``size``×``size``."""
    return [spatial.resample(spatial.spatial_eigenvectors(w)[1][:RANKS], size) for w in weights]


comparisons = {}
for label, (_, k, random) in variants.items():
    if label != reference:
        other = top_vectors(nets[label].learned_conv_weights(), ref_size)
        kind = "filter size" if k != ref_size else "random labels" if random else "dataset"
        comparisons[f"{kind}: {label}"] = [
            spatial.subspace_overlap(a, b) for a, b in zip(tops, other)
        ]
comparisons["random filters"] = [
    spatial.subspace_overlap(a, b) for a, b in zip(tops, top_vectors(ref_initial, ref_size))
]
similarity = pd.DataFrame(comparisons, index=pd.RangeIndex(1, n_layers + 1, name="layer"))

fig, ax = plt.subplots(figsize=(7, 3.6))
for column in similarity:
    style = {"color": "gray", "ls": "--"} if column == "random filters" else {}
    ax.plot(similarity.index, similarity[column], marker="o", label=column, **style)
ax.axhline(RANKS / k2, color="gray", lw=1, ls=":", label="random subspaces")
ax.set(
    xlabel="layer",
    ylabel="overlap with the reference",
    ylim=(0, 1.02),
    title=f"top-{RANKS} spatial eigenvectors vs the reference ({reference})",
)
ax.legend(fontsize=7, loc="lower left")
plt.show()

mean = similarity.mean()


def mean_of(kind):
    return float(np.mean([mean[c] for c in mean.index if c.startswith(kind)]))


glue("spatial_size_similarity", mean_of("filter size"))
glue("spatial_dataset_similarity", mean_of("dataset"))
glue("spatial_random_label_similarity", mean_of("random labels"))
glue("spatial_random_filter_similarity", mean["random filters"])
similarity.round(2)

# %% [markdown]
# Averaged over the layers, the overlap with the reference is
# {glue:text}`spatial_size_similarity:.2f` for another filter size,
# {glue:text}`spatial_dataset_similarity:.2f` for another dataset and
# {glue:text}`spatial_random_label_similarity:.2f` for random labels, against
# {glue:text}`spatial_random_filter_similarity:.2f` for random filters. Digits, a very different
# kind of image (strokes on a black background), agree least, yet still about four times more
# than random filters. To see it, here is one middle layer in every network, eigenvectors
# resampled to the reference grid:

# %%
middle = n_layers // 2
fig, axes = plt.subplots(
    len(nets) + 1, show_ranks, figsize=(1.3 * show_ranks + 3, 1.2 * (len(nets) + 1))
)
for row, (label, net) in enumerate(nets.items()):
    vectors = spatial.spatial_eigenvectors(net.learned_conv_weights()[middle - 1])[1][:show_ranks]
    plotting.show_filters(axes[row], spatial.resample(vectors, ref_size), label)
random_vectors = spatial.spatial_eigenvectors(ref_initial[middle - 1])[1][:show_ranks]
plotting.show_filters(axes[-1], random_vectors, "random filters")
fig.suptitle(f"Layer {middle}: top spatial eigenvectors", y=1.0)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What we learned
#
# - The learned $k\times k$ filters of a convolutional layer are low-dimensional in space: three
#   smooth eigenvectors (a blob and two gradients) carry most of their variance.
# - The same eigenvectors appear in every layer, for every filter size, on photographs and on
#   digits, and with random labels. They reflect what convolution, training and natural image
#   statistics impose, not the task.
# - Since space is so simple, most of what a layer learns is how to mix channels. Chapter 6 takes
#   this literally: it freezes the spatial filters and learns only the channel mixing.
#
# ## Exercises
#
# **1. Without subtracting the initialization.** Redo the layer-by-layer comparison with the
# trained weights $W$ instead of $W - W_0$. Which overlaps drop, and why?

# %% tags=["hide-input"]
# Solution
raw_tops = [spatial.spatial_eigenvectors(w)[1][:RANKS] for w in conv_weights(nets[reference].model)]
for label in variants:
    if label != reference:
        other = top_vectors(conv_weights(nets[label].model), ref_size)
        print(
            f"{label:32s}",
            np.round([spatial.subspace_overlap(a, b) for a, b in zip(raw_tops, other)], 2),
        )
# The initialization adds an isotropic covariance plus random fluctuations: the learned directions
# are still on top, but the fluctuations perturb the third eigenvector, most where training moved
# the weights least.

# %% [markdown]
# **2. How many eigenvectors?** Plot the overlap between layer 2 and layer 6 of the reference as
# a function of the number $r$ of eigenvectors compared, next to the chance level $r/k^2$.

# %% tags=["hide-input"]
# Solution
vectors_a = spectra[1][1]
vectors_b = spectra[5][1] if n_layers > 5 else spectra[-1][1]
overlaps = [spatial.subspace_overlap(vectors_a[:r], vectors_b[:r]) for r in range(1, k2 + 1)]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, k2 + 1), overlaps, "o-", label="measured")
ax.plot(range(1, k2 + 1), np.arange(1, k2 + 1) / k2, "k--", label="chance $r/k^2$")
ax.set(xlabel="r", ylabel="overlap")
ax.legend()
plt.show()

# %% [markdown]
# ## References
#
# - Universal spatial eigenvectors and factorized networks: {footcite:t}`guth2024universality`.
# - The covariance structure of convolutional filters: {footcite:t}`trockman2023covariance`.
# - VGG networks: {footcite:t}`simonyan2015vgg`.
# - Training on random labels: {footcite:t}`zhang2021rethinking`.
#
# ```{footbibliography}
# ```
