"""Readouts on top of a locally trained layer: label assignment and voting, a linear classifier, a
gradient-trained linear readout.

An STDP-trained layer learns features without labels. To classify, either

- label each neuron by the class it answers most and let the neurons vote (Diehl & Cook 2015):
  :func:`assign_labels`, then :func:`vote`; or
- fit a linear classifier on the spike counts: :func:`fit_logistic` (scikit-learn's
  ``LogisticRegression``) or :class:`GradientReadout` (a ``nn.Linear`` trained by gradient descent).

Features are spike counts ``[N, neurons]``, e.g. ``spikekit.decode.count(spikes)``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_finite, check_positive_int, check_tensor
from . import validate as V

__all__ = ["GradientReadout", "assign_labels", "fit_logistic", "vote"]


def _check_counts(counts: Any, owner: str, name: str = "counts") -> torch.Tensor:
    counts = check_tensor(counts, f"{owner}: {name}")
    if counts.dim() != 2:
        raise ValueError(
            f"{owner}: {name} must be spike counts [N, neurons] (flatten the neuron axes first), got shape "
            f"{tuple(counts.shape)}"
        )
    if counts.shape[0] == 0:
        raise ValueError(f"{owner}: {name} must hold at least one sample, got shape {tuple(counts.shape)}")
    if counts.is_complex():
        raise TypeError(f"{owner}: {name} must be real numbers, got dtype {counts.dtype}")
    return check_finite(counts, f"{owner}: {name}")


def _check_labelled(targets: Any, n: int, owner: str) -> torch.Tensor:
    """The evaluation/labelling set must be labelled: int64 class indices >= 0, one per sample."""
    if targets is None:
        raise ValueError(
            f"{owner}: targets is None; assigning labels and measuring accuracy need a labelled set "
            "(one class index per sample)"
        )
    targets = check_tensor(targets, f"{owner}: targets")
    if targets.dtype != torch.int64 or tuple(targets.shape) != (n,):
        raise ValueError(
            f"{owner}: targets must be int64 class indices of shape [N] = ({n},), got {targets.dtype} of "
            f"shape {tuple(targets.shape)}"
        )
    if bool((targets < 0).any()):
        raise ValueError(
            f"{owner}: targets must be class indices >= 0, got {int((targets < 0).sum())} negative value(s) "
            "(unlabelled samples?); label them or leave them out"
        )
    return targets


def assign_labels(
    counts: torch.Tensor, targets: torch.Tensor, num_classes: int | None = None
) -> torch.Tensor:
    """Label each neuron with the class it answers most (Diehl & Cook 2015).

    A neuron's response to class ``c`` is its mean count over the samples of class ``c``; its label is
    the class with the highest mean (ties: the lower class). Neurons that never fired get label ``-1``
    and take no part in :func:`vote`.

    Args:
        counts: spike counts ``[N, neurons]``.
        targets: class indices ``[N]`` (int64, >= 0).
        num_classes: number of classes (default ``targets.max() + 1``).

    Returns:
        Labels ``[neurons]``, int64 in ``[-1, num_classes)``.

    Raises:
        ValueError: unlabelled targets (``None`` or negative), shape mismatch.
    """
    counts = _check_counts(counts, "assign_labels")
    targets = _check_labelled(targets, counts.shape[0], "assign_labels")
    c = (
        int(targets.max()) + 1
        if num_classes is None
        else check_positive_int(num_classes, "assign_labels: num_classes")
    )
    if int(targets.max()) >= c:
        raise ValueError(f"assign_labels: targets must be < num_classes = {c}, got {int(targets.max())}")
    V.fits_in_memory(2 * 8 * c * counts.shape[1], f"assign_labels: {c} classes x {counts.shape[1]} neurons")
    x = counts.to(torch.float64)
    sums = torch.zeros(c, x.shape[1], dtype=torch.float64, device=x.device).index_add_(0, targets, x)
    n_per = torch.bincount(targets, minlength=c).to(torch.float64).clamp_min(1).unsqueeze(1)
    means = sums / n_per  # [C, neurons]
    labels = means.argmax(0)
    labels[x.sum(0) == 0] = -1
    return labels


def vote(counts: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Predict the class whose neurons fired most on average (Diehl & Cook 2015).

    ``score[c] = mean over neurons labelled c of their count``; classes without neurons score 0.
    Ties go to the lower class.

    Args:
        counts: spike counts ``[N, neurons]``.
        labels: neuron labels ``[neurons]`` from :func:`assign_labels` (``-1``: no vote).
        num_classes: number of classes.

    Returns:
        Predicted classes ``[N]``, int64.
    """
    counts = _check_counts(counts, "vote")
    labels = check_tensor(labels, "vote: labels")
    c = check_positive_int(num_classes, "vote: num_classes")
    if tuple(labels.shape) != (counts.shape[1],):
        raise ValueError(
            f"vote: labels must have one entry per neuron ({counts.shape[1]}), "
            f"got shape {tuple(labels.shape)}"
        )
    if labels.dtype != torch.int64:
        raise TypeError(
            f"vote: labels must be int64 class indices (as assign_labels returns), got dtype {labels.dtype}"
        )
    if labels.numel() and int(labels.max()) >= c:
        raise ValueError(f"vote: labels must be < num_classes = {c}, got {int(labels.max())}")
    if labels.numel() and int(labels.min()) < -1:
        raise ValueError(f"vote: labels must be class indices or -1 (no vote), got {int(labels.min())}")
    V.fits_in_memory(8 * c * (labels.numel() + counts.shape[0]), f"vote: {c} classes")
    onehot = F.one_hot(labels.clamp_min(0), c).to(torch.float64) * (labels >= 0).unsqueeze(1)  # [neurons, C]
    n_per = onehot.sum(0).clamp_min(1)
    scores = counts.to(torch.float64) @ onehot / n_per  # [N, C]
    return scores.argmax(1)


def fit_logistic(features: torch.Tensor, targets: torch.Tensor, **kwargs: Any) -> Any:
    """Fit scikit-learn's ``LogisticRegression`` on spike counts (a linear classifier, no gradients here).

    Features are standardised inside a ``Pipeline`` (``StandardScaler`` then ``LogisticRegression``).

    Args:
        features: ``[N, F]`` (e.g. spike counts).
        targets: class indices ``[N]``.
        **kwargs: passed to ``LogisticRegression`` (default ``max_iter=1000``).

    Returns:
        The fitted ``sklearn`` pipeline; ``.predict(x.numpy())`` / ``.score(x, y)``.
    """
    features = _check_counts(features, "fit_logistic", "features")
    targets = _check_labelled(targets, features.shape[0], "fit_logistic")
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("fit_logistic needs scikit-learn: pip install 'spikekit[data]'") from err
    kwargs.setdefault("max_iter", 1000)
    model = make_pipeline(StandardScaler(), LogisticRegression(**kwargs))
    return model.fit(features.detach().cpu().double().numpy(), targets.cpu().numpy())


class GradientReadout(nn.Module):
    """A linear readout on standardised features, trained by gradient descent (cross-entropy, Adam).

    Args:
        in_features: number of features (e.g. neurons of the STDP layer).
        num_classes: number of classes.

    Example:
        >>> readout = GradientReadout(100, 10).fit(train_counts, train_targets, epochs=30)
        >>> accuracy = (readout(test_counts).argmax(1) == test_targets).float().mean()
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        in_features = check_positive_int(in_features, "GradientReadout: in_features")
        num_classes = check_positive_int(num_classes, "GradientReadout: num_classes")
        itemsize = torch.tensor([], dtype=torch.get_default_dtype()).element_size()
        V.fits_in_memory(
            4 * itemsize * (in_features + 1) * num_classes,  # weights, gradients and Adam's two moments
            f"GradientReadout({in_features}, {num_classes})",
        )
        self.linear = nn.Linear(in_features, num_classes)
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("std", torch.ones(in_features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, num_classes]`` for features ``[N, in_features]``."""
        features = _check_counts(features, "GradientReadout", "features")
        if features.shape[1] != self.linear.in_features:
            raise ValueError(
                f"GradientReadout: features must have {self.linear.in_features} columns, got shape "
                f"{tuple(features.shape)}"
            )
        return self.linear((features.to(self.mean.dtype) - self.mean) / self.std)

    def fit(
        self,
        features: torch.Tensor,
        targets: torch.Tensor,
        *,
        epochs: int = 30,
        lr: float = 1e-2,
        batch_size: int = 256,
        weight_decay: float = 1e-4,
        generator: torch.Generator | None = None,
    ) -> GradientReadout:
        """Standardise with the training statistics, then minimise cross-entropy with Adam."""
        features = _check_counts(features, "GradientReadout.fit", "features")
        targets = _check_labelled(targets, features.shape[0], "GradientReadout.fit")
        if features.shape[1] != self.linear.in_features:
            raise ValueError(
                f"GradientReadout.fit: features must have {self.linear.in_features} columns, got "
                f"{features.shape[1]}"
            )
        classes = self.linear.out_features
        if int(targets.max()) >= classes:
            raise ValueError(
                f"GradientReadout.fit: targets must be < num_classes = {classes}, got {int(targets.max())}"
            )
        epochs = check_positive_int(epochs, "GradientReadout.fit: epochs")
        lr = V.positive(lr, "GradientReadout.fit: lr")
        batch_size = check_positive_int(batch_size, "GradientReadout.fit: batch_size")
        weight_decay = V.nonnegative(weight_decay, "GradientReadout.fit: weight_decay")
        x = features.to(self.mean.dtype)
        with torch.no_grad():
            self.mean.copy_(x.mean(0))
            self.std.copy_(x.std(0).clamp_min(1e-6) if len(x) > 1 else torch.ones_like(self.std))
        opt = torch.optim.Adam(self.linear.parameters(), lr=lr, weight_decay=weight_decay)
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator)
            for i in range(0, len(x), batch_size):
                idx = order[i : i + batch_size]
                loss = F.cross_entropy(self(x[idx]), targets[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self
