"""Bad inputs to the local learning rules, homeostasis, readouts, Diehl & Cook, and the decoders/losses.

Area "learning": every rule and homeostasis piece of ``spikekit.learning.__all__`` and ``DiehlCook``;
area "encode/decode": every readout and loss of ``spikekit.decode.__all__``.
"""

from __future__ import annotations

import torch
from harness import Case
from torch import nn

import spikekit.decode as D
import spikekit.learning as L
from spikekit.models.diehl_cook import DiehlCook, DiehlCookParams

CASES: list[Case] = []
NAN, INF = float("nan"), float("inf")


def _learn(name: str, run) -> None:
    CASES.append(Case("learning", name, run=run))


def _dec(name: str, run) -> None:
    CASES.append(Case("encode/decode", name, run=run))


def _dense(n_in: int = 3, n_out: int = 2, value: float = 0.5) -> nn.Linear:
    layer = nn.Linear(n_in, n_out, bias=False)
    nn.init.constant_(layer.weight, value)
    return layer


def _conv() -> nn.Conv2d:
    conv = nn.Conv2d(1, 2, 3, bias=False)
    nn.init.constant_(conv.weight, 0.5)
    return conv


def _with(x: torch.Tensor, value: float) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[0] = value
    return x


# ---------------------------------------------------------------------------------------- the rules
RULES = {
    "Hebbian": lambda **kw: L.Hebbian(**kw),
    "Oja": lambda **kw: L.Oja(**kw),
    "STDP": lambda **kw: L.STDP(**kw),
    "TripletSTDP": lambda **kw: L.TripletSTDP(**kw),
    "RewardSTDP": lambda **kw: L.RewardSTDP(**kw),
    "AntiHebbian": lambda **kw: L.AntiHebbian(**kw),
}


def _reward(name: str, batch: int):
    return torch.ones(batch) if name == "RewardSTDP" else None


def _rule_cases(name: str, make) -> None:
    pre, post = torch.ones(2, 3), torch.ones(2, 2)
    r2 = _reward(name, 2)

    def step(p, q, *, state=None, reward=r2, **kw):
        return lambda tmp: make(**kw).attach(_dense()).step(p, q, state, reward=reward)

    _learn(f"{name}: NaN pre spikes", step(_with(pre, NAN), post))
    _learn(f"{name}: inf post spikes", step(pre, _with(post, INF)))
    _learn(f"{name}: -inf pre spikes", step(_with(pre, -INF), post))
    _learn(
        f"{name}: empty batch, reduce='mean'",
        step(torch.ones(0, 3), torch.ones(0, 2), reduce="mean", reward=_reward(name, 0)),
    )
    _learn(
        f"{name}: empty batch, reduce='sum'",
        step(torch.ones(0, 3), torch.ones(0, 2), reward=_reward(name, 0)),
    )
    _learn(f"{name}: complex pre", step(pre.to(torch.complex64), post))
    _learn(f"{name}: pre as a list", step([[1.0, 1.0, 1.0]] * 2, post))
    _learn(f"{name}: 1-D pre (no batch axis)", step(torch.ones(3), torch.ones(2)))
    _learn(f"{name}: 3-D pre [T, B, in] to step", step(torch.ones(4, 2, 3), torch.ones(4, 2, 2)))
    _learn(
        f"{name}: NaN mask",
        lambda tmp: make().attach(_dense(), mask=_with(torch.ones(2, 3), NAN)),
    )
    _learn(f"{name}: mask of the wrong shape", lambda tmp: make().attach(_dense(), mask=torch.ones(3, 2)))
    _learn(
        f"{name}: mask as a list",
        lambda tmp: make().attach(_dense(), mask=[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]),
    )
    _learn(
        f"{name}: NaN weights at attach",
        lambda tmp: make().attach(_dense(value=NAN)),
    )
    _learn(
        f"{name}: run with T = 0",
        lambda tmp: (
            make()
            .attach(_dense())
            .run(torch.ones(0, 2, 3), torch.ones(0, 2, 2), reward=None if r2 is None else torch.ones(0, 2))
        ),
    )
    _learn(
        f"{name}: run offline with NaN at the last step",
        lambda tmp: (
            make()
            .attach(_dense())
            .run(
                torch.cat([torch.ones(3, 2, 3), torch.full((1, 2, 3), NAN)]),
                torch.ones(4, 2, 2),
                online=False,
                reward=None if r2 is None else torch.ones(4, 2),
            )
        ),
    )
    _learn(
        f"{name}: run with 2-D pre (no batch axis)",
        lambda tmp: (
            make()
            .attach(_dense())
            .run(torch.ones(4, 3), torch.ones(4, 2), reward=None if r2 is None else torch.ones(4))
        ),
    )
    _learn(
        f"{name}: apply_ a NaN change", lambda tmp: make().attach(_dense()).apply_(torch.full((2, 3), NAN))
    )
    _learn(
        f"{name}: apply_ a change of the wrong shape (broadcast)",
        lambda tmp: make().attach(_dense()).apply_(torch.ones(1)),
    )
    _learn(f"{name}: apply_ a list", lambda tmp: make().attach(_dense()).apply_([[0.0] * 3] * 2))


for _name, _make in RULES.items():
    _rule_cases(_name, _make)

# learning rates and amplitudes
_learn("Hebbian: NaN lr", lambda tmp: L.Hebbian(lr=NAN))
_learn("Hebbian: inf lr", lambda tmp: L.Hebbian(lr=INF))
_learn("Hebbian: lr as a string", lambda tmp: L.Hebbian(lr="0.1"))
_learn("Oja: lr tensor with NaN", lambda tmp: L.Oja(lr=torch.tensor(NAN)))
_learn("STDP: NaN a_plus", lambda tmp: L.STDP(a_plus=NAN))
_learn("STDP: NaN tau_plus", lambda tmp: L.STDP(tau_plus=NAN))
_learn("STDP: NaN dt", lambda tmp: L.STDP(dt=NAN))
_learn("TripletSTDP: inf a3_plus", lambda tmp: L.TripletSTDP(a3_plus=INF))
_learn("RewardSTDP: NaN lr", lambda tmp: L.RewardSTDP(lr=NAN))
_learn("AntiHebbian: NaN target_rate", lambda tmp: L.AntiHebbian(target_rate=NAN))
_learn("STDP: w_min NaN", lambda tmp: L.STDP(w_min=NAN))
_learn("STDP: reduce='max'", lambda tmp: L.STDP(reduce="max"))
_learn("STDP: pairing='first'", lambda tmp: L.STDP(pairing="first"))

# an update that would make the weights non-finite: a huge (but finite) learning rate
_learn(
    "Hebbian: huge lr overflows the weights",
    lambda tmp: L.Hebbian(lr=1e300).attach(_dense()).step(torch.ones(4, 3), torch.ones(4, 2)),
)
_learn(
    "Oja: huge lr overflows the weights",
    lambda tmp: L.Oja(lr=1e300).attach(_dense()).step(torch.ones(4, 3), torch.ones(4, 2)),
)
_learn(
    "STDP: huge amplitudes overflow the change",
    lambda tmp: (
        L.STDP(a_plus=1e300, a_minus=1e300).attach(_dense()).run(torch.ones(3, 4, 3), torch.ones(3, 4, 2))
    ),
)
_learn(
    "TripletSTDP: huge amplitudes overflow the change",
    lambda tmp: (
        L.TripletSTDP(a2_plus=1e300, a2_minus=1e300)
        .attach(_dense())
        .run(torch.ones(3, 4, 3), torch.ones(3, 4, 2), online=False)
    ),
)
_learn(
    "RewardSTDP: huge lr overflows the change",
    lambda tmp: (
        L.RewardSTDP(lr=1e300)
        .attach(_dense())
        .run(torch.ones(3, 4, 3), torch.ones(3, 4, 2), reward=torch.ones(3, 4))
    ),
)
_learn(
    "AntiHebbian: huge lr overflows the weights",
    lambda tmp: L.AntiHebbian(lr=1e300).attach(_dense()).step(torch.ones(4, 3), torch.ones(4, 2)),
)

# states (traces)
_learn(
    "STDP: NaN pre trace in the state",
    lambda tmp: (
        L.STDP()
        .attach(_dense())
        .step(torch.ones(2, 3), torch.ones(2, 2), L.STDPState(torch.full((2, 3), NAN), torch.zeros(2, 2)))
    ),
)
_learn(
    "STDP: inf post trace in the state",
    lambda tmp: (
        L.STDP()
        .attach(_dense())
        .step(torch.ones(2, 3), torch.ones(2, 2), L.STDPState(torch.zeros(2, 3), torch.full((2, 2), INF)))
    ),
)
_learn(
    "TripletSTDP: NaN r2 trace, run offline",
    lambda tmp: (
        L.TripletSTDP()
        .attach(_dense())
        .run(
            torch.ones(3, 2, 3),
            torch.ones(3, 2, 2),
            L.TripletState(torch.zeros(2, 3), torch.full((2, 3), NAN), torch.zeros(2, 2), torch.zeros(2, 2)),
            online=False,
        )
    ),
)
_learn(
    "RewardSTDP: NaN eligibility in the state",
    lambda tmp: (
        L.RewardSTDP()
        .attach(_dense())
        .step(
            torch.ones(2, 3),
            torch.ones(2, 2),
            L.RewardSTDPState(torch.zeros(2, 3), torch.zeros(2, 2), torch.full((2, 2, 3), NAN)),
            reward=torch.ones(2),
        )
    ),
)
_learn(
    "STDP: state as a plain tuple",
    lambda tmp: L.STDP().attach(_dense()).step(torch.ones(2, 3), torch.ones(2, 2), (torch.zeros(2, 3),)),
)

# rewards
_learn(
    "RewardSTDP: NaN reward",
    lambda tmp: L.RewardSTDP().attach(_dense()).step(torch.ones(2, 3), torch.ones(2, 2), reward=NAN),
)
_learn(
    "RewardSTDP: inf reward per sample",
    lambda tmp: (
        L.RewardSTDP()
        .attach(_dense())
        .step(torch.ones(2, 3), torch.ones(2, 2), reward=torch.tensor([1.0, INF]))
    ),
)
_learn(
    "RewardSTDP: reward as a string",
    lambda tmp: L.RewardSTDP().attach(_dense()).step(torch.ones(2, 3), torch.ones(2, 2), reward="good"),
)
_learn(
    "RewardSTDP: run with a string reward",
    lambda tmp: L.RewardSTDP().attach(_dense()).run(torch.ones(3, 2, 3), torch.ones(3, 2, 2), reward="good"),
)
_learn(
    "RewardSTDP: run with a NaN reward sequence",
    lambda tmp: (
        L.RewardSTDP()
        .attach(_dense())
        .run(torch.ones(3, 2, 3), torch.ones(3, 2, 2), reward=torch.full((3, 2), NAN), online=False)
    ),
)
_learn(
    "RewardSTDP: reward of the wrong length",
    lambda tmp: (
        L.RewardSTDP().attach(_dense()).step(torch.ones(2, 3), torch.ones(2, 2), reward=torch.ones(5))
    ),
)
_learn(
    "STDP: given a reward",
    lambda tmp: L.STDP().attach(_dense()).step(torch.ones(2, 3), torch.ones(2, 2), reward=1.0),
)

# convolutions
_learn(
    "STDP conv: NaN pre spikes",
    lambda tmp: L.STDP().attach(_conv()).step(_with(torch.ones(2, 1, 5, 5), NAN), torch.ones(2, 2, 3, 3)),
)
_learn(
    "STDP conv: input smaller than the kernel",
    lambda tmp: L.STDP().attach(_conv()).step(torch.ones(2, 1, 2, 2), torch.ones(2, 2, 0, 0)),
)
_learn(
    "Oja conv: empty batch, reduce='mean'",
    lambda tmp: L.Oja(reduce="mean").attach(_conv()).step(torch.ones(0, 1, 5, 5), torch.ones(0, 2, 3, 3)),
)
_learn("STDP: attach to an nn.Conv1d", lambda tmp: L.STDP().attach(nn.Conv1d(1, 2, 3)))
_learn("Connection: a 3-D weight tensor", lambda tmp: L.Connection(torch.zeros(2, 3, 4)))
_learn("Connection: an int weight tensor", lambda tmp: L.Connection(torch.zeros(2, 3, dtype=torch.int64)))

# ------------------------------------------------------------------------------------ homeostasis
_learn(
    "AdaptiveThreshold: NaN spikes",
    lambda tmp: (a := L.AdaptiveThreshold()).step(_with(torch.ones(2, 4), NAN), a.init_state(torch.zeros(4))),
)
_learn(
    "AdaptiveThreshold: NaN theta in the state",
    lambda tmp: L.AdaptiveThreshold().step(torch.ones(2, 4), L.ThresholdState(torch.full((4,), NAN))),
)
_learn(
    "AdaptiveThreshold: empty batch",
    lambda tmp: (a := L.AdaptiveThreshold()).step(torch.ones(0, 4), a.init_state(torch.zeros(4))),
)
_learn(
    "AdaptiveThreshold: spikes of the wrong shape",
    lambda tmp: (a := L.AdaptiveThreshold()).step(torch.ones(2, 5), a.init_state(torch.zeros(4))),
)
_learn(
    "AdaptiveThreshold: NaN base threshold",
    lambda tmp: (a := L.AdaptiveThreshold()).threshold(NAN, a.init_state(torch.zeros(4))),
)
_learn(
    "AdaptiveThreshold: state as a tensor",
    lambda tmp: L.AdaptiveThreshold().step(torch.ones(2, 4), torch.zeros(4)),
)
_learn("AdaptiveThreshold: NaN theta_plus", lambda tmp: L.AdaptiveThreshold(theta_plus=NAN))
_learn("AdaptiveThreshold: init_state of a list", lambda tmp: L.AdaptiveThreshold().init_state([0.0] * 4))
_learn("kwta: NaN scores", lambda tmp: L.kwta(torch.ones(2, 4), _with(torch.rand(2, 4), NAN), k=1))
_learn("kwta: NaN spikes", lambda tmp: L.kwta(_with(torch.ones(2, 4), NAN), torch.rand(2, 4), k=1))
_learn("kwta: empty batch", lambda tmp: L.kwta(torch.ones(0, 4), torch.rand(0, 4), k=1))
_learn("kwta: dim out of range", lambda tmp: L.kwta(torch.ones(2, 3, 4), torch.rand(2, 3, 4), k=1, dim=5))
_learn("kwta: dim = 0 (the batch)", lambda tmp: L.kwta(torch.ones(2, 3, 4), torch.rand(2, 3, 4), k=1, dim=0))
_learn("kwta: dim as a string", lambda tmp: L.kwta(torch.ones(2, 4), torch.rand(2, 4), k=1, dim="1"))
_learn("kwta: k = 0", lambda tmp: L.kwta(torch.ones(2, 4), torch.rand(2, 4), k=0))
_learn("kwta: k = 1.5", lambda tmp: L.kwta(torch.ones(2, 4), torch.rand(2, 4), k=1.5))
_learn("kwta: shapes differ", lambda tmp: L.kwta(torch.ones(2, 4), torch.rand(2, 5), k=1))
_learn("kwta: 1-D spikes", lambda tmp: L.kwta(torch.ones(4), torch.rand(4), k=1))
_learn("LateralInhibition: NaN spikes", lambda tmp: L.LateralInhibition(4)(_with(torch.ones(2, 4), NAN)))
_learn("LateralInhibition: empty batch", lambda tmp: L.LateralInhibition(4)(torch.ones(0, 4)))
_learn("LateralInhibition: wrong width", lambda tmp: L.LateralInhibition(4)(torch.ones(2, 5)))
_learn("LateralInhibition: NaN strength", lambda tmp: L.LateralInhibition(4, strength=NAN))
_learn("LateralInhibition: n = 0", lambda tmp: L.LateralInhibition(0))
_learn("LateralInhibition: absurd n = 10**7", lambda tmp: L.LateralInhibition(10**7))
_learn(
    "LateralInhibition.plastic: a rule that is not a LocalRule",
    lambda tmp: L.LateralInhibition(4).plastic("anti-hebbian"),
)
_learn("normalize_weights: NaN weights", lambda tmp: L.normalize_weights(_dense(value=NAN), 1.0))
_learn("normalize_weights: inf weights", lambda tmp: L.normalize_weights(_dense(value=INF), 1.0))
_learn(
    "normalize_weights: row sums overflow",
    lambda tmp: L.normalize_weights(_dense(4, 2, value=3e38), 1.0),
)
_learn("normalize_weights: NaN total", lambda tmp: L.normalize_weights(_dense(), NAN))
_learn("normalize_weights: total = 0", lambda tmp: L.normalize_weights(_dense(), 0.0))
_learn("normalize_weights: NaN eps", lambda tmp: L.normalize_weights(_dense(), 1.0, eps=NAN))
_learn("normalize_weights: negative eps", lambda tmp: L.normalize_weights(_dense(), 1.0, eps=-1.0))
_learn("normalize_weights: negative weights", lambda tmp: L.normalize_weights(_dense(value=-0.5), 1.0))
_learn("normalize_weights: a module without weights", lambda tmp: L.normalize_weights(nn.ReLU(), 1.0))
_learn("RULES: unknown name", lambda tmp: L.RULES["bcm"])

# ------------------------------------------------------------------------------- learning readouts
_learn(
    "assign_labels: NaN counts",
    lambda tmp: L.assign_labels(_with(torch.rand(4, 3), NAN), torch.arange(4) % 2),
)
_learn(
    "assign_labels: empty set",
    lambda tmp: L.assign_labels(torch.rand(0, 3), torch.zeros(0, dtype=torch.int64)),
)
_learn("assign_labels: float targets", lambda tmp: L.assign_labels(torch.rand(4, 3), torch.zeros(4)))
_learn(
    "assign_labels: targets >= num_classes",
    lambda tmp: L.assign_labels(torch.rand(4, 3), torch.tensor([0, 1, 2, 3]), 2),
)
_learn("assign_labels: 3-D counts", lambda tmp: L.assign_labels(torch.rand(4, 3, 2), torch.arange(4) % 2))
_learn(
    "assign_labels: absurd num_classes",
    lambda tmp: L.assign_labels(torch.rand(4, 1000), torch.arange(4) % 2, 10**12),
)
_learn("vote: NaN counts", lambda tmp: L.vote(_with(torch.rand(4, 3), NAN), torch.tensor([0, 1, -1]), 2))
_learn("vote: float labels", lambda tmp: L.vote(torch.rand(4, 3), torch.tensor([0.0, 1.0, 1.0]), 2))
_learn("vote: labels below -1", lambda tmp: L.vote(torch.rand(4, 3), torch.tensor([0, -5, 1]), 2))
_learn("vote: labels >= num_classes", lambda tmp: L.vote(torch.rand(4, 3), torch.tensor([0, 1, 7]), 2))
_learn("vote: empty set", lambda tmp: L.vote(torch.rand(0, 3), torch.tensor([0, 1, 1]), 2))
_learn("vote: labels of the wrong length", lambda tmp: L.vote(torch.rand(4, 3), torch.tensor([0, 1]), 2))
_learn(
    "fit_logistic: NaN features",
    lambda tmp: L.fit_logistic(_with(torch.rand(6, 3), NAN), torch.arange(6) % 2),
)
_learn(
    "fit_logistic: empty set", lambda tmp: L.fit_logistic(torch.rand(0, 3), torch.zeros(0, dtype=torch.int64))
)
_learn("fit_logistic: float targets", lambda tmp: L.fit_logistic(torch.rand(6, 3), torch.zeros(6)))
_learn("GradientReadout: absurd size", lambda tmp: L.GradientReadout(10**7, 10**6))
_learn("GradientReadout: 0 features", lambda tmp: L.GradientReadout(0, 2))
_learn(
    "GradientReadout.fit: NaN features",
    lambda tmp: L.GradientReadout(3, 2).fit(_with(torch.rand(6, 3), NAN), torch.arange(6) % 2, epochs=1),
)
_learn(
    "GradientReadout.fit: targets >= num_classes",
    lambda tmp: L.GradientReadout(3, 2).fit(torch.rand(6, 3), torch.arange(6), epochs=1),
)
_learn(
    "GradientReadout.fit: NaN lr",
    lambda tmp: L.GradientReadout(3, 2).fit(torch.rand(6, 3), torch.arange(6) % 2, epochs=1, lr=NAN),
)
_learn(
    "GradientReadout.fit: batch_size = 0",
    lambda tmp: L.GradientReadout(3, 2).fit(torch.rand(6, 3), torch.arange(6) % 2, epochs=1, batch_size=0),
)
_learn(
    "GradientReadout.fit: wrong width",
    lambda tmp: L.GradientReadout(3, 2).fit(torch.rand(6, 4), torch.arange(6) % 2, epochs=1),
)
_learn("GradientReadout: forward of the wrong width", lambda tmp: L.GradientReadout(3, 2)(torch.rand(6, 4)))
_learn("GradientReadout: forward of NaN", lambda tmp: L.GradientReadout(3, 2)(_with(torch.rand(6, 3), NAN)))
_learn("GradientReadout: forward of a list", lambda tmp: L.GradientReadout(3, 2)([[0.0] * 3]))

# ------------------------------------------------------------------------------------- Diehl & Cook
_TINY = DiehlCookParams(time=10.0, rate=255.0, max_retries=0)


def _tiny(**kw) -> DiehlCook:
    params = kw.pop("params", _TINY)
    return DiehlCook(16, 6, num_classes=2, params=params, generator=torch.Generator().manual_seed(0), **kw)


_learn("DiehlCook: absurd n_neurons = 10**9", lambda tmp: DiehlCook(784, 10**9))
_learn("DiehlCook: absurd n_input = 10**10", lambda tmp: DiehlCook(10**10, 100))
_learn("DiehlCook: absurd num_classes = 10**12", lambda tmp: DiehlCook(16, 6, num_classes=10**12))
_learn("DiehlCook: n_neurons = 0", lambda tmp: DiehlCook(16, 0))
_learn("DiehlCook: n_neurons = 2.5", lambda tmp: DiehlCook(16, 2.5))
_learn("DiehlCook: params as a dict", lambda tmp: DiehlCook(16, 6, params={"dt": 1.0}))
_learn("DiehlCookParams: NaN dt", lambda tmp: DiehlCookParams(dt=NAN))
_learn("DiehlCookParams: inf time", lambda tmp: DiehlCookParams(time=INF))
_learn(
    "DiehlCookParams: absurd time",
    lambda tmp: _tiny(params=DiehlCookParams(time=1e15)).learn(torch.rand(2, 16)),
)
_learn("DiehlCookParams: min_spikes = 2.5", lambda tmp: DiehlCookParams(min_spikes=2.5))
_learn("DiehlCook.learn: NaN image", lambda tmp: _tiny().learn(_with(torch.rand(2, 16), NAN)))
_learn("DiehlCook.learn: inf image", lambda tmp: _tiny().learn(_with(torch.rand(2, 16), INF)))
_learn("DiehlCook.learn: empty batch", lambda tmp: _tiny().learn(torch.rand(0, 16)))
_learn("DiehlCook.learn: online, empty batch", lambda tmp: _tiny().learn(torch.rand(0, 16), mode="online"))
_learn("DiehlCook.forward: empty batch", lambda tmp: _tiny()(torch.rand(0, 4, 4)))
_learn("DiehlCook.responses: empty set", lambda tmp: _tiny().responses(torch.rand(0, 16)))
_learn("DiehlCook.responses: NaN image", lambda tmp: _tiny().responses(_with(torch.rand(3, 16), NAN)))
_learn("DiehlCook.learn: image of the wrong size", lambda tmp: _tiny().learn(torch.rand(2, 15)))
_learn("DiehlCook.learn: one image without a batch axis", lambda tmp: _tiny().learn(torch.rand(16)))
_learn(
    "DiehlCook.learn: values above 1 (uint8 image)",
    lambda tmp: _tiny().learn(torch.full((2, 16), 255, dtype=torch.uint8)),
)
_learn("DiehlCook.learn: complex image", lambda tmp: _tiny().learn(torch.rand(2, 16).to(torch.complex64)))
_learn("DiehlCook.learn: a list", lambda tmp: _tiny().learn([[0.5] * 16] * 2))
_learn("DiehlCook.learn: mode='offline'", lambda tmp: _tiny().learn(torch.rand(2, 16), mode="offline"))
_learn(
    "DiehlCook.learn: huge nu_post overflows the weights",
    lambda tmp: _tiny(
        params=DiehlCookParams(time=50.0, rate=255.0, max_retries=0, norm=12.0, nu_post=1e300)
    ).learn(
        torch.rand(4, 16, generator=torch.Generator().manual_seed(1)),
        generator=torch.Generator().manual_seed(1),
    ),
)
_learn(
    "DiehlCook.learn online: huge nu_post overflows the weights",
    lambda tmp: _tiny(
        params=DiehlCookParams(time=50.0, rate=255.0, max_retries=0, norm=12.0, nu_post=1e300)
    ).learn(
        torch.rand(1, 16, generator=torch.Generator().manual_seed(1)),
        mode="online",
        generator=torch.Generator().manual_seed(1),
    ),
)
_learn("DiehlCook.predict: before assign_labels", lambda tmp: _tiny().predict(torch.rand(2, 6)))
_learn(
    "DiehlCook.assign_labels: targets None",
    lambda tmp: _tiny().assign_labels(torch.rand(2, 6), None),
)


def _predict_nan(tmp) -> None:
    model = _tiny()
    model.assign_labels(torch.eye(6)[:2], torch.tensor([0, 1]))
    model.predict(_with(torch.rand(2, 6), NAN))


_learn("DiehlCook.predict: NaN counts", _predict_nan)
_learn(
    "DiehlCook.responses: batch_size = 0",
    lambda tmp: _tiny().responses(torch.rand(3, 16), batch_size=0),
)
_learn("DiehlCook.encode: NaN rate", lambda tmp: _tiny().encode(torch.rand(2, 16), NAN))

# ---------------------------------------------------------------------------------- decode: readouts
_SEQ = torch.rand(4, 2, 3)
for _fn in ("rate", "count", "membrane", "first_spike"):
    _f = getattr(D, _fn)
    _dec(f"{_fn}: NaN", lambda tmp, f=_f: f(_with(_SEQ, NAN)))
    _dec(f"{_fn}: inf", lambda tmp, f=_f: f(_with(_SEQ, INF)))
    _dec(f"{_fn}: T = 0", lambda tmp, f=_f: f(torch.rand(0, 2, 3)))
    _dec(f"{_fn}: empty batch (B = 0)", lambda tmp, f=_f: f(torch.rand(4, 0, 3)))
    _dec(f"{_fn}: 1-D input", lambda tmp, f=_f: f(torch.rand(4)))
    _dec(f"{_fn}: int64 input", lambda tmp, f=_f: f(torch.ones(4, 2, 3, dtype=torch.int64)))
    _dec(f"{_fn}: complex input", lambda tmp, f=_f: f(torch.ones(4, 2, 3, dtype=torch.complex64)))
    _dec(f"{_fn}: a list", lambda tmp, f=_f: f([[[1.0]]]))
_dec("membrane: reduce='median'", lambda tmp: D.membrane(_SEQ, "median"))
_dec("membrane: reduce=None", lambda tmp: D.membrane(_SEQ, None))
_dec("predict_first_spike: NaN", lambda tmp: D.predict_first_spike(_with(_SEQ, NAN)))
_dec("predict_first_spike: T = 0", lambda tmp: D.predict_first_spike(torch.rand(0, 2, 3)))
_dec("predict_first_spike: empty batch", lambda tmp: D.predict_first_spike(torch.rand(4, 0, 3)))
_dec("predict_first_spike: no classes (C = 0)", lambda tmp: D.predict_first_spike(torch.rand(4, 2, 0)))
_dec("predict_first_spike: 2-D input", lambda tmp: D.predict_first_spike(torch.rand(4, 2)))
_dec("predict_first_spike: 4-D input", lambda tmp: D.predict_first_spike(torch.rand(4, 2, 3, 1)))

# ------------------------------------------------------------------------------------ decode: losses
_T = torch.tensor([0, 2])
_LOSSES = {
    "ce_rate_loss": D.ce_rate_loss,
    "ce_rate_loss per_step": lambda s, t: D.ce_rate_loss(s, t, per_step=True),
    "ce_membrane_loss": D.ce_membrane_loss,
    "ce_membrane_per_step_loss": D.ce_membrane_per_step_loss,
    "mse_count_loss": D.mse_count_loss,
}
for _name, _loss in _LOSSES.items():
    _dec(f"{_name}: NaN output", lambda tmp, f=_loss: f(_with(_SEQ, NAN), _T))
    _dec(f"{_name}: inf output", lambda tmp, f=_loss: f(_with(_SEQ, INF), _T))
    _dec(f"{_name}: T = 0", lambda tmp, f=_loss: f(torch.rand(0, 2, 3), _T))
    _dec(
        f"{_name}: empty batch (B = 0)",
        lambda tmp, f=_loss: f(torch.rand(4, 0, 3), torch.zeros(0, dtype=torch.int64)),
    )
    _dec(f"{_name}: no classes (C = 0)", lambda tmp, f=_loss: f(torch.rand(4, 2, 0), _T))
    _dec(f"{_name}: 2-D output", lambda tmp, f=_loss: f(torch.rand(4, 3), _T))
    _dec(f"{_name}: 4-D output", lambda tmp, f=_loss: f(torch.rand(4, 2, 3, 1), _T))
    _dec(f"{_name}: int output", lambda tmp, f=_loss: f(torch.ones(4, 2, 3, dtype=torch.int64), _T))
    _dec(f"{_name}: target out of range", lambda tmp, f=_loss: f(_SEQ, torch.tensor([0, 3])))
    _dec(f"{_name}: negative target", lambda tmp, f=_loss: f(_SEQ, torch.tensor([-1, 0])))
    _dec(f"{_name}: float targets", lambda tmp, f=_loss: f(_SEQ, torch.tensor([0.0, 2.0])))
    _dec(f"{_name}: int32 targets", lambda tmp, f=_loss: f(_SEQ, torch.tensor([0, 2], dtype=torch.int32)))
    _dec(f"{_name}: one-hot targets", lambda tmp, f=_loss: f(_SEQ, torch.eye(3)[[0, 2]]))
    _dec(f"{_name}: targets of another batch", lambda tmp, f=_loss: f(_SEQ, torch.tensor([0, 1, 2])))
    _dec(f"{_name}: targets as a list", lambda tmp, f=_loss: f(_SEQ, [0, 2]))
_dec("ce_membrane_loss: reduce='median'", lambda tmp: D.ce_membrane_loss(_SEQ, _T, reduce="median"))
_dec("mse_count_loss: NaN correct_rate", lambda tmp: D.mse_count_loss(_SEQ, _T, correct_rate=NAN))
_dec("mse_count_loss: incorrect_rate = 2", lambda tmp: D.mse_count_loss(_SEQ, _T, incorrect_rate=2.0))
_dec("mse_count_loss: correct_rate as a string", lambda tmp: D.mse_count_loss(_SEQ, _T, correct_rate="high"))
