"""CCA and kernel CCA as shared-space methods.

* ``cca``: ``cca_zoo.linear.RidgeCCA`` (canonical ridge, Vinod 1976) on standardised inputs:
  max w_xᵀ Σ_xy w_y subject to w_vᵀ((1 − c) Σ_vv + c I) w_v = 1, c = ``shrinkage`` (0 is CCA,
  1 is PLS). g(x) = (x̃ − mean) W_x, h(y) likewise: the canonical variates, unit variance on the
  training rows when c = 0. Directions below each view's numerical rank are dropped (the LDA
  topic proportions of Wikipedia sum to 1, so their centred rank is 9, not 10), which caps the
  number of components.
* ``kcca``: the same problem in each view's centred kernel feature space (cca-zoo's ``KCCA``
  definition: within-view blocks (1 − c) K²/(n − 1) + c K). cca-zoo solves it as one 2n x 2n
  generalised eigenproblem, 58 s for the 2,173 Wikipedia training rows on 2 cores, too slow for
  cross-validation. Here it is solved in each kernel's eigenbasis, where the whitening is
  diagonal: K_c = U Λ Uᵀ (numerically positive spectrum kept, as cca-zoo does), feature
  coordinates Φ = U Λ^½, whitening D = ((1 − c) Λ/(n − 1) + c)^-½, and the canonical pairs are
  the top singular pairs of T = D_x Λ_x^½ U_xᵀ U_y Λ_y^½ D_y / (n − 1) (ARPACK with a fixed start
  vector, or a dense SVD when T is small). The dual weights are α = U Λ^-½ D p, and a new row's
  variate is its centred kernel row against the training rows times α. The tests check that this
  equals cca-zoo's KCCA, and with a linear kernel equals CCA. One eigendecomposition per view
  serves every shrinkage and number of components, so they are the cheap CV variants.
  Kernel: RBF exp(−γ‖a − b‖²) with γ = ``gamma_scale`` / median squared distance between training
  rows (the median heuristic), or ``linear``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from crossmodal.mappers.fitting import Labels
from crossmodal.mappers.registry import Params
from crossmodal.mappers.shared import SharedFit, SharedSpace, Standardiser


@dataclass(frozen=True)
class LinearMap:
    """z = (standardise(a) - mean) @ W."""

    standardise: Standardiser
    mean: np.ndarray
    W: np.ndarray

    def __call__(self, A: np.ndarray) -> np.ndarray:
        return (self.standardise(A) - self.mean) @ self.W


def fit_ridge_cca(X: np.ndarray, Y: np.ndarray, n_components: int, shrinkage: float = 0.0) -> tuple[SharedSpace, np.ndarray]:
    """(space, training canonical correlations) of cca-zoo's RidgeCCA on standardised X, Y."""
    from cca_zoo.linear import RidgeCCA

    sx, sy = Standardiser.fit(X), Standardiser.fit(Y)
    Xs, Ys = sx(X), sy(Y)
    k = min(int(n_components), Xs.shape[1], Ys.shape[1])  # rank may cap it further
    model = RidgeCCA(n_components=k, shrinkage=float(shrinkage)).fit([Xs, Ys])
    gx = LinearMap(sx, np.asarray(model.means_[0]), np.asarray(model.weights_[0]))
    hy = LinearMap(sy, np.asarray(model.means_[1]), np.asarray(model.weights_[1]))
    corr = canonical_correlations(gx(X), hy(Y))
    return SharedSpace(gx, hy, {"n_components": int(gx.W.shape[1]), "shrinkage": float(shrinkage)}), corr


def canonical_correlations(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pearson correlation of column k of A with column k of B, for every k."""
    Ac, Bc = A - A.mean(axis=0), B - B.mean(axis=0)
    return (Ac * Bc).sum(axis=0) / np.sqrt((Ac * Ac).sum(axis=0) * (Bc * Bc).sum(axis=0))


def _fit_cca(X: np.ndarray, Y: np.ndarray, labels: Labels, base: Params, variants: Sequence[Params], seed: int) -> list[SharedSpace]:
    out = []
    for v in variants:
        p = {**base, **v}
        out.append(fit_ridge_cca(X, Y, p["n_components"], p["shrinkage"])[0])
    return out


# ------------------------------------------------------------------------------ kernel CCA


def median_sq_distance(A: np.ndarray, max_rows: int = 2000) -> float:
    """Median of the squared distances between distinct rows (evenly spaced rows beyond ``max_rows``)."""
    rows = A if len(A) <= max_rows else A[np.linspace(0, len(A) - 1, max_rows).astype(int)]
    sq = (rows * rows).sum(axis=1)
    D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * rows @ rows.T, 0.0)
    med = float(np.median(D[np.triu_indices(len(rows), 1)]))
    return med if med > 0 else 1.0


@dataclass(frozen=True)
class KernelView:
    """One view's standardised training rows, kernel, centring and kept eigenpairs."""

    standardise: Standardiser
    rows: np.ndarray
    kernel: str
    gamma: float
    col_mean: np.ndarray  # K.mean(axis=0) of the training kernel (KernelCenterer's K_fit_rows_)
    all_mean: float
    lam: np.ndarray  # kept eigenvalues of the centred kernel
    U: np.ndarray

    def kernel_rows(self, A: np.ndarray) -> np.ndarray:
        """Centred kernel of new rows against the training rows (KernelCenterer.transform)."""
        K = kernel_matrix(self.standardise(A), self.rows, self.kernel, self.gamma)
        return K - self.col_mean[None, :] - K.mean(axis=1, keepdims=True) + self.all_mean


def kernel_matrix(A: np.ndarray, B: np.ndarray, kernel: str, gamma: float) -> np.ndarray:
    """linear: A Bᵀ; rbf: exp(−γ‖a − b‖²) (sklearn.metrics.pairwise_kernels)."""
    from sklearn.metrics.pairwise import pairwise_kernels

    if kernel == "linear":
        return pairwise_kernels(A, B, metric="linear")
    if kernel == "rbf":
        return pairwise_kernels(A, B, metric="rbf", gamma=gamma)
    raise ValueError(f"kernel must be 'linear' or 'rbf', got {kernel!r}")


def kernel_view(A: np.ndarray, kernel: str, gamma_scale: float = 1.0) -> KernelView:
    """Standardise, build and centre the training kernel, and eigendecompose it."""
    st = Standardiser.fit(A)
    rows = st(A)
    gamma = gamma_scale / median_sq_distance(rows) if kernel == "rbf" else 0.0
    K = kernel_matrix(rows, rows, kernel, gamma)
    col_mean = K.mean(axis=0)
    all_mean = float(col_mean.mean())
    Kc = K - col_mean[None, :] - col_mean[:, None] + all_mean
    lam, U = scipy.linalg.eigh(Kc, driver="evd")
    # the constant vector (and a low-rank kernel's null space) has eigenvalue ~0: keep the
    # numerically positive spectrum, as numpy.linalg.matrix_rank and cca-zoo do
    keep = lam > lam.max() * len(lam) * np.finfo(lam.dtype).eps
    return KernelView(st, rows, kernel, gamma, col_mean, all_mean, lam[keep], U[:, keep])


def _top_singular(T_apply, T_rapply, shape: tuple[int, int], k: int, dense) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k singular triplets (descending) of an operator; dense SVD when it is small."""
    if min(shape) <= max(2 * k + 10, 64):
        u, s, vt = np.linalg.svd(dense(), full_matrices=False)
        return u[:, :k], s[:k], vt[:k].T
    op = scipy.sparse.linalg.LinearOperator(shape, matvec=T_apply, rmatvec=T_rapply, dtype=np.float64)
    v0 = np.ones(min(shape)) / np.sqrt(min(shape))  # fixed start: a deterministic result
    u, s, vt = scipy.sparse.linalg.svds(op, k=k, v0=v0, tol=0, solver="arpack")
    order = np.argsort(-s, kind="stable")
    return u[:, order], s[order], vt[order].T


def kcca_from_views(vx: KernelView, vy: KernelView, n_components: int, shrinkage: float) -> tuple[SharedSpace, np.ndarray]:
    """(space, canonical correlations of the training rows) of kernel CCA (module docstring)."""
    n = vx.U.shape[0]
    c = float(shrinkage)
    dx = 1.0 / np.sqrt((1.0 - c) * vx.lam / (n - 1) + c)
    dy = 1.0 / np.sqrt((1.0 - c) * vy.lam / (n - 1) + c)
    ax, ay = dx * np.sqrt(vx.lam), dy * np.sqrt(vy.lam)
    k = min(int(n_components), len(vx.lam), len(vy.lam))
    if k < 1:
        raise ValueError("kernel CCA: a view has no positive kernel eigenvalue")

    def apply(v: np.ndarray) -> np.ndarray:
        return ax * (vx.U.T @ (vy.U @ (ay * np.ravel(v)))) / (n - 1)

    def rapply(u: np.ndarray) -> np.ndarray:
        return ay * (vy.U.T @ (vx.U @ (ax * np.ravel(u)))) / (n - 1)

    p, s, q = _top_singular(apply, rapply, (len(vx.lam), len(vy.lam)), k,
                            lambda: (ax[:, None] * (vx.U.T @ vy.U) * ay[None, :]) / (n - 1))
    alpha_x = vx.U @ ((dx / np.sqrt(vx.lam))[:, None] * p)
    alpha_y = vy.U @ ((dy / np.sqrt(vy.lam))[:, None] * q)

    def gx(A: np.ndarray) -> np.ndarray:
        return vx.kernel_rows(A) @ alpha_x

    def hy(B: np.ndarray) -> np.ndarray:
        return vy.kernel_rows(B) @ alpha_y

    details = {"n_components": k, "shrinkage": c, "kernel": vx.kernel, "gamma_x": vx.gamma, "gamma_y": vy.gamma}
    return SharedSpace(gx, hy, details), s


def truncated(space: SharedSpace, k: int) -> SharedSpace:
    """The first k canonical variates of ``space``."""
    return SharedSpace(lambda A: space.map_x(A)[:, :k], lambda B: space.map_y(B)[:, :k],
                       {**space.details, "n_components": min(k, int(space.details.get("n_components", k)))})


def _fit_kcca(X: np.ndarray, Y: np.ndarray, labels: Labels, base: Params, variants: Sequence[Params], seed: int) -> list[SharedSpace]:
    b = base
    vx, vy = kernel_view(X, b["kernel"], b["gamma_scale"]), kernel_view(Y, b["kernel"], b["gamma_scale"])
    settings = list(variants)
    # the top-k pairs are the first k of the top-k' pairs (k <= k'): one solve per shrinkage
    solved: dict[float, SharedSpace] = {}
    for c in dict.fromkeys(float(p["shrinkage"]) for p in settings):
        k_max = max(int(p["n_components"]) for p in settings if float(p["shrinkage"]) == c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            solved[c] = kcca_from_views(vx, vy, k_max, c)[0]
    return [truncated(solved[float(p["shrinkage"])], int(p["n_components"])) for p in settings]


# The implementations the registrations in crossmodal.mappers.cca name (grids and defaults live there).
CCA = SharedFit(_fit_cca, variant_keys=("n_components", "shrinkage"))
KCCA = SharedFit(_fit_kcca, variant_keys=("shrinkage", "n_components"))
