"""Train a small spiking MLP on scikit-learn's 8x8 digits and print its test accuracy.

Run: ``python examples/train_digits.py`` (about 10 s on 2 cores). Everything here is public API.
"""

import torch
from torch import nn

import spikekit as sk

torch.manual_seed(0)
train, test = sk.data.load("digits")  # embedded: no download; [N, 1, 8, 8] in [0, 1]

steps = 16
model = nn.Sequential(
    nn.Flatten(start_dim=2),  # [T, B, 1, 8, 8] -> [T, B, 64]
    nn.Linear(64, 128),
    sk.nn.LIF(beta=0.9, surrogate=sk.surrogate.atan()),
    nn.Linear(128, 10),
    sk.nn.LIF(beta=0.9, surrogate=sk.surrogate.atan()),
)
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
g = torch.Generator().manual_seed(0)

for _epoch in range(15):
    for idx in torch.randperm(len(train), generator=g).split(32):
        x = sk.encode.poisson(train.images[idx], steps, generator=g)  # [T, B, 1, 8, 8] spikes
        loss = sk.decode.mse_count_loss(model(x), train.targets[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

with torch.no_grad():
    spikes = model(sk.encode.poisson(test.images, steps, generator=g))  # [T, B, 10]
    acc = (sk.decode.count(spikes).argmax(1) == test.targets).float().mean()
print(f"spiking MLP on the 8x8 digits: test accuracy {100 * acc:.1f} %")
