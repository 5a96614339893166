import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, rand


def test_oracle_smoke_mul_exp():
    check(lambda m, x, y: (x * y).exp(), rand(3, 4), rand(4), gradgrad=True)


def test_matmul_shapes():
    for a, b in [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2))]:
        check(lambda m, x, y: x @ y, rand(*a), rand(*b), gradgrad=True)
