"""A test-only mapping, registered once and nowhere else: ridge least squares without an intercept,
W = (XᵀX + αI)⁻¹ XᵀY in float64, α searched by the generic CV over the grid {0, 1}."""

from __future__ import annotations

import numpy as np

from crossmodal.mappers.fitting import Fitted
from crossmodal.mappers.registry import MapperSpec, Param, register


def toy_weights(X: np.ndarray, Y: np.ndarray, alpha: float) -> np.ndarray:
    X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    return np.linalg.solve(X64.T @ X64 + alpha * np.eye(X64.shape[1]), X64.T @ Y64)


class ToyLeastSquares:
    @staticmethod
    def fit(X, Y, labels, params, seed, device):  # noqa: ANN001, ANN205 (the protocol's signature)
        W = toy_weights(X, Y, float(params["alpha"]))
        return Fitted(lambda A: (np.asarray(A, dtype=np.float64) @ W).astype(np.float32), details={"alpha": params["alpha"]})


register(MapperSpec("toy-lstsq", "test", "Y", "least squares without intercept (a test plugin)", lambda: ToyLeastSquares,
                    params=(Param("alpha", float, 0.0, "ridge penalty"),),
                    grid=(({}, ({"alpha": 0.0}, {"alpha": 1.0})),)))
