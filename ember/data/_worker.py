"""What runs inside a DataLoader worker process, and what travels between it and the loader.

Protocol. The loader gives each worker its own index queue and shares one result queue:

* loader -> worker: ``(epoch, batch_number, index)``, where ``index`` is a list of dataset
  indices (or one index without batching, or a list of Nones for an iterable dataset), or
  ``None`` to stop.
* worker -> loader: the bytes of ``pickle.dumps((epoch, batch_number, payload))``, where the
  payload is the packed batch, an ``_End`` (the worker's iterable dataset is exhausted) or a
  ``WorkerError``. The worker pickles itself, rather than letting the queue do it in a
  background thread, so that a batch that cannot be pickled becomes an error the loader
  reports instead of a batch that never arrives.

Tensors cross as NumPy arrays (``_TensorData``) and become tensors again in the loader:
only the data travels, not ``requires_grad`` or the graph.
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import traceback
from dataclasses import dataclass

import numpy as np

from ember import backend
from ember.tensor import Tensor

_POLL_S = 1.0  # how often an idle worker checks that its loader is still alive


@dataclass
class WorkerInfo:
    """What a worker knows about itself: ``ember.data.get_worker_info()`` inside a worker.

    id: the worker's number, 0 … num_workers - 1; seed: the seed its random generators
    (ember's default, NumPy's global one, Python's ``random``) started from; dataset: the
    worker's own copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its WorkerInfo (id, num_workers, seed, dataset);
    in the main process, None. Use it to split an IterableDataset between workers."""
    return _worker_info


def seed_worker(seed: int) -> None:
    """Seed the random generators a worker's code may use: ember's default generator,
    Python's ``random`` and NumPy's global RandomState (which takes 32-bit words, so it gets
    four words drawn from a SeedSequence of the seed)."""
    from ember.random import manual_seed

    manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))


class _TensorData:
    """A tensor in transit: its data as a NumPy array, and the device to put it back on."""

    __slots__ = ("array", "device")

    def __init__(self, t: Tensor):
        self.array = backend.to_device(t._data, backend.CPU)
        self.device = str(t.device)

    def __reduce__(self):
        return (_rebuild_tensor, (self.array, self.device))


def _rebuild_tensor(array, device):
    t = Tensor._make(array)
    return t if device == "cpu" else t.to(device)


def pack(obj):
    """Replace the tensors inside ``obj`` (walking into dicts, lists and tuples) by
    ``_TensorData``; unpickling rebuilds them as tensors."""
    if isinstance(obj, Tensor):
        return _TensorData(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(pack(v) for v in obj))
    if type(obj) in (list, tuple):
        return type(obj)(pack(v) for v in obj)
    if type(obj) is dict:
        return {k: pack(v) for k, v in obj.items()}
    return obj


class _End:
    """Sent by a worker whose iterable dataset is exhausted."""

    def __init__(self, worker_id: int):
        self.worker_id = worker_id


class WorkerError:
    """An exception raised in a worker, carried to the loader with its traceback text."""

    def __init__(self, worker_id: int, exc: BaseException, where: str):
        self.worker_id = worker_id
        self.exc_type = type(exc)
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # noqa: BLE001 - any failure means it cannot travel
            self.exc_type = RuntimeError  # defined where it cannot be found again by name
        self.message = (
            f"Caught {type(exc).__name__} in DataLoader worker {worker_id} {where}.\n"
            f"Original {traceback.format_exc()}"
        )

    def reraise(self):
        message = self.message
        if self.exc_type is KeyError:
            message = _Verbatim(message)  # KeyError shows repr(arg); keep the lines readable
        try:
            exc = self.exc_type(message)
        except Exception:  # noqa: BLE001 - an exception type with another constructor
            exc = None
        if not isinstance(exc, BaseException):
            exc = RuntimeError(self.message)  # a type whose constructor wants other arguments
        raise exc


class _Verbatim(str):
    def __repr__(self):
        return str(self)


class MapFetcher:
    """Fetches samples from a map-style dataset and collates them."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool):
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class IterFetcher:
    """Takes the next sample (or ``len(index)`` samples) from an iterable dataset; raises
    StopIteration when it is exhausted (or, with drop_last, when too few remain)."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool):
        self.it = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            try:
                return self.collate_fn(next(self.it))
            except StopIteration:
                self.ended = True
                raise
        data = []
        for _ in index:
            try:
                data.append(next(self.it))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            self.ended = True
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(dataset, is_iterable: bool, auto_collation, collate_fn, drop_last):
    cls = IterFetcher if is_iterable else MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


def worker_loop(
    dataset,
    is_iterable,
    auto_collation,
    collate_fn,
    drop_last,
    index_queue,
    result_queue,
    done_event,
    worker_id,
    num_workers,
    seed,
    worker_init_fn,
    parent_pid,
):
    """The body of a worker process: seed, run worker_init_fn, then answer tasks until told
    to stop, the loader is done, or the parent process is gone."""
    global _worker_info
    try:
        seed_worker(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_error = None
        try:
            if worker_init_fn is not None:
                worker_init_fn(worker_id)
        except Exception as e:  # noqa: BLE001 - reported to the loader
            init_error = WorkerError(worker_id, e, "in worker_init_fn")
        fetcher, fetcher_epoch = None, None
        while True:
            try:
                task = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent_pid or done_event.is_set():
                    break
                continue
            if task is None or done_event.is_set():
                break
            epoch, number, index = task
            if init_error is not None:
                payload = init_error
            else:
                try:
                    if fetcher is None or (is_iterable and epoch != fetcher_epoch):
                        # an iterable dataset restarts from its beginning at each new epoch
                        fetcher = make_fetcher(
                            dataset, is_iterable, auto_collation, collate_fn, drop_last
                        )
                        fetcher_epoch = epoch
                    payload = pack(fetcher.fetch(index))
                except StopIteration:
                    payload = _End(worker_id)
                except Exception as e:  # noqa: BLE001 - reported to the loader
                    payload = WorkerError(worker_id, e, f"while fetching batch {number}")
            try:
                message = pickle.dumps((epoch, number, payload), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as e:  # noqa: BLE001 - an unpicklable batch, reported
                message = pickle.dumps(
                    (epoch, number, WorkerError(worker_id, e, f"while sending batch {number}"))
                )
            result_queue.put(message)
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C; the worker just leaves
    finally:
        # Data still buffered for a loader that has stopped reading must not keep us alive.
        result_queue.cancel_join_thread()
