"""Adapter: an Experiment 1 set + its splits -> every configured method's mNNO rows, retrieval rows and
chosen hyper-parameters, on its first fold/run (train rows fit and choose, test rows score)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.paired import load_paired
from crossmodal.experiments.learned_mappings import load_splits
from crossmodal.io import atomic_path, log_to
from crossmodal.experiments.methods import evaluate_methods

p, w, o = snakemake.params, snakemake.wildcards, snakemake.output
with log_to(snakemake.log[0]):
    ps = load_paired(snakemake.input.data)
    first = load_splits(snakemake.input.splits, ps)[0]
    header = ps.experiment1
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    say(f"{header.dataset_label} ({header.split_label}): {len(first.train)} train / {len(first.test)} test rows")
    frames = evaluate_methods(ps.subset(first.train), ps.subset(first.test), p.mappings, ks=p.ks, seed=p.seed,
                              device=p.device, n_folds=p.spec["n_folds"], max_epochs=p.spec["max_epochs"],
                              n_bootstrap=p.spec["n_bootstrap"], threads=snakemake.threads, log=say)
    labels = {"dataset": w.dataset, "dataset_label": f"{header.dataset_label} ({header.split_label}, first fold/run)",
              "image_label": header.image_label, "text_label": header.text_label}
    for kind, frame in zip(("mnno", "retrieval", "hyperparameters"), frames):
        frame = frame.drop(columns="dataset")
        for pos, (col, value) in enumerate(labels.items()):
            frame.insert(pos, col, value)
        with atomic_path(o[kind]) as tmp:
            frame.to_csv(tmp, index=False)
