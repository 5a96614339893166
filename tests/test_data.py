"""ember.data: datasets, samplers, collation and the DataLoader (single and multi-process,
resume state), against torch.utils.data wherever the semantics are the same."""

import collections
import gc
import multiprocessing
import os
import random
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import ember
import ember.utils.data as eud
from ember.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from tests.oracle import TORCH_TO_NAME, check_raises

FORK = "fork" in multiprocessing.get_all_start_methods()
needs_fork = pytest.mark.skipif(not FORK, reason="worker tests define datasets in the test module")


def same(e, t):
    """ember output ``e`` equals torch output ``t``: same structure, tensor values and dtypes."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"expected a Tensor, got {type(e).__name__}"
        assert e.dtype.name == TORCH_TO_NAME[t.dtype], (e.dtype, t.dtype)
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            same(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e).__name__ == type(t).__name__ and len(e) == len(t), (e, t)
        for a, b in zip(e, t):
            same(a, b)
    else:
        assert type(e) is type(t) and e == t, (e, t)


def tensors(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return (ember.tensor(x), ember.tensor(y)), (torch.tensor(x), torch.tensor(y))


def ids(loader):
    """The second field of each batch, as lists: which samples each batch holds."""
    return [b[1].tolist() for b in loader]


# ---------------------------------------------------------------- datasets
def test_tensor_dataset_items_and_len_match_torch():
    (ex, ey), (tx, ty) = tensors(5)
    e, t = TensorDataset(ex, ey), tud.TensorDataset(tx, ty)
    assert len(e) == len(t) == 5
    for i in (0, 3, -1):
        same(e[i], t[i])
    same(e[1:3], t[1:3])


def test_tensor_dataset_size_mismatch_names_the_sizes():
    with pytest.raises(ValueError, match=r"size mismatch.*\[3, 4\]"):
        TensorDataset(ember.zeros(3, 2), ember.zeros(4))
    with pytest.raises(AssertionError):  # torch refuses too (with an assert)
        tud.TensorDataset(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(TypeError, match="expected tensors"):
        TensorDataset(ember.zeros(3), np.zeros(3))


def test_subset_concat_and_chain_match_torch():
    a, b = list(range(5)), list(range(10, 13))
    for m, lib in ((eud, "ember"), (tud, "torch")):
        s = m.Subset(a, [4, 0, 2])
        assert [s[i] for i in range(len(s))] == [4, 0, 2], lib
        c = m.ConcatDataset([a, b])
        assert len(c) == 8 and [c[i] for i in range(8)] == a + b, lib
        assert c[-1] == 12 and c[-8] == 0 and c.cumulative_sizes == [5, 8], lib
    assert Subset(TensorDataset(ember.arange(5)), [3, 1]).__getitems__([0, 1])[1][0].item() == 1


def test_concat_dataset_errors():
    c = ConcatDataset([[1, 2], [3]])
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        c[-4]
    with pytest.raises(IndexError, match="out of range"):
        c[3]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])

    class Stream(IterableDataset):
        def __iter__(self):
            return iter([1])

    with pytest.raises(TypeError, match="ChainDataset"):
        ConcatDataset([Stream()])


class Range(IterableDataset):
    """range(start, stop), split between DataLoader workers as PyTorch's docs show."""

    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        info = get_worker_info()
        step, first = (1, self.start) if info is None else (info.num_workers, self.start + info.id)
        return iter(range(first, self.stop, step))

    def __len__(self):
        return self.stop - self.start


class TorchRange(tud.IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        info = tud.get_worker_info()
        step, first = (1, self.start) if info is None else (info.num_workers, self.start + info.id)
        return iter(range(first, self.stop, step))


def test_dataset_addition():
    both = TensorDataset(ember.arange(2)) + Subset([(5,), (6,), (7,)], [2])
    assert isinstance(both, ConcatDataset) and [both[i][0] for i in range(3)] == [0, 1, 7]
    chain = Range(0, 3) + Range(10, 12)
    assert isinstance(chain, ChainDataset)
    assert list(chain) == [0, 1, 2, 10, 11] and len(chain) == 5
    with pytest.raises(NotImplementedError):
        Dataset()[0]


@pytest.mark.parametrize(
    "lengths", [[3, 7], [0.3, 0.7], [0.5, 0.5], [1 / 3] * 3, [0.1, 0.2, 0.3, 0.4], [10], [0.25] * 4]
)
def test_random_split_lengths_match_torch(lengths):
    n = 10
    with np.errstate(all="ignore"):
        t = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
        e = random_split(range(n), lengths, generator=ember.Generator().manual_seed(0))
    assert [len(s) for s in e] == [len(s) for s in t]
    items = sorted(i for s in e for i in (s[k] for k in range(len(s))))
    assert items == list(range(n))  # disjoint, and covering the dataset


def test_random_split_is_seeded():
    parts = lambda g=None: [list(s.indices) for s in random_split(range(20), [5, 15], generator=g)]
    assert parts(ember.Generator().manual_seed(3)) == parts(ember.Generator().manual_seed(3))
    assert parts(ember.Generator().manual_seed(3)) != parts(ember.Generator().manual_seed(4))
    ember.manual_seed(7)
    a = parts()
    ember.manual_seed(7)
    assert parts() == a


def test_random_split_errors_and_warning():
    check_raises(lambda m: m.utils.data.random_split(range(10), [3, 8]), match="does not equal")
    check_raises(lambda m: m.utils.data.random_split(range(10), [1.5, -0.5]), match="index 0")
    with pytest.warns(UserWarning, match="index 1"):
        random_split(range(2), [0.99, 0.01])


# ---------------------------------------------------------------- samplers
@pytest.mark.parametrize(
    "n,batch_size,drop_last",
    [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (0, 2, False), (2, 5, True)],
)
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    e = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    t = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(e) == list(t)
    assert len(e) == len(t)
    assert list(SequentialSampler(range(n))) == list(tud.SequentialSampler(range(n)))


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_batch_sampler_rejects_a_bad_batch_size(bad):
    check_raises(lambda m: m.utils.data.BatchSampler(range(4), bad, False), match="batch_size")
    check_raises(lambda m: m.utils.data.BatchSampler(range(4), 2, 1), match="drop_last")


def test_random_sampler_is_a_seeded_permutation():
    g = lambda s: ember.Generator().manual_seed(s)
    a = list(RandomSampler(range(20), generator=g(1)))
    assert sorted(a) == list(range(20)) and a != list(range(20))
    assert a == list(RandomSampler(range(20), generator=g(1)))
    ember.manual_seed(5)
    b = list(RandomSampler(range(20)))
    ember.manual_seed(5)
    assert list(RandomSampler(range(20))) == b
    s = RandomSampler(range(20), generator=g(1))
    assert list(s) != list(s)  # each epoch a new order


def test_random_sampler_num_samples_and_replacement():
    s = RandomSampler(range(4), num_samples=10)
    out = list(s)
    assert len(out) == len(s) == len(tud.RandomSampler(range(4), num_samples=10)) == 10
    # without replacement, whole permutations follow each other (as PyTorch)
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3] and set(out[8:]) <= {0, 1, 2, 3}
    r = list(RandomSampler(range(3), replacement=True, num_samples=300))
    assert set(r) == {0, 1, 2} and len(r) == 300
    check_raises(lambda m: m.utils.data.RandomSampler(range(3), num_samples=0), match="num_samples")
    check_raises(lambda m: m.utils.data.RandomSampler([]), match="num_samples")
    check_raises(lambda m: m.utils.data.RandomSampler(range(3), replacement=1), match="replacement")
    with pytest.raises(TypeError, match="ember.Generator"):
        RandomSampler(range(3), generator=torch.Generator())


def test_subset_and_weighted_samplers():
    out = list(SubsetRandomSampler([10, 20, 30, 40]))
    assert sorted(out) == [10, 20, 30, 40]
    assert len(SubsetRandomSampler([1, 2])) == 2
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200))
    assert set(w) == {1, 3} and 100 < w.count(3) < 190  # p(3) = 0.75
    w = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False))
    assert sorted(w) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1, 0], 2, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], 2)


# ---------------------------------------------------------------- collate
Point = collections.namedtuple("Point", ["x", "y"])


def batches(lib):
    """The same samples built with ``lib``'s tensors."""
    ten = lambda v, **k: (ember.tensor if lib == "ember" else torch.tensor)(v, **k)
    return {
        "tensors": [ten([1.0, 2.0]), ten([3.0, 4.0])],
        "int tensors": [ten(1), ten(2)],
        "floats": [1.5, 2.0],
        "ints": [1, 2],
        "ints and a float": [1, 2.5],
        "bools": [True, False],
        "strings": ["a", "b"],
        "bytes": [b"a", b"b"],
        "arrays f32": [np.ones(2, np.float32), np.zeros(2, np.float32)],
        "arrays i32": [np.ones((2, 1), np.int32), np.zeros((2, 1), np.int32)],
        "arrays u8": [np.ones(3, np.uint8), np.zeros(3, np.uint8)],
        "0-d arrays": [np.array(1.0), np.array(2.0)],
        "numpy scalars f32": [np.float32(1), np.float32(2)],
        "numpy scalars i16": [np.int16(1), np.int16(2)],
        "numpy bools": [np.bool_(True), np.bool_(False)],
        "numpy float64s": [np.float64(0.5), np.float64(1)],
        "tuples": [(ten([1.0]), 1, "a"), (ten([2.0]), 2, "b")],
        "lists": [[1, 2.5], [3, 4.5]],
        "dicts": [{"x": ten([1, 2]), "y": 0.5}, {"x": ten([3, 4]), "y": 1.5}],
        "namedtuples": [Point(1, np.float64(2)), Point(3, np.float64(4))],
        "nested": [{"a": [(1, 2.0)], "b": {"c": "s"}}, {"a": [(3, 4.0)], "b": {"c": "t"}}],
    }


@pytest.mark.parametrize("name", list(batches("torch")))
def test_default_collate_matches_torch(name):
    same(default_collate(batches("ember")[name]), tud.default_collate(batches("torch")[name]))


@pytest.mark.parametrize("name", list(batches("torch")))
def test_default_convert_matches_torch(name):
    for e, t in zip(batches("ember")[name], batches("torch")[name]):
        same(default_convert(e), tud.default_convert(t))


def test_default_collate_errors():
    check_raises(
        lambda m: m.utils.data.default_collate([[1, 2], [3]]), match="each element in list"
    )
    check_raises(lambda m: m.utils.data.default_collate([object()]), match="found <class 'object'>")
    check_raises(
        lambda m: m.utils.data.default_collate([np.array(["a"]), np.array(["b"])]), match="found"
    )
    with pytest.raises(RuntimeError, match=r"equal size.*\(2,\), \(3,\)"):
        default_collate([ember.zeros(2), ember.zeros(3)])
    assert default_convert(np.array(["a"])).tolist() == ["a"]  # left alone, as PyTorch


# ---------------------------------------------------------------- DataLoader, main process
@pytest.mark.parametrize(
    "batch_size,drop_last", [(1, False), (3, False), (3, True), (5, True), (20, False)]
)
def test_sequential_loader_matches_torch(batch_size, drop_last):
    (ex, ey), (tx, ty) = tensors(10)
    e = DataLoader(TensorDataset(ex, ey), batch_size=batch_size, drop_last=drop_last)
    t = tud.DataLoader(tud.TensorDataset(tx, ty), batch_size=batch_size, drop_last=drop_last)
    assert len(e) == len(t)
    eb, tb = list(e), list(t)
    assert len(eb) == len(tb)
    for a, b in zip(eb, tb):
        same(a, b)


def test_loader_without_batching_matches_torch():
    data = [np.full(2, i, np.float32) for i in range(3)]
    e, t = DataLoader(data, batch_size=None), tud.DataLoader(data, batch_size=None)
    assert len(e) == len(t) == 3
    for a, b in zip(e, t):
        same(a, b)


def test_loader_custom_collate_and_samplers():
    ds = list(range(10))
    out = list(DataLoader(ds, batch_size=4, collate_fn=lambda b: sum(b)))
    assert out == [6, 22, 17]
    out = list(DataLoader(ds, batch_sampler=[[9, 0], [5]]))
    assert [b.tolist() for b in out] == [[9, 0], [5]]
    assert [b.tolist() for b in DataLoader(ds, sampler=[3, 1], batch_size=2)] == [[3, 1]]


def test_shuffle_is_repeatable_with_manual_seed_and_generator():
    (ex, ey), _ = tensors(20)
    ds = TensorDataset(ex, ey)
    ember.manual_seed(0)
    a = ids(DataLoader(ds, batch_size=4, shuffle=True))
    ember.manual_seed(0)
    b = ids(DataLoader(ds, batch_size=4, shuffle=True))
    order = [i for batch in a for i in batch]
    assert a == b and sorted(order) == list(range(20)) and order != list(range(20))
    ember.manual_seed(1)
    assert ids(DataLoader(ds, batch_size=4, shuffle=True)) != a
    g = lambda: ember.Generator().manual_seed(5)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g())
    first, second = ids(loader), ids(loader)
    assert first != second  # a new order each epoch
    assert ids(DataLoader(ds, batch_size=4, shuffle=True, generator=g())) == first


def test_drop_last_with_shuffle():
    loader = DataLoader(list(range(10)), batch_size=4, shuffle=True, drop_last=True)
    out = [b.tolist() for b in loader]
    assert len(out) == len(loader) == 2 and all(len(b) == 4 for b in out)


def test_loader_option_errors_match_torch():
    ds = list(range(10))
    dl = lambda m, **k: m.utils.data.DataLoader(ds, **k)
    check_raises(lambda m: dl(m, batch_sampler=[[0]], batch_size=2), match="mutually exclusive")
    check_raises(lambda m: dl(m, batch_sampler=[[0]], shuffle=True), match="mutually exclusive")
    check_raises(lambda m: dl(m, batch_sampler=[[0]], sampler=[0]), match="mutually exclusive")
    check_raises(lambda m: dl(m, batch_sampler=[[0]], drop_last=True), match="mutually exclusive")
    check_raises(
        lambda m: dl(m, sampler=[0], shuffle=True), match="mutually exclusive with shuffle"
    )
    check_raises(lambda m: dl(m, batch_size=None, drop_last=True), match="batch_size=None")
    check_raises(lambda m: dl(m, num_workers=-1), match="non-negative")
    check_raises(lambda m: dl(m, timeout=-1), match="timeout")
    check_raises(lambda m: dl(m, prefetch_factor=2), match="prefetch_factor")
    check_raises(lambda m: dl(m, persistent_workers=True), match="persistent_workers")
    check_raises(
        lambda m: dl(m, num_workers=1, multiprocessing_context="nope"), match="start method"
    )
    r = lambda m: (Range if m is ember else TorchRange)(0, 3)
    check_raises(lambda m: m.utils.data.DataLoader(r(m), shuffle=True), match="shuffle")
    check_raises(lambda m: m.utils.data.DataLoader(r(m), sampler=[0]), match="sampler")
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        DataLoader(ds).batch_size = 3


def test_iterable_dataset_in_main_process_matches_torch():
    for bs, drop in ((3, False), (3, True), (None, False)):
        e = DataLoader(Range(0, 10), batch_size=bs, drop_last=drop)
        t = tud.DataLoader(TorchRange(0, 10), batch_size=bs, drop_last=drop)
        for a, b in zip(e, t, strict=True):
            same(a, b)
    assert len(DataLoader(Range(0, 10), batch_size=3)) == 4
    assert len(DataLoader(Range(0, 10), batch_size=3, drop_last=True)) == 3


def test_get_worker_info_is_none_in_the_main_process():
    assert get_worker_info() is None


# ---------------------------------------------------------------- DataLoader, workers
class Draws(Dataset):
    """Each sample reports who fetched it and one draw of each random generator."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "i": i,
            "worker": -1 if info is None else info.id,
            "seed": -1 if info is None else info.seed,
            "num_workers": -1 if info is None else info.num_workers,
            "same_dataset": info is not None and isinstance(info.dataset, Draws),
            "ember": ember.rand(1).item(),
            "numpy": float(np.random.rand()),
            "python": random.random(),
            "tensor": ember.full((2,), float(i)),
        }


def no_children():
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return multiprocessing.active_children() == []


@needs_fork
def test_workers_give_the_same_batches_as_the_main_process():
    (ex, ey), _ = tensors(23)
    ds = TensorDataset(ex, ey)
    for kw in ({"batch_size": 4}, {"batch_size": 4, "shuffle": True, "drop_last": True}):
        ember.manual_seed(3)
        ref = list(DataLoader(ds, **kw))
        ember.manual_seed(3)
        got = list(DataLoader(ds, num_workers=3, prefetch_factor=1, **kw))
        assert len(got) == len(ref)
        for a, b in zip(got, ref):
            assert a[0].dtype == b[0].dtype and np.array_equal(a[0].numpy(), b[0].numpy())
            assert np.array_equal(a[1].numpy(), b[1].numpy())
    assert no_children()


@needs_fork
def test_worker_seeds_are_distinct_and_repeatable():
    def run():
        ember.manual_seed(11)
        return [b for b in DataLoader(Draws(), batch_size=2, num_workers=2)]

    first, second = run(), run()
    assert first[0]["tensor"].tolist() == [[0.0, 0.0], [1.0, 1.0]]
    rows = [
        {k: v.tolist() if isinstance(v, ember.Tensor) else v for k, v in b.items()} for b in first
    ]
    assert rows == [
        {k: v.tolist() if isinstance(v, ember.Tensor) else v for k, v in b.items()} for b in second
    ]
    # batch k comes from worker k % 2, whose seed is base_seed + worker id
    assert [r["worker"] for r in rows] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    assert all(r["num_workers"] == [2, 2] and r["same_dataset"] == [True, True] for r in rows)
    s0, s1 = rows[0]["seed"][0], rows[1]["seed"][0]
    assert s1 == s0 + 1
    for key in ("ember", "numpy", "python"):
        w0 = rows[0][key] + rows[2][key]
        w1 = rows[1][key] + rows[3][key]
        assert len(set(w0 + w1)) == 8, key  # no repeats within or across workers
    # the main process's generators seeded the same way would give worker 0's draws
    ember.manual_seed(s0)
    assert ember.rand(1).item() == rows[0]["ember"][0]
    random.seed(s0)
    assert random.random() == rows[0]["python"][0]
    ember.manual_seed(12)
    assert [b["ember"].tolist() for b in DataLoader(Draws(), batch_size=2, num_workers=2)] != [
        r["ember"] for r in rows
    ]
    assert no_children()


def record_worker(worker_id):
    os.environ["EMBER_TEST_WORKER"] = str(worker_id)


class EnvReader(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return int(os.environ.get("EMBER_TEST_WORKER", "-1"))


@needs_fork
def test_worker_init_fn_runs_in_each_worker():
    loader = DataLoader(EnvReader(), batch_size=1, num_workers=2, worker_init_fn=record_worker)
    assert [b.item() for b in loader] == [0, 1, 0, 1]


@needs_fork
def test_iterable_dataset_with_workers_matches_torch():
    kw = {"batch_size": 3, "num_workers": 2}
    e = [b.tolist() for b in DataLoader(Range(0, 10), **kw)]
    t = [b.tolist() for b in tud.DataLoader(TorchRange(0, 10), **kw)]
    assert e == t == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    assert no_children()


class Sleepy(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            time.sleep(30)
        return i


@needs_fork
def test_timeout_names_the_stalled_worker():
    loader = DataLoader(Sleepy(), batch_size=1, num_workers=2, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(
        RuntimeError, match=r"DataLoader worker 1 timed out after 0\.5 s fetching batch 3"
    ):
        list(loader)
    assert time.monotonic() - start < 10
    assert no_children()


class Failing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ZeroDivisionError("sample 5 is broken")
        return i


@needs_fork
def test_worker_exception_is_reraised_with_worker_id_and_traceback():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    got = []
    with pytest.raises(ZeroDivisionError) as info:
        for b in loader:
            got.append(b.tolist())
    assert got == [[0, 1], [2, 3]]  # the batches before the broken one still arrive, in order
    msg = str(info.value)
    assert "DataLoader worker 0" in msg and "batch 2" in msg
    assert "Traceback" in msg and "sample 5 is broken" in msg and "__getitem__" in msg
    assert no_children()
    # the main process reports the same error without workers, plainly
    with pytest.raises(ZeroDivisionError, match="sample 5 is broken"):
        list(DataLoader(Failing(), batch_size=2))


@needs_fork
def test_workers_shut_down_on_break_del_and_exhaustion():
    loader = DataLoader(list(range(40)), batch_size=2, num_workers=2)
    for _ in loader:
        break
    gc.collect()
    assert no_children()
    it = iter(loader)
    next(it)
    assert len(multiprocessing.active_children()) == 2
    del it
    assert no_children()
    assert len(list(loader)) == 20
    assert no_children()


@needs_fork
def test_persistent_workers_serve_several_epochs():
    loader = DataLoader(Range(0, 6), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b.tolist() for b in loader]
    pids = {p.pid for p in multiprocessing.active_children()}
    assert len(pids) == 2
    it = iter(loader)
    next(it)  # abandon the second epoch midway
    del it
    assert [b.tolist() for b in loader] == first  # stale batches are not mixed in
    assert {p.pid for p in multiprocessing.active_children()} == pids
    del loader
    gc.collect()
    assert no_children()


# ---------------------------------------------------------------- resume
class Noisy(Dataset):
    """Sample i plus a draw of ember's default generator: a random transform."""

    def __len__(self):
        return 11

    def __getitem__(self, i):
        return ember.tensor(float(i)) + ember.rand(())


def flat(batches):
    return [b.tolist() for b in batches]


@pytest.mark.parametrize("use_generator", [False, True])
def test_resume_mid_epoch_gives_the_remaining_batches(use_generator, tmp_path):
    make = lambda: DataLoader(
        Noisy(),
        batch_size=3,
        shuffle=True,
        generator=ember.Generator().manual_seed(9) if use_generator else None,
    )
    ember.manual_seed(0)
    loader = make()
    flat(loader)  # one whole epoch first: the state must be the second epoch's
    it = iter(loader)
    seen = flat([next(it), next(it)])
    ember.save({"loader": loader.state_dict(), "rng": ember.get_rng_state()}, tmp_path / "ck")
    rest = flat(it)
    next_epoch = flat(loader)
    assert len(seen) + len(rest) == 4

    ember.manual_seed(123)  # a new run, elsewhere in its random stream
    resumed = make()
    ck = ember.load(tmp_path / "ck")
    resumed.load_state_dict(ck["loader"])
    ember.set_rng_state(ck["rng"])
    assert resumed.state_dict()["batches_yielded"] == 2
    assert flat(resumed) == rest
    assert flat(resumed) == next_epoch  # and the epoch after goes on as the uninterrupted one


@needs_fork
def test_resume_with_workers():
    (ex, ey), _ = tensors(20)
    ds = TensorDataset(ex, ey)
    ember.manual_seed(4)
    loader = DataLoader(ds, batch_size=3, shuffle=True, num_workers=2)
    it = iter(loader)
    for _ in range(3):
        next(it)
    state = loader.state_dict()
    rest = [b[1].tolist() for b in it]
    resumed = DataLoader(ds, batch_size=3, shuffle=True, num_workers=2)
    resumed.load_state_dict(state)
    assert ids(resumed) == rest and len(rest) == 4
    assert no_children()


def test_resume_an_iterable_dataset_replays_the_first_batches():
    loader = DataLoader(Range(0, 10), batch_size=3)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    resumed = DataLoader(Range(0, 10), batch_size=3)
    resumed.load_state_dict(state)
    assert [b.tolist() for b in resumed] == [[3, 4, 5], [6, 7, 8], [9]]


def test_state_between_epochs_and_state_errors():
    loader = DataLoader(list(range(4)), batch_size=2, shuffle=True)
    assert loader.state_dict() == {"batches_yielded": 0, "generator_states": None}
    list(loader)
    assert loader.state_dict()["batches_yielded"] == 0  # a finished epoch: start afresh
    loader.load_state_dict({"batches_yielded": 0, "generator_states": None})
    assert len(list(loader)) == 2
    with pytest.raises(ValueError, match="batches_yielded"):
        loader.load_state_dict({"epoch": 1})
    with pytest.raises(ValueError, match="non-negative"):
        loader.load_state_dict({"batches_yielded": -1, "generator_states": None})
    it = iter(DataLoader(list(range(4)), batch_size=2, shuffle=True, generator=ember.Generator()))
    next(it)
    other_state = it._loader.state_dict()
    with pytest.raises(ValueError, match="made the same way"):
        loader.load_state_dict(other_state)
