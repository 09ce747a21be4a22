"""The main job against the peers: seconds per training epoch on Fashion-MNIST (issue 16, figure B).

``spikekit train --model spiking-mlp --dataset fashion-mnist`` and ``--model spiking-cnn``, as the command
builds them (its recipe, :func:`spikekit.cli.recipes.recipe`, and :func:`spikekit.models.build_model`: the
same model, ``T``, batch size 128 and Adam at lr 1e-3), trained for ``--batches`` real steps (forward,
cross-entropy, backward, optimizer step, as :func:`spikekit.train.fit` runs them) on the first
``batches x 128`` images of a fixed shuffle of the training set, four ways in one process:

- ``spikekit auto``: every neuron with ``backend="auto"`` (the default now; the fused C++ engine on a CPU);
- ``spikekit torch``: every neuron with ``backend="torch"`` (the reference loop: the default before);
- ``snntorch``: the same network as snnTorch's tutorials write it: ``snn.Leaky`` (same beta, threshold 1,
  arc-tangent surrogate, reset by subtraction detached from the gradient, ``reset_delay=False`` so that
  it resets in the step it fires as spikekit does; the output layer ``reset_mechanism="none"``), a Python
  loop over the time steps with the first layer inside it, the mean of the output membrane;
- ``spikingjelly``: multi-step mode (``step_mode="m"``), ``neuron.LIFNode(tau=1 / (1 - beta),
  decay_input=False, v_reset=None, detach_reset=True, surrogate ATan)`` (its PyTorch implementation, the
  fastest on a CPU: its CuPy/Triton kernels need a GPU), the static image expanded over time as its
  ``conv_fashion_mnist`` example does, ``functional.reset_net`` after every batch. Its output layer is a
  ``LIFNode`` whose threshold (1e9) is never reached (no spike, so no reset), read from ``v_seq``: its
  ``NonSpikingLIFNode`` would also decay the input (``v += (x - v) / tau``).

All four start from the same weights (copied from the spikekit model). Differences that remain (stated
in the JSON): the peers run the first layer at every step (spikekit's direct encoding runs it once, the
input being the same at every step); snnTorch's batch norm runs per step (statistics over the batch at
each step, running statistics updated T times per batch; spikekit and SpikingJelly normalise over
``T x B``); SpikingJelly's ``layer.Dropout`` draws one mask per sequence (spikekit and snnTorch: one per
step); snnTorch fires strictly above the threshold (spikekit and SpikingJelly at it: a set of measure zero).

The timed block (all ``--batches`` steps) is repeated ``--repeats`` times (default 3), interleaved (each
round times every variant once), after two warm-up steps, with 1 thread and then 2 (``--threads``); the
figures are medians. Seconds per epoch are extrapolated: seconds per batch x 469 batches (60,000 images
in batches of 128). The load average is recorded at the start and end of each thread setting.

    SPIKEKIT_DATA=/path/to/data python benchmarks/main_job.py --json benchmarks/results/main_job.json
    python benchmarks/main_job.py --models spiking-mlp --threads 1 --batches 20 --repeats 3   # quicker

The process runs with :func:`spikekit.train.tune_allocator` (as ``spikekit train`` does), every variant
alike; ``--allocator default`` measures glibc's own policy (a separate process: it cannot be undone).
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from overhead import _load, _version  # benchmarks/ is on sys.path: this script's folder
from torch import nn

import spikekit as sk
from spikekit._io import format_table, write_json
from spikekit.cli.recipes import recipe
from spikekit.models import build_model

SHAPE = (1, 28, 28)
EPOCH_IMAGES = 60_000
VARIANTS = ("spikekit auto", "spikekit torch", "snntorch", "spikingjelly")
DIFFERENCES = {
    "snntorch": [
        "first layer computed at every step inside the time loop (spikekit: once, the input is the same at "
        "every step)",
        "fires strictly above the threshold (spikekit at it)",
    ],
    "spikingjelly": [
        "first layer computed on the image expanded over T (spikekit: once)",
        "decay written v - v / tau + x, tau = 1 / (1 - beta) (spikekit: beta v + x; equal up to rounding)",
        "output layer: a LIFNode with threshold 1e9 (never fires, so never resets), membrane from v_seq",
    ],
}
CNN_DIFFERENCES = {
    "snntorch": ["batch norm per step (statistics over B at each step; running statistics updated T times)"],
    "spikingjelly": ["layer.Dropout draws one mask per sequence (spikekit, snnTorch: one per step)"],
}


# --- the networks ---------------------------------------------------------------------------------------
def spikekit_model(name: str, backend: str) -> tuple[nn.Module, dict[str, Any], Any]:
    """The model ``spikekit train --model name --dataset fashion-mnist`` builds; neurons on ``backend``."""
    kwargs, cfg = recipe(name, SHAPE, dataset="fashion-mnist")
    torch.manual_seed(0)
    model = build_model(name, SHAPE, 10, **kwargs)
    for m in model.modules():
        if isinstance(m, sk.nn.Neuron):
            m.backend = backend
    return model, kwargs, cfg


def _layout(model: nn.Module) -> dict[str, Any]:
    """What the peers need to build the same network: T, beta, threshold, widths, dropout."""
    lifs = [m for m in model.modules() if isinstance(m, sk.nn.LIF)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    return {
        "steps": model.steps,
        "beta": float(lifs[0].beta),
        "threshold": float(lifs[0].threshold),
        "channels": [c.out_channels for c in convs],
        "linears": [(m.in_features, m.out_features) for m in linears],
        "dropout": drops[0].p if drops else 0.0,
    }


def _snntorch_mlp(lay: dict[str, Any]) -> nn.Module:
    import snntorch as snn
    from snntorch import surrogate

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            (n_in, hidden), (_, n_out) = lay["linears"]
            grad = surrogate.atan()
            beta, thr = lay["beta"], lay["threshold"]
            self.fc1 = nn.Linear(n_in, hidden)
            self.lif1 = snn.Leaky(beta=beta, threshold=thr, spike_grad=grad, reset_delay=False)
            self.fc2 = nn.Linear(hidden, n_out)
            self.lif2 = snn.Leaky(beta=beta, threshold=thr, spike_grad=grad, reset_mechanism="none")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.flatten(1)
            mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
            mem2_rec = []
            for _ in range(lay["steps"]):
                spk1, mem1 = self.lif1(self.fc1(x), mem1)
                _, mem2 = self.lif2(self.fc2(spk1), mem2)
                mem2_rec.append(mem2)
            return torch.stack(mem2_rec).mean(0)

    return Net()


def _snntorch_cnn(lay: dict[str, Any]) -> nn.Module:
    import snntorch as snn
    from snntorch import surrogate

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c1, c2 = lay["channels"]
            (n_flat, hidden), (_, n_out) = lay["linears"]
            grad = surrogate.atan()
            beta, thr, p = lay["beta"], lay["threshold"], lay["dropout"]

            def leaky(**kw: Any) -> nn.Module:
                return snn.Leaky(beta=beta, threshold=thr, spike_grad=grad, **kw)

            self.conv1, self.bn1 = nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1)
            self.lif1 = leaky(reset_delay=False)
            self.conv2, self.bn2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2)
            self.lif2 = leaky(reset_delay=False)
            self.drop1, self.fc1, self.lif3 = (
                nn.Dropout(p),
                nn.Linear(n_flat, hidden),
                leaky(reset_delay=False),
            )
            self.drop2, self.fc2, self.lif4 = (
                nn.Dropout(p),
                nn.Linear(hidden, n_out),
                leaky(reset_mechanism="none"),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem1, mem2, mem3, mem4 = (m.init_leaky() for m in (self.lif1, self.lif2, self.lif3, self.lif4))
            mem4_rec = []
            for _ in range(lay["steps"]):
                spk1, mem1 = self.lif1(F.max_pool2d(self.bn1(self.conv1(x)), 2), mem1)
                spk2, mem2 = self.lif2(F.max_pool2d(self.bn2(self.conv2(spk1)), 2), mem2)
                spk3, mem3 = self.lif3(self.fc1(self.drop1(spk2.flatten(1))), mem3)
                _, mem4 = self.lif4(self.fc2(self.drop2(spk3)), mem4)
                mem4_rec.append(mem4)
            return torch.stack(mem4_rec).mean(0)

    return Net()


def _spikingjelly(lay: dict[str, Any], cnn: bool) -> nn.Module:
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    tau = 1.0 / (1.0 - lay["beta"])

    def lif(**kw: Any) -> nn.Module:
        kw.setdefault("v_threshold", lay["threshold"])
        return neuron.LIFNode(
            tau=tau, decay_input=False, v_reset=None, surrogate_function=surrogate.ATan(), detach_reset=True,
            **kw,
        )  # fmt: skip

    if cnn:
        c1, c2 = lay["channels"]
        (n_flat, hidden), (_, n_out) = lay["linears"]
        p = lay["dropout"]
        body: list[nn.Module] = [
            layer.Conv2d(1, c1, 3, padding=1, bias=False), layer.BatchNorm2d(c1), layer.MaxPool2d(2), lif(),
            layer.Conv2d(c1, c2, 3, padding=1, bias=False), layer.BatchNorm2d(c2), layer.MaxPool2d(2), lif(),
            layer.Flatten(), layer.Dropout(p), layer.Linear(n_flat, hidden), lif(), layer.Dropout(p),
            layer.Linear(hidden, n_out),
        ]  # fmt: skip
    else:
        (n_in, hidden), (_, n_out) = lay["linears"]
        body = [layer.Flatten(), layer.Linear(n_in, hidden), lif(), layer.Linear(hidden, n_out)]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(*body)
            self.out = lif(v_threshold=1e9, store_v_seq=True)  # never fires: no reset; membrane in v_seq
            functional.set_step_mode(self, "m")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x_seq = x.unsqueeze(0).expand(lay["steps"], *x.shape)  # as its conv_fashion_mnist example
            self.out(self.body(x_seq))
            return self.out.v_seq.mean(0)

    return Net()


def _copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy every Linear, Conv2d and BatchNorm2d of ``src`` into ``dst``'s, in the order both build them."""
    kinds = (nn.Linear, nn.Conv2d, nn.BatchNorm2d)
    a = [m for m in src.modules() if isinstance(m, kinds)]
    b = [m for m in dst.modules() if isinstance(m, kinds)]
    if [type(m).__mro__[-3] for m in a] and len(a) != len(b):
        raise RuntimeError(f"cannot match layers: {len(a)} in spikekit's model, {len(b)} in the peer's")
    for m, n in zip(a, b, strict=True):
        n.load_state_dict(m.state_dict())


def build_variants(name: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """``{variant: {"model", "opt", "after_step"}}``, the recipe's model arguments and its configuration."""
    auto, kwargs, cfg = spikekit_model(name, "auto")
    ref, _, _ = spikekit_model(name, "torch")
    lay = _layout(auto)
    models: dict[str, nn.Module] = {"spikekit auto": auto, "spikekit torch": ref}
    after: dict[str, Callable[[nn.Module], None] | None] = {}
    cnn = name == "spiking-cnn"
    if _version("snntorch") is not None:
        models["snntorch"] = (_snntorch_cnn if cnn else _snntorch_mlp)(lay)
    if _version("spikingjelly") is not None:
        from spikingjelly.activation_based import functional

        models["spikingjelly"] = _spikingjelly(lay, cnn)
        after["spikingjelly"] = functional.reset_net
    variants = {}
    for variant, model in models.items():
        if not variant.startswith("spikekit"):
            _copy_weights(auto, model)
        if cfg.optimizer != "adam":
            raise RuntimeError(f"the {name} recipe uses {cfg.optimizer}; this script builds Adam")
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        variants[variant] = {"model": model, "opt": opt, "after_step": after.get(variant)}
    config = {"model_kwargs": kwargs, "batch_size": cfg.batch_size, "optimizer": cfg.optimizer, "lr": cfg.lr}
    return variants, config, lay


# --- training steps -------------------------------------------------------------------------------------
def train_steps(v: dict[str, Any], images: torch.Tensor, targets: torch.Tensor, batches: list[torch.Tensor]):
    """Real training steps, as :func:`spikekit.train.fit` runs them, on the given batches."""
    model, opt, after = v["model"], v["opt"], v["after_step"]
    model.train()
    for idx in batches:
        x, y = images[idx], targets[idx]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if not math.isfinite(float(loss.detach())):
            raise RuntimeError("the loss became non-finite")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if after is not None:
            after(model)


def same_network_check(variants: dict[str, dict[str, Any]], images: torch.Tensor) -> dict[str, Any]:
    """Before training, in eval mode: each variant's logits on one batch against ``spikekit torch``'s."""
    out = {}
    with torch.no_grad():
        logits = {}
        for variant, v in variants.items():
            v["model"].eval()
            logits[variant] = v["model"](images)
            if v["after_step"] is not None:
                v["after_step"](v["model"])
        ref = logits["spikekit torch"]
        for variant, value in logits.items():
            diff = (value - ref).abs().max()
            out[variant] = {
                "max_abs_logit_diff": float(diff),
                "same_argmax": float((value.argmax(1) == ref.argmax(1)).float().mean()),
            }
    return out


def measure(name: str, images, targets, n_batches: int, repeats: int, threads: list[int]) -> dict[str, Any]:
    variants, config, lay = build_variants(name)
    bs = config["batch_size"]
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    batches = [order[i * bs : (i + 1) * bs] for i in range(n_batches)]
    warm = [order[n_batches * bs + i * bs : n_batches * bs + (i + 1) * bs] for i in range(2)]
    result: dict[str, Any] = {
        "config": config, "layout": {k: v for k, v in lay.items()}, "batches_timed": n_batches,
        "epoch_batches": math.ceil(EPOCH_IMAGES / bs),
        "check_before_training": same_network_check(variants, images[batches[0]]),
        "differences": {
            k: DIFFERENCES.get(k, []) + (CNN_DIFFERENCES.get(k, []) if name == "spiking-cnn" else [])
            for k in variants if not k.startswith("spikekit")
        },
        "engines": _engines(variants["spikekit auto"]["model"], images[batches[0]]),
        "threads": {},
    }  # fmt: skip
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        load_start = _load()
        for v in variants.values():
            train_steps(v, images, targets, warm)
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(repeats):
            for variant, v in variants.items():
                start = time.perf_counter()
                train_steps(v, images, targets, batches)
                times[variant].append(time.perf_counter() - start)
        rows = {}
        for variant, t in times.items():
            block = statistics.median(t)
            rows[variant] = {
                "block_seconds": block, "times": t, "seconds_per_batch": block / n_batches,
                "seconds_per_epoch": block / n_batches * result["epoch_batches"],
            }  # fmt: skip
        auto = rows["spikekit auto"]["block_seconds"]
        ratios = {
            f"{k} / spikekit auto": r["block_seconds"] / auto for k, r in rows.items() if k != "spikekit auto"
        }
        result["threads"][str(n_threads)] = {
            "rows": rows, "ratios": ratios, "load_average_start": load_start, "load_average_end": _load(),
        }  # fmt: skip
    return result


def _engines(model: nn.Module, x: torch.Tensor) -> dict[str, str]:
    """Which engine each neuron of the ``auto`` model runs (recorded on a forward pass)."""
    found: dict[str, str] = {}

    def note(name: str) -> Callable[..., None]:
        def hook(mod: nn.Module, args: tuple[Any, ...]) -> None:
            found.setdefault(name, mod.engine(args[0]))

        return hook

    hooks = [
        m.register_forward_pre_hook(note(n))
        for n, m in model.named_modules()
        if isinstance(m, sk.nn.Neuron) and hasattr(m, "engine")
    ]
    with torch.no_grad():
        model.eval()
        model(x)
    for h in hooks:
        h.remove()
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="spiking-mlp,spiking-cnn", help="comma-separated (default both)")
    ap.add_argument("--batches", type=int, default=50, help="training steps in the timed block (default 50)")
    ap.add_argument("--repeats", type=int, default=3, help="timed blocks per variant (median; default 3)")
    ap.add_argument("--threads", default="1,2", help="torch thread counts, comma-separated (default 1,2)")
    ap.add_argument("--data-dir", default=None, help="folder of fashion-mnist (default: $SPIKEKIT_DATA)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument(
        "--allocator",
        choices=["tuned", "default"],
        default="tuned",
        help="tuned (default, what `spikekit train` runs with): spikekit.train.tune_allocator() for the "
        "whole process, so every variant, peers included, runs with it; default: glibc's own policy",
    )
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    tuned = args.allocator == "tuned" and sk.train.tune_allocator()
    train = sk.data.load("fashion-mnist", args.data_dir, split="train", progress=False)
    images, targets = train.tensors
    result: dict[str, Any] = {
        "environment": {
            "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
            "snntorch": _version("snntorch"), "spikingjelly": _version("spikingjelly"),
            "load_average_start": _load(),
            "allocator": sk.train.allocator_text() if tuned else "default (glibc's own policy)",
        },
        "epoch_images": EPOCH_IMAGES,
        "note": "seconds per epoch = seconds per batch of the timed block x epoch batches (extrapolated)",
        "models": {},
    }  # fmt: skip
    allocator = result["environment"]["allocator"]
    for name in args.models.split(","):
        res = measure(name, images, targets, args.batches, args.repeats, threads)
        result["models"][name] = res
        for n_threads, entry in res["threads"].items():
            print(
                f"\n{name}, {n_threads} thread(s): {args.batches} batches of {res['config']['batch_size']}, "
                f"median of {args.repeats}; allocator {allocator}; "
                f"load {entry['load_average_start']} -> {entry['load_average_end']}"
            )
            auto = entry["rows"]["spikekit auto"]["block_seconds"]
            table = [
                [
                    k, f"{r['seconds_per_batch'] * 1e3:.1f}", f"{r['seconds_per_epoch']:.1f}",
                    f"{r['block_seconds'] / auto:.2f}x",
                ]
                for k, r in entry["rows"].items()
            ]  # fmt: skip
            print(
                format_table(
                    ["variant", "ms / batch", "s / epoch (extrapolated)", "time / spikekit auto"], table
                )
            )
        check = res["check_before_training"]
        print("same network (eval, before training), max |logit - spikekit torch|: "
              + ", ".join(f"{k} {v['max_abs_logit_diff']:.2e}" for k, v in check.items()))  # fmt: skip
    result["environment"]["load_average_end"] = _load()
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
