"""What each kind of job asks a scheduler for: memory from its inputs' size, runtime, and a GPU
when it runs torch on a CUDA device."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resources:
    """One kind of job's request. Memory: ``base_mb`` (the interpreter and its libraries; a job
    that imports torch measured 0.9-1.5 GB max RSS in benchmarks/results) plus ``per_input_mb``
    MB per MB of input (the arrays it holds); runtime in minutes. Both double on each retry
    (``--retries``), so a job killed for memory or time asks for more. ``gpu``: the job runs torch
    on the configured device and asks for one GPU when that device is CUDA."""

    base_mb: int
    per_input_mb: float
    runtime: int
    gpu: bool = False

    def mem_mb(self, input_mb: float, attempt: int = 1) -> int:
        return math.ceil((self.base_mb + self.per_input_mb * input_mb) * 2 ** (attempt - 1))

    def runtime_minutes(self, attempt: int = 1) -> int:
        return self.runtime * 2 ** (attempt - 1)

    def gpus(self, device: str) -> int:
        return int(self.gpu and device.startswith("cuda"))


RESOURCES: dict[str, Resources] = {
    "light": Resources(512, 4, 10),  # numpy/pandas/scipy steps: tables, report pages, dataset files
    "torch": Resources(2048, 4, 30),  # imports torch for a short step: splits, neighbours, scores
    "vectors": Resources(2048, 6, 30),  # word vectors held in gensim KeyedVectors
    "training": Resources(2048, 8, 120, gpu=True),  # trains mappings or the biGRU
    "images": Resources(4096, 2, 240, gpu=True),  # a CNN over a folder of images
}


def resources(kind: str, device: str) -> dict[str, Any]:
    """The ``resources:`` of a rule of ``kind``: mem_mb from its inputs' size, runtime, and gpu
    when it asks for one (a scheduler reads gpu; the local executor only counts it)."""
    spec = RESOURCES[kind]
    out: dict[str, Any] = {
        "mem_mb": lambda wildcards, input, attempt: spec.mem_mb(input.size_mb, attempt),
        "runtime": lambda wildcards, attempt: spec.runtime_minutes(attempt),
    }
    if spec.gpus(device):
        out["gpu"] = spec.gpus(device)
    return out
