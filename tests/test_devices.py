"""The device setting: one reading for every torch step, and a clear error for a GPU that is not there."""

from __future__ import annotations

import pytest
import torch

from crossmodal.config import with_defaults
from crossmodal.devices import resolve_device


def test_cpu_and_auto_resolve_on_any_machine():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error_also_in_training():
    import numpy as np

    from crossmodal.mappings.batched import RunSpec, fit_batched

    with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
        resolve_device("cuda:0")
    X = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
        fit_batched(X, X, [RunSpec(np.arange(4), seed=0, lr=0.1)], "lin", None, 1, 2, "mse", device="cuda")


def test_config_device_defaults_to_cpu_and_rejects_other_names(project_root):
    schema = project_root / "workflow" / "schemas" / "config.schema.yaml"
    assert with_defaults({}, schema)["device"] == "cpu"
    with pytest.raises(ValueError, match="invalid config: .*device.*'gpu'"):
        with_defaults({"device": "gpu"}, schema)
