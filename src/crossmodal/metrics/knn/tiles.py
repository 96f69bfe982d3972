"""The float32 fast pass: each row's top-k' candidates over tiles of the upper triangle.

How it is computed fast: a float32 GEMM over square tiles of the upper triangle only (the
self-distance matrix is symmetric, so each tile serves the rows of both its row block and
its column block; a diagonal block is halved recursively into two diagonal halves and the
tile between them, 3/4 of the square per level, as far as the GEMMs stay large),
with the top-k selection fused into the tiles as a threshold filter: only scores above a
row's current k'-th best (k' = k + margin) become candidates, found via block maxima over
runs of 32 scores, and are folded into the row's list tile by tile. The diagonal tiles come
first and seed each row's list from the k'-th largest run maximum (no top-k over the tile).
On CPU, T workers (torch's thread count) with one thread each share the work: a worker
takes the next tile's selection when its scores are ready (selections run one at a time,
in plan order) or else the next tile's GEMM (``devices._tile_blas``) and its run maxima.
No op is split over threads, so none waits for a thread that another process has pushed off
its core. The full N x N matrix is never held; memory is O(N d + N k' + T tile^2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from crossmodal.metrics.knn.candidates import (
    _CHUNK,
    _col_run_max,
    _filter_cols,
    _filter_rows,
    _fold_any,
    _row_run_max,
    _seed_from_diagonal,
)
from crossmodal.metrics.knn.checks import _NEG_INF
from crossmodal.metrics.knn.devices import _one_blas_thread
from crossmodal.metrics.knn.operands import _Scorer

Tile = tuple[int, int, int, int]  # (first row, rows, first column, columns)


_MIN_TILE_WORK = 2**28  # multiply-adds: smaller GEMMs cost more in per-tile overhead than they save


def _diagonal_tiles(s: int, size: int, d: int, kk: int) -> tuple[list[Tile], list[Tile]]:
    """(seeds, inner tiles) covering the upper triangle of the diagonal block [s, s + size).

    The block is halved recursively (two diagonal halves and the tile between them) while the
    halves still seed their rows (more than kk columns) and their GEMMs are large enough to
    pay for themselves; each level computes 3/4 of the square it replaces.
    """
    half = math.ceil(size / 2 / _CHUNK) * _CHUNK
    if size - half <= kk or (size - half) ** 2 * d < _MIN_TILE_WORK:
        return [(s, size, s, size)], []
    seeds_a, inner_a = _diagonal_tiles(s, half, d, kk)
    seeds_b, inner_b = _diagonal_tiles(s + half, size - half, d, kk)
    return seeds_a + seeds_b, inner_a + inner_b + [(s, half, s + half, size - half)]


def _tile_plan(n_pad: int, tile: int, d: int, kk: int) -> list[Tile]:
    """Tiles covering the upper triangle of the score matrix, in scan order.

    Blocks of ``tile`` rows (the last may be shorter); diagonal blocks split as in
    ``_diagonal_tiles``. Diagonal tiles
    come first (they seed every row's threshold), then the tiles within blocks, smallest
    first, then the full off-diagonal tiles, so the thresholds tighten before the big tiles.
    """
    blocks = [(s, min(tile, n_pad - s)) for s in range(0, n_pad, tile)]
    seeds: list[Tile] = []
    inner: list[Tile] = []
    for s, size in blocks:
        block_seeds, block_inner = _diagonal_tiles(s, size, d, kk)
        seeds += block_seeds
        inner += block_inner
    inner.sort(key=lambda tl: tl[1] * tl[3])  # stable: a fixed order
    outer = [(s, h, t, w) for a, (s, h) in enumerate(blocks) for t, w in blocks[a + 1 :]]
    return seeds + inner + outer


@dataclass(frozen=True)
class _TileScores:
    """A computed tile: its scores and their run maxima (``_row_run_max``, ``_col_run_max``)."""

    S: torch.Tensor
    row_max: torch.Tensor
    col_max: torch.Tensor


def _select_tile(ts: _TileScores, best_v: torch.Tensor, best_i: torch.Tensor, tile: Tile, kk: int) -> None:
    """Fold the scores of ``tile`` into the lists of its rows and of its columns."""
    s, h, t, w = tile
    if s == t:
        _seed_from_diagonal(ts.S, ts.row_max, best_v, best_i, s, s, kk)
        return
    r, c, v = _filter_rows(ts.S, best_v[s : s + h, -1], ts.row_max)
    if len(r):
        _fold_any(best_v, best_i, s, r, c + t, v)
    c2, r2, v2 = _filter_cols(ts.S, best_v[t : t + w, -1], ts.col_max)
    if len(c2):
        _fold_any(best_v, best_i, t, c2, r2 + s, v2)


class _TileRunner:
    """Runs a tile plan on CPU with ``workers`` threads, each with one torch thread.

    Tasks: the GEMM of a tile (any worker, as soon as a buffer is free; tiles in plan order)
    and the selection from a computed tile (strictly in plan order, one at a time, since it
    reads the thresholds the previous ones left). A free worker takes the next selection if
    its tile is ready, else the next GEMM. So the cores share the work whatever its mix
    (the selection's share falls as d grows) and whatever else runs on the machine, with no
    GEMM split over cores that waits for its slowest thread. Only the speed depends on the
    timing: each row's list is updated tile by tile in plan order.
    """

    def __init__(self, n_tiles: int, workers: int, buffers: list[torch.Tensor]) -> None:
        import threading

        self.n_tiles = n_tiles
        self.workers = workers
        self.free = list(range(len(buffers)))
        self.buffers = buffers
        self.cond = threading.Condition()
        self.next_gemm = 0
        self.next_select = 0
        self.selecting = False
        self.ready: dict[int, tuple[int, _TileScores]] = {}  # tile -> (buffer, scores)
        self.error: BaseException | None = None

    def run(
        self,
        gemm: Callable[[int, torch.Tensor], _TileScores],
        select: Callable[[_TileScores, int], None],
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        def worker() -> None:
            torch.set_num_threads(1)  # OpenMP and MKL thread counts are per calling thread
            with torch.inference_mode():  # thread-local too
                while (task := self._take()) is not None:
                    kind, j, b, S = task
                    try:
                        if kind == "gemm":
                            S = gemm(j, self.buffers[b])
                        else:
                            select(S, j)
                    except BaseException as err:  # hand it to the caller, stop the others
                        with self.cond:
                            self.error = err
                            self.cond.notify_all()
                        return
                    self._done(kind, j, b, S)

        threads = torch.get_num_threads()
        with ThreadPoolExecutor(self.workers) as pool:
            for f in [pool.submit(worker) for _ in range(self.workers)]:
                f.result()
        torch.set_num_threads(threads)  # the workers changed the default that new threads inherit
        if self.error is not None:
            raise self.error

    def _take(self) -> tuple[str, int, int, _TileScores | None] | None:
        with self.cond:
            while True:
                if self.error is not None or self.next_select == self.n_tiles:
                    return None
                if not self.selecting and self.next_select in self.ready:
                    self.selecting = True
                    b, S = self.ready.pop(self.next_select)
                    return "select", self.next_select, b, S
                if self.next_gemm < self.n_tiles and self.free:
                    self.next_gemm += 1
                    return "gemm", self.next_gemm - 1, self.free.pop(), None
                self.cond.wait()

    def _done(self, kind: str, j: int, b: int, S: _TileScores | None) -> None:
        with self.cond:
            if kind == "gemm":
                assert S is not None
                self.ready[j] = (b, S)
            else:
                self.selecting = False
                self.next_select += 1
                self.free.append(b)
            self.cond.notify_all()


def _blocking(n: int, tile: int, kk: int) -> tuple[int, int]:
    """(tile, padded row count): blocks of nearly equal size, multiples of _CHUNK rows and
    more than kk (the last one may be shorter); rows padded only to a multiple of _CHUNK,
    as every padding row costs GEMM work."""
    blocks = math.ceil(n / max(tile, kk + 1))
    return math.ceil(n / blocks / _CHUNK) * _CHUNK, math.ceil(n / _CHUNK) * _CHUNK


def _symmetric_topk(
    scores_of: _Scorer, n: int, kk: int, tile: int, dev: torch.device, progress: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 top-kk scores (descending) and indices of each of the first n rows, self
    excluded; the operands behind ``scores_of`` hold zero rows beyond n up to the padded
    row count of ``_blocking`` (whole blocks).

    Scores must be symmetric (score(i, j) == score(j, i) in exact arithmetic), so only tiles
    on and above the diagonal are computed; each serves both its rows and its columns.

    On CPU with T > 1 threads, T workers with one torch thread each share the GEMMs and the
    selection (``_TileRunner``): the selection is many small ops, for which a barrier per op
    costs more than it gains (and stalls badly on a busy machine).
    """
    from tqdm.auto import tqdm

    # Padding rows score -inf against everything and accept nothing (threshold +inf).
    tile, n_pad = _blocking(n, tile, kk)
    best_v = torch.full((n_pad, kk), _NEG_INF, device=dev)
    best_i = torch.full((n_pad, kk), -1, dtype=torch.int64, device=dev)
    plan = _tile_plan(n_pad, tile, scores_of.d, kk)
    last_seed = max(j for j, (s, _, t, _) in enumerate(plan) if s == t)
    bufs = [torch.empty(tile * tile, device=dev)]
    bar = tqdm(total=len(plan), disable=not progress, desc="kNN tiles", unit="tile", leave=False)

    # On CPU each GEMM runs on one thread of its worker; the run maxima are taken right after,
    # by the same worker.
    def scores(tl: Tile, buf: torch.Tensor) -> _TileScores:
        s, h, t, w = tl
        out = buf[: h * w].view(h, w)
        scores_of(slice(s, s + h), slice(t, t + w), out)
        if s == t:  # a point is not its own neighbour
            out.fill_diagonal_(_NEG_INF)
        if max(s + h, t + w) > n:  # padding columns (and rows) never win
            out[:, max(n - t, 0) :] = _NEG_INF
            out[max(n - s, 0) :, :] = _NEG_INF
        return _TileScores(out, _row_run_max(out), _col_run_max(out))

    def select(S: _TileScores, j: int) -> None:
        _select_tile(S, best_v, best_i, plan[j], kk)
        if j == last_seed:  # every row seeded: padding rows accept nothing from now on
            best_v[n:] = float("inf")
        bar.update(1)

    threads = torch.get_num_threads()
    if dev.type != "cpu":
        for j, tl in enumerate(plan):
            select(scores(tl, bufs[0]), j)
    else:
        with _one_blas_thread():
            if threads == 1:
                for j, tl in enumerate(plan):
                    select(scores(tl, bufs[0]), j)
            else:
                bufs += [torch.empty(tile * tile, device=dev) for _ in range(threads)]  # a spare: no worker waits
                _TileRunner(len(plan), threads, bufs).run(lambda j, buf: scores(plan[j], buf), select)
    bar.close()
    return best_v[:n], best_i[:n]
