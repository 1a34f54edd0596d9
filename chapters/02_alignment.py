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
# # Alignment: do two networks learn the same thing?
#
# Train the same architecture twice from two random seeds. The two networks reach the same
# accuracy, but their neurons are numbered and mixed arbitrarily: neuron 17 of one has no reason
# to match neuron 17 of the other. In this chapter we find the rotation that best maps one
# representation onto the other, measure how much of the representation it explains on held-out
# images, and use it to compare the two networks' principal directions, of activations and of
# weights. We also compute linear CKA, a popular similarity that needs no alignment, and say
# what each measure is blind to.
#
# [![Open In Colab](../book/_static/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/02_alignment.ipynb)

# %% tags=["hide-cell"]
# Setup: on Colab, install the book's helper package (elsewhere it is already installed).
import subprocess
import sys

if "google.colab" in sys.modules:
    package = "deepinside @ git+https://github.com/deepinside/deepinside"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": offline MNIST digits, CPU; "full": grayscale CIFAR-10
SEED = 0  # seed of the first network; the second uses SEED + 1
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
TOP = 30  # how many leading eigenvectors the comparison maps show

# %%
import copy

import matplotlib.pyplot as plt
import pandas as pd
import torch

from deepinside import alignment as al
from deepinside import covariance as cov
from deepinside import linalg, models, plotting, runtime, setups
from deepinside.notebook import glue, show_source

plotting.setup()
session = runtime.start(PROFILE, SEED, DEVICE, setups.PART1)
settings, device = session.settings, session.device
train_set, test_set = setups.part1_data(settings)
first = setups.part1_networks(settings, train_set, test_set, seed=SEED, device=device)
second = setups.part1_networks(settings, train_set, test_set, seed=SEED + 1, device=device)
for name in first:
    print(
        f"{name.upper()}: seed {SEED} {first[name].test_accuracy:.1f} %, "
        f"seed {SEED + 1} {second[name].test_accuracy:.1f} % test accuracy"
    )

# %% [markdown]
# These are the networks of the previous chapter (loaded from the cache) and a second copy of
# each, trained from another seed on the same data.
#
# ## The best rotation between two representations
#
# Let $\varphi(x) \in \mathbb{R}^{d}$ and $\psi(x) \in \mathbb{R}^{d}$ be the representations of
# the same input at the same layer of the two networks. We look for the orthogonal matrix $A$
# that maps one onto the other as well as possible:
#
# $$ \min_{A^\top A = I}\; \mathbb{E}_x \|A\varphi(x) - \psi(x)\|^2. $$
#
# Orthogonality keeps the geometry of the representation: $A$ may only rotate (or reflect) it,
# not stretch it. Expanding the square, $\|A\varphi\|^2 = \|\varphi\|^2$, so the objective is
# $\mathbb{E}\|\varphi\|^2 + \mathbb{E}\|\psi\|^2 - 2\,\mathrm{tr}\big(A\,\mathbb{E}[\varphi\psi^\top]\big)$
# and we must maximize $\mathrm{tr}(A\,\Sigma^\top)$ where $\Sigma = \mathbb{E}[\psi\varphi^\top]$ is
# the (uncentered) cross-covariance. With its singular value decomposition
# $\Sigma = U S V^\top$, $\mathrm{tr}(A V S U^\top) = \mathrm{tr}(S\, U^\top A V)$, and
# $U^\top A V$ is orthogonal, so its diagonal entries are at most 1: the maximum $\mathrm{tr}\,S$
# is reached by
#
# $$ A = U V^\top. $$
#
# The residual is then $\mathbb{E}\|\varphi\|^2 + \mathbb{E}\|\psi\|^2 - 2\,\mathrm{tr}\,S$, and the
# share of the energy that the alignment explains is
#
# $$ r^2 = \frac{\mathrm{tr}\,S}{\sqrt{\mathbb{E}\|\varphi\|^2\;\mathbb{E}\|\psi\|^2}}, $$
#
# which is 1 exactly when $\psi = A\varphi$. The same formula with any other orthogonal $A$,
# $r^2(A) = \mathrm{tr}(A\,\mathbb{E}[\varphi\psi^\top]) / \sqrt{\cdot}$, gives baselines: the
# identity (no alignment: neuron $i$ against neuron $i$) and a random rotation.
#
# $A$ is fitted on the training images. Like any fitted model it must be evaluated on images it
# has not seen, so we report $r^2$ on the held-out test split, and on the training split for
# comparison. For convolutional layers, channels are aligned and spatial positions are samples.

# %% [markdown]
# In code, from the package itself:

# %% tags=["hide-input"]
show_source(al.orthogonal_alignment)

# %%
def layer_statistics(net_a, net_b, images):
    """Per hidden layer: E[ψ φᵀ] (b against a) and the energies E‖φ‖², E‖ψ‖² on ``images``."""
    layers = models.hidden_layers(net_a)
    cross = cov.activation_covariances(net_b, images, layers, other=net_a, device=device)
    own_a = cov.activation_covariances(net_a, images, layers, device=device)
    own_b = cov.activation_covariances(net_b, images, layers, device=device)
    return [
        {
            "cross": c,
            "cov_a": a,
            "cov_b": b,
            "energy_a": a.trace().item(),
            "energy_b": b.trace().item(),
        }
        for c, a, b in zip(cross, own_a, own_b)
    ]


stats = {
    (name, split): layer_statistics(first[name].model, second[name].model, images)
    for name in first
    for split, images in (("train", train_set), ("test", test_set))
}
aligns = {
    name: [al.orthogonal_alignment(s["cross"]) for s in stats[name, "train"]] for name in first
}
rng = torch.Generator().manual_seed(SEED)

rows = []
for name in first:
    for k, align in enumerate(aligns[name], start=1):
        baselines = {
            "aligned": align,
            "identity": torch.eye(*align.shape, dtype=align.dtype),
            "random rotation": al.random_orthogonal(*align.shape, rng),
        }
        for split in ("train", "test"):
            s = stats[name, split][k - 1]
            for method, matrix in baselines.items():
                rows.append(
                    {
                        "network": name.upper(),
                        "layer": k,
                        "split": split,
                        "method": method,
                        "r2": al.r2(matrix, s["cross"], s["energy_a"], s["energy_b"]),
                    }
                )

r2_table = pd.DataFrame(rows)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
for ax, name in zip(axes, ["MLP", "CNN"]):
    test_rows = r2_table[(r2_table.network == name) & (r2_table.split == "test")]
    pivot = test_rows.pivot(index="layer", columns="method", values="r2")
    pivot[["aligned", "identity", "random rotation"]].plot.bar(ax=ax, rot=0)
    ax.set(title=f"{name}: r² on held-out images", ylabel="r²", xlabel="hidden layer")
    ax.axhline(0, color="k", lw=0.8)
fig.tight_layout()

r2_of = lambda name, k, split, method: r2_table.query(
    "network == @name and layer == @k and split == @split and method == @method"
).r2.item()
glue("align_mlp_r2_l1_test", r2_of("MLP", 1, "test", "aligned"))
glue("align_mlp_r2_l2_test", r2_of("MLP", 2, "test", "aligned"))
glue("align_mlp_r2_l1_train", r2_of("MLP", 1, "train", "aligned"))
glue("align_mlp_r2_l1_identity", r2_of("MLP", 1, "test", "identity"))
glue("align_mlp_r2_l1_random", r2_of("MLP", 1, "test", "random rotation"))
glue("align_cnn_r2_l1_test", r2_of("CNN", 1, "test", "aligned"))
glue("align_cnn_r2_l2_test", r2_of("CNN", 2, "test", "aligned"))
r2_table.pivot_table(index=["network", "layer", "method"], columns="split", values="r2").round(3)

# %% [markdown]
# On held-out images the rotation fitted on the training images explains
# {glue:text}`align_mlp_r2_l1_test:.3f` of the first hidden layer of the MLP and
# {glue:text}`align_mlp_r2_l2_test:.3f` of the second (CNN: {glue:text}`align_cnn_r2_l1_test:.3f`
# and {glue:text}`align_cnn_r2_l2_test:.3f`). Without alignment, matching neuron $i$ with neuron
# $i$, the same measure is only {glue:text}`align_mlp_r2_l1_identity:.3f`, and a random rotation
# gives {glue:text}`align_mlp_r2_l1_random:.3f`. The identity baseline is not zero because ReLU
# outputs are non-negative: both representations share a large mean direction. On the training
# images the aligned value is {glue:text}`align_mlp_r2_l1_train:.3f`, almost the same as on the
# test images: with a few hundred channels and thousands of images (and, for convolutions, many
# positions per image), the rotation does not overfit here.
#
# ## Comparing principal directions
#
# Alignment lets us compare the two networks' eigenvectors. If $u$ is an eigenvector of the
# first network's activation covariance and $v$ one of the second's, $A u$ lives in the
# coordinates of the second network, so we compare it with $v$ through $|\langle Au, v\rangle|$
# (eigenvectors are defined up to sign). For all pairs of leading eigenvectors this is the matrix
# $|E_2\, A\, E_1^\top|$, eigenvectors as rows. A large diagonal means the two networks found the
# same principal directions in the same order. Without alignment we compare $|E_2 E_1^\top|$.


# %%
def eigen_match(e1, e2, align):
    """|E₂ A E₁ᵀ| restricted to the leading TOP eigenvectors, and the mean of its diagonal."""
    top = min(TOP, e1.shape[0], e2.shape[0])
    m = (e2[:top] @ align @ e1[:top].T).abs()
    return m, m.diagonal()[:10].mean().item()


def show_matches(title, pairs):
    """Heat maps of eigenvector matches: one column per (label, matrix) pair."""
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.3 * len(pairs), 3.3))
    for ax, (label, m) in zip(axes, pairs):
        image = ax.imshow(m.numpy(), cmap="cividis", vmin=0, vmax=1)
        ax.set(title=label, xlabel="rank, network 1")
    axes[0].set_ylabel("rank, network 2")
    fig.colorbar(image, ax=axes, shrink=0.8)
    fig.suptitle(title, y=1.02)


act_pairs, diag = [], {}
for k, (align, s) in enumerate(zip(aligns["mlp"], stats["mlp", "train"]), start=1):
    _, e1 = linalg.eigh_desc(s["cov_a"])
    _, e2 = linalg.eigh_desc(s["cov_b"])
    m, diag["act", k, "aligned"] = eigen_match(e1, e2, align)
    m0, diag["act", k, "identity"] = eigen_match(e1, e2, torch.eye(*align.shape, dtype=align.dtype))
    act_pairs += [(f"layer {k}, aligned", m), (f"layer {k}, not aligned", m0)]
show_matches("MLP activation eigenvectors, |E₂ A E₁ᵀ|", act_pairs)

glue("align_mlp_act_diag_l1", diag["act", 1, "aligned"])
glue("align_mlp_act_diag_l1_identity", diag["act", 1, "identity"]);
# %% [markdown]
# After alignment the leading activation eigenvectors match one to one: the mean of the first ten
# diagonal entries is {glue:text}`align_mlp_act_diag_l1:.2f` in the first layer, against
# {glue:text}`align_mlp_act_diag_l1_identity:.2f` without alignment. Further down the spectrum,
# where eigenvalues are close to each other, eigenvectors can swap or mix within near-degenerate
# groups and the diagonal blurs.
#
# The weights can be compared the same way. A weight eigenvector $u$ of the first network's
# second layer acts on $\varphi$ by $\langle u, \varphi\rangle = \langle Au, A\varphi\rangle
# \approx \langle Au, \psi\rangle$: again we compare $Au$ with the second network's weight
# eigenvector $v$, where $A$ is now the alignment of the layer's *input*. The first layer reads
# pixels, the same coordinates for both networks, so it needs no alignment at all.

# %%
weight_pairs = []
mlp_1, mlp_2 = first["mlp"].model, second["mlp"].model
for k, index in enumerate(models.weight_layers(mlp_1)[:-1], start=1):
    _, v1 = cov.weight_spectrum(mlp_1[index])
    _, v2 = cov.weight_spectrum(mlp_2[index])
    identity = torch.eye(v1.shape[1], dtype=v1.dtype)
    align = identity if k == 1 else aligns["mlp"][k - 2]
    m, diag["w", k, "aligned"] = eigen_match(v1, v2, align)
    m0, diag["w", k, "identity"] = eigen_match(v1, v2, identity)
    weight_pairs += [(f"layer {k}" + (" (pixels)" if k == 1 else ", aligned"), m)]
    if k > 1:
        weight_pairs += [(f"layer {k}, not aligned", m0)]
show_matches("MLP weight eigenvectors", weight_pairs)

glue("align_mlp_weight_diag_l1", diag["w", 1, "aligned"])
glue("align_mlp_weight_diag_l2", diag["w", 2, "aligned"])
glue("align_mlp_weight_diag_l2_identity", diag["w", 2, "identity"]);

# %% [markdown]
# The first-layer weight eigenvectors largely agree without any alignment (mean leading diagonal
# {glue:text}`align_mlp_weight_diag_l1:.2f`): both networks learned the same input directions.
# In the second layer the agreement appears only after aligning its input
# ({glue:text}`align_mlp_weight_diag_l2:.2f` against
# {glue:text}`align_mlp_weight_diag_l2_identity:.2f`). The learned, informative directions of the
# previous chapter, those beyond the Marchenko–Pastur bulk, are shared by networks trained from
# different seeds.
#
# ## Linear CKA, and what each measure ignores
#
# Centered kernel alignment compares two representations without fitting anything. With the
# features $X \in \mathbb{R}^{N\times d_1}$ and $Y \in \mathbb{R}^{N \times d_2}$ of $N$ images,
# centered over the images,
#
# $$ \mathrm{CKA}(X, Y) = \frac{\|Y^\top X\|_F^2}{\|X^\top X\|_F\,\|Y^\top Y\|_F}. $$
#
# We compute it on the test images with each image's whole representation flattened (for the
# CNN, all channels at all positions), and compare with a network at initialization.


# %%
@torch.no_grad()
def features(net, layer, images):
    """Flattened representations of all ``images`` at ``net[layer]``, one row per image."""
    return torch.cat(
        [
            cov.representations(net, x.to(device), [layer])[0].flatten(1).cpu()
            for x, _ in images.loader(500)
        ]
    )


cka_rows = []
for name in first:
    for k, layer in enumerate(models.hidden_layers(first[name].model), start=1):
        x = features(first[name].model, layer, test_set)
        cka_rows.append(
            {
                "network": name.upper(),
                "layer": k,
                "other seed": al.linear_cka(x, features(second[name].model, layer, test_set)),
                "untrained": al.linear_cka(x, features(first[name].initial, layer, test_set)),
            }
        )
cka = pd.DataFrame(cka_rows).set_index(["network", "layer"])
glue("align_mlp_cka_l1", cka.loc[("MLP", 1), "other seed"])
glue("align_mlp_cka_l1_untrained", cka.loc[("MLP", 1), "untrained"])
cka.round(3)

# %% [markdown]
# CKA between the two trained MLPs is {glue:text}`align_mlp_cka_l1:.3f` in the first layer, and
# {glue:text}`align_mlp_cka_l1_untrained:.3f` between a trained network and its own
# initialization. Note that the untrained value is far from zero: CKA is dominated by the leading
# directions of the representations, and a random ReLU layer already keeps much of the input's
# dominant structure.
#
# The two measures answer different questions:
#
# | | aligned $r^2$ | linear CKA |
# | --- | --- | --- |
# | fits a map | yes, an orthogonal $A$, on training images | no |
# | invariant to rotations of either representation | yes | yes |
# | invariant to isotropic scaling | yes | yes |
# | invariant to a shift (mean) | no: uncentered | yes: centered |
# | invariant to anisotropic scaling or any invertible map | no | no |
# | gives a correspondence between neurons or eigenvectors | yes, $A$ | no |
#
# The alignment matrix is what the next chapter needs: it lets us carry weights from one network
# into the coordinates of another.
#
# ## What we learned
#
# - Two networks trained from different seeds compute representations that are, to a large
#   extent, rotations of each other: the optimal rotation $A = UV^\top$ comes from the SVD of the
#   cross-covariance, and it explains most of the energy on held-out images.
# - Without alignment, neuron-by-neuron comparisons miss this entirely.
# - After alignment, the leading activation and weight eigenvectors of the two networks coincide.
# - CKA needs no fitted map but gives no correspondence; it is centered, $r^2$ is not.
#
# ## Exercises
#
# **1. A permuted copy.** Build a second MLP whose first layer is $P W_1$ for a random
# permutation matrix $P$ and whose second layer is $W_2 P^\top$. Why is it the same function
# (and why would a general rotation $Q$ not do)? What does the alignment find, and what $r^2$ do
# you expect without alignment?

# %% tags=["hide-input"]
# Solution. A permutation matrix commutes with the ReLU, a general rotation does not, so we use a
# random permutation: σ(P W₁ x) = P σ(W₁ x), and W₂ Pᵀ undoes it.
perm_net = copy.deepcopy(mlp_1)
p = torch.eye(mlp_1[1].out_features)[torch.randperm(mlp_1[1].out_features, generator=rng)]
with torch.no_grad():
    perm_net[1].weight.copy_(p @ mlp_1[1].weight)
    perm_net[3].weight.copy_(mlp_1[3].weight @ p.T)
(s,) = layer_statistics(mlp_1, perm_net, test_set)[:1]
found = al.orthogonal_alignment(s["cross"])
identity = torch.eye(*found.shape, dtype=found.dtype)
print(f"aligned r² = {al.r2(found, s['cross'], s['energy_a'], s['energy_b']):.4f}")
print(f"identity r² = {al.r2(identity, s['cross'], s['energy_a'], s['energy_b']):.4f}")
print(f"the alignment is the permutation: {torch.allclose(found.float(), p, atol=1e-3)}")

# %% [markdown]
# **2. Overfitting the rotation.** Fit $A$ on only 50 training images and evaluate $r^2$ on the
# test images. How far does it fall?

# %% tags=["hide-input"]
# Solution
few = train_set.subset(torch.arange(50))
s_few = layer_statistics(mlp_1, mlp_2, few)[0]
s_test = stats["mlp", "test"][0]
a_few = al.orthogonal_alignment(s_few["cross"])
fit_r2 = al.r2(a_few, s_few["cross"], s_few["energy_a"], s_few["energy_b"])
test_r2 = al.r2(a_few, s_test["cross"], s_test["energy_a"], s_test["energy_b"])
print(f"r² on the 50 fitting images: {fit_r2:.3f}; on the test images: {test_r2:.3f}")
# With 50 images and 512 channels, the rotation has far more freedom than data: it fits the
# training images almost perfectly and generalizes worse.

# %% [markdown]
# ## References
#
# - Aligning networks by rotations of their activations: {footcite:t}`guth2023rainbow`.
# - Centered kernel alignment (CKA): {footcite:t}`kornblith2019similarity`.
# - The orthogonal Procrustes problem: {footcite:t}`schonemann1966procrustes`.
#
# ```{footbibliography}
# ```
