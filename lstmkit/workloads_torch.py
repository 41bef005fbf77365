r"""The PyTorch peers of the workload matrix (:mod:`lstmkit.workloads`): ``torch.nn.LSTM`` and
``torch.nn.GRU`` holding a Keras layer's weights, their forward pass and training step.

The weights go over with :mod:`lstmkit.weights` (``lstm_to_pytorch``, ``gru_to_pytorch``) and
the gradients come back with the inverse converters, so that they can be compared with Keras'
entry by entry. The conversions are linear re-arrangements (transposes, the GRU's z and r blocks
swapped), which gradients follow, with one exception: PyTorch's LSTM has two biases that are
only ever added, :math:`b = b_{ih} + b_{hh}`, so the gradient with respect to Keras' ``bias``
is the gradient with respect to either one (:math:`\partial L / \partial b =
\partial L / \partial b_{ih}`), not their sum. The GRU's two biases are Keras' two bias rows
(``reset_after=True``), distinct parameters: both gradients come back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from lstmkit import weights as conversions

__all__ = ["TORCH_PEERS", "load_torch", "torch_functions"]

#: The PyTorch module that is each family's peer, by name.
TORCH_PEERS = {"lstm": "torch.nn.LSTM", "gru": "torch.nn.GRU"}
#: Per family: the converters to and from PyTorch's layout, and the parameters whose gradients
#: make Keras' (the LSTM's ``bias_hh_l0`` gets the same gradient as ``bias_ih_l0``: left out).
_LAYOUT = {
    "lstm": (conversions.lstm_to_pytorch, conversions.lstm_from_pytorch,
             ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0")),
    "gru": (conversions.gru_to_pytorch, conversions.gru_from_pytorch,
            ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")),
}


def load_torch() -> Any | None:
    """``import torch``, or ``None`` when PyTorch is not installed.

    Sets ``OMP_WAIT_POLICY=PASSIVE`` first (unless set): PyTorch's OpenMP threads busy-wait after
    each call by default, taking the cores from TensorFlow's next call, and TensorFlow's from
    PyTorch's (measured on 2 cores: Keras 1.7x, PyTorch 4-40x slower, interleaved). Idle threads
    sleep instead (the variable is read when torch loads).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_functions(torch: Any, family: str, x: Any, w: Any,
                    weights: list) -> tuple[Callable, Callable]:
    r"""Forward pass (under ``no_grad``) and training step of the PyTorch peer of ``family``.

    The module (``batch_first=True``, on the GPU when PyTorch sees one) holds the Keras layer's
    ``weights``; the training step returns the gradients of :math:`L = \sum y \odot w` (``y``
    the last step's output) with respect to them, in Keras' layout.

    Args:
        torch: The ``torch`` module (:func:`load_torch`).
        family: ``"lstm"`` or ``"gru"`` (a key of :data:`TORCH_PEERS`).
        x: Input sequences, (batch, steps, features), float32.
        w: The loss weights, (batch, units).
        weights: ``get_weights()`` of the Keras layer (a ``reset_after=True`` GRU's bias is
            (2, 3*units)).

    Returns:
        ``(forward, train)``: ``forward()`` gives the last output as a NumPy array, ``train()``
        the list ``[kernel, recurrent_kernel, bias]`` of gradients as NumPy arrays.

    Example:

    >>> import keras, numpy as np, torch
    >>> from lstmkit.workloads_torch import torch_functions
    >>> gru = keras.layers.GRU(3)
    >>> x = np.ones((2, 4, 5), np.float32)
    >>> y = np.asarray(gru(x))
    >>> forward, train = torch_functions(torch, "gru", x, np.ones((2, 3)), gru.get_weights())
    >>> float(np.max(np.abs(forward() - y))) < 1e-6
    True
    >>> [g.shape for g in train()]
    [(5, 9), (3, 9), (2, 9)]
    """
    to_pytorch, from_pytorch, trained = _LAYOUT[family]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    features, units = weights[0].shape[0], weights[1].shape[0]
    module_class = getattr(torch.nn, TORCH_PEERS[family].rsplit(".", 1)[1])
    module = module_class(features, units, batch_first=True).to(device)
    module.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32))
                            for k, v in to_pytorch(weights).items()})
    tx = torch.from_numpy(np.array(x, np.float32)).to(device)  # np.array: a writable copy
    tw = torch.from_numpy(np.array(w, np.float32)).to(device)
    params = dict(module.named_parameters())

    def forward() -> np.ndarray:
        with torch.no_grad():
            return module(tx)[0][:, -1].cpu().numpy()

    def train() -> list[np.ndarray]:
        module.zero_grad(set_to_none=True)
        (module(tx)[0][:, -1] * tw).sum().backward()
        return from_pytorch({name: params[name].grad.cpu().numpy() for name in trained})

    return forward, train
