"""Does a training loss decrease steadily? (Supplement A: "we ensure that all mappings are
learned properly by verifying that the training loss steadily decreases".)

The rule, :func:`check_steady_decrease`, on a per-epoch training-loss history l_1 … l_E:

1. every value is finite (a diverged run is never steady);
2. overall decrease: the mean of the last w epochs is below the mean of the first w, with
   w = max(1, ceil(E · ``window_frac``)) (default 10%): smoothing over w epochs keeps one noisy
   epoch at either end from deciding;
3. few rises: an epoch *rises* when l_t > l_{t−1} + ``rise_tol`` · |l_{t−1}| (default 1%);
   at most ``max_rise_frac`` (default 10%) of the E − 1 epoch-to-epoch steps may rise.
   Mini-batch noise gives small wiggles (< 1%) near convergence; a too-high learning rate
   gives repeated jumps, which this counts.

Histories of fewer than 2 epochs are reported as steady with reason "too short to judge".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

WINDOW_FRAC = 0.1
RISE_TOL = 0.01
MAX_RISE_FRAC = 0.1


@dataclass(frozen=True)
class DecreaseCheck:
    """Outcome of the rule for one history; ``reason`` names the first failed condition."""

    steady: bool
    reason: str
    start: float  # mean of the first w epochs
    end: float  # mean of the last w epochs
    n_rises: int
    rise_frac: float


def check_steady_decrease(
    loss: Sequence[float],
    window_frac: float = WINDOW_FRAC,
    rise_tol: float = RISE_TOL,
    max_rise_frac: float = MAX_RISE_FRAC,
) -> DecreaseCheck:
    """Apply the module's rule to one per-epoch training-loss history."""
    arr = np.asarray(loss, dtype=np.float64)
    e = arr.size
    if e < 2:
        v = float(arr[0]) if e else math.nan
        return DecreaseCheck(True, "too short to judge", v, v, 0, 0.0)
    if not np.isfinite(arr).all():
        return DecreaseCheck(False, "non-finite loss", math.nan, math.nan, 0, 0.0)
    w = max(1, math.ceil(e * window_frac))
    start, end = float(arr[:w].mean()), float(arr[-w:].mean())
    rises = arr[1:] > arr[:-1] + rise_tol * np.abs(arr[:-1])
    n_rises = int(rises.sum())
    frac = n_rises / (e - 1)
    if not end < start:
        return DecreaseCheck(False, "no overall decrease", start, end, n_rises, frac)
    if frac > max_rise_frac:
        return DecreaseCheck(False, f"{n_rises} of {e - 1} epochs rise by > {rise_tol:.0%}", start, end, n_rises, frac)
    return DecreaseCheck(True, "steady", start, end, n_rises, frac)


def flag_histories(histories: Sequence[Sequence[float]], **rule: float) -> pd.DataFrame:
    """One row per history (in order): the :class:`DecreaseCheck` fields; ``rule`` overrides
    the thresholds of :func:`check_steady_decrease`."""
    return pd.DataFrame([asdict(check_steady_decrease(h, **rule)) for h in histories])
