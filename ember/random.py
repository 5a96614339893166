"""Random numbers: Generator objects, the default generator, manual_seed and RNG states.

ember draws from NumPy's PCG64, on the CPU, for every device: the same seed gives the same
numbers on every run and on every device.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A source of random numbers with its own state: ``g = ember.Generator().manual_seed(0)``."""

    def __init__(self, device="cpu"):
        from ember import backend

        self.device = backend.as_device(device)
        self.manual_seed(67280421310721)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the generator from ``seed``, an int in [-2**63, 2**64); negative seeds
        are taken modulo 2**64, as in PyTorch. Returns the generator."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed: expected an int, received {seed!r}")
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError(f"manual_seed: expected a seed in [-2**63, 2**64), received {seed}")
        self._seed = seed % 2**64
        self._bitgen = np.random.PCG64(self._seed)
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
        words = [
            st["state"]["state"],
            st["state"]["inc"],
            st["has_uint32"],
            st["uinteger"],
            self._seed,
        ]
        raw = b"".join(int(w).to_bytes(16, "little", signed=False) for w in words)
        return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state()``; the numbers that follow repeat."""
        from ember.tensor import Tensor

        if not isinstance(new_state, Tensor):
            raise TypeError(
                f"set_state: expected a uint8 tensor from get_state(), received "
                f"{type(new_state).__name__}"
            )
        arr = np.asarray(new_state.detach().numpy())
        if arr.dtype != np.uint8 or arr.shape != (80,):
            raise ValueError(
                f"set_state: expected a uint8 tensor of shape (80,) from get_state(), received "
                f"dtype {arr.dtype}, shape {arr.shape}"
            )
        raw = arr.tobytes()
        w = [int.from_bytes(raw[i : i + 16], "little") for i in range(0, 80, 16)]
        if w[1] % 2 == 0 or w[2] > 1 or w[3] >= 2**32 or w[4] >= 2**64:
            raise ValueError("set_state: this tensor is not a state returned by get_state()")
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
    """Seed ember's default generator, so that what follows repeats; returns it.

    Example: ``ember.manual_seed(0); a = ember.rand(3); ember.manual_seed(0)`` and
    ``ember.rand(3)`` equals ``a``."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator last started from."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state, a uint8 tensor for ``set_rng_state``."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from ``get_rng_state()``."""
    default_generator.set_state(new_state)


def _rng(generator):
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator: expected an ember.Generator, received {type(generator).__name__}"
        )
    return generator._rng
