"""Exact int8 tiles for cosine scores (CPUs with AMX int8).

Cosine tiles on CPUs with AMX int8 units (d from 768 to 65,536) take int8 GEMMs instead, about
ten times a float32 GEMM per core: each unit row is split into two int8 slices of a shared
scale (``_int8_cosine_operands``), and three exact int32 GEMMs (``torch._int_mm``) give the
slices' products, which sum to a float32 score within a bound computed from each row's actual
residual. At d = 2,048 that bound is a little below the float32 one; where it is more than
twice that (spiky rows coarsen the shared scale) the float32 tiles run instead. The
candidates, the re-check and the result are the same either way.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from crossmodal.metrics.knn.checks import _SAFETY, _U32
from crossmodal.metrics.knn.devices import _cpu_info
from crossmodal.metrics.knn.grid import Canonical
from crossmodal.metrics.knn.operands import _checked_norms, _each_chunk

_Q1 = 2.0**7  # first slice: multiples of 2**-7 of the scale
_Q2 = 2.0**8  # second slice: the first one's rounding error, in steps 2**8 finer
_INT8_MIN_D = 768  # below this, three int8 GEMMs and their sum cost more than one float32 GEMM
_INT8_MAX_D = 2**16  # the K = 2d GEMM's int32 sums stay below 2**31 (2 * 2**16 * 127**2)
_INT8_EPS_RATIO = 2.0  # int8 tiles only while their bound is within this of the float32 one


class _Int8Scores:
    """Cosine scores from exact int8 GEMMs (``torch._int_mm``, int32 sums) of sliced unit rows.

    Each unit row is ``u = sigma (q1 2**-7 + q2 2**-15) + r`` with int8 q1, q2, one scale sigma
    for all rows and a small residual r; ``Q`` holds ``[q1 | q2 | q1]``, so the three
    GEMMs q1.q1, [q1 q2].[q2 q1] (both cross terms at once) and q2.q2 read views of it. Their
    int32 results are exact; the float32 sum rounds a few times (see ``_int8_cosine_operands``).
    """

    def __init__(self, Q: torch.Tensor, d: int, scale: float) -> None:
        import threading

        self.Q, self.d, self.scale = Q, d, scale  # scale = sigma**2 2**-14
        self._local = threading.local()  # an int32 buffer per thread, reused across tiles

    def _int32(self, shape: tuple[int, int]) -> torch.Tensor:
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.numel() < shape[0] * shape[1]:
            buf = self._local.buf = torch.empty(shape[0] * shape[1], dtype=torch.int32)
        return buf[: shape[0] * shape[1]].view(shape)

    def __call__(self, rows: slice | torch.Tensor, cols: slice, out: torch.Tensor) -> None:
        d, a, b = self.d, self.Q[rows], self.Q[cols]
        G = self._int32(tuple(out.shape))
        torch._int_mm(a[:, :d], b[:, :d].T, out=G)
        torch.mul(G, self.scale, out=out)
        torch._int_mm(a[:, : 2 * d], b[:, d:].T, out=G)
        out.add_(G, alpha=self.scale / _Q2)
        torch._int_mm(a[:, d : 2 * d], b[:, d : 2 * d].T, out=G)
        out.add_(G, alpha=self.scale / _Q2**2)


def _int8_gemm_fast() -> bool:
    """Whether ``torch._int_mm`` runs on AMX int8 units here (through oneDNN): about ten
    times a float32 GEMM per core, where VNNI or AVX2 kernels gain little or nothing."""
    return "amx_int8" in _cpu_info()[1] and torch.backends.mkldnn.is_available()


@functools.cache
def _int8_gemm_exact() -> bool:
    """Whether ``torch._int_mm`` works on this CPU and sums exactly, checked once at the int8
    extremes (a kernel that saturates int16 partial sums, as pre-VNNI ones do, fails)."""
    rng = np.random.default_rng(0)
    a = rng.integers(-127, 128, (48, 4096), dtype=np.int8)
    a[:16] = 127
    a[16:32:2] = -127
    b = a.copy()
    b[::3] = -b[::3]
    try:
        with torch.inference_mode():
            got = torch._int_mm(torch.from_numpy(a), torch.from_numpy(b).T).numpy()
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    return bool(np.array_equal(got, a.astype(np.int64) @ b.astype(np.int64).T))


def _int8_tiles(dev: torch.device, d: int) -> bool:
    """Cosine tiles in int8 (``_Int8Scores``) rather than float32: on CPUs where that GEMM is
    fast and exact, for d where it pays. A speed choice only: both bound their error."""
    return dev.type == "cpu" and _INT8_MIN_D <= d <= _INT8_MAX_D and _int8_gemm_fast() and _int8_gemm_exact()


def _int8_cosine_operands(X: np.ndarray, name: str, rows: int) -> tuple[Canonical, _Int8Scores, np.ndarray]:
    """Canonical form, int8 tile scores (zero rows appended up to ``rows``), eps per row.

    Each row x becomes t = x 2**7 / (sigma |x|), rounded once to float32 (u' = sigma t / 2**7
    is the unit row, each entry within 2 u32 of the exact one), split exactly as t = q1 + q2 /
    2**8 + e (q1, q2 int8, |e| <= 1 step of the second slice); v = sigma (q1 + q2 / 2**8) / 2**7 is
    what the GEMMs see and r = u' - v = sigma e / 2**7 the residual. Then u'_i.u'_j - v_i.v_j
    = v_i.r_j + r_i.v_j + r_i.r_j, at most |v_i| |r_j| + |r_i| |v_j| + |r_i| |r_j|
    (Cauchy-Schwarz on the actual residuals, not a worst case) with |v| <= 1 + |r|, and
    |u'_i.u'_j - u_i.u_j| <= 6 u32. v_i.v_j is exact in the int32 sums; their float32 sum and
    its scale round at most six times, each within u32 of the parts' magnitudes, at most
    (|v1_i| + |v2_i|)(|v1_j| + |v2_j|) (v1, v2: the slices), where |v1| + |v2| <= 1 + 2 |v2|
    + |r| and |v2| <= sigma sqrt(d) / 2**8. Each row takes the largest residual of all the
    others; the sum times the safety factor.
    """
    n, d = X.shape
    norms, peak = np.empty(n), np.empty(n)

    def measure(c: slice) -> None:
        nr = np.sqrt(np.einsum("ij,ij->i", X[c], X[c], dtype=np.float64))  # no float64 copy
        norms[c] = _checked_norms(X, nr, c, name)
        peak[c] = np.abs(X[c]).max(axis=1) / norms[c]

    _each_chunk(measure, n, d)
    # One scale for all rows, so the sum needs no per-row or per-column factor; |t| stays a
    # hair below 127, so q1 fits int8 whatever the rounding of t.
    sigma = float(peak.max()) * (_Q1 / 127) * (1 + 2**-16)
    scale = _Q1 / sigma / norms
    Q = np.zeros((max(n, rows), 3 * d), dtype=np.int8)
    rho = np.empty(n)

    def split(c: slice) -> None:
        t = (X[c] * scale[c, None]).astype(np.float32)  # in float64 first: no float32 overflow
        q1 = np.rint(t)
        t -= q1  # exact: |t - q1| <= 1/2 on t's own grid
        t *= _Q2
        q2 = np.rint(t)
        np.clip(q2, -127, 127, out=q2)  # +-128 (e exactly +-1/2) is clipped: e is then 1
        t -= q2  # e, exact
        Q[c, :d], Q[c, d : 2 * d] = q1, q2
        Q[c, 2 * d :] = Q[c, :d]
        rho[c] = np.sqrt(np.einsum("ij,ij->i", t, t, dtype=np.float64)) * (sigma / _Q1 / _Q2)

    _each_chunk(split, n, d, 1 << 16)  # chunks of 256 kB: the passes stay in cache
    r_max = float(rho.max())
    mag, mag_max = 1 + rho + sigma * math.sqrt(d) / _Q1, 1 + r_max + sigma * math.sqrt(d) / _Q1
    eps = _SAFETY * (r_max + rho + 3 * rho * r_max + 6 * _U32 * (1 + mag * mag_max))
    scores = _Int8Scores(torch.from_numpy(Q), d, sigma * sigma / _Q1**2)
    return Canonical(X, "cosine", norms), scores, eps
