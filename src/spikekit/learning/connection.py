"""The layer a local rule drives: a dense weight (``nn.Linear``) or a 2-D convolution (``nn.Conv2d``).

A local rule only ever needs one thing from the layer: the sum over the batch (and, for a convolution,
over positions) of outer products between a post-synaptic quantity and a pre-synaptic one,

.. math::
    \\Delta W_{ji} = \\sum_b q^{post}_{bj}\\, q^{pre}_{bi}
    \\qquad\\text{(dense)}, \\qquad
    \\Delta W_{o,c,k_h,k_w} = \\sum_{b,l} q^{post}_{b,o,l}\\, \\mathrm{unfold}(q^{pre})_{b,(c,k_h,k_w),l}
    \\qquad\\text{(convolution)}

so every rule is written once in terms of :meth:`Connection.outer` and works for both.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_finite

__all__ = ["Connection"]

_ACCEPTED = (
    "an nn.Linear, an nn.Conv2d (groups=1, zero padding), either wrapped in spikekit.nn.TimeDistributed, "
    "or a 2-D weight tensor [out, in]"
)


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


class Connection:
    """Adapter between a local rule and the weight it updates.

    Args:
        target: ``nn.Linear`` (weight ``[out, in]``), ``nn.Conv2d`` (weight ``[C_out, C_in, kH, kW]``,
            ``groups=1``, ``padding_mode="zeros"``), either inside :class:`spikekit.nn.TimeDistributed`,
            or a 2-D tensor ``[out, in]`` (e.g. a recurrent or lateral weight).
        owner: name used in error messages (the rule's).

    Raises:
        TypeError: for anything else (an ``nn.Conv1d``, an RNN, a 3-D tensor, ...), naming what is accepted.
        ValueError: a grouped or non-zero-padded convolution, or ``padding="same"`` with an even kernel.

    Shape:
        - dense: pre ``[B, in]``, post ``[B, out]``
        - conv2d: pre ``[B, C_in, H, W]``, post ``[B, C_out, H_out, W_out]`` (the conv's output size)
    """

    def __init__(self, target: Any, owner: str = "rule") -> None:
        self.owner = owner
        self.layer = target
        if type(target).__name__ == "TimeDistributed" and isinstance(
            getattr(target, "layer", None), nn.Module
        ):
            target = target.layer
        if isinstance(target, nn.Linear):
            self.kind, self.weight = "dense", target.weight
        elif isinstance(target, nn.Conv2d):
            self._init_conv(target)
        elif isinstance(target, torch.Tensor) and not isinstance(target, nn.Module):
            if target.dim() != 2:
                raise TypeError(
                    f"{owner}: cannot drive a weight tensor of shape {tuple(target.shape)}; "
                    f"accepted: {_ACCEPTED}"
                )
            self.kind, self.weight = "dense", target
        else:
            raise TypeError(f"{owner}: cannot drive a {type(target).__name__}; accepted: {_ACCEPTED}")
        if not self.weight.is_floating_point():
            raise TypeError(f"{owner}: the weight must be floating point, got {self.weight.dtype}")

    def _init_conv(self, conv: nn.Conv2d) -> None:
        owner = self.owner
        if conv.groups != 1:
            raise ValueError(
                f"{owner}: cannot drive a grouped convolution (groups={conv.groups}); use groups=1"
            )
        if conv.padding_mode != "zeros":
            raise ValueError(
                f"{owner}: cannot drive a convolution with padding_mode={conv.padding_mode!r}; use 'zeros'"
            )
        self.kernel = _pair(conv.kernel_size)
        self.stride = _pair(conv.stride)
        self.dilation = _pair(conv.dilation)
        if conv.padding == "valid":
            self.padding = (0, 0)
        elif conv.padding == "same":
            if any(k % 2 == 0 for k in self.kernel) or self.stride != (1, 1):
                raise ValueError(
                    f"{owner}: padding='same' is supported for odd kernels with stride 1 only, got kernel "
                    f"{self.kernel}, stride {self.stride}; give the padding as integers"
                )
            self.padding = tuple(d * (k - 1) // 2 for d, k in zip(self.dilation, self.kernel, strict=True))
        else:
            self.padding = _pair(conv.padding)
        self.kind, self.weight = "conv2d", conv.weight

    # --- shapes -----------------------------------------------------------------------------------
    def out_size(self, h: int, w: int) -> tuple[int, int]:
        """Spatial output size of the convolution for an ``h x w`` input."""
        sizes = []
        for n, k, s, p, d in zip((h, w), self.kernel, self.stride, self.padding, self.dilation, strict=True):
            sizes.append((n + 2 * p - d * (k - 1) - 1) // s + 1)
        return sizes[0], sizes[1]

    def check(self, pre: torch.Tensor, post: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Check one time step of pre- and post-synaptic activity against the layer; cast to its dtype.

        Raises:
            TypeError: not a tensor, or a complex tensor (bool, integer and floating tensors are accepted).
            ValueError: another device, a shape that does not fit the layer, an empty batch, NaN or inf.
        """
        for name, x in (("pre", pre), ("post", post)):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"{self.owner}: {name} must be a torch.Tensor, got {type(x).__name__}")
            if x.is_complex():
                raise TypeError(
                    f"{self.owner}: {name} must hold real activity (bool, integer or floating point), got "
                    f"dtype {x.dtype}"
                )
            if x.device != self.weight.device:
                raise ValueError(
                    f"{self.owner}: {name} is on {x.device} but the weight is on {self.weight.device}"
                )
        w = self.weight
        if self.kind == "dense":
            want_pre, want_post = ("[B, in]", (w.shape[1],)), ("[B, out]", (w.shape[0],))
        else:
            if pre.dim() != 4:
                raise ValueError(
                    f"{self.owner}: pre must be one time step [B, C_in, H, W] for a Conv2d, got shape "
                    f"{tuple(pre.shape)}"
                )
            ho, wo = self.out_size(pre.shape[2], pre.shape[3])
            if ho <= 0 or wo <= 0:
                raise ValueError(
                    f"{self.owner}: pre of spatial size {tuple(pre.shape[2:])} is smaller than the kernel "
                    f"{self.kernel} (dilation {self.dilation}, padding {self.padding}) reaches; the "
                    "convolution has no output"
                )
            want_pre = ("[B, C_in, H, W]", (w.shape[1], pre.shape[2], pre.shape[3]))
            want_post = ("[B, C_out, H_out, W_out]", (w.shape[0], ho, wo))
        for name, x, (layout, shape) in (("pre", pre, want_pre), ("post", post, want_post)):
            if tuple(x.shape[1:]) != shape or x.dim() != len(shape) + 1:
                raise ValueError(
                    f"{self.owner}: {name} must be one time step {layout} = "
                    f"[B, {', '.join(map(str, shape))}] "
                    f"for this {self.kind} layer, got shape {tuple(x.shape)}"
                )
        if pre.shape[0] != post.shape[0]:
            raise ValueError(
                f"{self.owner}: pre and post must have the same batch size, "
                f"got {pre.shape[0]} and {post.shape[0]}"
            )
        if pre.shape[0] == 0:
            raise ValueError(
                f"{self.owner}: pre and post must hold at least one sample, got an empty batch (shape "
                f"{tuple(pre.shape)}); there is nothing to learn from"
            )
        check_finite(pre, f"{self.owner}: pre")
        check_finite(post, f"{self.owner}: post")
        return pre.to(w.dtype), post.to(w.dtype)

    # --- contractions -----------------------------------------------------------------------------
    def _unfold(self, pre: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, H, W]`` -> patches ``[B, C_in * kH * kW, L]``."""
        return F.unfold(pre, self.kernel, dilation=self.dilation, padding=self.padding, stride=self.stride)

    def outer(self, post: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """``sum_b post_b (x) pre_b`` (and over positions for a conv), shaped like the weight.

        ``post``/``pre`` may carry extra leading axes (e.g. time): all leading axes are summed.
        """
        if self.kind == "dense":
            q_post = post.reshape(-1, post.shape[-1])  # [R, out]
            q_pre = pre.reshape(-1, pre.shape[-1])  # [R, in]
            rows = q_post.abs().sum(1) != 0  # a NaN row is kept (and caught before any weight is written)
            n_rows = int(rows.sum())
            if n_rows < 0.25 * len(rows):  # sparse post activity: contract only the rows that matter
                q_post, q_pre = q_post[rows], q_pre[rows]
            return q_post.t() @ q_pre  # [out, in]
        q_post = post.reshape(-1, *post.shape[-3:]).flatten(2)  # [R, C_out, L]
        patches = self._unfold(pre.reshape(-1, *pre.shape[-3:]))  # [R, C_in*k*k, L]
        dw = torch.einsum("rol,ril->oi", q_post, patches)
        return dw.reshape(self.weight.shape)

    def outer_per_sample(self, post: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """Like :meth:`outer` but kept per sample: ``[B, *weight.shape]``."""
        if self.kind == "dense":
            return torch.einsum("bo,bi->boi", post, pre)
        q_post = post.flatten(2)  # [B, C_out, L]
        dw = torch.einsum("bol,bil->boi", q_post, self._unfold(pre))
        return dw.reshape(post.shape[0], *self.weight.shape)

    def post_sum(self, q: torch.Tensor) -> torch.Tensor:
        """``sum_b q_bj`` of one step ``[B, *out]`` (and over positions), shaped ``[out, 1, ...]``."""
        total = q.transpose(0, 1).reshape(q.shape[1], -1).sum(1)  # [out]
        return total.reshape(-1, *([1] * (self.weight.dim() - 1)))

    def __repr__(self) -> str:
        return f"Connection(kind={self.kind!r}, weight={tuple(self.weight.shape)})"
