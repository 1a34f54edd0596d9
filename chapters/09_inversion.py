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
# # Input inversion: what a layer still knows about its input
#
# Every layer of a network holds a *representation* (an embedding) of the input. How much of
# the input does it still contain? The most direct test is to try to get the input back:
# start from a random image and change it by gradient descent until the layer's embedding of
# it matches the embedding of the real image. If the layer kept everything, the image we find
# is the real one; if many images share the same embedding, we find one of them, and the
# difference shows what the layer threw away.
#
# This chapter inverts the layers of ResNets, untrained and trained, on a photograph of a cat;
# shows that deep layers are matched by images that look nothing like the cat
# (**non-uniqueness**); explains why with linear networks, where everything can be computed;
# and shows that a network trained on pure noise reads a photograph differently from one
# trained on natural images.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/09_inversion.ipynb)

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
PROFILE = "quick"  # "quick": untrained ResNet-18 and small ResNets on offline photos, CPU; "full": ResNet-50
SEED = 0  # seed of every random draw: start images, shifts, noise training set, initializations
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
STEPS = None  # gradient-descent steps per ResNet inversion (None: the profile's value)

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from deepinside import data, interactive, inversion, models, plotting, runtime, setups, tasks
from deepinside.notebook import glue, glue_all, show_source
from deepinside.runtime import progress

plotting.setup()

# %% [markdown]
# The chapter's settings per profile: inverting layer embeddings of a photograph. Both profiles
# train small ResNets on natural images (photo crops in `quick`, CIFAR-10 in `full`) and on pure
# noise; `quick` also inverts an untrained ResNet-18 at 96 pixels, `full` torchvision's
# ResNet-50, untrained and ImageNet-trained, at 224 pixels.

# %%
SETTINGS = {
    "quick": {"image_size": 96, "target": "chelsea", "big": [{"arch": "resnet18", "trained": False}],
              "widths": [16, 32, 64, 128], "natural": "photos", "epochs": 8,
              "noise_images": 2000, "noise_classes": 10, "noise_epochs": 8,
              "steps": 300, "lr": 0.2, "blur_start": 2.4, "blur_end": 0.4, "deep_steps": 400,
              "deep_lr": 0.05, "mlp_side": 16, "mlp_widths": [0.5, 0.75, 1.25, 2.0],
              "mlp_depths": [1, 2, 3, 4, 6], "mlp_steps": 2000,
              "relu_widths": [[2, 2], [2, 4], [4, 8]], "relu_steps": 600, "perturb_draws": 20},
    "full": {"image_size": 224, "target": "chelsea",
             "big": [{"arch": "resnet50", "trained": False}, {"arch": "resnet50", "trained": True}],
             "widths": [32, 64, 128, 256], "natural": "cifar10", "epochs": 20,
             "noise_images": 10000, "noise_classes": 100, "noise_epochs": 30,
             "steps": 500, "lr": 0.2, "blur_start": 2.4, "blur_end": 0.4, "deep_steps": 1000,
             "deep_lr": 0.05, "mlp_side": 29, "mlp_widths": [0.4, 0.8, 1.2, 2.0],
             "mlp_depths": [1, 2, 3, 4, 6], "mlp_steps": 5000,
             "relu_widths": [[2, 2], [2, 4], [4, 8]], "relu_steps": 2000, "perturb_draws": 20},
}  # fmt: skip
session = runtime.start(PROFILE, SEED, DEVICE, SETTINGS, steps=STEPS)
settings, device, generator = session.settings, session.device, session.generator
blur = (settings["blur_start"], settings["blur_end"])  # σ of the blur, first and last step
print(settings)


def show(ax, image, title=None):
    """An image (C, H, W) in [0, 1], without axes."""
    ax.imshow(image.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_xticks([]), ax.set_yticks([])
    ax.spines[:].set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)


# %% [markdown]
# ## Inverting an embedding by gradient descent
#
# Let $O$ be the network from the input up to the layer we study, and $a$ the target image,
# pixels in $[0, 1]$. We look for an input $a_g$ with $O(a_g) \approx O(a)$ by descending the
# **L1 embedding loss** on the *input*, starting from a gray random image
# $a_0 \sim \mathcal{N}(0.7, (1/20)^2)$ per pixel:
#
# $$a_{n+1} = \mathrm{clamp}_{[0,1]}\Big(B_{\sigma_n}\big(a_n - \epsilon_n\, \hat g_n\big)\Big),
# \qquad g_n = \nabla_{a_n} \sum_i \big|O(a_n)_i - O(a)_i\big| .$$ (eq-inversion-step)
#
# $B_\sigma$ is a $3\times 3$ Gaussian blur applied after every step, with $\sigma_n$ going
# linearly from 2.4 to 0.4 (it keeps the image smooth early on, then lets details in), and the
# step size $\epsilon_n$ goes linearly to 0. The source tuned $\epsilon$ for every layer by a line
# search, from about 0.5 for the first layer to $10^{-3}$ for the last; we instead divide the
# gradient by its root-mean-square, $\hat g = g / \mathrm{rms}(g)$, so that $\epsilon$ is the
# typical change of a pixel in one step and one value serves every layer.
#
# Three distances, all Euclidean (the embedding flattened to a vector), tell how well it went:
#
# - $m_g = \|O(a_g) - O(a)\|_2$, how well the embedding is matched;
# - $m_s = \|O(a') - O(a)\|_2$ for a barely shifted input $a' = a + \mathcal{N}(0, (1/20)^2)$, a
#   yardstick: $m_g < m_s$ means that $a_g$ matches the embedding better than an image we would
#   call "the same picture";
# - $m_i = \|a_g - a\|_2$, how close the generated input is to the real one.
#
# `inversion.invert` runs this loop and records $m_g$ and $m_i$ along the way. The target is the
# cat photograph bundled with scikit-image.

# %% tags=["hide-input"]
# @title The code of `inversion.invert`
show_source(inversion.invert)

# %%
cat = data.photographs(settings["image_size"], (settings["target"],))[0].to(device)
fig, ax = plt.subplots(figsize=(2.5, 2.5))
show(ax, cat, f"target a: {settings['target']}, {settings['image_size']} px")
plt.show()

# %% [markdown]
# ## Layer by layer
#
# We invert the output of each of the five stages of a ResNet, named as in the ResNet paper:
# conv1 (the first convolution and max pooling), then conv2 to conv5 (torchvision's `layer1` to
# `layer4`), each halving the resolution and doubling the channels. The networks:
#
# - torchvision's ResNet-18, **untrained**, in `quick`; its ResNet-50, **untrained** and
#   **ImageNet-trained**, in `full`;
# - a small ResNet (one basic block per stage, widths {glue:text}`inv_width_min` to
#   {glue:text}`inv_width_max`), **untrained**, **trained on natural images**
#   ({glue:text}`inv_natural_data`), and **trained on noise**: Gaussian noise images with random
#   labels, which it learns by heart.
#
# Every network reads pixels standardized with the statistics of its own training data.

# %%
natural = [data.load(settings["natural"], split) for split in ("train", "test")]
noise_draw = torch.Generator().manual_seed(SEED)
noise = [
    tasks.noise_images(n, settings["noise_classes"], noise_draw)
    for n in (settings["noise_images"], settings["noise_images"] // 4)
]
photos_net = setups.train_resnet(
    "photos", settings["widths"], *natural, settings["epochs"], SEED, device
)
noise_net = setups.train_resnet(
    "noise", settings["widths"], *noise, settings["noise_epochs"], SEED, device
)
mean, std = data.channel_stats(settings["natural"])
noise_mean, noise_std = [tasks.NOISE_MEAN] * 3, [tasks.NOISE_STD] * 3
rows = {}
for big in settings["big"]:
    name, is_trained = big["arch"], big["trained"]
    label = f"{name}, {'ImageNet' if is_trained else 'untrained'}"
    rows[label] = (
        models.pretrained(name, is_trained).to(device),
        models.IMAGENET_MEAN,
        models.IMAGENET_STD,
    )
trained_row = f"small, {settings['natural']}"  # the small ResNet trained on natural images
rows["small, untrained"] = (photos_net.initial, mean, std)
rows[trained_row] = (photos_net.model, mean, std)
rows["small, noise"] = (noise_net.model, noise_mean, noise_std)
print(
    f"small ResNet on {settings['natural']}: {photos_net.test_accuracy:.1f} % test accuracy; "
    f"on noise: {noise_net.history[-1]['train_acc']:.1f} % train accuracy, "
    f"{noise_net.test_accuracy:.1f} % on fresh noise (chance {100 / settings['noise_classes']:.0f} %)"
)
glue("inv_photos_acc", photos_net.test_accuracy)
glue("inv_noise_train_acc", noise_net.history[-1]["train_acc"])
glue("inv_width_min", settings["widths"][0])
glue("inv_width_max", settings["widths"][-1])
natural_name = glue("inv_natural_name", data.TITLES[settings["natural"]])
if settings["natural"] == "photos":
    natural_data = (
        f"32-pixel {natural_name}, the class being the photograph; the cat's left three quarters "
        "are among them"
    )
else:
    natural_data = natural_name
glue("inv_natural_data", natural_data)
glue_all(
    "inv",
    noise_images=settings["noise_images"],
    noise_classes=settings["noise_classes"],
    noise_epochs=settings["noise_epochs"],
)
# %%
results, embedding_norm, sizes = {}, {}, {}
for label, stage in progress([(r, s) for r in rows for s in models.RESNET_STAGES], "inverting"):
    net, mean_, std_ = rows[label]
    embed = models.resnet_embedding(net, stage, mean_, std_)
    results[label, stage] = inversion.invert(
        embed,
        cat,
        settings["steps"],
        settings["lr"],
        normalize=True,
        blur_sigma=blur,
        generator=generator,
    )
    with torch.no_grad():
        embedded = embed(cat[None])
    embedding_norm[label, stage] = torch.linalg.vector_norm(embedded).item()
    sizes[label, stage] = embedded.numel()

table = pd.DataFrame(
    [
        {
            "network": label,
            "stage": stage,
            "m_g / m_s": r.m_g[-1].item() / r.m_s,
            "m_g / ‖O(a)‖": r.m_g[-1].item() / embedding_norm[label, stage],
            "m_i": r.m_i[-1].item(),
        }
        for (label, stage), r in results.items()
    ]
)

# %%
# Figure fig-inversions: Inputs generated from each stage's embedding of the cat, for each network, beside the target.
fig, axes = plt.subplots(len(rows), 6, figsize=(12, 2.1 * len(rows)))
for i, label in enumerate(rows):
    show(axes[i, 0], cat, "target")
    axes[i, 0].set_ylabel(label, fontsize=9)
    for j, stage in enumerate(models.RESNET_STAGES):
        r = results[label, stage]
        show(axes[i, j + 1], r.image, f"{stage}: m_g/m_s {r.m_g[-1] / r.m_s:.2f}")
fig.suptitle("Inputs generated from each stage's embedding of the cat", y=1.0)
plt.tight_layout()
plt.show()

# %%
table.pivot(index="network", columns="stage", values="m_g / m_s").round(2)

# %%
first = next(iter(rows))
first_mi = table[table.network == first].set_index("stage")["m_i"]
glue("inv_shown", len(results))
glue("inv_matched", sum(r.matched for r in results.values()))
glue(
    "inv_deep_mg_over_ms", table.set_index(["network", "stage"]).loc[(first, "conv5"), "m_g / m_s"]
)
glue("inv_first_mi_conv1", first_mi["conv1"])
glue("inv_first_mi_conv5", first_mi["conv5"])
glue("inv_target_norm", torch.linalg.vector_norm(cat).item())
small_mi = table.set_index(["network", "stage"])["m_i"]
early, late = (
    glue(
        f"inv_trained_over_untrained_{stage}",
        small_mi[trained_row, stage] / small_mi["small, untrained", stage],
    )
    for stage in ("conv1", "conv5")
)
glue(
    "inv_sharpen_sentence",
    "As in the source, training sharpens the early layer more than the late one."
    if early < 1 and early < late
    else f"This small network, trained for {settings['epochs']} epochs on {natural_name}, does "
    "not reproduce it: training does not bring the early layer's inversion closer to the cat.",
)

fig, ax = plt.subplots(figsize=(6, 3.2))
sns.lineplot(table, x="stage", y="m_i", hue="network", marker="o", ax=ax)
ax.set(ylabel="input distance $m_i$", title="How far the generated input is from the cat")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# <a id="claim-matched"></a>
# All {glue:text}`inv_matched` of the {glue:text}`inv_shown` inversions end with $m_g < m_s$: in
# every layer we found an input whose embedding is closer to the cat's than that of the cat with
# a little noise added. Yet the images differ ({numref}`fig-inversions`).
# <a id="claim-fades-with-depth"></a>In the untrained ResNet the cat fades with depth:
# the input distance grows from {glue:text}`inv_first_mi_conv1:.1f` at conv1 to
# {glue:text}`inv_first_mi_conv5:.1f` at conv5 (the cat itself has norm
# {glue:text}`inv_target_norm:.0f`), and at conv5 the embedding is matched to
# $m_g/m_s =$ {glue:text}`inv_deep_mg_over_ms:.2f` by a colored blur. The deep layers of the
# small network trained on natural images produce something else again (in the `quick` profile,
# blobs of color placed where the cat's eyes and nose are). A layer's embedding is matched, but by an image the layer finds equivalent, not by the cat.
#
# **Does training sharpen what a layer keeps?** The source finds that training improves the
# inversions of early layers, not of late ones.
# <a id="claim-sharpen"></a>For the small ResNet, the input distance $m_i$
# of the trained network over the untrained one's is {glue:text}`inv_trained_over_untrained_conv1:.2f`
# at conv1 and {glue:text}`inv_trained_over_untrained_conv5:.2f` at conv5 (below 1: the trained
# network's inversion is closer to the cat). {glue:text}`inv_sharpen_sentence`
#
# ## Non-uniqueness
#
# Are these images equivalent to the cat *for the layer*, or did gradient descent merely fail? Run
# the descent without the blur, which otherwise limits how well the embedding can be matched, and
# follow both distances. If the embedding determined the input, $m_i$ would fall with $m_g$.

# %%
deep_net, deep_mean, deep_std = rows[first]
paths = {}
for stage in ("conv2", "conv5"):
    embed = models.resnet_embedding(deep_net, stage, deep_mean, deep_std)
    paths[stage] = inversion.invert(
        embed,
        cat,
        settings["deep_steps"],
        settings["deep_lr"],
        normalize=True,
        keep_images=True,
        generator=generator,
        desc=f"inverting {stage}",
    )

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1.4, 1.4, 1, 1]})
for stage, r in paths.items():
    axes[0].semilogy(r.steps, r.m_g / r.m_s, label=stage)
    axes[1].plot(r.steps, r.m_i, label=stage)
axes[0].axhline(1, color="gray", ls="--", lw=1)
axes[0].set(xlabel="step", ylabel="$m_g / m_s$", title="embedding distance")
axes[1].set(xlabel="step", ylabel="$m_i$", title="input distance")
axes[0].legend(), axes[1].legend()
for ax, (stage, r) in zip(axes[2:], paths.items()):
    show(ax, r.image, f"{stage}, no blur: m_g/m_s {r.m_g[-1] / r.m_s:.2f}")
plt.tight_layout()
plt.show()

deep = paths["conv5"]
tenth = len(deep.steps) // 10  # after the first tenth of the run

# %%
glue("inv_nonunique_mg_drop", (deep.m_g[tenth] / deep.m_g[-1]).item())
glue("inv_nonunique_mi_change", (deep.m_i[-1] / deep.m_i[tenth]).item())
glue("inv_nonunique_mg_over_ms", deep.m_g[-1].item() / deep.m_s)
glue("inv_nonunique_mi", deep.m_i[-1].item())
wide = paths["conv2"]
glue("inv_input_elements", cat.numel())
glue("inv_conv2_elements", sizes[first, "conv2"])
glue("inv_conv5_elements", sizes[first, "conv5"])
glue("inv_conv5_unseen_pct", 100 * (1 - sizes[first, "conv5"] / cat.numel()))
glue("inv_conv2_mg_drop", (wide.m_g[tenth] / wide.m_g[-1]).item())
glue("inv_conv2_mi_change", (wide.m_i[-1] / wide.m_i[tenth]).item())
glue("inv_conv2_mi", wide.m_i[-1].item())

# %% [markdown]
# <a id="claim-nonunique"></a>
# At conv5, after the first tenth of the run, the embedding distance still falls
# {glue:text}`inv_nonunique_mg_drop:.0f`-fold, to {glue:text}`inv_nonunique_mg_over_ms:.2f` times
# $m_s$, while the input distance moves by a factor {glue:text}`inv_nonunique_mi_change:.2f` and
# stays at {glue:text}`inv_nonunique_mi:.0f`: better and better matches of the embedding, no
# closer to the cat. Many inputs share (almost) the same deep embedding, and descent finds one
# near where it started. The generated images are mostly noise: that noise lies in directions the
# layer does not see. <a id="claim-conv5-count"></a>At conv5 this is no surprise: its embedding has
# {glue:text}`inv_conv5_elements` numbers for an input of {glue:text}`inv_input_elements`, so
# counting alone leaves at least {glue:text}`inv_conv5_unseen_pct:.0f` % of the input directions
# unseen.
# <a id="claim-conv2"></a>At conv2 the embedding has *more* numbers
# than the input ({glue:text}`inv_conv2_elements`), and still, after the first tenth of the run,
# the embedding distance falls {glue:text}`inv_conv2_mg_drop:.0f`-fold while the input distance
# moves by a factor {glue:text}`inv_conv2_mi_change:.2f` (ending at
# {glue:text}`inv_conv2_mi:.0f`): the cat is recognizable, but more numbers do not make the map
# invertible in practice (ReLU zeros, strides and max pooling discard information; the linear
# networks below show why even an invertible map can be this slow to invert).
#
# **Explore the descent.** In a live notebook, step through either run and watch the image
# against the two distances. The printed page shows conv5 after the first tenth of the run.


# %% tags=["hide-input"]
# @title Explorer: the input at a step of the descent
def draw_descent(stage, step):
    """The input at a recorded ``step`` of the descent at ``stage``, and where it is on the curves."""
    r = paths[stage]
    at = int(np.searchsorted(r.steps.numpy(), step))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), gridspec_kw={"width_ratios": [1, 1.4, 1.4]})
    show(axes[0], r.images[at], f"{stage}, step {step}")
    for ax, values, label in ((axes[1], r.m_g / r.m_s, "$m_g / m_s$"), (axes[2], r.m_i, "$m_i$")):
        ax.plot(r.steps, values)
        ax.plot(r.steps[at], values[at], "o", color="C3")
        ax.set(xlabel="step", ylabel=label)
    axes[1].set_yscale("log")
    plt.tight_layout()


interactive.explore(
    draw_descent,
    {"stage": "conv5", "step": int(deep.steps[tenth])},
    stage=list(paths),
    step=deep.steps.tolist(),
)

# %% [markdown]
# ## Why: linear networks, where everything can be computed
#
# Take a multilayer perceptron with **no non-linearity**, weights and biases initialized as
# PyTorch does (Kaiming-uniform), untrained, and the cat at
# $3\times$`mlp_side`$\times$`mlp_side` pixels as input (dimension $d$: {glue:text}`inv_mlp_d` in
# this profile, $3\cdot 16^2 = 768$ in `quick`; the source used $3\cdot 29^2 = 2523$, kept in
# `full`. The smaller input keeps the $4d$-wide ReLU networks and thousands of descent steps
# within seconds on a CPU; the theory below does not depend on $d$). The whole network is one
# affine map $O(a) = Wa + b$ with $W = W_L\cdots W_1$, so gradient descent runs on that single
# map (`inversion.compose_affine`, the same function, computed faster), here on the L2 loss
# $\frac12\|O(a) - O(a^*)\|^2$ with the step $1/\sigma_{\max}(W)^2$.
#
# The theory is then exact. Every gradient $W^\top(\cdots)$ lies in the row space of $W$, so the
# part of the starting error $a_0 - a^*$ in the **null space** of $W$ never changes. If any layer
# is narrower than the input ($W$ under-complete), that null space is not empty and $m_i$ can
# fall at best to $\|(I - W^+W)(a_0 - a^*)\|$ (`inversion.stall_distance`), however long we
# run. If every layer is at least as wide as the input, the null space is empty and $m_i \to 0$.

# %%
small_cat = data.photographs(settings["mlp_side"], (settings["target"],))[0].double()
d = small_cat.numel()


def run_mlp(widths, relu=False, steps=None):
    """Invert an untrained MLP with hidden widths ``widths`` at the small cat. Returns the
    inversion and, for a linear MLP, the stall distance of its start. Linear MLPs run as
    one affine map in float64, ReLU MLPs layer by layer in float32."""
    torch.manual_seed(SEED)
    single = inversion.compose_affine(inversion.affine_mlp([d, *widths]).double())
    w = single[1].weight
    lr = 1.0 / torch.linalg.matrix_norm(w.detach(), 2).item() ** 2
    start = inversion.START_MEAN + inversion.START_STD * torch.randn(
        small_cat.shape, generator=generator, dtype=torch.float64
    )
    if relu:  # the same weights with ReLUs: its gain is at most the linear map's
        torch.manual_seed(SEED)
        net = inversion.affine_mlp([d, *widths], relu=True)
        r = inversion.invert(
            net,
            small_cat.float(),
            steps or settings["mlp_steps"],
            lr,
            loss="l2",
            clamp=None,
            start=start.float(),
            generator=generator,
            record_every=10,
        )
        return r, None
    r = inversion.invert(
        single,
        small_cat,
        steps or settings["mlp_steps"],
        lr,
        loss="l2",
        clamp=None,
        start=start,
        generator=generator,
        record_every=10,
    )
    return r, inversion.stall_distance(w, start, small_cat)


width_runs = {
    ratio: run_mlp([round(ratio * d)] * 3)
    for ratio in progress(settings["mlp_widths"], "MLP widths")
}

# %%
fig, axes = plt.subplots(
    1,
    len(width_runs) + 2,
    figsize=(13, 2.8),
    gridspec_kw={"width_ratios": [2.2, 1] + [1] * len(width_runs)},
)
ratios = list(width_runs)
axes[0].plot(
    ratios, [r.m_i[-1].item() for r, _ in width_runs.values()], "o-", label="$m_i$ at the end"
)
axes[0].plot(ratios, [s for _, s in width_runs.values()], "k--", label="stall distance")
axes[0].axvline(1, color="gray", lw=1)
axes[0].set(
    xlabel="hidden width / input dimension",
    ylabel="$m_i$",
    title=f"{settings['mlp_steps']} steps, 3 linear layers",
)
axes[0].legend(fontsize=8)
show(axes[1], small_cat.float(), "target")
for ax, (ratio, (r, _)) in zip(axes[2:], width_runs.items()):
    show(ax, r.image.float(), f"width {ratio:g} d: m_i {r.m_i[-1]:.2f}")
plt.tight_layout()
plt.show()

under = max(ratio for ratio in ratios if ratio < 1)
over = max(ratios)

# %%
glue_all(
    "inv_mlp",
    d=d,
    under_ratio=under,
    over_ratio=over,
    under_mi=width_runs[under][0].m_i[-1].item(),
    under_stall=width_runs[under][1],
    over_mi=width_runs[over][0].m_i[-1].item(),
    start_mi=width_runs[over][0].m_i[0].item(),
    all_matched=all(r.matched for r, _ in width_runs.values()),
)
# %% [markdown]
# <a id="claim-mlp-width"></a>
# With hidden width {glue:text}`inv_mlp_under_ratio` $d$ (under-complete, $d =$
# {glue:text}`inv_mlp_d`), $m_i$ ends at {glue:text}`inv_mlp_under_mi:.2f`, above the stall
# distance {glue:text}`inv_mlp_under_stall:.2f` that no number of steps can beat; with width
# {glue:text}`inv_mlp_over_ratio` $d$ it falls from {glue:text}`inv_mlp_start_mi:.2f` to
# {glue:text}`inv_mlp_over_mi:.3f`.
# <a id="claim-mlp-matched"></a>Every one of these runs matches the embedding better than
# the shifted input does ($m_g < m_s$): a good match of the embedding says nothing about the
# input unless the map is injective.
#
# ### Depth: invertible, but slowly
#
# An over-complete network can still be hard to invert: each layer multiplies the spread of
# singular values, and gradient descent converges along a direction at a speed set by its
# singular value. Fix the width at {glue:text}`inv_mlp_over_ratio` $d$ and vary the depth.

# %%
depth_runs = {
    depth: run_mlp([round(over * d)] * depth)[0]
    for depth in progress(settings["mlp_depths"], "MLP depths")
}
fig, ax = plt.subplots(figsize=(6, 3.2))
for depth, r in depth_runs.items():
    ax.semilogy(r.steps, r.m_i, label=f"{depth} layer{'s' if depth > 1 else ''}")
ax.set(xlabel="step", ylabel="$m_i$", title=f"linear MLPs of width {over:g} d")
ax.legend(fontsize=8)
plt.show()
glue("inv_mlp_steps", settings["mlp_steps"])
glue("inv_depth_first", settings["mlp_depths"][0])
glue("inv_depth_last", settings["mlp_depths"][-1])
glue("inv_depth_first_mi", depth_runs[settings["mlp_depths"][0]].m_i[-1].item())
glue("inv_depth_last_mi", depth_runs[settings["mlp_depths"][-1]].m_i[-1].item())
# %% [markdown]
# <a id="claim-depth"></a>After the same {glue:text}`inv_mlp_steps` steps, one layer leaves $m_i =$
# {glue:text}`inv_depth_first_mi:.1e` and {glue:text}`inv_depth_last` layers
# {glue:text}`inv_depth_last_mi:.1e`; every curve keeps falling, more slowly the deeper the
# network. Depth alone does not destroy information here, it makes it expensive to recover.
#
# ### Exact inversion, and how badly conditioned it is
#
# With square layers ($d\to d\to d\to d$) each layer can be solved, $x = W^{-1}(o - b)$, from the
# last to the first (`inversion.invert_exactly`, float64). Then perturb the *output* a little,
# $o'' = O(a) + \mathcal{N}(0, 10^{-6})$ per coordinate, far less than the shifted input moves it,
# solve again for $a''$ and compare how far $a''$ is from $a$ with how far $a'$ is.

# %%
glue("inv_perturb_draws", settings["perturb_draws"])
torch.manual_seed(SEED)
square = inversion.affine_mlp([d, d, d, d]).double()
a = small_cat.flatten()
with torch.no_grad():
    out = square(a[None])[0]
    exact_error = torch.linalg.vector_norm(
        inversion.invert_exactly(square, out) - a
    ) / torch.linalg.vector_norm(a)
    out32 = copy.deepcopy(square).float()(a.float()[None])[0]  # a float32 forward pass
    single_error = torch.linalg.vector_norm(
        inversion.invert_exactly(square, out32) - a
    ) / torch.linalg.vector_norm(a)
    shifted = a + inversion.SHIFT_STD * torch.randn(d, generator=generator, dtype=torch.float64)
    output_shift = torch.linalg.vector_norm(square(shifted[None])[0] - out).item()
    ratios_perturbed, output_moves = [], []
    for _ in range(settings["perturb_draws"]):
        noise = 1e-3 * torch.randn(d, generator=generator, dtype=torch.float64)
        moved = inversion.invert_exactly(square, out + noise)
        ratios_perturbed.append(
            (torch.linalg.vector_norm(moved - a) / torch.linalg.vector_norm(shifted - a)).item()
        )
        output_moves.append(torch.linalg.vector_norm(noise).item())
    singular = torch.linalg.svdvals(inversion.compose_affine(square)[1].weight)
glue("inv_exact_error", exact_error.item())
glue("inv_float32_error", single_error.item())
glue("inv_perturb_ratio", float(np.median(ratios_perturbed)))
glue("inv_perturb_ratio_min", min(ratios_perturbed))
glue("inv_output_shift_ratio", output_shift / float(np.mean(output_moves)))
glue("inv_condition", (singular[0] / singular[-1]).item())
print(
    f"exact inversion: relative error {exact_error:.1e} (float64), {single_error:.1e} "
    f"from a float32 forward pass; condition number {singular[0] / singular[-1]:.2e}"
)

# %%
fig, ax = plt.subplots(figsize=(6, 2.8))
ax.hist(np.log10(ratios_perturbed), bins=10, color="C0")
ax.set(
    xlabel=r"$\log_{10}\, \|a'' - a\| \,/\, \|a' - a\|$",
    ylabel="draws",
    title="output-space neighbours are far away in input space",
)
plt.show()

# %% [markdown]
# <a id="claim-exact-float64"></a>Solved in float64, the input comes back to a relative error of
# {glue:text}`inv_exact_error:.0e`; from a float32 forward pass, only to
# {glue:text}`inv_float32_error:.0e`. <a id="claim-perturbation"></a>The output perturbation is
# {glue:text}`inv_output_shift_ratio:.0f` times smaller than the one the shifted input $a'$ causes,
# yet the input it maps back to is, in the median over {glue:text}`inv_perturb_draws` draws,
# {glue:text}`inv_perturb_ratio:.0f` times farther from $a$ than $a'$ is (at least
# {glue:text}`inv_perturb_ratio_min:.0f` times). The three square layers have a condition number
# of {glue:text}`inv_condition:.1e`: invertible on paper, not in practice. This *approximate*
# non-invertibility adds to the exact kind above.
#
# ### ReLU needs wider layers
#
# A ReLU sets to zero every unit whose input is negative, about half of them at initialization;
# those units say nothing about the input. To keep as many informative units as the layer has
# inputs, a ReLU layer needs about twice the width of the layer it reads, so widths must double
# from layer to layer. Compare two-layer MLPs.

# %%
relu_rows = []
first_pair = settings["relu_widths"][0]
linear_run, _ = run_mlp([round(f * d) for f in first_pair], steps=settings["relu_steps"])
relu_rows.append(
    {"network": f"linear {first_pair[0]}d, {first_pair[1]}d", "m_i": linear_run.m_i[-1].item()}
)
relu_runs = {}
for pair in progress(settings["relu_widths"], "ReLU MLPs"):
    r, _ = run_mlp([round(f * d) for f in pair], relu=True, steps=settings["relu_steps"])
    relu_runs[tuple(pair)] = r
    relu_rows.append({"network": f"ReLU {pair[0]}d, {pair[1]}d", "m_i": r.m_i[-1].item()})
relu_table = pd.DataFrame(relu_rows)
glue("inv_relu_linear_mi", linear_run.m_i[-1].item())
glue("inv_relu_same_mi", relu_table.m_i[1])
glue("inv_relu_widest_mi", relu_table.m_i.iloc[-1])
glue("inv_relu_widest", " and ".join(f"{f}d" for f in settings["relu_widths"][-1]))
glue("inv_relu_first", " and ".join(f"{f}d" for f in first_pair))
glue("inv_relu_rule_mi", relu_runs[2, 4].m_i[-1].item())
glue("inv_relu_narrow_mi", relu_runs[2, 2].m_i[-1].item())
glue("inv_relu_start_mi", relu_runs[2, 4].m_i[0].item())
glue("inv_relu_steps", settings["relu_steps"])
glue(
    "inv_relu_rule_word",
    "recovers" if relu_runs[2, 4].m_i[-1] < 0.1 * relu_runs[2, 4].m_i[0] else "does not recover",
)
relu_table.round(3)

# %% [markdown]
# <a id="claim-relu-width"></a>
# With hidden widths {glue:text}`inv_relu_first`, the linear network recovers the cat
# ($m_i =$ {glue:text}`inv_relu_linear_mi:.3f`) but the ReLU network stalls at
# {glue:text}`inv_relu_same_mi:.2f`; with widths {glue:text}`inv_relu_widest` the ReLU network
# recovers it too ($m_i =$ {glue:text}`inv_relu_widest_mi:.3f`).
# <a id="claim-relu-rule"></a>The source's rule is the middle
# case: hidden widths $2d$ then $4d$, each layer twice as wide as the one it reads. Here it
# {glue:text}`inv_relu_rule_word` the input within {glue:text}`inv_relu_steps` steps ($m_i =$
# {glue:text}`inv_relu_rule_mi:.2f`, from {glue:text}`inv_relu_start_mi:.1f` at the start; $2d$
# then $2d$: {glue:text}`inv_relu_narrow_mi:.2f`). The source's reason for the rule, that twice
# the width keeps enough units active on average, is an average: with one random initialization
# and a finite number of steps the margin can be thin, and the wider pair is the safer one.
#
# ## Trained on noise: a different reading of the same photograph
#
# Back to the ResNets. Training changes what an embedding keeps, and what it keeps depends on what
# the network was trained on. The small ResNet trained on noise with random labels learned its
# training set by heart ({glue:text}`inv_noise_train_acc:.0f` % train accuracy; the one trained on
# {glue:text}`inv_natural_name` reaches {glue:text}`inv_photos_acc:.0f` % on held-out images). Two
# measurements compare the three small networks. First, how well the blurred inversions of the grid
# above match each network's embedding of the cat: blurred images are smooth, like photographs and
# unlike the noise; we read the match both against the shifted cat ($m_g/m_s$) and against the size
# of the embedding itself ($m_g/\|O(a)\|$), since networks differ in how much a small shift moves
# their embedding. Second, inversions *without* blur, where nothing keeps the image smooth and each
# network pulls it where its embedding leads; the **neighbour correlation** (the correlation between
# adjacent pixels, `inversion.neighbour_correlation`) tells photograph-like images (close to 1) from
# noise (close to 0). A white-noise start would leave noise of its own behind, so these runs start
# from a *uniform gray* image: whatever texture the result has, descent put there. As a control they
# also start from the cat plus white noise (standard deviation {glue:text}`inv_control_noise`): a
# network whose embedding registers the noise removes it.

# %%
small_rows = ["small, untrained", trained_row, "small, noise"]
free_stages = ["conv2", "conv3", "conv4"]
CONTROL_NOISE = 0.1
glue("inv_control_noise", CONTROL_NOISE)
starts = {
    "gray": torch.full_like(cat, inversion.START_MEAN),
    "cat + noise": (cat + CONTROL_NOISE * torch.randn(cat.shape, generator=generator).to(cat)),
}
free = {}
for label, stage, start in progress(
    [(r, s, k) for r in small_rows for s in free_stages for k in starts], "inverting without blur"
):
    net, mean_, std_ = rows[label]
    embed = models.resnet_embedding(net, stage, mean_, std_)
    free[label, stage, start] = inversion.invert(
        embed,
        cat,
        settings["steps"],
        settings["deep_lr"],
        normalize=True,
        start=starts[start].clamp(0, 1),
        generator=generator,
    )
free_table = pd.DataFrame(
    [
        {
            "network": label,
            "stage": stage,
            "start": start,
            "neighbour correlation": inversion.neighbour_correlation(r.image),
        }
        for (label, stage, start), r in free.items()
    ]
)
small_table = table[table.network.isin(small_rows)]

# %%
fig, axes = plt.subplots(1, 4, figsize=(16, 3.3))
for ax, measure in zip(axes[:2], ("m_g / m_s", "m_g / ‖O(a)‖")):
    sns.barplot(small_table, x="stage", y=measure, hue="network", hue_order=small_rows, ax=ax)
    ax.set(title=f"with blur: {measure}")
axes[0].axhline(1, color="gray", ls="--", lw=1)
for ax, start in zip(axes[2:], starts):
    sns.barplot(
        free_table[free_table.start == start],
        x="stage",
        y="neighbour correlation",
        hue="network",
        hue_order=small_rows,
        ax=ax,
    )
    ax.axhline(inversion.neighbour_correlation(cat), color="gray", ls="--", lw=1, label="the cat")
    ax.set(title=f"without blur, from {start}: smoothness", ylim=(-0.1, 1))
for ax in axes:
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()

fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
show(axes[0], cat, "target")
for ax, label in zip(axes[1:], small_rows):
    show(ax, free[label, "conv3", "gray"].image, f"{label}: conv3")
fig.suptitle("conv3 without blur, from a gray start")
plt.tight_layout()
plt.show()

deep_stages = ["conv3", "conv4", "conv5"]
by_stage = small_table.set_index(["network", "stage"])
smoothness = free_table.groupby(["start", "network"])["neighbour correlation"].mean()
for label, key in zip(small_rows, ["untrained", "photos", "noise"]):
    glue(f"inv_{key}_deep_mgms", by_stage.loc[label, "m_g / m_s"][deep_stages].mean())
    glue(f"inv_{key}_deep_mgo", by_stage.loc[label, "m_g / ‖O(a)‖"][deep_stages].mean())
    glue(f"inv_{key}_free_nc", smoothness["gray", label])
    glue(f"inv_{key}_control_nc", smoothness["cat + noise", label])
glue("inv_start_nc", inversion.neighbour_correlation(starts["cat + noise"].clamp(0, 1)))
deep_means = (
    small_table[small_table.stage.isin(deep_stages)]
    .groupby("network")[["m_g / m_s", "m_g / ‖O(a)‖"]]
    .mean()
)
same = deep_means["m_g / m_s"].idxmin() == deep_means["m_g / ‖O(a)‖"].idxmin()
network_names = dict(zip(small_rows, ["the untrained network", "the network trained on natural "
                                      "images", "the network trained on noise"]))  # fmt: skip
glue("inv_mgms_best", network_names[deep_means["m_g / m_s"].idxmin()])
glue("inv_ranking_word", "is the same" if same else "changes")
gray_nc = smoothness["gray"]
glue(
    "inv_noise_rank_word",
    "the lowest of the three"
    if gray_nc.idxmin() == "small, noise"
    else "not the lowest of the three",
)

# %%
glue("inv_target_nc", inversion.neighbour_correlation(cat))
# %% [markdown]
# <a id="claim-photos-mgms"></a>
# Over conv3 to conv5, measured against the shifted cat, smooth images match the embedding of
# {glue:text}`inv_mgms_best` best ($m_g/m_s$ trained on natural images
# {glue:text}`inv_photos_deep_mgms:.2f` on average; untrained
# {glue:text}`inv_untrained_deep_mgms:.2f`, trained on noise {glue:text}`inv_noise_deep_mgms:.2f`).
# <a id="claim-ranking-size"></a>Measured against the size of the embedding, the ranking
# {glue:text}`inv_ranking_word`: $m_g/\|O(a)\|$ is {glue:text}`inv_photos_deep_mgo:.2f`,
# {glue:text}`inv_untrained_deep_mgo:.2f` and {glue:text}`inv_noise_deep_mgo:.2f`. An embedding
# that moves more under a small shift of the cat has a larger $m_s$, which flatters $m_g/m_s$:
# which network a smooth image "fits best" can depend on the yardstick.
#
# <a id="claim-noise-smoothness"></a>
# Without blur, from a gray start, the generated images have a neighbour correlation of
# {glue:text}`inv_photos_free_nc:.2f` for the network trained on natural images,
# {glue:text}`inv_untrained_free_nc:.2f` for the untrained one and
# {glue:text}`inv_noise_free_nc:.2f` for the noise-trained one (the cat:
# {glue:text}`inv_target_nc:.2f`): the network trained on noise puts the least smooth texture into
# the image ({glue:text}`inv_noise_rank_word`). From the cat plus noise (neighbour correlation
# {glue:text}`inv_start_nc:.2f` at the start), the network trained on natural images ends at
# {glue:text}`inv_photos_control_nc:.2f`, the untrained one at
# {glue:text}`inv_untrained_control_nc:.2f` and the noise-trained one at
# {glue:text}`inv_noise_control_nc:.2f`. The source saw the effect clearly in the middle layers of
# a ResNet-50 trained on 10,000 noise images; this small ResNet (not a ResNet-50) was trained on
# {glue:text}`inv_noise_images` noise images in {glue:text}`inv_noise_classes` classes for
# {glue:text}`inv_noise_epochs` epochs, so weigh the size of these differences accordingly.
#
# ## What we learned
#
# - Inverting an embedding by gradient descent on the input shows what a layer keeps. An
#   embedding matched better than a slightly noisy copy of the input ($m_g < m_s$) does not mean
#   the input was recovered.
# - In an untrained ResNet the input fades with depth. Deep embeddings are matched by many
#   different inputs (non-uniqueness): the embedding distance keeps falling while the input
#   distance does not.
# - Linear networks make this exact: an under-complete layer leaves a null space that gradient
#   descent never enters; over-complete layers can be inverted, more slowly the deeper they are,
#   and even an invertible square network is so badly conditioned that output-space neighbours
#   are far apart in input space. ReLU networks need layers about twice as wide as their input.
# - What an embedding keeps depends on the training data, and its ranking can depend on the
#   yardstick: against a shifted cat, smooth images match the deep layers of
#   {glue:text}`inv_mgms_best` best; against the embedding's size the ranking
#   {glue:text}`inv_ranking_word`. Without blur, the noise-trained network's inversions are
#   {glue:text}`inv_noise_rank_word` in smoothness.
#
# ## Exercises
#
# **1. L1 or L2.** Redo the conv4 inversion of the untrained ResNet with `loss="l2"`. Does the
# image change? Does $m_g < m_s$ still hold?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: for each loss, m_g / m_s and m_i at the end of the inversion
embed = models.resnet_embedding(deep_net, "conv4", deep_mean, deep_std)
for loss in ("l1", "l2"):
    r = inversion.invert(
        embed,
        cat,
        settings["steps"] // 2,
        settings["lr"],
        loss=loss,
        normalize=True,
        blur_sigma=blur,
        generator=generator,
    )
    print(f"{loss}: m_g/m_s {r.m_g[-1] / r.m_s:.2f}, m_i {r.m_i[-1]:.1f}")
# With normalized steps the loss mostly changes which coordinates of the embedding get matched
# first (L1 weighs small differences more); the pictures are alike.

# %% [markdown]
# **2. Where the stall distance comes from.** For the under-complete MLP, compute the fraction of
# the starting error $a_0 - a^*$ (in norm) that lies in the null space of $W$, and compare with
# $\sqrt{1 - \text{width}/d}$. Does it matter whether the error is smooth?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: three null-space shares (the start's, a smooth and a white error), then sqrt(1 - width/d)
start_error = width_runs[under][0].m_i[0].item()
torch.manual_seed(SEED)
w_under = inversion.compose_affine(inversion.affine_mlp([d, *[round(under * d)] * 3]).double())[
    1
].weight.detach()
smooth = small_cat - small_cat.mean()  # a smooth error: the cat itself, centred
white = torch.randn(
    small_cat.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
)
for name, error in (
    ("the start's error", None),
    ("a smooth error", smooth),
    ("a white error", white),
):
    share = (
        width_runs[under][1] / start_error
        if error is None
        else inversion.stall_distance(w_under, error, torch.zeros_like(error))
        / torch.linalg.vector_norm(error).item()
    )
    print(f"{name:18s}: null-space share {share:.3f}")
print(f"sqrt(1 - width/d) = {np.sqrt(1 - under):.3f}")
# W is random, so its null space is a uniformly random subspace of dimension d − width: any
# fixed error, smooth or white, keeps about (1 − width/d) of its squared norm there. The small
# differences are the fluctuations of one random subspace.

# %% [markdown]
# ## References
#
# - The inversion method, $m_g$, $m_s$, $m_i$, the MLP experiments and networks trained on noise:
#   {footcite:t}`badger2022depth`.
# - Inverting deep image representations: {footcite:t}`mahendran2015inverting`.
# - Residual networks: {footcite:t}`he2016resnet`.
# - Memorizing noise: {footcite:t}`zhang2021rethinking`.
#
# ```{footbibliography}
# ```
