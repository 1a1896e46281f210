"""Fréchet distance between Gaussians, and between feature sets (FID).

FD(N(mu1, S1), N(mu2, S2)) = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).

``tr((S1 S2)^(1/2))`` is computed without a general matrix square root: with
S1^(1/2) from a symmetric eigendecomposition, S1 S2 is similar to the symmetric PSD matrix
S1^(1/2) S2 S1^(1/2), so the trace is the sum of square roots of that matrix's eigenvalues.
For feature sets with fewer samples than dimensions (16 frames of 2048-d Inception
features) :func:`frechet_distance_from_features` uses the sample-space form instead, which
is exact and costs O(n^2 d).
"""

from __future__ import annotations

import numpy as np


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein squared) distance of two Gaussians; mu: (D,), sigma: (D, D) PSD."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape}, {mu2.shape}; sigma {s1.shape}, {s2.shape}")
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    values, vectors = np.linalg.eigh(s1)
    root1 = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    inner = root1 @ s2 @ root1
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * cross, 0.0))


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and unbiased covariance (D, D) (zero for N = 1)."""
    x = _features(features)
    mu = x.mean(axis=0)
    if len(x) == 1:
        return mu, np.zeros((x.shape[1], x.shape[1]))
    return mu, np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance_from_features(a: np.ndarray, b: np.ndarray) -> float:
    """FID-style distance between two feature sets a (N1, D) and b (N2, D).

    Each set is fitted with a Gaussian (mean, unbiased covariance; a single sample has zero
    covariance). With A = centred a^T / sqrt(N1 - 1) (so S1 = A A^T) and likewise B,
    tr((S1 S2)^(1/2)) is the nuclear norm of A^T B (N1 x N2), which avoids D x D matrices.
    """
    a, b = _features(a), _features(b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    if max(len(a), len(b)) >= a.shape[1]:
        return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
    factor_a, factor_b = _cov_factor(a), _cov_factor(b)
    cross = np.linalg.svd(factor_a.T @ factor_b, compute_uv=False).sum()
    diff = a.mean(0) - b.mean(0)
    total = diff @ diff + (factor_a**2).sum() + (factor_b**2).sum() - 2.0 * cross
    return float(max(total, 0.0))


def _cov_factor(x: np.ndarray) -> np.ndarray:
    """(N, D) -> (D, N) F with F F^T = the unbiased covariance (zeros for N = 1)."""
    if len(x) == 1:
        return np.zeros((x.shape[1], 1))
    return (x - x.mean(0)).T / np.sqrt(len(x) - 1)


def _features(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"features must be (N >= 1, D), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or infinite values")
    return x
