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
# # From snnTorch: tutorial 5, ported
#
# snnTorch's tutorial 5 trains a 784-1000-10 network of `snn.Leaky(beta=0.95)` neurons for 25 steps on
# MNIST, the image presented as a constant current, with cross-entropy on the membrane of every step.
# This is the same network in spikekit, the way [Coming from snnTorch](../from-snntorch.md) ports it:
#
# - `sk.compat.snntorch.Leaky` is snnTorch's `Leaky` (its delayed, gradient-detached reset) built as a
#   spikekit neuron; `sk.nn.LIF` is spikekit's own (reset in the step it fires, gradient through it);
# - sequences are time first, `[T, B, ...]`, and one call runs all `T` steps: there is no loop over time
#   and no `init_leaky()` / `utils.reset(net)`;
# - the input current is the same at every step, so `fc1` runs once instead of 25 times.
#
# Run it as a script (`python examples/tutorials/from_snntorch.py`) or open it as a notebook with
# jupytext. It uses MNIST when `$SPIKEKIT_DATA/mnist` exists, else the embedded 8x8 digits;
# `SPIKEKIT_TUTORIAL_SMALL=1` trains on a few batches of the digits (the tests run it that way).

# %%
import os
from pathlib import Path

import torch
from torch import nn

import spikekit as sk
from spikekit.compat import snntorch as snnc

SMALL = os.environ.get("SPIKEKIT_TUTORIAL_SMALL") == "1"
torch.manual_seed(0)

# %% [markdown]
# ## The neuron: snnTorch's `Leaky`, exactly
#
# `snnc.Leaky` takes snnTorch's arguments and returns the spikekit neuron with snnTorch's spikes *and*
# gradients. `trace(x)` returns the spikes, the membrane (snnTorch's `mem`) and the final state.
# When snnTorch is installed, the two give the same spikes on the same input current.

# %%
lif = snnc.Leaky(beta=0.95)
print(lif)
current = torch.rand(25, 4, 10)  # [T, B, N]
spk, mem, _ = lif.trace(current)

try:
    import snntorch
except ImportError:
    print("snnTorch is not installed: skipping the side-by-side check")
else:
    leaky, v = snntorch.Leaky(beta=0.95), torch.zeros(4, 10)
    steps_out = []
    for t in range(25):  # snnTorch's way: one step per call, state passed by hand
        s, v = leaky(current[t], v)
        steps_out.append(s)
    print("same spikes as snnTorch:", torch.equal(torch.stack(steps_out), spk))

# %% [markdown]
# ## The data
#
# Tutorial 5 uses MNIST (`sk.data.load("mnist")` reads `$SPIKEKIT_DATA/mnist`, or downloads it with
# `download=True`). Without it, or at small size, this runs on the 8x8 digits.

# %%
data_dir = Path(os.environ.get("SPIKEKIT_DATA", "/nonexistent"))
name = "mnist" if (data_dir / "mnist").exists() and not SMALL else "digits"
train, test = sk.data.load(name)
n_in = train.images[0].numel()
print(f"{name}: {len(train)} training and {len(test)} test images of {n_in} pixels")

# %% [markdown]
# ## The network
#
# `forward` returns what tutorial 5's loop collects in `spk2_rec` and `mem2_rec`, already stacked:
# `[T, B, 10]` each.

# %%
steps, batch_size = 25, 128


class Net(nn.Module):
    def __init__(self, n_in: int, hidden: int = 1000):
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(n_in, hidden), snnc.Leaky(beta=0.95)
        self.fc2, self.lif2 = nn.Linear(hidden, 10), snnc.Leaky(beta=0.95)

    def forward(self, x):  # x: [B, 1, H, W]
        cur1 = self.fc1(x.flatten(1)).expand(steps, -1, -1)  # [T, B, hidden], the same at every step
        spk2, mem2, _ = self.lif2.trace(self.fc2(self.lif1(cur1)))
        return spk2, mem2


net = Net(n_in, hidden=100 if SMALL else 1000)

# %% [markdown]
# ## Training: one epoch, tutorial 5's loss
#
# `sk.decode.ce_membrane_per_step_loss(mem, y)` is tutorial 5's
# `sum(loss(mem2_rec[step], y) for step in range(num_steps))`.

# %%
optimizer = torch.optim.Adam(net.parameters(), lr=5e-4, betas=(0.9, 0.999))
order = torch.randperm(len(train))[: 4 * batch_size if SMALL else None]
for i in range(0, len(order) - batch_size + 1, batch_size):  # drop_last=True
    idx = order[i : i + batch_size]
    spk, mem = net(train.images[idx])
    loss = sk.decode.ce_membrane_per_step_loss(mem, train.targets[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"last training loss {loss.item():.2f}")

# %% [markdown]
# ## Testing: accuracy by spike count
#
# snnTorch's `SF.accuracy_rate` takes the class with the most output spikes; so does this.

# %%
correct = 0
with torch.no_grad():
    for i in range(0, len(test), 1000):
        spk, _ = net(test.images[i : i + 1000])
        correct += int((sk.decode.count(spk).argmax(-1) == test.targets[i : i + 1000]).sum())
print(f"test accuracy {100 * correct / len(test):.2f} %")

# %% [markdown]
# ## What changes with spikekit's own neuron
#
# Replace `snnc.Leaky(beta=0.95)` by `sk.nn.LIF(beta=0.95)` and the network resets in the step a neuron
# fires and backpropagates through the reset; `sk.nn.LIF(beta=0.95, detach_reset=True)` cuts that
# gradient as snnTorch does. [Coming from snnTorch](../from-snntorch.md) measures what each choice does
# to this network's accuracy and lists every convention that differs.
