"""Quantisation-aware training on Fashion-MNIST: float32 SpikingMLP, then int8 and int4 (QAT and PTQ).

The float32 model uses the SpikingMLP recipe (Adam 1e-3, T = 25, hidden 100, direct input, membrane readout)
for ``--epochs`` epochs; each quantised model starts from it: PTQ is ``quantize_model`` alone, QAT fine-tunes
the quantised model ``--qat-epochs`` epochs (Adam ``--qat-lr``). The int8 QAT model is then exported to
integers and simulated with int64 arithmetic only (``spikekit.quant.simulate_integer``): its spikes and
membranes are compared with the quantised model's on test images, and its accuracy is reported. Loihi 1's
precisions are checked on each quantised model (``spikekit.interop.loihi.loihi_check``).

    SPIKEKIT_DATA=../shared/data python benchmarks/qat.py --json benchmarks/results/qat.json
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
from torch.nn import functional as tf

import spikekit as sk
from spikekit import quant
from spikekit.interop.loihi import loihi_check


def batches(images, labels, bs, gen=None):
    order = torch.randperm(len(images), generator=gen) if gen is not None else torch.arange(len(images))
    for i in range(0, len(images), bs):
        idx = order[i : i + bs]
        yield images[idx], labels[idx]


def train(model, images, labels, epochs, lr, seed, log):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for e in range(epochs):
        gen = torch.Generator().manual_seed(seed * 1000 + e)
        model.train()
        t0, tot, n = time.perf_counter(), 0.0, 0
        for x, y in batches(images, labels, 128, gen):
            loss = tf.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot, n = tot + float(loss.detach()) * len(y), n + len(y)
        log(f"  epoch {e + 1}/{epochs}: loss {tot / n:.4f} ({time.perf_counter() - t0:.0f} s)")


@torch.no_grad()
def accuracy(model, images, labels):
    model.eval()
    hits = sum(int((model(x).argmax(1) == y).sum()) for x, y in batches(images, labels, 1000))
    return hits / len(images)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--qat-epochs", type=int, default=1)
    p.add_argument("--qat-lr", type=float, default=2e-4)
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--exact-check", type=int, default=1000, help="test images for the bit-exactness check")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    log = lambda s: print(s, flush=True)  # noqa: E731
    train_set, test_set = sk.data.load("fashion-mnist")
    xtr, ytr = (t[: args.train_size] for t in train_set.tensors)
    xte, yte = test_set.tensors
    t_start = time.perf_counter()
    torch.manual_seed(args.seed)
    model = sk.models.SpikingMLP(n_in=784, hidden=(100,), steps=25)
    log(f"float32: {args.epochs} epoch(s)")
    train(model, xtr, ytr, args.epochs, 1e-3, args.seed, log)
    rows = {"float32": {"acc": accuracy(model, xte, yte), "epochs": args.epochs}}
    log(f"float32: {rows['float32']['acc']:.4f}")
    # the fair float baseline for QAT: the same extra epochs at the same learning rate, without quantisation
    tuned = copy.deepcopy(model)
    log(f"float32 fine-tune: {args.qat_epochs} epoch(s)")
    train(tuned, xtr, ytr, args.qat_epochs, args.qat_lr, args.seed + 1, log)
    rows["float32 + fine-tune"] = {"acc": accuracy(tuned, xte, yte), "epochs": args.epochs + args.qat_epochs}
    log(f"float32 + fine-tune: {rows['float32 + fine-tune']['acc']:.4f}")
    qmodels = {}
    for bits in (8, 4):
        ptq = quant.quantize_model(model, bits=bits, per_channel=True, state_bits=24)
        rows[f"int{bits} PTQ"] = {"acc": accuracy(ptq, xte, yte), "epochs": args.epochs}
        log(f"int{bits} PTQ: {rows[f'int{bits} PTQ']['acc']:.4f}")
        qat = quant.quantize_model(model, bits=bits, per_channel=True, state_bits=24)
        log(f"int{bits} QAT: {args.qat_epochs} epoch(s)")
        train(qat, xtr, ytr, args.qat_epochs, args.qat_lr, args.seed + bits, log)
        rows[f"int{bits} QAT"] = {"acc": accuracy(qat, xte, yte), "epochs": args.epochs + args.qat_epochs}
        log(f"int{bits} QAT: {rows[f'int{bits} QAT']['acc']:.4f}")
        qmodels[bits] = qat
    # integer export of the int8 QAT model: bit-exact check and pure-integer accuracy
    qat8 = qmodels[8].eval()
    imodel = quant.export_integer(qat8)
    n = args.exact_check
    with torch.no_grad(), quant.record_integer(qat8) as rec:
        logits = qat8(xte[:n])
    run = quant.simulate_integer(imodel, quant.quantize_input(imodel, xte[:n]))
    hidden_spikes, hidden_v = rec["hidden.0"][0]
    _, out_v = rec["out_lif"][0]
    exact = {
        "images": n,
        "hidden_spikes_identical": bool(torch.equal(hidden_spikes.long(), run.spikes[0])),
        "hidden_membrane_identical": bool(torch.equal(hidden_v.long(), run.membrane[0])),
        "readout_membrane_identical": bool(torch.equal(out_v.long(), run.membrane[1])),
        "logits_max_abs_diff": float((logits - run.logits).abs().max()),
        "hidden_spike_count": int(run.spikes[0].sum()),
    }
    log(f"bit-exactness on {n} test images: {exact}")
    hits = 0
    for x, y in batches(xte, yte, 1000):
        r = quant.simulate_integer(imodel, quant.quantize_input(imodel, x))
        hits += int((r.logits.argmax(1) == y).sum())
    rows["int8 integer simulation"] = {"acc": hits / len(xte), "epochs": args.epochs + args.qat_epochs}
    log(f"int8 integer simulation: {hits / len(xte):.4f}")
    loihi = {f"int{b} QAT": loihi_check(m) for b, m in qmodels.items()}
    loihi["int8 PTQ per-tensor"] = loihi_check(quant.quantize_model(model, bits=8, per_channel=False))
    for k, v in loihi.items():
        log(f"loihi_check {k}: {len(v)} issue(s)" + "".join(f"\n  - {s}" for s in v))
    layer = imodel.layers[0]
    result = {
        "benchmark": "qat",
        "dataset": "fashion-mnist",
        "train_size": len(xtr),
        "test_size": len(xte),
        "model": "SpikingMLP(hidden=100, T=25, direct, membrane readout, reset=subtract)",
        "float_recipe": "Adam 1e-3, batch 128",
        "qat_recipe": f"Adam {args.qat_lr}, batch 128, from the float32 model",
        "quantisation": "symmetric weights per output channel, 8-bit unsigned input (1/255), 24-bit "
        "membrane, 12-bit decay",
        "seed": args.seed,
        "epochs_note": "epochs = float32 epochs + QAT (or float fine-tune) epochs",
        "accuracy": rows,
        "int8_qat_minus_float32_points": 100 * (rows["int8 QAT"]["acc"] - rows["float32"]["acc"]),
        "int8_qat_minus_float32_finetuned_points": 100
        * (rows["int8 QAT"]["acc"] - rows["float32 + fine-tune"]["acc"]),
        "bit_exact": exact,
        "int8_first_layer": {
            "decay": int(layer.decay[0]),
            "decay_shift": layer.decay_shift,
            "threshold_range": [int(layer.threshold.min()), int(layer.threshold.max())],
            "weight_range": [int(layer.weight.min()), int(layer.weight.max())],
        },
        "loihi_check": loihi,
        "seconds": time.perf_counter() - t_start,
        "threads": args.threads,
    }
    log(f"total {result['seconds']:.0f} s")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
