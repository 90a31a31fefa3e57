"""Softmax output fused with cross-entropy: stable for any logits, gradient in one pass."""

from __future__ import annotations

import numpy as np


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of softmax(logits) against integer labels.

    Works in place: on return `logits` holds the softmax probabilities. Shifting each row by
    its maximum makes exp() safe (largest term is exactly 1), and the loss is computed as
    log-sum-exp minus the true logit, so log(0) never happens.
    """
    # ufunc methods rather than np.mean/np.max: their Python wrappers cost more than the
    # arithmetic on a (batch, 10) array.
    rows = np.arange(len(labels))
    logits -= np.maximum.reduce(logits, axis=1, keepdims=True)
    true_logit_sum = float(np.add.reduce(logits[rows, labels]))
    np.exp(logits, out=logits)
    sums = np.add.reduce(logits, axis=1, keepdims=True)
    logits /= sums
    np.log(sums, out=sums)
    return (float(np.add.reduce(sums, axis=None)) - true_logit_sum) / len(labels)


def softmax_cross_entropy_grad(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Turn softmax probabilities into dLoss/dlogits = (p - onehot) / batch, in place."""
    probabilities[np.arange(len(labels)), labels] -= 1
    probabilities *= 1 / len(labels)
    return probabilities


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities for a batch of logits (a new array)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted
