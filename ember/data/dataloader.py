"""DataLoader: batches from a dataset, in the main process or in worker processes.

How an epoch runs. ``iter(loader)`` makes an iterator that takes lists of indices from the
batch sampler (or, for an IterableDataset, just counts batches), fetches the samples and
collates them. With ``num_workers=n > 0`` it starts n processes (the 'fork' start method
where the platform has it, else 'spawn'); batch k goes to worker k % n, at most
``prefetch_factor`` batches per worker are in flight, and batches come back in order.

Randomness. At ``iter()``, the loader draws ``base_seed`` from its ``generator`` (ember's
default generator if None); worker i seeds ember's default generator, NumPy's global
generator and Python's ``random`` from ``base_seed + i``, so ``ember.manual_seed(s)`` before
the epoch makes everything repeatable, the workers' draws included.

Resuming mid-epoch. ``loader.state_dict()`` is ``{"batches_yielded": k,
"generator_states": {...}}``: how many batches the current epoch has given, and the states
that the generators behind its sampling order (ember's default generator, the loader's and
the samplers' own) had when the epoch began. After ``loader.load_state_dict(state)``, the
next ``iter(loader)`` sets those generators back to the epoch's start, draws the same order
and the same ``base_seed``, skips the first k batches of indices without loading them,
and then sets ember's default generator back to the state it had just before (restore that
one yourself, with ``ember.set_rng_state``, as part of a checkpoint): the loader continues
with exactly batch k. The loader's and samplers' own generators are left where the
uninterrupted epoch would have left them. Two limits: an IterableDataset has no indices to
skip, so its first k batches are fetched again and dropped; and random draws made inside
worker processes restart from the workers' seeds, rather than from where they were.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import numbers
import os
import pickle
import queue
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from ember import random as _random
from ember.data import _worker
from ember.data._worker import WorkerError, _End, make_fetcher, worker_loop
from ember.data.collate import default_collate, default_convert
from ember.data.dataset import Dataset, IterableDataset
from ember.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from ember.random import Generator

__all__ = ["DataLoader"]

T_co = TypeVar("T_co", covariant=True)

_POLL_S = 1.0  # how often a waiting loader checks that its workers are alive
_JOIN_S = 2.0  # how long finished workers get to leave before they are terminated


class _InfiniteConstantSampler(Sampler):
    """For an IterableDataset: None, forever (the dataset decides when the epoch ends)."""

    def __iter__(self):
        while True:
            yield None


class _EpochState:
    """What ``state_dict`` needs about the running epoch; the iterator keeps it up to date."""

    def __init__(self, generator_states: dict):
        self.generator_states = generator_states
        self.yielded = 0
        self.finished = False


class DataLoader(Generic[T_co]):
    """Batches from a dataset: ``for x, y in DataLoader(ds, batch_size=32, shuffle=True)``.

    Arguments (PyTorch's):
        dataset: a map-style Dataset (``len`` and ``[i]``) or an IterableDataset.
        batch_size: samples per batch; None turns batching off (each sample is only
            converted: NumPy arrays become tensors).
        shuffle: a new random order each epoch (drawn from ``generator``, or from ember's
            default generator).
        sampler: the order of indices (exclusive with shuffle); batch_sampler: the batches of
            indices (exclusive with batch_size, shuffle, sampler and drop_last).
        num_workers: worker processes (0: load in the main process).
        collate_fn: list of samples -> batch; ``default_collate`` by default.
        pin_memory: accepted for PyTorch compatibility; ember has no pinned memory, so it
            changes nothing.
        drop_last: drop the last batch if it is smaller than batch_size.
        timeout: seconds to wait for a worker's batch before raising a RuntimeError that
            names the worker (0: wait as long as it takes, while the workers are alive).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after seeding.
        multiprocessing_context: a start method name ('fork', 'spawn', 'forkserver') or a
            multiprocessing context; 'fork' where available, else 'spawn'. With 'spawn', the
            dataset and functions must be picklable (defined at module level).
        generator: an ``ember.Generator`` for the shuffle order and the workers' base seed.
        prefetch_factor: batches in flight per worker (2 by default with workers).
        persistent_workers: keep the workers alive between epochs.

    Shapes: with ``TensorDataset(x, y)`` where x is (N, ...), batches are
    ``[x[idx], y[idx]]`` with first dim batch_size (the last one may be smaller).

    Example::

        ds = TensorDataset(ember.randn(100, 3), ember.arange(100))
        for x, y in DataLoader(ds, batch_size=32, shuffle=True, num_workers=2):
            ...  # x: (32, 3), y: (32,)
    """

    _FROZEN = (
        "batch_size",
        "batch_sampler",
        "sampler",
        "drop_last",
        "dataset",
        "persistent_workers",
    )

    def __init__(
        self,
        dataset: Dataset[T_co],
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ):
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
            raise TypeError(
                f"DataLoader: num_workers should be an int, received {type(num_workers).__name__}"
            )
        if num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be non-negative (received {num_workers}); "
                "use num_workers=0 to disable multiprocessing"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(
                f"DataLoader: timeout option should be a non-negative number, received {timeout!r}"
            )
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None"
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (
            isinstance(prefetch_factor, bool)
            or not isinstance(prefetch_factor, numbers.Integral)
            or prefetch_factor < 1
        ):
            raise ValueError(
                f"DataLoader: prefetch_factor option should be a positive integer, received "
                f"{prefetch_factor!r}"
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(
                f"DataLoader: generator must be an ember.Generator or None, received "
                f"{type(generator).__name__}"
            )
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(
                f"DataLoader: worker_init_fn must be callable, received "
                f"{type(worker_init_fn).__name__}"
            )

        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but "
                    f"got shuffle={shuffle!r}; an IterableDataset decides its own order"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but "
                    f"got sampler={sampler!r}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler!r}"
                )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )

        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert

        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.drop_last = drop_last
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self._mp_context()  # validate now rather than at the first epoch
        self._epoch: _EpochState | None = None
        self._resume: dict | None = None
        self._pool: _WorkerPool | None = None
        self._initialized = True

    def __setattr__(self, name, value):
        if name in self._FROZEN and getattr(self, "_initialized", False):
            raise ValueError(
                f"{name} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(name, value)

    # ---------------------------------------------------------------- structure
    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    @property
    def _is_iterable(self) -> bool:
        return isinstance(self.dataset, IterableDataset)

    def _mp_context(self):
        ctx = self.multiprocessing_context
        methods = multiprocessing.get_all_start_methods()
        if ctx is not None and self.num_workers == 0:
            raise ValueError(
                "DataLoader: multiprocessing_context can only be used with multi-process loading "
                f"(num_workers > 0), but got num_workers={self.num_workers}"
            )
        if ctx is None:
            return multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        if isinstance(ctx, str):
            if ctx not in methods:
                raise ValueError(
                    f"DataLoader: multiprocessing_context option should specify a valid start "
                    f"method in {methods!r}, but got multiprocessing_context={ctx!r}"
                )
            return multiprocessing.get_context(ctx)
        if not isinstance(ctx, multiprocessing.context.BaseContext):
            raise TypeError(
                f"DataLoader: multiprocessing_context option should be a start method name or a "
                f"multiprocessing context, but got {type(ctx).__name__}"
            )
        return ctx

    def _generators(self) -> dict:
        """The generators an epoch's sampling order may draw from, by name, each once."""
        found = {"default": _random.default_generator}
        if self.generator is not None:
            found["loader"] = self.generator
        candidates = (
            ("sampler", self.sampler),
            ("batch_sampler", self.batch_sampler),
            ("batch_sampler.sampler", getattr(self.batch_sampler, "sampler", None)),
        )
        for name, obj in candidates:
            g = getattr(obj, "generator", None)
            if isinstance(g, Generator) and all(g is not h for h in found.values()):
                found[name] = g
        return found

    # ---------------------------------------------------------------- iteration
    def __iter__(self):
        resume, self._resume = self._resume, None
        if self.num_workers == 0:
            return _SingleProcessIter(self, resume)
        return _MultiProcessIter(self, resume)

    def __len__(self) -> int:
        if self._is_iterable:
            n = len(self.dataset)  # a TypeError when the stream has no length, as PyTorch
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()

    # ---------------------------------------------------------------- resume
    def state_dict(self) -> dict:
        """Where the current epoch stands: ``{"batches_yielded": k, "generator_states":
        {name: uint8 tensor}}`` (None between epochs). See the module docstring."""
        if self._resume is not None:
            return dict(self._resume)
        ep = self._epoch
        if ep is None or ep.finished:
            return {"batches_yielded": 0, "generator_states": None}
        return {"batches_yielded": ep.yielded, "generator_states": dict(ep.generator_states)}

    def load_state_dict(self, state_dict: dict) -> None:
        """Make the next ``iter(loader)`` continue the epoch recorded by ``state_dict()``."""
        if not isinstance(state_dict, dict) or set(state_dict) != {
            "batches_yielded",
            "generator_states",
        }:
            raise ValueError(
                "DataLoader.load_state_dict: expected a dict with keys 'batches_yielded' and "
                f"'generator_states' from DataLoader.state_dict(), received {state_dict!r:.200}"
            )
        k, states = state_dict["batches_yielded"], state_dict["generator_states"]
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ValueError(
                f"DataLoader.load_state_dict: batches_yielded must be a non-negative int, "
                f"received {k!r}"
            )
        if states is None:
            if k:
                raise ValueError(
                    "DataLoader.load_state_dict: a state with batches_yielded > 0 needs the "
                    "generator_states of its epoch"
                )
            self._resume, self._epoch = None, None
            return
        if not isinstance(states, dict) or set(states) != set(self._generators()):
            got = sorted(states) if isinstance(states, dict) else type(states).__name__
            raise ValueError(
                f"DataLoader.load_state_dict: the state holds generators {got}, but this "
                f"loader draws from {sorted(self._generators())}; was it saved from a loader "
                "made the same way?"
            )
        self._resume = {"batches_yielded": int(k), "generator_states": dict(states)}


class _BaseIter:
    """Starts an epoch: draws the sampling order and the workers' base seed, and keeps the
    epoch's state for ``DataLoader.state_dict``."""

    def __init__(self, loader: DataLoader, resume: dict | None):
        self._loader = loader
        self._is_iterable = loader._is_iterable
        self._auto_collation = loader._auto_collation
        self._finished = False
        generators = loader._generators()
        default = _random.default_generator
        skip = 0
        if resume is not None:
            before = default.get_state()
            for name, st in resume["generator_states"].items():
                generators[name].set_state(st)
            skip = resume["batches_yielded"]
        start_states = {name: g.get_state() for name, g in generators.items()}
        try:
            self._sampler_iter = iter(loader._index_sampler)
            if not self._is_iterable:
                for _ in range(skip):
                    if next(self._sampler_iter, _DONE) is _DONE:
                        break
            # Take the first batch of indices now: a lazy sampler draws its order here, while
            # the generators are where the epoch's start left them.
            self._pending = next(self._sampler_iter, _DONE)
            self._base_seed = int(_random._rng(loader.generator).integers(0, 2**63))
        finally:
            if resume is not None:
                default.set_state(before)
        self._state = _EpochState(start_states)
        self._state.yielded = 0 if self._is_iterable else skip
        loader._epoch = self._state
        self._replay = skip if self._is_iterable else 0
        self._start = 0 if self._is_iterable else skip

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def _next_index(self):
        if self._pending is not _DONE:
            index, self._pending = self._pending, _DONE
            return index
        return next(self._sampler_iter)

    def _finish(self):
        self._finished = True
        self._state.finished = True

    def _skip_replayed(self):
        # An IterableDataset cannot jump ahead: fetch the batches already seen, and drop them.
        while self._replay:
            self._replay -= 1
            try:
                next(self)
            except StopIteration:
                return


_DONE = object()


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader, resume):
        super().__init__(loader, resume)
        self._fetcher = make_fetcher(
            loader.dataset,
            self._is_iterable,
            self._auto_collation,
            loader.collate_fn,
            loader.drop_last,
        )
        self._skip_replayed()

    def __next__(self):
        if self._finished:
            raise StopIteration
        try:
            data = self._fetcher.fetch(self._next_index())
        except StopIteration:
            self._finish()
            raise
        self._state.yielded += 1
        return data


class _WorkerPool:
    """The worker processes of one loader, with their queues; ``shutdown`` ends them."""

    def __init__(self, loader: DataLoader, base_seed: int):
        ctx = loader._mp_context()
        n = loader.num_workers
        self.result_queue = ctx.Queue()
        self.done = ctx.Event()
        self.index_queues, self.procs = [], []
        self.epoch = 0
        self.closed = False
        try:
            for i in range(n):
                q = ctx.Queue()
                p = ctx.Process(
                    target=worker_loop,
                    args=(
                        loader.dataset,
                        loader._is_iterable,
                        loader._auto_collation,
                        loader.collate_fn,
                        loader.drop_last,
                        q,
                        self.result_queue,
                        self.done,
                        i,
                        n,
                        base_seed + i,
                        loader.worker_init_fn,
                        os.getpid(),
                    ),
                    daemon=True,
                )
                self.index_queues.append(q)
                p.start()
                self.procs.append(p)
        except BaseException:
            self.shutdown(graceful=False)
            raise

    def shutdown(self, graceful: bool = True) -> None:
        """Stop the workers, join them (terminating those that do not leave in time) and
        close the queues; safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        try:
            self.done.set()
            for q in self.index_queues:
                try:
                    q.put(None)
                except (OSError, ValueError):
                    pass
            deadline = time.monotonic() + (_JOIN_S if graceful else 0.0)
            for p in self.procs:
                p.join(max(0.0, deadline - time.monotonic()))
            for p in self.procs:
                if p.is_alive():
                    p.terminate()
                    p.join()
            for q in [*self.index_queues, self.result_queue]:
                q.cancel_join_thread()
                q.close()
        except Exception:  # noqa: BLE001, S110 - at interpreter exit, parts of multiprocessing may be gone
            pass

    def __del__(self):
        self.shutdown(graceful=False)


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader, resume):
        super().__init__(loader, resume)
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        pool = loader._pool if loader.persistent_workers else None
        if pool is None or pool.closed:
            pool = _WorkerPool(loader, self._base_seed)
            if loader.persistent_workers:
                loader._pool = pool
        self._pool = pool
        pool.epoch += 1
        self._epoch = pool.epoch
        self._send_idx = self._rcvd_idx = self._start
        self._task_worker: dict[int, int] = {}
        self._reorder: dict[int, object] = {}
        self._active = [True] * self._num_workers
        self._next_worker = 0
        self._sampler_done = False
        for _ in range(loader.prefetch_factor * self._num_workers):
            self._try_put_index()
        self._skip_replayed()

    def _try_put_index(self):
        if self._sampler_done:
            return
        if self._send_idx - self._rcvd_idx >= self._loader.prefetch_factor * self._num_workers:
            return
        if self._is_iterable:
            for _ in range(self._num_workers):
                w = self._next_worker
                self._next_worker = (w + 1) % self._num_workers
                if self._active[w]:
                    break
            else:
                return  # every worker's stream has ended
        else:
            w = self._send_idx % self._num_workers
        try:
            index = self._next_index()
        except StopIteration:
            self._sampler_done = True
            return
        self._pool.index_queues[w].put((self._epoch, self._send_idx, index))
        self._task_worker[self._send_idx] = w
        self._send_idx += 1

    def __next__(self):
        while True:
            if self._finished:
                raise StopIteration
            if self._rcvd_idx == self._send_idx:
                self._finish()
                self._release()
                raise StopIteration
            number = self._rcvd_idx
            if number in self._reorder:
                payload = self._reorder.pop(number)
            else:
                payload = self._receive(number)
            del self._task_worker[number]
            self._rcvd_idx += 1
            self._try_put_index()
            if isinstance(payload, _End):
                self._active[payload.worker_id] = False
                continue
            if isinstance(payload, WorkerError):
                self._fail()
                payload.reraise()
            self._state.yielded += 1
            return payload

    def _receive(self, number: int):
        """Wait for batch ``number``, keeping the ones that arrive before it."""
        worker = self._task_worker[number]
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            if wait <= 0:
                self._fail()
                raise RuntimeError(
                    f"DataLoader worker {worker} timed out after {float(self._timeout)} s "
                    f"fetching batch {number}"
                )
            try:
                message = self._pool.result_queue.get(timeout=wait)
            except queue.Empty:
                self._check_alive()
                continue
            try:
                epoch, n, payload = pickle.loads(message)
            except Exception as e:
                self._fail()
                raise RuntimeError(
                    f"DataLoader: a batch from the workers could not be unpickled in the main "
                    f"process ({type(e).__name__}: {e})"
                ) from e
            if epoch != self._epoch:
                continue  # left over from an epoch that was abandoned (persistent workers)
            if n == number:
                return payload
            self._reorder[n] = payload

    def _check_alive(self):
        for i, p in enumerate(self._pool.procs):
            code = p.exitcode
            if code is not None:
                how = f"killed by signal {-code}" if code < 0 else f"with exit code {code}"
                self._fail()
                raise RuntimeError(
                    f"DataLoader worker {i} (pid {p.pid}) exited unexpectedly {how}; "
                    "if it was killed for memory, try fewer workers or smaller batches"
                )

    def _release(self):
        if not self._loader.persistent_workers:
            self._pool.shutdown()

    def _fail(self):
        self._finish()
        self._pool.shutdown(graceful=False)
        if self._loader._pool is self._pool:
            self._loader._pool = None

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None and not self._loader.persistent_workers:
            pool.shutdown(graceful=False)


get_worker_info = _worker.get_worker_info
