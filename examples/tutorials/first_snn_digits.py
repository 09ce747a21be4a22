# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Your first spiking network: the 8x8 digits
#
# This tutorial trains a spiking multi-layer perceptron on the 8x8 handwritten digits that ship with
# spikekit (no download), then records what its neurons did and draws it.
#
# Run it as a script (`python examples/tutorials/first_snn_digits.py`, about 20 s on 2 cores) or open it
# as a notebook: `jupytext --to notebook examples/tutorials/first_snn_digits.py`.
# `SPIKEKIT_TUTORIAL_SMALL=1` shrinks it to a few seconds (the tests run it that way).

# %%
import os

import torch
from torch import nn

import spikekit as sk

SMALL = os.environ.get("SPIKEKIT_TUTORIAL_SMALL") == "1"
torch.manual_seed(0)

# %% [markdown]
# ## The data
#
# `sk.data.load(name)` returns a training and a test set. The digits are 1,437 + 360 images of
# `[1, 8, 8]` pixels in [0, 1], with labels 0-9.

# %%
train, test = sk.data.load("digits")
print(train.images.shape, train.targets.shape, test.images.shape)

# %% [markdown]
# ## The network
#
# Every spikekit sequence is **time first**: `[T, B, ...]`. `nn.Linear` and `nn.Flatten` act on the
# last dimensions, so they work on sequences unchanged; `sk.nn.LIF` runs its neurons over all `T` steps
# in one call, starting from rest each time (there is no hidden state to reset between batches).
#
# The output layer is a LIF too; the class with the most output spikes wins.

# %%
steps = 16
model = nn.Sequential(
    nn.Flatten(start_dim=2),  # [T, B, 1, 8, 8] -> [T, B, 64]
    nn.Linear(64, 128),
    sk.nn.LIF(beta=0.9, surrogate=sk.surrogate.atan()),
    nn.Linear(128, 10),
    sk.nn.LIF(beta=0.9, surrogate=sk.surrogate.atan()),
)
print(model)

# %% [markdown]
# ## Training
#
# Images become spike trains through `sk.encode.poisson` (each pixel fires with its intensity as the
# probability per step). The spike threshold has no derivative; the surrogate (`atan`) stands in for
# it in the backward pass, so ordinary backpropagation through time works. The loss pushes the correct
# output neuron to fire on 80 % of the steps and the others on 20 %.

# %%
epochs = 2 if SMALL else 15
images, targets = (train.images[:256], train.targets[:256]) if SMALL else (train.images, train.targets)
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
g = torch.Generator().manual_seed(0)


def accuracy(model: nn.Module) -> float:
    with torch.no_grad():
        spikes = model(sk.encode.poisson(test.images, steps, generator=g))  # [T, B, 10]
    return (sk.decode.count(spikes).argmax(1) == test.targets).float().mean().item()


for epoch in range(epochs):
    for idx in torch.randperm(len(images), generator=g).split(32):
        x = sk.encode.poisson(images[idx], steps, generator=g)  # [T, B, 1, 8, 8] spikes
        loss = sk.decode.mse_count_loss(model(x), targets[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    if epoch % 5 == 4 or epoch == epochs - 1:
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {100 * accuracy(model):.1f} %")

# %% [markdown]
# With all 15 epochs the test accuracy is about 95-98 %.
#
# ## Recording activity
#
# `sk.record(model)` collects the membrane potential (`v`, before the reset: it crosses the threshold
# exactly where a neuron fired) and the spikes of every neuron layer, by the layer's name in the model.

# %%
x = sk.encode.poisson(test.images[:8], steps, generator=g)
with sk.record(model) as rec:
    model(x)
for name in rec:
    print(f"layer {name}: v {tuple(rec[name].v.shape)}, firing rate {rec[name].spikes.mean():.3f}")

# %% [markdown]
# ## Plotting it
#
# `sk.plot` draws rasters, membrane traces and heat maps (matplotlib; `pip install spikekit[plot]`).
# Each function returns the figure and saves it when given a `path`.

# %%
import matplotlib  # noqa: E402

matplotlib.use("Agg")  # no window; remove this line in a notebook
sk.plot.raster(rec["2"].spikes, title="hidden layer, test image 0", path="hidden_raster.png")
sk.plot.neuron_trace(
    rec["4"].v, rec["4"].spikes, neuron=int(test.targets[0]), threshold=1.0, path="output_trace.png"
)
sk.plot.layer_heatmap(rec, path="layers.png")
print("wrote hidden_raster.png, output_trace.png, layers.png")
