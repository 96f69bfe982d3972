"""Command line: ``crossmodal <subcommand> ...``.

Subcommands register themselves in ``_SUBCOMMANDS`` (name -> (add_arguments, run)); ``run``
returns the exit status. Errors in the input end with a one-line message on stderr and a
non-zero status, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence

from crossmodal.datasets.embedding_files import (
    FIRST_COLUMN_CHOICES,
    load_embeddings,
    pair_tables,
)
from crossmodal.metrics.knn import METRICS, knn_indices
from crossmodal.metrics.nno import nno_per_item

PROGRESS_MIN_N = 20_000  # below this a pass takes seconds; a bar would only flicker


class InputError(Exception):
    """Bad user input: reported as one line, exit status 1."""


def _add_mnno_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", help="first embedding file (.npy, .csv, .tsv, word2vec .txt/.vec/.bin)")
    p.add_argument("b", help="second embedding file, paired with the first by key or row order")
    p.add_argument("--k", type=int, default=10, help="neighbours per point (default 10)")
    p.add_argument("--metric", choices=METRICS, default="cosine", help="distance (default cosine)")
    p.add_argument("--include-self", action="store_true", help="count each point as its own neighbour (authors' code)")
    p.add_argument(
        "--first-column",
        choices=FIRST_COLUMN_CHOICES,
        default="auto",
        help="what column 1 of a .csv/.tsv holds: key (pair by key), label or data (pair by row order); "
        "auto: data if numeric, else key. The paper's IAPR/Wiki CSVs need 'label'.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--no-progress", action="store_true", help=f"never show a progress bar (shown from N={PROGRESS_MIN_N:,})")
    p.add_argument("--device", default=None, help="torch device for the kNN pass (default: cuda if present, else cpu)")


def _run_mnno(args: argparse.Namespace) -> int:
    try:
        a = load_embeddings(args.a, args.first_column)
        b = load_embeddings(args.b, args.first_column)
        paired = pair_tables(a, b)
    except (ValueError, OSError, UnicodeError) as err:
        raise InputError(str(err)) from None
    n = paired.matched
    progress = n >= PROGRESS_MIN_N and not args.no_progress
    start = time.perf_counter()
    try:
        nn_a = knn_indices(paired.a, args.k, args.metric, args.include_self, device=args.device, progress=progress)
        nn_b = knn_indices(paired.b, args.k, args.metric, args.include_self, device=args.device, progress=progress)
    except ValueError as err:
        raise InputError(str(err)) from None
    counts = nno_per_item(nn_a, nn_b, args.k, args.metric, args.include_self)
    seconds = time.perf_counter() - start
    value = float(counts.sum()) / (args.k * n)
    report = {
        "mnno": value,
        "k": args.k,
        "n": n,
        "metric": args.metric,
        "include_self": args.include_self,
        "seconds": round(seconds, 3),
        "paired_by": paired.by,
        "matched": paired.matched,
        "dropped_a": paired.dropped_a,
        "dropped_b": paired.dropped_b,
        "a": str(args.a),
        "b": str(args.b),
    }
    if args.json:
        print(json.dumps(report))
    else:
        rule = "self counted" if args.include_self else "self excluded"
        print(f"mNNO^{args.k} = {value:.6f}  (K={args.k}, N={n}, metric={args.metric}, {rule}, {seconds:.2f} s)")
        if paired.by == "keys":
            print(f"paired by key: {paired.matched} matched, {paired.dropped_a} dropped from A, {paired.dropped_b} dropped from B")
        else:
            print(f"paired by row order: {n} rows")
    return 0


_SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "mnno": ("mean nearest-neighbour overlap of two paired embedding files", _add_mnno_arguments, _run_mnno),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crossmodal", description="Cross-modal mapping analysis tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, run) in _SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "k", 1) is not None and getattr(args, "k", 1) < 1:
        print(f"crossmodal {args.command}: error: --k must be at least 1, got {args.k}", file=sys.stderr)
        return 1
    try:
        return int(args._run(args))
    except InputError as err:
        message = " ".join(str(err).split())  # one line, whatever the message held
        print(f"crossmodal {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
