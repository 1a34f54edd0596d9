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
# # Rainbow networks: generating networks from weight covariances
#
# The last two chapters showed that what a layer learns is concentrated in a few eigen-directions
# of its weight covariance, and that different seeds learn the same directions up to a rotation.
# Here is the boldest test of that picture: throw the trained weights away, keep only their
# covariances, and draw *new random weights* with those covariances. If the covariances hold what
# the network learned, the new network should classify well without a single step of training.
#
# [![Open In Colab](../book/_static/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/03_rainbow.ipynb)

# %% tags=["hide-cell"]
# Setup: on Colab, install the book's helper package (elsewhere it is already installed).
import subprocess
import sys

if "google.colab" in sys.modules:
    package = "deepinside @ git+https://github.com/deepinside/deepinside"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": offline MNIST digits, CPU; "full": grayscale CIFAR-10
SEED = 0  # seed of the reference networks and of the sampling
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
SAMPLES = 5  # generated networks per architecture

# %%
import copy

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from deepinside import plotting, rainbow, runtime, setups
from deepinside.notebook import glue, show_source
from deepinside.training import accuracy

plotting.setup()
session = runtime.start(PROFILE, SEED, DEVICE, setups.PART1)
device = session.device
train_set, test_set = setups.part1_data(session.settings)
nets = setups.part1_networks(session.settings, train_set, test_set, seed=SEED, device=device)
chance = 100 / train_set.num_classes

# %% [markdown]
# ## Generating a network layer by layer
#
# Let $W_1$ be the trained first layer, with $n_1$ neurons. Its weight covariance is
# $C_1 = \frac{1}{n_1} W_1^\top W_1$. We draw each neuron of a new layer independently,
# $w'_i \sim \mathcal{N}(0, C_1)$. With the SVD $W_1 = U S V^\top$, this is $w'_i = g_i\,
# (S/\sqrt{n_1})\,V^\top$ with $g_i \sim \mathcal{N}(0, I)$, since then
# $\mathbb{E}[w_i'^\top w'_i] = V S^2 V^\top / n_1 = C_1$. (Note the $1/n_1$: drawing from
# $W_1^\top W_1$ instead would scale every weight by $\sqrt{n_1}$; it happens to give the same
# predictions here only because the networks have no biases and the ReLU is positively
# homogeneous. The package's test checks that the covariance is the stated one.)
#
# The new neurons are random, so the new representation $\sigma(W'_1 x)$ is expressed in
# arbitrary coordinates: the second layer of the reference network cannot read it directly.
# Chapter 2 gives the fix. We align the generated representation to the reference one on the
# training images, $A_1 = UV^\top$ from the SVD of $\mathbb{E}[\sigma(W_1x)\,\sigma(W'_1x)^\top]$,
# so that $A_1 \sigma(W'_1 x) \approx \sigma(W_1 x)$. In the generated coordinates the reference
# second layer reads $W_2 A_1$; we sample $W'_2$ from the covariance
# $\frac{1}{n_2}(W_2A_1)^\top (W_2 A_1)$, align again to get $A_2$, and so on. The classifier is
# not sampled: it is the trained $\theta$, expressed in the last generated coordinates,
# $\theta' = \theta A_L$. For a CNN, the same recipe aligns channels and samples each filter
# from the covariance of the reshaped $C_\text{out} \times C_\text{in} k^2$ weights.

# %% [markdown]
# The sampling step, from the package itself:

# %% tags=["hide-input"]
show_source(rainbow.sample_weights)


# %%
def evaluate(name):
    """Accuracies of the trained, generated, generated-and-refit and untrained networks."""
    reference = nets[name].model
    rows = []
    for sample in runtime.progress(range(SAMPLES), desc=f"generating {name}"):
        g = torch.Generator().manual_seed(1000 * SEED + sample)
        generated = rainbow.generate(reference, train_set, g, device=device)
        refit = rainbow.retrain_classifier(generated, train_set, device=device)
        rows += [
            {
                "network": name.upper(),
                "kind": "generated",
                "accuracy": accuracy(generated, test_set, device),
            },
            {
                "network": name.upper(),
                "kind": "generated, classifier refit",
                "accuracy": accuracy(refit, test_set, device),
            },
        ]
    rows += [
        {"network": name.upper(), "kind": "trained", "accuracy": nets[name].test_accuracy},
        {
            "network": name.upper(),
            "kind": "untrained",
            "accuracy": accuracy(nets[name].initial, test_set, device),
        },
    ]
    return rows


results = pd.DataFrame(evaluate("mlp") + evaluate("cnn"))
summary = results.groupby(["network", "kind"]).accuracy.agg(["mean", "std", "count"]).round(2)

fig, ax = plt.subplots(figsize=(8, 3.6))
order = ["trained", "generated", "generated, classifier refit", "untrained"]
sns.barplot(results, x="kind", y="accuracy", hue="network", order=order, errorbar="sd", ax=ax)
sns.stripplot(
    results,
    x="kind",
    y="accuracy",
    hue="network",
    order=order,
    dodge=True,
    ax=ax,
    palette="dark:k",
    size=3,
    legend=False,
)
ax.axhline(chance, color="gray", ls=":", label="chance")
ax.set(
    xlabel="", ylabel="test accuracy (%)", title=f"Trained vs generated ({SAMPLES} samples each)"
)
ax.legend(loc="lower left")
fig.tight_layout()

mean = lambda net, kind: results.query("network == @net and kind == @kind").accuracy.mean()
std = lambda net, kind: results.query("network == @net and kind == @kind").accuracy.std()
for net in ("MLP", "CNN"):
    low = net.lower()
    glue(f"rainbow_{low}_trained_acc", mean(net, "trained"))
    glue(f"rainbow_{low}_generated_acc", mean(net, "generated"))
    glue(f"rainbow_{low}_generated_std", std(net, "generated"))
    glue(f"rainbow_{low}_refit_acc", mean(net, "generated, classifier refit"))
    glue(f"rainbow_{low}_untrained_acc", mean(net, "untrained"))
    glue(f"rainbow_{low}_loss", mean(net, "trained") - mean(net, "generated"))
glue("rainbow_chance_acc", chance)
summary

# %% [markdown]
# Without any training, the generated MLPs reach {glue:text}`rainbow_mlp_generated_acc:.1f` %
# (± {glue:text}`rainbow_mlp_generated_std:.1f` over the samples), against
# {glue:text}`rainbow_mlp_trained_acc:.1f` % for the trained network,
# {glue:text}`rainbow_mlp_untrained_acc:.1f` % for the network at initialization and
# {glue:text}`rainbow_chance_acc:.0f` % for chance. The generated CNNs reach
# {glue:text}`rainbow_cnn_generated_acc:.1f` % (± {glue:text}`rainbow_cnn_generated_std:.1f`)
# against {glue:text}`rainbow_cnn_trained_acc:.1f` % trained. The covariances, plus the trained
# classifier, hold most of what these networks learned. Refitting only the classifier of a
# generated network gives {glue:text}`rainbow_mlp_refit_acc:.1f` % (MLP) and
# {glue:text}`rainbow_cnn_refit_acc:.1f` % (CNN): the generated features are as usable as the
# trained ones, and the remaining gap of the plain generated networks comes from the alignment
# being only approximate.
#
# ## Why a CNN can lose more
#
# Here the generated CNN loses {glue:text}`rainbow_cnn_loss:.1f` points of accuracy and the MLP
# {glue:text}`rainbow_mlp_loss:.1f`: on these easy digits the two losses are close, within the
# spread between samples. On the source's grayscale CIFAR-10 the CNN loses much more (about 58 %
# trained against 36 % generated in the source tutorial; run this chapter with
# `PROFILE = "full"` to measure it). The reason is that sampling a Gaussian keeps only
# second-order statistics.
# Spatial filters are not Gaussian: trained filters are selective to an orientation and a
# frequency (edges, strokes), a structure that lives in higher-order statistics and is blurred by
# a Gaussian draw over the $C_\text{in} k^2$ coordinates of a filter. Part II takes this seriously:
# convolutional filters turn out to share a few universal spatial eigenvectors, and a
# *factorized* network that fixes those spatial filters and learns only how channels mix is the
# natural architecture for generating networks.
#
# ## What we learned
#
# - Sampling each layer's neurons from $\mathcal{N}(0, \frac1n W^\top W)$, realigning the next
#   layer with the cross-covariance, and reusing the aligned classifier produces working networks
#   without training.
# - The weight covariances thus hold most of the learned information; the individual neurons are
#   interchangeable samples.
# - Gaussian sampling cannot reproduce the non-Gaussian spatial structure of convolutional
#   filters, which costs CNNs more on natural images.
#
# ## Exercises
#
# **1. No alignment.** Generate the MLP's first layer but skip the alignment (use the identity).
# What accuracy do you get, and why?

# %% tags=["hide-input"]
# Solution
mlp = nets["mlp"].model
no_align = copy.deepcopy(mlp)
with torch.no_grad():
    no_align[1].weight.copy_(
        rainbow.sample_weights(
            mlp[1].weight.detach().cpu(), generator=torch.Generator().manual_seed(7)
        ).to(device)
    )
print(
    f"first layer sampled, no alignment: {accuracy(no_align, test_set, device):.1f} % "
    f"(chance {chance:.0f} %)"
)
# The second layer reads neuron i of the first layer as if it were the trained neuron i, but the
# sampled neurons are in random coordinates: the network is scrambled.

# %% [markdown]
# **2. Wider generated networks.** `rainbow.sample_weights(weight, neurons=...)` draws any number
# of neurons. Why does the recipe above keep the reference width, and what would need to change
# to generate a wider network?

# %% tags=["hide-input"]
# Solution (in words). The alignment A would become a rectangular matrix with orthonormal columns
# (see `alignment.orthogonal_alignment`), mapping the wider generated layer onto the reference
# one; `rainbow.express_in` already accepts it. The generated network object would need wider
# Linear/Conv2d modules. The rainbow paper reports that the gap to the trained accuracy shrinks
# as the width grows.
print(rainbow.sample_weights(mlp[1].weight.detach().cpu(), neurons=1024).shape)

# %% [markdown]
# ## References
#
# - Rainbow networks, sampled from weight covariances: {footcite:t}`guth2023rainbow`, as presented in the
#   tutorial of {footcite:t}`bonnerlab2023tutorial`.
# - Learned scattering networks, whose fixed spatial filters make generation more accurate:
#   {footcite:t}`guth2022phase`.
#
# ```{footbibliography}
# ```
