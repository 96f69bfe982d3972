"""Adapter: Wikipedia texts + lists + word vectors -> trained biGRU features (train/test in list order)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.features.bigru import save_text_features, wikipedia_bigru
from crossmodal.features.word_vectors import load_keyed_vectors
from crossmodal.io import log_to

i, p = snakemake.input, snakemake.params
with log_to(snakemake.log[0]):
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    say(f"{p.label}: {p.settings}")
    arrays = wikipedia_bigru(i.texts, i.train_list, i.test_list, i.categories, load_keyed_vectors(i.vectors),
                             log=say, num_threads=snakemake.threads, progress=False, device=p.device,
                             **p.settings)
    say(f"train {arrays['train'].shape}, test {arrays['test'].shape}")
    save_text_features(snakemake.output[0], arrays, p.label)  # atomic (crossmodal.io.atomic_path inside)
