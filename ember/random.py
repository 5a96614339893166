"""Random numbers: Generator objects, the default generator, manual_seed and RNG states.

ember draws from NumPy's PCG64, on the CPU, for every device: the same seed gives the same
numbers on every run and on every device.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A source of random numbers with its own state: ``g = ember.Generator().manual_seed(0)``."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 67280421310721
        self._bitgen = np.random.PCG64(self._seed)
        self._rng = np.random.Generator(self._bitgen)

    def manual_seed(self, seed: int) -> Generator:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed: expected an int, received {seed!r}")
        self._seed = int(seed)
        self._bitgen = np.random.PCG64(self._seed & ((1 << 128) - 1))
        self._rng = np.random.Generator(self._bitgen)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed used."""
        s = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor (save it, restore it with set_state)."""
        from ember.tensor import Tensor

        st = self._bitgen.state
        words = [st["state"]["state"], st["state"]["inc"], st["has_uint32"], st["uinteger"], self._seed]
        raw = b"".join(int(w).to_bytes(16, "little", signed=False) for w in words)
        return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, state) -> Generator:
        arr = np.asarray(state.numpy() if hasattr(state, "numpy") else state)
        if arr.dtype != np.uint8 or arr.shape != (80,):
            raise ValueError(
                f"set_state: expected a uint8 tensor of shape (80,) from get_state(), received "
                f"dtype {arr.dtype}, shape {arr.shape}"
            )
        raw = arr.tobytes()
        w = [int.from_bytes(raw[i : i + 16], "little") for i in range(0, 80, 16)]
        self._bitgen.state = {
            "bit_generator": "PCG64",
            "state": {"state": w[0], "inc": w[1]},
            "has_uint32": w[2],
            "uinteger": w[3],
        }
        self._seed = w[4]
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed ember's default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def _rng(generator):
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator: expected an ember.Generator, received {type(generator).__name__}")
    return generator._rng
