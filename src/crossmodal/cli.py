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

# Only light modules at the top: `crossmodal --help` must answer at once, so numpy, pandas, torch
# and scikit-learn are imported by the subcommand that runs, and torch only by a torch mapping.
from crossmodal.datasets.formats import FIRST_COLUMN_CHOICES, FORMATS_HELP, MIN_KEY_OVERLAP
from crossmodal.names import METRICS

PROGRESS_MIN_N = 20_000  # below this a pass takes seconds; a bar would only flicker


class InputError(Exception):
    """Bad user input: reported as one line, exit status 1."""


def _add_mnno_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", help=f"first embedding file ({FORMATS_HELP})")
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
    from crossmodal.datasets.embedding_files import load_embeddings, pair_tables
    from crossmodal.metrics.knn import knn_indices
    from crossmodal.metrics.nno import nno_per_item

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


def _parse_k_list(values: list[str] | None) -> list[int]:
    """--k 10 --k 30 and --k 10,30 alike; default [10]."""
    if not values:
        return [10]
    out = []
    for v in values:
        for part in v.split(","):
            try:
                out.append(int(part))
            except ValueError:
                raise InputError(f"--k takes integers (10, or 10,30), got {part!r}") from None
    return out


# Shortcut options of `bridge` and the mapper parameter each sets (--param NAME=VALUE sets any).
_SHORTCUTS = {"lr": "lr", "hidden": "hidden", "epochs": "epochs", "paper_defaults": "paper_defaults",
              "cca_components": "n_components"}


def _add_bridge_arguments(p: argparse.ArgumentParser) -> None:
    from crossmodal.mappers.registry import choices

    p.add_argument("x", help=f"X: the mapped-from embeddings ({FORMATS_HELP})")
    p.add_argument("y", help="Y: the target embeddings, paired with X by key or by row order")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--f", dest="f", metavar="FILE", help="F = f(X), read like X: nothing is trained, all rows evaluated")
    how.add_argument("--mapper", default="ridge", metavar="NAME[,NAME...]|all",
                     help="mapping(s) fitted by cross-validation when --f is not given (default ridge): "
                     f"{', '.join(choices())}; several, comma-separated, or 'all' compare them in one run "
                     "(see crossmodal mappers)")
    p.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                   help="a mapper parameter (repeatable; crossmodal mappers lists each mapper's); with several "
                   "mappers it applies to those that have it")
    p.add_argument("--k", dest="ks", action="append", metavar="K",
                   help="neighbours per item; repeat or comma-separate for several (default 10; the first K heads the report)")
    p.add_argument("--metric", choices=METRICS, default="cosine", help="neighbours of X, Y, F by this distance (default cosine)")
    p.add_argument("--include-self", action="store_true", help="count each item among its own K (the paper's convention)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--out", metavar="DIR", help="write bridge.json, per_item.csv, mnno_vs_k.png and bridge.html here "
                   "(several mappers: comparison.csv, comparison.json and one such folder per mapper)")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds, permutations, bootstrap and mapper (default 0)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds when a mapper is trained (default 5)")
    p.add_argument("--permutations", type=int, default=999, help="shuffles for the permutation p of mNNO(X,Y) (default 999; 0: skip)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals (default 1000; 0: skip)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level of the verdict (default 0.05)")
    p.add_argument("--first-column", choices=FIRST_COLUMN_CHOICES, default="auto",
                   help="what column 1 of a .csv/.tsv holds (see crossmodal mnno --help)")
    p.add_argument("--min-overlap", type=float, default=MIN_KEY_OVERLAP,
                   help=f"stop when fewer keys match than this share of the smaller file's keys (default {MIN_KEY_OVERLAP})")
    p.add_argument("--lr", type=float, help="the paper's maps and remedies: learning rate (= --param lr=...)")
    p.add_argument("--hidden", type=int, help="hidden width (= --param hidden=...)")
    p.add_argument("--epochs", type=int, help="training epochs (= --param epochs=...)")
    p.add_argument("--paper-defaults", choices=("iaprtc", "wiki", "imagenet"),
                   help="the paper's maps: whose released hyper-parameters to start from (default iaprtc)")
    p.add_argument("--cca-components", type=int, help="cca, cca-predict: canonical components (= --param n_components=...)")
    p.add_argument("--no-progress", action="store_true", help=f"never show progress bars (shown from N={PROGRESS_MIN_N:,})")
    p.add_argument("--device", default=None, help="torch device for the neighbour and retrieval passes and torch mappers")


def mapper_params(args: argparse.Namespace, names: list[str]) -> dict[str, dict[str, object]]:
    """Each mapper's parameters from --param and the shortcut options, typed by its spec."""
    from crossmodal.mappers.registry import get

    given: list[tuple[str, str | object]] = [(name, getattr(args, opt)) for opt, name in _SHORTCUTS.items()
                                             if getattr(args, opt) is not None]
    for item in args.params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"--param takes NAME=VALUE, got {item!r}")
        given.append((name.strip(), value.strip()))
    out: dict[str, dict[str, object]] = {m: {} for m in names}
    for name, value in given:
        takers = [m for m in names if any(p.name == name for p in get(m).params)]
        if not takers:
            raise InputError(f"no selected mapper has a parameter {name!r} ({', '.join(names)}; see crossmodal mappers)")
        for m in takers:
            spec = next(p for p in get(m).params if p.name == name)
            try:
                out[m][name] = spec.parse(value) if isinstance(value, str) else value
            except ValueError as err:
                raise InputError(f"{m}: {err}") from None
    return out


def _run_bridge(args: argparse.Namespace) -> int:
    from crossmodal.bridging.api import bridge
    from crossmodal.bridging.compare import bridge_many
    from crossmodal.bridging.compare import format_comparison, write_comparison
    from crossmodal.bridging.report import format_table, write_outputs
    from crossmodal.datasets.embedding_files import load_embeddings, pair_xyf
    from crossmodal.mappers.registry import resolve

    ks = _parse_k_list(args.ks)
    try:
        mappers = [] if args.f else resolve(args.mapper)
        params = mapper_params(args, mappers) if mappers else {}
    except ValueError as err:
        raise InputError(str(err)) from None
    try:
        x_table = load_embeddings(args.x, args.first_column)
        y_table = load_embeddings(args.y, args.first_column)
        f_table = load_embeddings(args.f, args.first_column) if args.f else None
        X, Y, F, paired = pair_xyf(x_table, y_table, f_table, args.min_overlap)
    except (ValueError, OSError, UnicodeError) as err:
        raise InputError(str(err)) from None
    if paired.by == "keys":
        print(f"paired by key: {paired.matched} matched, {paired.dropped[0]} dropped from {args.x}, "
              f"{paired.dropped[1]} dropped from {args.y}", file=sys.stderr)
    n = paired.matched
    progress = n >= PROGRESS_MIN_N and not args.no_progress
    common = dict(k=ks, metric=args.metric, include_self=args.include_self, n_folds=args.folds, seed=args.seed,
                  n_permutations=args.permutations, n_bootstrap=args.bootstrap, alpha=args.alpha,
                  curve=args.out is not None, keys=paired.keys, device=args.device, progress=progress,
                  context={"pairing": {"by": paired.by, "matched": paired.matched,
                                       "dropped_x": paired.dropped[0], "dropped_y": paired.dropped[1]}})
    names = (str(args.x), str(args.y), str(args.f) if args.f else "f(X)")
    if len(mappers) > 1:
        def say(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        try:
            comparison = bridge_many(X, Y, mappers, mapper_params=params, names=names, log=say, **common)  # type: ignore[arg-type]
        except ValueError as err:
            raise InputError(str(err)) from None
        if args.out:
            write_comparison(comparison, args.out)
        if args.json:
            print(json.dumps(comparison.to_dict()))
        else:
            print(format_comparison(comparison))
            if args.out:
                print(f"wrote {args.out}/comparison.csv, comparison.json and one folder per mapper")
        return 0
    try:
        result = bridge(X, Y, F, mapper=mappers[0] if mappers else "ridge",
                        mapper_options=params.get(mappers[0], {}) if mappers else None, names=names,
                        **common)  # type: ignore[arg-type]
    except ValueError as err:
        raise InputError(str(err)) from None
    if args.out:
        write_outputs(result, args.out)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(format_table(result))
        if args.out:
            print(f"wrote {args.out}/bridge.json, per_item.csv, mnno_vs_k.png, bridge.html")
    return 0


def _add_mappers_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the registry as JSON")


def _run_mappers(args: argparse.Namespace) -> int:
    from crossmodal.mappers.registry import all_specs

    specs = all_specs()
    if args.json:
        print(json.dumps([{"name": s.name, "family": s.family, "space": s.space, "summary": s.summary,
                           "aliases": list(s.aliases), "needs_labels": s.needs_labels, "devices": list(s.devices),
                           "in_tables": s.in_tables,
                           "params": [{"name": p.name, "type": p.type.__name__, "default": p.default, "help": p.help}
                                      for p in s.params]} for s in specs]))
        return 0
    for s in specs:
        extra = [f"aliases: {', '.join(s.aliases)}"] if s.aliases else []
        extra += ["needs labels"] if s.needs_labels else []
        print(f"{s.name:<12} {s.family:<12} space {s.space:<7} {s.summary}" + (f" ({'; '.join(extra)})" if extra else ""))
        for p in s.params:
            print(f"{'':<14}{p.name}={p.default!r} ({p.type.__name__}) {p.help}")
    return 0


_SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "mnno": ("mean nearest-neighbour overlap of two paired embedding files", _add_mnno_arguments, _run_mnno),
    "bridge": ("does a mapping f: X -> Y take on Y's neighbourhoods or keep X's? (mNNO, tests, retrieval, hubness)",
               _add_bridge_arguments, _run_bridge),
    "mappers": ("list the registered mappings, their family, space and parameters", _add_mappers_arguments, _run_mappers),
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
