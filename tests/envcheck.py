"""Which packages a rule's conda env makes importable, and whether a script's imports stay inside them.

Conda cannot run on the development machines, so ``--use-conda`` is proved another way: a rule's
script is imported in a fresh interpreter where every installed top-level package that lies
outside the rule's env file and its requirement closure raises ImportError. The closure is read
from the installed distributions' metadata (conda-forge packages declare the same run-time
requirements as their PyPI twins for everything used here).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
RULE = re.compile(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", re.M)
CONDA_ENV = re.compile(r"^\s+conda:\s*\n\s+\"([^\"]+)\"", re.M)
SCRIPT = re.compile(r"^\s+script:\s*\n\s+\"([^\"]+)\"", re.M)
#: conda-forge name -> PyPI distribution name, where the two differ.
CONDA_TO_PYPI = {"pytorch": "torch", "pyyaml": "PyYAML"}
#: Modules a rule's script may import without its env holding them: the project itself (every
#: script puts the checkout's src/ first on sys.path) and Snakemake, whose own folder Snakemake
#: appends to sys.path in every script's preamble.
ALWAYS = {"crossmodal", "snakemake"}


def rules() -> dict[str, str]:
    """Every rule of workflow/rules/*.smk -> its body text."""
    found = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            found[name] = body
    return found


def rule_env_and_script(body: str) -> tuple[Path, Path] | None:
    """The env file and script a rule names (paths are relative to workflow/rules/)."""
    env, script = CONDA_ENV.search(body), SCRIPT.search(body)
    if env is None or script is None:
        return None
    base = ROOT / "workflow" / "rules"
    return (base / env.group(1)).resolve(), (base / script.group(1)).resolve()


def env_distributions(spec: dict) -> set[str]:
    """The PyPI distribution names an env file asks for (conda and pip entries), python left out."""
    names = set()
    for dep in spec["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            name = re.split(r"[=<>!~ ]", item, maxsplit=1)[0]
            if name != "python":
                names.add(canonicalize_name(CONDA_TO_PYPI.get(name, name)))
    return names


@cache
def _requires(dist: str) -> tuple[str, ...]:
    try:
        reqs = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return ()
    out = []
    for text in reqs:
        req = Requirement(text)
        # Extras are optional features the env does not ask for.
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            out.append(canonicalize_name(req.name))
    return tuple(out)


def requirement_closure(dists: set[str]) -> set[str]:
    """``dists`` and everything they require at run time, transitively."""
    seen, todo = set(), list(dists)
    while todo:
        dist = todo.pop()
        if dist not in seen:
            seen.add(dist)
            todo.extend(_requires(dist))
    return seen


@cache
def _top_level_modules() -> dict[str, frozenset[str]]:
    """Top-level import name -> the installed distributions that provide it."""
    by_module: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        by_module.setdefault(module, set()).update(canonicalize_name(d) for d in dists)
    return {m: frozenset(d) for m, d in by_module.items()}


def blocked_modules(allowed_dists: set[str]) -> list[str]:
    """Installed top-level modules that no allowed distribution provides."""
    return sorted(
        module
        for module, dists in _top_level_modules().items()
        if module not in ALWAYS and not (dists & allowed_dists) and module not in sys.stdlib_module_names
    )


def script_imports(script: Path) -> list[list]:
    """Every import statement of a script, at top level or inside functions, as
    ``[module, [names...]]`` (``from module import names``; no names for ``import module``)."""
    found = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            found += [[alias.name, []] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append([node.module, [alias.name for alias in node.names]])
    return found


# Run first in a child interpreter: ``install_block(blocked)`` makes every ``blocked`` top-level
# module absent, as in an env without it: ``import`` raises ModuleNotFoundError and
# ``importlib.util.find_spec`` returns None (packages that probe for optional ones see nothing).
BLOCKER = """
import importlib, json, sys, traceback
from importlib.machinery import PathFinder

class Block:
    def __init__(self, blocked):
        self.blocked = set(blocked)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            return None
        return PathFinder.find_spec(name, path, target)

    def invalidate_caches(self):
        PathFinder.invalidate_caches()

def install_block(blocked):
    sys.meta_path[:] = [Block(blocked) if f is PathFinder else f for f in sys.meta_path]

def not_in_env(err, blocked):
    return err.name is not None and err.name.partition(".")[0] in set(blocked)
"""
# Runs in the child interpreter: block, import the script's modules, then every import made
# inside a function of the crossmodal modules now loaded: it runs only when that function is
# called (a job, not an import, would fail). Imports guarded by ``except ImportError`` are
# optional and left out, and so are the pairs in ``elsewhere`` (module, import), whose functions
# only other rules call.
_CHILD = BLOCKER + """
import ast

blocked, modules, src, elsewhere = json.loads(sys.argv[1])
install_block(blocked)
sys.path.insert(0, src)
try:
    for module, names in modules:
        if module.partition(".")[0] == "snakemake":
            continue  # given by Snakemake's preamble, not by the env
        imported = importlib.import_module(module)
        for name in names:  # as `from module import name` does: an attribute, else a submodule
            if name != "*" and not hasattr(imported, name):
                importlib.import_module(f"{module}.{name}")
except ModuleNotFoundError as err:
    if not not_in_env(err, blocked):
        raise
    traceback.print_exc()
    sys.exit(f"No module named {err.name!r} (not in this rule's env)")

def guarded(tree):
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in node.handlers
        ):
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out

def deferred_imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    skip = guarded(tree)
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if id(node) in skip:
                    continue
                if isinstance(node, ast.Import):
                    yield from (alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield node.module

failed = []
for name, mod in sorted(sys.modules.items()):
    path = getattr(mod, "__file__", None)
    if name.partition(".")[0] == "crossmodal" and path and path.endswith(".py"):
        for module in sorted(set(deferred_imports(path))):
            if [name, module] in elsewhere:
                continue
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if not not_in_env(err, blocked):
                    raise
                failed.append(f"{name} imports {module} inside a function: "
                              f"No module named {err.name!r} (not in this rule's env)")
if failed:
    sys.exit(chr(10).join(failed))
"""

#: Imports inside functions that the check leaves out, with why: the functions run only in rules
#: whose env holds the package.
ELSEWHERE = {
    ("crossmodal.datasets.embedding_files", "gensim.models"):
        "word2vec files are read by experiment1_paired (features.yaml) and the bridge CLI only",
    ("crossmodal.datasets.experiment1", "crossmodal.datasets.imagenet_concepts"):
        "concept_set runs in experiment1_concepts (features.yaml) only",
}


def import_in_env(script: Path, env_spec: dict, src: Path = ROOT / "src") -> subprocess.CompletedProcess:
    """Import ``script``'s modules in a fresh interpreter limited to ``env_spec``'s packages, then
    the imports made inside functions of the crossmodal modules (under ``src``) they loaded."""
    blocked = blocked_modules(requirement_closure(env_distributions(env_spec)))
    payload = json.dumps([blocked, script_imports(script), str(src), [list(pair) for pair in ELSEWHERE]])
    return subprocess.run(
        [sys.executable, "-c", _CHILD, payload], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def load_env(path: Path) -> dict:
    return yaml.safe_load(path.read_text())
