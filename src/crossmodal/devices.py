"""Where torch runs: the one reading of a ``device`` setting (config key ``device``, CLI ``--device``).

``"cpu"`` (the workflow's default: results do not depend on which machine has a GPU), ``"cuda"`` or
``"cuda:N"``, or ``"auto"`` / None: CUDA when torch sees a GPU, else the CPU. Asking for CUDA where
torch sees none is a clear error, not a silent fall back to the CPU.
"""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """The torch device a ``device`` setting names, checked against what torch can see."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} asked for, but torch sees no CUDA GPU here (use device: cpu or auto)")
    return dev
