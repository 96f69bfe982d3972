"""benchmarks/bench_gpu.py runs anywhere at small sizes (the GPU figures come from a GPU machine)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import PROJECT_ROOT


def test_gpu_benchmark_runs_on_the_cpu_and_checks_its_knn_against_float64():
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "bench_gpu.py"), "--quick", "--device", "cpu"],
                            capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    knn, search = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    assert knn["exact_on_checked_rows"] and knn["checked_rows"] == 64 and 0 < knn["mnno"] < 1
    assert search["grid_points"] == 2 and search["device_seconds"] > 0 and search["ratio_device_to_cpu"] == 1.0
