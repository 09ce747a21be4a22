"""A peer library's tutorial, run in the peer and ported to spikekit with the same seeds, side by side.

``--peer snntorch``: snnTorch's tutorial 5 ("Training Spiking Neural Networks with snnTorch"), literally:
784-1000-10, ``snn.Leaky(beta=0.95)`` (its defaults: atan surrogate, reset by subtraction one step late,
reset detached from the gradient), T = 25 with the image as a constant input current, loss
``nn.CrossEntropyLoss`` on the output membrane of every step summed over the steps, Adam 5e-4
(betas 0.9, 0.999), batch 128, shuffled, last partial batch dropped, 1 epoch; accuracy by output spike count
over the whole test set. The spikekit port builds the same network with
``sk.compat.snntorch.Leaky(beta=0.95)`` and ``sk.decode.ce_membrane_per_step_loss``. Both start from the
same weights (the port's, copied into snnTorch's ``fc1``/``fc2``) and see the same batches.

Usage:
    SPIKEKIT_DATA=../shared/data python benchmarks/ported_tutorials.py --peer snntorch \\
        [--dataset mnist|mnist-10k] [--seeds 0] [--epochs 1] [--threads 1] \\
        [--json benchmarks/results/ported_snntorch.json]

One function per peer (``run_<peer>``); other peers add theirs to ``PEERS``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

import spikekit as sk
from spikekit._io import format_table, write_json

# --- snnTorch tutorial 5 ------------------------------------------------------------------------------
T5 = {"hidden": 1000, "steps": 25, "beta": 0.95, "lr": 5e-4, "betas": (0.9, 0.999), "batch_size": 128}


class Tutorial5(nn.Module):
    """snnTorch tutorial 5's network in spikekit: returns output spikes and membrane ``[T, B, 10]``.

    ``neuron()`` builds each spiking layer (default: snnTorch's ``Leaky(beta=0.95)`` through
    ``sk.compat.snntorch``). The image enters as the same current at every step, so ``fc1`` runs once.
    """

    def __init__(
        self,
        neuron: Callable[[], nn.Module] | None = None,
        hidden: int = T5["hidden"],
        steps: int = T5["steps"],
    ) -> None:
        super().__init__()
        neuron = neuron or (lambda: sk.compat.snntorch.Leaky(beta=T5["beta"]))
        self.steps = steps
        self.fc1, self.lif1 = nn.Linear(784, hidden), neuron()
        self.fc2, self.lif2 = nn.Linear(hidden, 10), neuron()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cur1 = self.fc1(x.flatten(1)).expand(self.steps, -1, -1)  # [T, B, hidden]
        spk1 = self.lif1(cur1)
        spk2, mem2, _ = self.lif2.trace(self.fc2(spk1))
        return spk2, mem2


def snntorch_tutorial5(hidden: int = T5["hidden"], steps: int = T5["steps"]) -> nn.Module:
    """snnTorch tutorial 5's ``Net``, as its text has it (``num_steps`` and ``hidden`` as arguments)."""
    import snntorch as snn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, hidden)
            self.lif1 = snn.Leaky(beta=T5["beta"])
            self.fc2 = nn.Linear(hidden, 10)
            self.lif2 = snn.Leaky(beta=T5["beta"])

        def forward(self, x):
            mem1 = self.lif1.init_leaky()
            mem2 = self.lif2.init_leaky()
            spk2_rec, mem2_rec = [], []
            for _ in range(steps):
                cur1 = self.fc1(x)
                spk1, mem1 = self.lif1(cur1, mem1)
                cur2 = self.fc2(spk1)
                spk2, mem2 = self.lif2(cur2, mem2)
                spk2_rec.append(spk2)
                mem2_rec.append(mem2)
            return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)

    return Net()


def tutorial5_loss_snntorch(mem_rec: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Tutorial 5's loss, its own code: ``loss_val += loss(mem_rec[step], targets)`` over the steps."""
    loss = nn.CrossEntropyLoss()
    loss_val = torch.zeros((1), dtype=mem_rec.dtype, device=mem_rec.device)
    for step in range(mem_rec.shape[0]):
        loss_val += loss(mem_rec[step], targets)
    return loss_val


def tutorial5_loss_spikekit(mem: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return sk.decode.ce_membrane_per_step_loss(mem, targets)


def batches(n: int, batch_size: int, seed: int, epoch: int) -> list[torch.Tensor]:
    """Shuffled index batches, the last partial batch dropped (tutorial 5's ``drop_last=True``)."""
    g = torch.Generator().manual_seed(seed * 1000 + epoch)
    order = torch.randperm(n, generator=g)
    return [order[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


@torch.no_grad()
def spike_count_accuracy(net: nn.Module, images: torch.Tensor, targets: torch.Tensor, flat: bool) -> float:
    """Tutorial 5's test: the class with the most output spikes (``spk.sum(0).max(1)``), whole test set."""
    net.eval()
    correct = 0
    for i in range(0, len(images), 1000):
        x = images[i : i + 1000]
        spk, _ = net(x.flatten(1) if flat else x)
        correct += int((spk.sum(0).max(1)[1] == targets[i : i + 1000]).sum())
    return correct / len(images)


def train_tutorial5(
    net: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train,
    test,
    *,
    seed: int,
    epochs: int = 1,
    flat: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Tutorial 5's training loop (Adam 5e-4, batch 128, drop_last): test accuracy and seconds per epoch."""
    opt = torch.optim.Adam(net.parameters(), lr=T5["lr"], betas=T5["betas"])
    x_all, y_all = train.images, train.targets
    seconds, losses = [], []
    for epoch in range(epochs):
        net.train()
        t0 = time.perf_counter()
        for i, idx in enumerate(batches(len(x_all), T5["batch_size"], seed, epoch)):
            x = x_all[idx]
            _, mem = net(x.flatten(1) if flat else x)
            loss = loss_fn(mem, y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if log and i % 50 == 0:
                log(f"  epoch {epoch} batch {i}: loss {losses[-1]:.2f}")
        seconds.append(time.perf_counter() - t0)
    acc = spike_count_accuracy(net, test.images, test.targets, flat)
    return {"test_acc": acc, "epoch_seconds": seconds, "final_loss": losses[-1], "first_loss": losses[0]}


def run_snntorch(args) -> list[dict]:
    """snnTorch tutorial 5 in snnTorch and in spikekit (compat neurons), same seeds, same batches."""
    import snntorch

    train, test = sk.data.load(args.dataset, root=args.data_dir)
    rows = []
    for seed in args.seeds:
        torch.manual_seed(seed)
        ours = Tutorial5(hidden=args.hidden)
        theirs = snntorch_tutorial5(hidden=args.hidden)
        theirs.fc1.load_state_dict(ours.fc1.state_dict())
        theirs.fc2.load_state_dict(ours.fc2.state_dict())
        for name, net, loss_fn, flat in (
            ("snntorch", theirs, tutorial5_loss_snntorch, True),
            ("spikekit", ours, tutorial5_loss_spikekit, False),
        ):
            print(f"seed {seed}: {name} ...", flush=True)
            r = train_tutorial5(
                net, loss_fn, train, test, seed=seed, epochs=args.epochs, flat=flat, log=print
            )
            print(
                f"seed {seed}: {name} {100 * r['test_acc']:.2f} %, {r['epoch_seconds'][0]:.0f} s", flush=True
            )
            rows.append({"library": name, "seed": seed, **r})
            if name == "snntorch":
                rows[-1]["version"] = snntorch.__version__
    return rows


# --- SpikingJelly and Norse: the spikekit side is the guide's code block, executed as is --------------
GUIDES = Path(__file__).resolve().parent.parent / "docs"
SJ = {
    "tau": 2.0,
    "steps": 100,
    "lr": 1e-3,
    "batch_size": 64,
    "source": "spikingjelly.activation_based.examples.lif_fc_mnist",
}
NORSE = {
    "seq_length": 200,
    "lr": 2e-3,
    "batch_size": 32,
    "input_scale": 1.0,
    "source": "norse.task.mnist (LIFConvNet, ConvNet4)",
}


def guide_code(peer: str) -> dict:
    """Execute the ``<!-- tutorial: peer -->`` block of docs/from-<peer>.md; return its namespace."""
    import re

    path = GUIDES / f"from-{peer}.md"
    m = re.search(rf"<!-- tutorial: {peer} -->\s*```python\n(.*?)```", path.read_text(), re.S)
    if m is None:
        raise ValueError(f"{path}: no '<!-- tutorial: {peer} -->' python block")
    ns: dict = {"__name__": f"guide_{peer}"}
    exec(compile(m.group(1), str(path), "exec"), ns)  # noqa: S102 - the project's own documentation
    return ns


def spikingjelly_tutorial_net(tau: float = SJ["tau"]) -> nn.Module:
    """lif_fc_mnist's ``SNN``, its own code (single-step mode, hidden state)."""
    from spikingjelly.activation_based import layer, neuron, surrogate

    class SNN(nn.Module):
        def __init__(self, tau):
            super().__init__()
            self.layer = nn.Sequential(
                layer.Flatten(),
                layer.Linear(28 * 28, 10, bias=False),
                neuron.LIFNode(tau=tau, surrogate_function=surrogate.ATan()),
            )

        def forward(self, x: torch.Tensor):
            return self.layer(x)

    return SNN(tau)


def spikingjelly_train_epoch(net, optimizer, images, labels, T, batch_size, order) -> None:
    """lif_fc_mnist's training loop, its own code (encoder called T times, ``reset_net`` per batch)."""
    import torch.nn.functional as F
    from spikingjelly.activation_based import encoding, functional

    encoder = encoding.PoissonEncoder()
    net.train()
    for i in range(0, len(images) - batch_size + 1, batch_size):
        idx = order[i : i + batch_size]
        img, label = images[idx], labels[idx]
        optimizer.zero_grad()
        label_onehot = F.one_hot(label, 10).float()
        out_fr = 0.0
        for _ in range(T):
            out_fr += net(encoder(img))
        out_fr = out_fr / T
        loss = F.mse_loss(out_fr, label_onehot)
        loss.backward()
        optimizer.step()
        functional.reset_net(net)


@torch.no_grad()
def spikingjelly_accuracy(net, images, labels, T, batch_size=1000) -> float:
    from spikingjelly.activation_based import encoding, functional

    encoder = encoding.PoissonEncoder()
    net.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        img = images[i : i + batch_size]
        out_fr = 0.0
        for _ in range(T):
            out_fr += net(encoder(img))
        correct += int(((out_fr / T).argmax(1) == labels[i : i + batch_size]).sum())
        functional.reset_net(net)
    return correct / len(images)


def spikingjelly_side_by_side(train_x, train_y, test_x, test_y, *, seed: int, steps: int, epochs: int = 1):
    """Both sides from the same weights and batch order; each library draws its own Poisson spikes."""
    guide = guide_code("spikingjelly")
    torch.manual_seed(seed)
    ours = guide["SNN"](tau=SJ["tau"])
    theirs = spikingjelly_tutorial_net(SJ["tau"])
    theirs.layer[1].weight.data.copy_(ours.fc.weight.data)
    rows = []
    for name in ("spikingjelly", "spikekit"):
        net = theirs if name == "spikingjelly" else ours
        opt = torch.optim.Adam(net.parameters(), lr=SJ["lr"])
        torch.manual_seed(seed)  # SpikingJelly's encoder draws from the global generator
        seconds = []
        for epoch in range(epochs):
            g = torch.Generator().manual_seed(seed * 1000 + epoch)
            t0 = time.perf_counter()
            if name == "spikingjelly":
                order = torch.randperm(len(train_x), generator=g)
                spikingjelly_train_epoch(net, opt, train_x, train_y, steps, SJ["batch_size"], order)
            else:
                guide["train_epoch"](
                    net, opt, train_x, train_y, T=steps, batch_size=SJ["batch_size"], generator=g
                )
            seconds.append(time.perf_counter() - t0)
        if name == "spikingjelly":
            acc = spikingjelly_accuracy(net, test_x, test_y, steps)
        else:
            acc = guide["accuracy"](
                net, test_x, test_y, T=steps, generator=torch.Generator().manual_seed(seed)
            )
        rows.append({"library": name, "seed": seed, "test_acc": acc, "epoch_seconds": seconds})
    return rows


def run_spikingjelly(args) -> list[dict]:
    """SpikingJelly's lif_fc_mnist in SpikingJelly and in spikekit (the guide's block), side by side."""
    import spikingjelly

    train, test = sk.data.load(args.dataset, root=args.data_dir)
    steps = args.steps or SJ["steps"]
    rows = []
    for seed in args.seeds:
        print(f"seed {seed}: spikingjelly lif_fc_mnist, T = {steps} ...", flush=True)
        for r in spikingjelly_side_by_side(
            train.images, train.targets, test.images, test.targets, seed=seed, steps=steps, epochs=args.epochs
        ):
            r["steps"] = steps
            if r["library"] == "spikingjelly":
                r["version"] = getattr(spikingjelly, "__version__", "2.0")
            print(
                f"seed {seed}: {r['library']} {100 * r['test_acc']:.2f} %, {r['epoch_seconds'][0]:.0f} s",
                flush=True,
            )
            rows.append(r)
    return rows


def norse_tutorial_net(seq_length: int, input_scale: float = NORSE["input_scale"]) -> nn.Module:
    """norse.task.mnist's ``LIFConvNet``, its own code (norse.task.mnist itself needs tensorboard)."""
    from norse.torch.models.conv import ConvNet4
    from norse.torch.module.encode import ConstantCurrentLIFEncoder

    class LIFConvNet(nn.Module):
        def __init__(self, input_features, seq_length, input_scale, model="super"):
            super().__init__()
            self.constant_current_encoder = ConstantCurrentLIFEncoder(seq_length=seq_length)
            self.input_features = input_features
            self.rsnn = ConvNet4(method=model)
            self.seq_length = seq_length
            self.input_scale = input_scale

        def forward(self, x):
            batch_size = x.shape[0]
            x = self.constant_current_encoder(x.view(-1, self.input_features) * self.input_scale)
            x = x.reshape(self.seq_length, batch_size, 1, 28, 28)
            voltages = self.rsnn(x)
            m, _ = torch.max(voltages, 0)
            log_p_y = torch.nn.functional.log_softmax(m, dim=1)
            return log_p_y

    return LIFConvNet(28 * 28, seq_length, input_scale)


def norse_copy_weights(ours: nn.Module, theirs: nn.Module) -> None:
    """The port's initial weights into Norse's ConvNet4 (``out.weight``: LILinearCell's ``input_weights``)."""
    with torch.no_grad():
        for name in ("conv1", "conv2", "fc1"):
            getattr(theirs.rsnn, name).load_state_dict(getattr(ours, name).state_dict())
        theirs.rsnn.out.input_weights.copy_(ours.out.weight)


def norse_side_by_side(train_x, train_y, test_x, test_y, *, seed: int, seq_length: int, epochs: int = 1):
    """Both sides from the same weights and the same batches (the task's loop: Adam, NLL, batch 32)."""
    guide = guide_code("norse")
    torch.manual_seed(seed)
    ours = guide["LIFConvNet"](seq_length=seq_length)
    theirs = norse_tutorial_net(seq_length)
    norse_copy_weights(ours, theirs)
    rows = []
    for name, net in (("norse", theirs), ("spikekit", ours)):
        opt = torch.optim.Adam(net.parameters(), lr=NORSE["lr"])
        seconds = []
        for epoch in range(epochs):
            g = torch.Generator().manual_seed(seed * 1000 + epoch)
            t0 = time.perf_counter()
            guide["train_epoch"](net, opt, train_x, train_y, batch_size=NORSE["batch_size"], generator=g)
            seconds.append(time.perf_counter() - t0)
        acc = guide["accuracy"](net, test_x, test_y)
        rows.append({"library": name, "seed": seed, "test_acc": acc, "epoch_seconds": seconds})
    return rows


def run_norse(args) -> list[dict]:
    """norse.task.mnist in Norse and in spikekit (the guide's block), side by side."""
    import norse

    train, test = sk.data.load(args.dataset, root=args.data_dir)
    seq_length = args.steps or NORSE["seq_length"]
    rows = []
    for seed in args.seeds:
        print(f"seed {seed}: norse.task.mnist, seq_length = {seq_length} ...", flush=True)
        for r in norse_side_by_side(
            train.images,
            train.targets,
            test.images,
            test.targets,
            seed=seed,
            seq_length=seq_length,
            epochs=args.epochs,
        ):
            r["steps"] = seq_length
            if r["library"] == "norse":
                r["version"] = getattr(norse, "__version__", "1.1")
            print(
                f"seed {seed}: {r['library']} {100 * r['test_acc']:.2f} %, {r['epoch_seconds'][0]:.0f} s",
                flush=True,
            )
            rows.append(r)
    return rows


PEERS = {"snntorch": run_snntorch, "spikingjelly": run_spikingjelly, "norse": run_norse}
CONFIGS = {"snntorch": T5, "spikingjelly": SJ, "norse": NORSE}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", choices=sorted(PEERS), required=True)
    ap.add_argument("--data-dir", default=os.environ.get("SPIKEKIT_DATA"))
    ap.add_argument("--dataset", default="mnist", help="mnist (the tutorial's) or mnist-10k")
    ap.add_argument("--seeds", default="0", help="comma-separated")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=T5["hidden"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--steps", type=int, default=None, help="time steps (spikingjelly, norse; default: the tutorial's)"
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    rows = PEERS[args.peer](args)
    table = format_table(
        ["library", "seed", "test accuracy %", "s / epoch"],
        [
            [r["library"], r["seed"], f"{100 * r['test_acc']:.2f}", f"{r['epoch_seconds'][0]:.0f}"]
            for r in rows
        ],
    )
    print(table)
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": f"ported_tutorials --peer {args.peer}",
                "command": "python benchmarks/ported_tutorials.py "
                + " ".join(sys.argv[1:] if argv is None else argv),
                "dataset": args.dataset,
                "config": {
                    **CONFIGS[args.peer],
                    **({"hidden": args.hidden} if args.peer == "snntorch" else {}),
                    **({"steps": args.steps} if args.steps else {}),
                    "epochs": args.epochs,
                    "threads": args.threads,
                },
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "torch": torch.__version__,
                    "load_average_after": os.getloadavg(),
                },
                "total_seconds": time.perf_counter() - t0,
                "results": rows,
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
