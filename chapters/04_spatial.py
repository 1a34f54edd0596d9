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
# a handful of smooth eigenvectors that carry most of what training added to them, and those
# eigenvectors recur in every layer, for every filter size and with random labels.
#
# How much of this is specific to trained networks? A blob and two gradients are what *any*
# spatially smooth set of filters gives, so this chapter measures every similarity against two
# yardsticks: a smooth random ensemble with the same correlation between neighbouring pixels (the
# null), and the same network trained from another seed (the ceiling). It sets up
# the factorized networks of [Chapter 6](06_factorized.ipynb), which freeze these eigenvectors and learn only how to mix
# channels.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/04_spatial.ipynb)

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
PROFILE = "quick"  # "quick": narrow VGGs on offline photos and digits, CPU; "full": VGG-11 on CIFAR
SEED = 0  # seed of the initializations, data order and random labels
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # training epochs of every network (None: the profile's value)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from deepinside import alignment, interactive, models, plotting, runtime, setups, spatial
from deepinside.covariance import bures_similarity
from deepinside.linalg import eigh_desc
from deepinside.notebook import glue, glue_all, show_source
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
# see $4\times 4$ maps.
#
# **The data.** In the `quick` profile the reference task is a photograph task: ten photographs
# ship with scikit-image, each is one class, and a network sees 32-pixel crops and must say which
# photograph a crop comes from (a texture and colour recognition task, coarser than object
# classes). Training crops are cut from the left three quarters of each photograph and test crops
# from the right quarter, so no test pixel is ever seen in training. The other dataset is the
# offline set of handwritten digits. In the `full` profile the reference data are CIFAR-10 and the
# other dataset CIFAR-100, as in the source.
#
# We train, with Adam (the source's text does not state its optimizer; see the end of the chapter):
#
# - the **reference**: filters of size $5\times 5$ on the reference data;
# - the same with $3\times 3$ filters (and $7\times 7$ in `full`);
# - the same on the other dataset;
# - the reference architecture on the reference images with **randomly permuted labels**;
# - the **ceiling**: the reference again, from another seed. No comparison between networks can
#   be expected to beat two runs of the same recipe.
#
# Every network trains from its own seed: its own initialization, its own order of batches, and
# for random labels its own permutation. Sharing them would make any two networks more alike than
# their data and architecture alone make them.

# %%
NAMES = {
    "photos": "photographs",
    "mnist5k": "digits",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
}
ref_data, ref_size = settings["reference_dataset"], settings["reference_kernel"]
other_data = next(name for name in settings["datasets"] if name != ref_data)
ref_name, other_name = NAMES[ref_data], NAMES[other_data]
reference = f"{ref_name}, {ref_size}×{ref_size}"
ceiling = f"{reference}, another seed"
# label -> (dataset, filter size, random labels)
variants = {f"{ref_name}, {k}×{k}": (ref_data, k, False) for k in settings["sizes"]}
variants[f"{other_name}, {ref_size}×{ref_size}"] = (other_data, ref_size, False)
variants[f"{ref_name} random labels, {ref_size}×{ref_size}"] = (ref_data, ref_size, True)
variants[ceiling] = (ref_data, ref_size, False)
seeds = {label: SEED + 1000 * i for i, label in enumerate(variants)}  # one seed per network
nets = {
    label: setups.vgg_network(settings, name, k, seeds[label], random, device)
    for label, (name, k, random) in progress(list(variants.items()), "networks")
}
random_label = f"{ref_name} random labels, {ref_size}×{ref_size}"
ref_train = setups.vgg_data(ref_data)[0]
accuracies = pd.DataFrame(
    [
        {
            "network": label,
            "seed": seeds[label],
            "test accuracy (%)": net.mean_test_accuracy(),
            "train accuracy (%)": net.history[-1]["train_acc"],
            "chance (%)": 100 / setups.vgg_data(variants[label][0])[0].num_classes,
        }
        for label, net in nets.items()
    ]
).set_index("network")
glue_all(
    "spatial",
    train_images=len(ref_train),
    test_images=len(setups.vgg_data(ref_data)[1]),
    classes=ref_train.num_classes,
    epochs=settings["epochs"],
    reference_acc=accuracies.loc[reference, "test accuracy (%)"],
    ceiling_acc=accuracies.loc[ceiling, "test accuracy (%)"],
    small_acc=accuracies.loc[f"{ref_name}, 3×3", "test accuracy (%)"],
    random_label_train_acc=accuracies.loc[random_label, "train accuracy (%)"],
    random_label_test_acc=accuracies.loc[random_label, "test accuracy (%)"],
    chance_acc=100 / ref_train.num_classes,
)
accuracies.round(1)

# %% [markdown]
# Test accuracies are the mean over the last three epochs (the test accuracy of a single epoch
# fluctuates, by several points on the `quick` profile's small test sets). On {glue:text}`spatial_train_images` training
# and {glue:text}`spatial_test_images` test images of {glue:text}`spatial_classes` classes, after
# {glue:text}`spatial_epochs` epochs, the reference reaches {glue:text}`spatial_reference_acc:.1f` %
# ({glue:text}`spatial_ceiling_acc:.1f` % from another seed) and its $3\times 3$ sibling
# {glue:text}`spatial_small_acc:.1f` %. The reference is chosen for its
# {glue:text}`spatial_k2`-dimensional filter space, where eigenvectors are easier to read, not for
# its accuracy. The network trained on random labels fits
# {glue:text}`spatial_random_label_train_acc:.0f` % of its training labels by the last epoch
# (chance: {glue:text}`spatial_chance_acc:.0f` %) and scores
# {glue:text}`spatial_random_label_test_acc:.0f` % on the true test labels: how far it has memorized
# is the number to keep in mind when reading its filters below.

# %% [markdown]
# ## The spatial covariance and its eigenvectors
#
# Flatten each $k\times k$ filter $W[o, i]$ to a vector $w_{oi}\in\mathbb{R}^{k^2}$. The layer's
# **spatial covariance** averages their outer products over both channel dimensions,
#
# $$C = \frac{1}{C_\text{out} C_\text{in}} \sum_{o, i} w_{oi} w_{oi}^\top \quad (k^2\times k^2,
# \text{ uncentered}),$$ (eq-spatial-covariance)
#
# and its eigenvectors, drawn as $k\times k$ images, are the layer's **spatial eigenvectors**
# (`spatial.spatial_eigenvectors`; signs fixed so that the largest entry is positive).
#
# One choice matters when training is short. The random initialization $W_0$ has i.i.d. entries,
# so its expected spatial covariance is $\sigma^2 I$: it adds the same amount to every eigenvalue
# and favours no direction, but after {glue:text}`spatial_epochs` epochs it can still be a large
# part of the weight (measured below).
# We therefore study the **learned part** $W - W_0$, and compare with $W$ itself below.

# %% [markdown]
# The spatial covariance, from the package itself:

# %% tags=["hide-input"]
# @title The code of `spatial.spatial_covariance`
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
            "‖W − W₀‖ / ‖W₀‖": float(w.norm() / w0.norm()),
        }
    )
table = pd.DataFrame(rows).set_index("layer")
norm_ratio = table.pop("‖W − W₀‖ / ‖W₀‖")
shares = table

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
glue("spatial_norm_ratio_min", norm_ratio.min())
glue("spatial_norm_ratio_max", norm_ratio.max())
glue("spatial_norm_ratio_first", norm_ratio.iloc[0])
table.assign(**{"‖W − W₀‖ / ‖W₀‖": norm_ratio}).round(2)

# %% [markdown]
# <a id="claim-top3-share"></a>
# In the learned part, the top three of {glue:text}`spatial_k2` eigenvectors carry
# {glue:text}`spatial_top3_share:.0%` of the spatial variance on average over the layers, against
# {glue:text}`spatial_random_top3_share:.0%` for the random initial filters (three directions out
# of {glue:text}`spatial_k2` carry {glue:text}`spatial_chance:.0%` when none is preferred).
#
# That is a statement about what training *added*.
# <a id="claim-init-still-large"></a>After {glue:text}`spatial_epochs` epochs the
# initialization is still a large part of the weights: $\|W - W_0\| / \|W_0\|$ ranges from
# {glue:text}`spatial_norm_ratio_min:.2f` to {glue:text}`spatial_norm_ratio_max:.2f` over the layers
# ({glue:text}`spatial_norm_ratio_first:.2f` in the first).
# <a id="claim-trained-weights"></a>In the trained weights $W$ themselves,
# where the isotropic initialization is still mixed in, the top three carry only
# {glue:text}`spatial_top3_share_trained:.0%`. Everything below is about $W - W_0$.
#
# Now the eigenvectors themselves, layer by layer.

# %%
# Figure fig-spatial-eigenvectors: The first spatial eigenvectors of the learned filters of every layer of the reference network, largest eigenvalue first.
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
# In {numref}`fig-spatial-eigenvectors`, every layer shows the same short list: a smooth blob, then two smooth gradients (left-right and
# up-down, sometimes in the other order or rotated into each other when their eigenvalues are
# close). Beyond the third rank, compare with the source, which sees smooth higher-order
# patterns there too (in the `quick` profile, trained for a few epochs, they are noisier).
#
# **Why a blob and gradients.** The gradient of the loss with respect to the filter $W[o, i]$ at
# offset $\delta$ is $\sum_x g_o(x)\, h_i(x + \delta)$: the correlation between the error map
# $g_o$ of output channel $o$ and the input map $h_i$, read at the $k^2$ offsets of the window.
# Image maps are spatially autocorrelated, so this correlation changes slowly with $\delta$, and
# every weight update, hence their sum $W - W_0$, is a smooth function on the $k\times k$ window.
# The covariance of smooth functions on a small square is dominated by its lowest spatial
# frequencies: the constant (a blob, once the window's edges taper it) and the two first-order
# modes (the gradients), like the first terms of a cosine transform. The argument uses nothing
# but smoothness, which is why the comparisons below need a smooth null.
#
# **Explore the eigenvectors.** In a live notebook, choose a network, a layer, the weights to
# decompose and how many eigenvectors to show. The printed page shows the learned part of the
# reference network's first layer.


# %% tags=["hide-input"]
# @title Explorer: spectrum and spatial eigenvectors of one layer
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
# $$\mathrm{overlap} = \frac{1}{r}\,\|Q_a^\top Q_b\|_F^2 \in [0, 1],$$ (eq-subspace-overlap)
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
glue("spatial_layer_similarity", between[~np.eye(n_layers, dtype=bool)].mean())
# %%
NULL_DRAWS = 5
null_generator = torch.Generator().manual_seed(SEED)
covs = [spatial.spatial_covariance(w) for w in ref_learned]
smooth_nulls = [
    [spatial.smooth_null(w, null_generator) for _ in range(NULL_DRAWS)] for w in ref_learned
]


def top3(weight):
    return spatial.spatial_eigenvectors(weight)[1][:RANKS]


def with_eigenvalues_of(vectors, values_from):
    """The covariance with orthonormal eigenvectors ``vectors`` (rows) and the eigenvalues of
    the covariance ``values_from``."""
    return vectors.T @ torch.diag(eigh_desc(values_from)[0]) @ vectors


pairs = [(a, b) for a in range(n_layers) for b in range(n_layers) if a != b]
rotations = torch.Generator().manual_seed(SEED)
layer_bures = {
    "as measured": np.mean([bures_similarity(covs[a], covs[b]) for a, b in pairs]),
    "eigenvalues swapped": np.mean(
        [
            bures_similarity(with_eigenvalues_of(eigh_desc(covs[a])[1], covs[b]), covs[b])
            for a, b in pairs
        ]
    ),
    "random eigenvectors": np.mean(
        [
            bures_similarity(
                with_eigenvalues_of(alignment.random_orthogonal(k2, k2, rotations), covs[b]),
                covs[b],
            )
            for _, b in pairs
        ]
    ),
}
spreads = [spatial.spread(vectors[0]) for _, vectors in spectra]
dilation = spreads[-1] / spreads[0]
glue_all(
    "spatial",
    null_draws=NULL_DRAWS,
    layer_null_similarity=np.mean(
        [spatial.subspace_overlap(tops[a], top3(smooth_nulls[b][0])) for a, b in pairs]
    ),
    layer_bures=layer_bures["as measured"],
    layer_bures_swapped=layer_bures["eigenvalues swapped"],
    layer_bures_random=layer_bures["random eigenvectors"],
    layer_difference_word="more"
    if layer_bures["eigenvalues swapped"] > layer_bures["as measured"]
    else "no more",
    spread_first=spreads[0],
    spread_last=spreads[-1],
    dilation_first_last=dilation,
    dilation_word="wider" if dilation > 1.05 else "narrower" if dilation < 0.95 else "about as wide",
    dilation_seen="seen" if dilation > 1.05 else "not seen",
    lr=settings["lr"],
)
# %% [markdown]
# <a id="claim-layer-overlap"></a>
# The mean overlap between two different layers is {glue:text}`spatial_layer_similarity:.2f`
# (chance for unrelated subspaces: {glue:text}`spatial_chance:.2f`). Chance is the wrong yardstick,
# though: the top three eigenvectors of *any* smooth ensemble are a blob and two gradients. The
# **smooth null** makes this precise. For each layer we measure the mean correlation between
# neighbouring pixels of the learned filters, then cut as many $k\times k$ filters from white noise
# smoothed by a Gaussian whose width gives the same correlation (`spatial.smooth_null`,
# averaged over {glue:text}`spatial_null_draws` draws).
# <a id="claim-layers-smooth"></a>Comparing each layer's eigenvectors with
# the smooth null matched to *another* layer gives {glue:text}`spatial_layer_null_similarity:.2f`
# on average over the pairs: the overlap between layers is no more than smoothness predicts.
#
# What does differ between layers? Two quantities separate eigenvectors from eigenvalues.
# <a id="claim-eigenvalues-differ"></a>Between
# two layers $a \neq b$, the normalized Bures similarity of their spatial covariances (defined
# below, 1 when one is a multiple of the other) is {glue:text}`spatial_layer_bures:.3f` on
# average. Give layer $a$'s eigenvectors the eigenvalues of layer $b$, and the similarity to
# layer $b$ rises to {glue:text}`spatial_layer_bures_swapped:.3f`; give random eigenvectors the
# eigenvalues of layer $b$ instead, and it falls to {glue:text}`spatial_layer_bures_random:.3f`.
# The layers' covariances differ {glue:text}`spatial_layer_difference_word` in their eigenvalues
# than in their eigenvectors, as the source observes.
#
# <a id="claim-dilation"></a>
# The source also notes a slight **dilation** of the eigenvectors with depth. We measure the
# spread of the first eigenvector, the root-mean-square distance of its squared values from the
# window's centre (`spatial.spread`): {glue:text}`spatial_spread_first:.2f` pixels in layer 1,
# {glue:text}`spatial_spread_last:.2f` in the last layer, a ratio of
# {glue:text}`spatial_dilation_first_last:.2f`: the first eigenvector is
# {glue:text}`spatial_dilation_word` in the last layer than in the first here.

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, n_layers + 1), spreads, "o-")
ax.set(xlabel="layer", ylabel="spread (pixels)", title="spread of the first eigenvector")
plt.show()

# %% [markdown]
# ## Across filter sizes, datasets and labels
#
# Each network is compared with the reference layer by layer, in two ways.
#
# - **Top-3 overlap** {eq}`eq-subspace-overlap`, as above. Filters of another size $k'$ live in another space: we resample
#   their eigenvectors onto the reference's $k\times k$ grid over the same field of view
#   (bilinear, corners to corners, `spatial.resample`) before comparing.
# - **The whole covariance**, so that ranks beyond three and the eigenvalues count too: the
#   normalized Bures similarity
#   $\mathcal{B}(C, C') = \operatorname{tr}\big((C^{1/2} C' C^{1/2})^{1/2}\big) / \sqrt{\operatorname{tr} C\,\operatorname{tr} C'}$
#   ([Chapter 6](06_factorized.ipynb) derives it), read as a distance $1 - \mathcal{B} = \tfrac12 W_2^2$ between zero-mean
#   Gaussians with the trace-normalized covariances. It needs filters of the same size, so it is
#   computed for the networks with $k = $ {glue:text}`spatial_reference_kernel` only.
#
# Three yardsticks: **white filters**, the reference's own initialization $W_0$; the **smooth null**
# matched to each reference layer; and the **ceiling**, the reference trained from another seed.


# %%
def top_vectors(weights, size):
    """Top eigenvectors of each layer, resampled to ``size``×``size``."""
    return [spatial.resample(spatial.spatial_eigenvectors(w)[1][:RANKS], size) for w in weights]


def compare(weights):
    """Per layer: (top-3 overlap with the reference, 1 − Bures similarity or NaN)."""
    same_size = weights[0].shape[-1] == ref_size
    return [
        (
            spatial.subspace_overlap(a, b),
            1 - bures_similarity(c, spatial.spatial_covariance(w)) if same_size else np.nan,
        )
        for a, b, c, w in zip(tops, top_vectors(weights, ref_size), covs, weights)
    ]


def kind_of(label):
    dataset, k, random = variants[label]
    if label == ceiling:
        return "another seed (ceiling)"
    return "filter size" if k != ref_size else "random labels" if random else "dataset"


rows = []
for label in variants:
    if label != reference:
        for layer, (overlap, distance) in enumerate(compare(nets[label].learned_conv_weights()), 1):
            rows.append(
                {
                    "comparison": f"{kind_of(label)}: {label}",
                    "kind": kind_of(label),
                    "layer": layer,
                    "top-3 overlap": overlap,
                    "1 − Bures": distance,
                }
            )
for layer, (overlap, distance) in enumerate(compare(ref_initial), 1):
    rows.append(
        {
            "comparison": "white filters (W₀)",
            "kind": "white filters",
            "layer": layer,
            "top-3 overlap": overlap,
            "1 − Bures": distance,
        }
    )
null_scores = np.array([compare([draws[i] for draws in smooth_nulls]) for i in range(NULL_DRAWS)])
for layer in range(1, n_layers + 1):
    overlap, distance = null_scores[:, layer - 1].mean(axis=0)
    rows.append(
        {
            "comparison": "smooth null",
            "kind": "smooth null",
            "layer": layer,
            "top-3 overlap": overlap,
            "1 − Bures": distance,
            "null sd": null_scores[:, layer - 1, 1].std(ddof=1),
        }
    )
scores = pd.DataFrame(rows)
null_distance = scores[scores.kind == "smooth null"].set_index("layer")

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
for i, (comparison, group) in enumerate(scores.groupby("comparison", sort=False)):
    null = comparison in ("smooth null", "white filters (W₀)")
    style = (
        {"color": "k" if comparison == "smooth null" else "gray", "ls": "--"}
        if null
        else {"color": f"C{i}"}
    )
    axes[0].plot(group.layer, group["top-3 overlap"], marker="o", label=comparison, **style)
    if group["1 − Bures"].notna().all():
        axes[1].plot(group.layer, group["1 − Bures"], marker="o", label=comparison, **style)
axes[0].axhline(RANKS / k2, color="gray", lw=1, ls=":", label="random subspaces")
axes[0].set(
    xlabel="layer",
    ylabel="overlap with the reference",
    ylim=(0, 1.02),
    title=f"top-{RANKS} eigenvectors vs the reference",
)
axes[0].legend(fontsize=7, loc="lower left")
axes[1].set(
    xlabel="layer",
    ylabel="1 − Bures similarity (log)",
    yscale="log",
    title="whole spatial covariance vs the reference (lower: closer)",
)
plt.tight_layout()
plt.show()

# %%
by_kind = scores.groupby("kind")[["top-3 overlap", "1 − Bures"]].mean()
closer_below = null_distance["1 − Bures"] - 2 * null_distance["null sd"]
farther_above = null_distance["1 − Bures"] + 2 * null_distance["null sd"]


def layers_closer(kind):
    """Layers where the kind is closer to the reference than the smooth null (beyond 2 sd)."""
    distance = scores[scores.kind == kind].groupby("layer")["1 − Bures"].mean()
    return int((distance < closer_below).sum()), int((distance > farther_above).sum())


null_draw_distances = null_scores[:, :, 1].mean(axis=1)  # each draw, averaged over layers


def verdict(kind):
    """Closer or farther than every draw of the smooth null, on average over the layers."""
    distance = by_kind.loc[kind, "1 − Bures"]
    if distance < null_draw_distances.min():
        return "closer to the reference than the smooth null"
    if distance > null_draw_distances.max():
        return "farther from the reference than the smooth null"
    return "not distinguishable from the smooth null"


glue("spatial_reference_kernel", ref_size)
glue("spatial_layers", n_layers)
for key, kind in [
    ("seed_ceiling", "another seed (ceiling)"),
    ("size", "filter size"),
    ("dataset", "dataset"),
    ("random_label", "random labels"),
    ("smooth_null", "smooth null"),
    ("random_filter", "white filters"),
]:
    glue(f"spatial_{key}_similarity", by_kind.loc[kind, "top-3 overlap"])
    if kind != "filter size":
        glue(f"spatial_{key}_distance", by_kind.loc[kind, "1 − Bures"])
for key, kind in [
    ("seed_ceiling", "another seed (ceiling)"),
    ("dataset", "dataset"),
    ("random_label", "random labels"),
]:
    closer, farther = layers_closer(kind)
    glue(f"spatial_{key}_closer_layers", closer)
    glue(f"spatial_{key}_farther_layers", farther)
    glue(f"spatial_{key}_verdict", verdict(kind))
glue("spatial_other_dataset", other_name)
beats_null = {kind: verdict(kind).startswith("closer") for kind in ("random labels", "dataset")}
glue(
    "spatial_beyond_smoothness",
    "What is shared beyond smoothness is shared by networks that saw the same images."
    if beats_null["random labels"] and not beats_null["dataset"]
    else "What is shared beyond smoothness carries over to random labels and another dataset."
    if all(beats_null.values())
    else "What is shared beyond smoothness reaches another dataset, not random labels."
    if beats_null["dataset"]
    else "Beyond two seeds of one recipe, these comparisons resolve no shared structure.",
)
glue("spatial_smooth_null_distance_low", null_draw_distances.min())
glue("spatial_smooth_null_distance_high", null_draw_distances.max())
trained_kinds = ["another seed (ceiling)", "filter size", "dataset", "random labels"]
departs = by_kind.loc["dataset", "top-3 overlap"] < by_kind.loc["smooth null", "top-3 overlap"] - 0.2
glue(
    "spatial_top3_dataset_note",
    f"The one network that falls well below it is the one trained on {other_name}: on this "
    "measure the top three recur across layers, filter sizes and labels, not across these two "
    "datasets."
    if departs
    else f"The network trained on {other_name} is within reach of it too.",
)
glue(
    "spatial_top3_best_margin",
    by_kind.loc[trained_kinds, "top-3 overlap"].max() - by_kind.loc["smooth null", "top-3 overlap"],
)
by_kind.round(3)

# %% [markdown]
# <a id="claim-top3-overlaps"></a>
# **The top three cannot tell.** Averaged over the layers, the top-3 overlap with the reference is
# {glue:text}`spatial_seed_ceiling_similarity:.2f` for the ceiling,
# {glue:text}`spatial_size_similarity:.2f` for another filter size,
# {glue:text}`spatial_dataset_similarity:.2f` for {glue:text}`spatial_other_dataset`,
# {glue:text}`spatial_random_label_similarity:.2f` for random labels and
# {glue:text}`spatial_random_filter_similarity:.2f` for white filters, but
# {glue:text}`spatial_smooth_null_similarity:.2f` for the smooth null.
# <a id="claim-top3-margin"></a>A blob and two gradients is
# what smoothness gives: the largest margin of a trained network over the smooth null on this
# measure is {glue:text}`spatial_top3_best_margin:.2f`.
# <a id="claim-dataset-top3"></a>{glue:text}`spatial_top3_dataset_note`
#
# <a id="claim-whole-covariance"></a>
# **The whole covariance can.** The distance $1 - \mathcal{B}$ to the reference, averaged over the
# layers, is {glue:text}`spatial_seed_ceiling_distance:.3f` for the ceiling,
# {glue:text}`spatial_random_label_distance:.3f` for random labels,
# {glue:text}`spatial_dataset_distance:.3f` for {glue:text}`spatial_other_dataset`,
# {glue:text}`spatial_smooth_null_distance:.3f` for the smooth null (from
# {glue:text}`spatial_smooth_null_distance_low:.3f` to
# {glue:text}`spatial_smooth_null_distance_high:.3f` over its draws) and
# {glue:text}`spatial_random_filter_distance:.3f` for white filters. On average over the layers:
#
# - <a id="claim-seed-verdict"></a>another seed is {glue:text}`spatial_seed_ceiling_verdict`;
# - <a id="claim-random-label-verdict"></a>random labels: {glue:text}`spatial_random_label_verdict`;
# - <a id="claim-dataset-verdict"></a>
#   {glue:text}`spatial_other_dataset`: {glue:text}`spatial_dataset_verdict`.
#
# Layer by layer, counting layers where a network is closer than the smooth null by more than
# twice the spread of the null's draws (the spread of the null only; a second network would add
# its own scatter), another seed is closer in {glue:text}`spatial_seed_ceiling_closer_layers` of
# {glue:text}`spatial_layers` (farther in {glue:text}`spatial_seed_ceiling_farther_layers`),
# random labels in {glue:text}`spatial_random_label_closer_layers` (farther in
# {glue:text}`spatial_random_label_farther_layers`), {glue:text}`spatial_other_dataset` in
# {glue:text}`spatial_dataset_closer_layers` (farther in
# {glue:text}`spatial_dataset_farther_layers`).
#
# Here is one middle layer in every network, eigenvectors resampled to the reference grid, with one
# draw of the smooth null and the white filters:

# %%
middle = n_layers // 2
fig, axes = plt.subplots(
    len(nets) + 2, show_ranks, figsize=(1.3 * show_ranks + 3, 1.2 * (len(nets) + 2))
)
for row, (label, net) in enumerate(nets.items()):
    vectors = spatial.spatial_eigenvectors(net.learned_conv_weights()[middle - 1])[1][:show_ranks]
    plotting.show_filters(axes[row], spatial.resample(vectors, ref_size), label)
null_vectors = spatial.spatial_eigenvectors(smooth_nulls[middle - 1][0])[1][:show_ranks]
plotting.show_filters(axes[-2], null_vectors, "smooth null")
random_vectors = spatial.spatial_eigenvectors(ref_initial[middle - 1])[1][:show_ranks]
plotting.show_filters(axes[-1], random_vectors, "white filters (W₀)")
fig.suptitle(f"Layer {middle}: top spatial eigenvectors", y=1.0)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Where this departs from the source
#
# The source trains the full VGG-11 on ImageNet, CIFAR-10 and CIFAR-100, and compares
# eigenvectors by eye; its text does not state the optimizer, learning rate or number of epochs.
# This chapter trains with Adam (learning rate {glue:text}`spatial_lr`) for
# {glue:text}`spatial_epochs` epochs, in the `quick` profile on narrow networks and small offline
# datasets, and replaces the visual comparison with the two measures above and their yardsticks.
# The `full` profile trains VGG-11 on CIFAR-10 and CIFAR-100, still with Adam; it leaves out
# ImageNet, which cannot be downloaded automatically and would not train within an hour of one
# GPU.
#
# ## What we learned
#
# - What training adds to a convolutional layer, $W - W_0$, is low-dimensional in space: three
#   smooth eigenvectors (a blob and two gradients) carry {glue:text}`spatial_top3_share:.0%` of it,
#   against {glue:text}`spatial_random_top3_share:.0%` for random filters. In $W$ itself, where
#   the initialization is still mixed in, they carry {glue:text}`spatial_top3_share_trained:.0%`.
# - That these three recur in every layer, for every filter size and with random labels says no
#   more than that learned filters are smooth: smoothed noise with the same neighbour correlation
#   has the same top three (overlap {glue:text}`spatial_smooth_null_similarity:.2f`, against
#   {glue:text}`spatial_seed_ceiling_similarity:.2f` for another seed).
# - Beyond smoothness, on the whole spatial covariance averaged over the layers, another seed is
#   {glue:text}`spatial_seed_ceiling_verdict` (distance
#   {glue:text}`spatial_seed_ceiling_distance:.3f` against
#   {glue:text}`spatial_smooth_null_distance:.3f`); a network trained with random labels on the
#   same images is {glue:text}`spatial_random_label_verdict`, and one trained on
#   {glue:text}`spatial_other_dataset` is {glue:text}`spatial_dataset_verdict`.
#   {glue:text}`spatial_beyond_smoothness`
# - Layers differ {glue:text}`spatial_layer_difference_word` in eigenvalues than in eigenvectors;
#   the dilation with depth that the source notes is {glue:text}`spatial_dilation_seen` here (the
#   first eigenvector is {glue:text}`spatial_dilation_word` in the last layer than in the first).
# - If space is this simple, a layer could learn only how to mix channels. [Chapter 6](06_factorized.ipynb) tests this:
#   it freezes the spatial filters and learns only the channel mixing.
#
# ## Exercises
#
# **1. Without subtracting the initialization.** Redo the layer-by-layer comparison with the
# trained weights $W$ instead of $W - W_0$. Which overlaps drop, and why?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: per variant, one overlap per layer, as in the table above
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

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: a plot of the overlap against r = 1, …, k², next to the line r/k²
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
