"""ember.backend: the host allocator setting (the device tests live with the tensor tests)."""

import subprocess
import sys

import pytest

from ember import backend

# Three 8 MiB arrays freed together leave 24 MiB free at the heap's top: glibc's defaults
# give that back to the OS (its trim threshold ends at twice the largest block freed), so
# each round faults the pages in again; kept for reuse, the rounds after the first fault none.
CHURN = """
import resource, sys
import ember, numpy as np
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    a, b, c = (np.ones(2 << 20, np.float32) for _ in range(3))
    del a, b, c
start = faults()
for _ in range(20):
    a, b, c = (np.ones(2 << 20, np.float32) for _ in range(3))
    del a, b, c
print(ember.backend.host_allocator_tuned, faults() - start)
"""


def _churn(**env):
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", CHURN], env=full, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not backend.host_allocator_tuned, reason="needs glibc (Linux)")
def test_freed_host_memory_is_reused_across_steps():
    tuned, faults = _churn()
    system, system_faults = _churn(EMBER_HOST_ALLOCATOR="system")
    assert tuned and not system
    # every round faults under the system setting (how many depends on transparent huge
    # pages); with the memory kept, the rounds fault next to nothing
    assert system_faults > 20 * 500
    assert faults < system_faults / 50


def test_user_malloc_settings_are_left_alone():
    assert not backend.tune_host_allocator({"EMBER_HOST_ALLOCATOR": "system"})
    assert not backend.tune_host_allocator({"MALLOC_TRIM_THRESHOLD_": "0"})
    assert not backend.tune_host_allocator({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"})
