"""float32 matrix products with AVX-512, for the CPUs that have it.

NumPy's matrix product calls its BLAS. Where that BLAS runs 256-bit (AVX2) kernels on a CPU
with full-width 512-bit units (an environment may pin OpenBLAS to its Haswell kernels, for
one), half of the CPU's multiply-add throughput is left unused: the matrix products of the
LSTM, the convolutions and the linear layers are then the bulk of a training step. This
module is a small product of its own, written the way the fast BLAS libraries are:

- a *micro-kernel* multiplies a panel of MR rows of A by a panel of NR columns of B, with the
  MR x NR block of C held in 24 vector registers for the whole depth of the panels: each step
  of k is two 16-float loads of B, MR broadcasts of A and 2 * MR fused multiply-adds. It is
  written as LLVM IR (vector types and the ``llvm.fma`` intrinsic) inside a numba intrinsic,
  so numba compiles it with the rest of the loops below for the CPU it runs on;
- the loops around it cut A and B into blocks that stay in the caches (KC deep, MC rows of A,
  NC columns of B) and copy ("pack") each block of B once into the panel order the kernel
  reads, whatever the strides of B. A's elements are broadcast one at a time, so A is read
  in place when its rows or its columns are contiguous (a weight gradient's transposed
  operand too), and packed only otherwise;
- the cores split the columns of C (or its rows, when C is narrow), one share each; a batch
  of products is shared out by products.

``matmul(a, b, out)`` takes this path for the float32 products that OpenBLAS would run on
several cores; everything else, and every CPU without AVX-512, goes to NumPy. ``pack(w)``
packs a weight once for many products (an LSTM's recurrent weight, at every step). Sums are
in float32 with fused multiply-adds, in another order than the BLAS's: results differ from
NumPy's by rounding. Measured on the benchmark's shapes (2 cores, float32): 1.2-2.3x NumPy's
products where OpenBLAS runs its Haswell kernels.
"""

from __future__ import annotations

import ctypes
import math
import os

import numpy as np

from ember import kernels
from ember.backend import get_array_module

MR, NR = 12, 32  # the micro-kernel's block of C: 12 rows, two 16-float vectors wide
KC, MC, NC = 256, 192, 2048  # depth of a panel; rows and columns of the packed blocks
MIN_FLOPS = 1 << 19  # smaller products go to NumPy (OpenBLAS runs them on one core: m n k <= 2^18)
# Below this, one core: the second one's start, and its fetching operands that the first
# has just written (im2col's columns, a layer's input), cost more than it saves. Measured
# on a 1-sample CNN's 9.4 MFLOP layers, im2col and product in a row: 92 vs 110 us, 79 vs 99.
PARALLEL_FLOPS = 1 << 24


def _host_has_avx512() -> bool:
    if not kernels.HAVE_NUMBA:
        return False
    try:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features()
    except (ImportError, AttributeError, RuntimeError):  # an llvmlite that cannot tell
        return False
    return bool(features.get("avx512f"))


AVAILABLE = _host_has_avx512()

if AVAILABLE:
    import numba
    from llvmlite import ir
    from numba import prange, types
    from numba.core import cgutils
    from numba.extending import intrinsic

    _jit = numba.njit(cache=True, nogil=True)
    _pjit = numba.njit(cache=True, nogil=True, parallel=True)

    @intrinsic
    def _micro(typingctx, depth, a_addr, a_rs, a_ks, b_addr, c_addr, ldc, accumulate, rows):
        """C[:rows, :NR] (row stride ldc) = (C if accumulate else 0) + A B for a panel A of MR
        rows (element (r, k) at a_addr + 4 (r a_rs + k a_ks): a packed panel, or MR rows of
        A in place) and a packed panel B of depth steps of NR floats; the rows of the block
        past `rows` are computed but not stored."""
        sig = types.void(*[types.intp] * 9)

        def codegen(context, builder, signature, args):
            depth, a_addr, a_rs, a_ks, b_addr, c_addr, ldc, accumulate, rows = args
            f32, i32, i64 = ir.FloatType(), ir.IntType(32), ir.IntType(64)
            vec = ir.VectorType(f32, 16)
            nv = NR // 16
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, [vec, vec, vec]), "llvm.fma.v16f32"
            )
            a_ptr = builder.inttoptr(a_addr, f32.as_pointer())
            b_ptr = builder.inttoptr(b_addr, f32.as_pointer())
            c_ptr = builder.inttoptr(c_addr, f32.as_pointer())
            zero = ir.Constant(vec, None)
            splat = ir.Constant(ir.VectorType(i32, 16), [0] * 16)
            row_at = [builder.mul(a_rs, ir.Constant(i64, r)) for r in range(MR)]

            entry = builder.basic_block
            loop = builder.append_basic_block("micro.loop")
            done = builder.append_basic_block("micro.done")
            builder.cbranch(builder.icmp_signed(">", depth, ir.Constant(i64, 0)), loop, done)

            builder.position_at_end(loop)
            k = builder.phi(i64)
            acc = [[builder.phi(vec) for _ in range(nv)] for _ in range(MR)]
            b_row = builder.gep(b_ptr, [builder.mul(k, ir.Constant(i64, NR))])
            b = [
                builder.load(
                    builder.bitcast(
                        builder.gep(b_row, [ir.Constant(i64, 16 * v)]), vec.as_pointer()
                    ),
                    align=4,
                )
                for v in range(nv)
            ]
            a_col = builder.gep(a_ptr, [builder.mul(k, a_ks)])
            new = []
            for r in range(MR):
                a = builder.load(builder.gep(a_col, [row_at[r]]), align=4)
                a = builder.shuffle_vector(
                    builder.insert_element(ir.Constant(vec, ir.Undefined), a, ir.Constant(i32, 0)),
                    ir.Constant(vec, ir.Undefined),
                    splat,
                )
                new.append([builder.call(fma, [a, b[v], acc[r][v]]) for v in range(nv)])
            k_next = builder.add(k, ir.Constant(i64, 1))
            k.add_incoming(ir.Constant(i64, 0), entry)
            k.add_incoming(k_next, loop)
            for r in range(MR):
                for v in range(nv):
                    acc[r][v].add_incoming(zero, entry)
                    acc[r][v].add_incoming(new[r][v], loop)
            builder.cbranch(builder.icmp_signed("<", k_next, depth), loop, done)

            builder.position_at_end(done)
            totals = [[builder.phi(vec) for _ in range(nv)] for _ in range(MR)]
            for r in range(MR):
                for v in range(nv):
                    totals[r][v].add_incoming(zero, entry)
                    totals[r][v].add_incoming(new[r][v], loop)
            keep = builder.icmp_signed("!=", accumulate, ir.Constant(i64, 0))
            for r in range(MR):
                with builder.if_then(builder.icmp_signed("<", ir.Constant(i64, r), rows)):
                    row = builder.gep(c_ptr, [builder.mul(ldc, ir.Constant(i64, r))])
                    for v in range(nv):
                        p = builder.bitcast(
                            builder.gep(row, [ir.Constant(i64, 16 * v)]), vec.as_pointer()
                        )
                        old = builder.select(keep, builder.load(p, align=4), zero)
                        builder.store(builder.fadd(old, totals[r][v]), p, align=4)
            return context.get_dummy_value()

        return sig, codegen

    @_jit
    def _aligned(n):
        """A float32 buffer of n elements starting on a 64-byte boundary (one cache line)."""
        raw = np.empty(n + 16, np.float32)
        skip = ((64 - raw.ctypes.data % 64) % 64) // 4
        return raw[skip : skip + n]

    _u = numba.uint64  # unsigned indices: no wraparound checks, so the copies vectorise

    @intrinsic
    def _floats(typingctx, addr):
        """The float32 pointer at an address (for numba.carray)."""
        sig = types.CPointer(types.float32)(types.intp)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], ir.FloatType().as_pointer())

        return sig, codegen

    @_jit
    def _floats_at(addr, n):
        """n floats from an address, as a flat array."""
        return numba.carray(_floats(addr), n)

    @_jit
    def _flat(x):
        """x's memory as one flat float32 array (x's strides are positive)."""
        extent = 1
        for d in range(x.ndim):
            extent += (x.shape[d] - 1) * (x.strides[d] // 4)
        return numba.carray(_floats(x.ctypes.data), extent)

    @_jit
    def _pack_a(a, s0, s1, i0, m, k0, kc, ap):
        """Rows i0:i0+m, columns k0:k0+kc of A (flat, element strides s0, s1) into panels of
        MR rows, each column of a panel MR consecutive floats (rows past m are zeros)."""
        if m % MR:
            ap[(m // MR) * MR * kc : (m // MR + 1) * MR * kc] = 0.0
        if s0 == 1 and s1 != 1:  # columns of A are contiguous: read each along the rows
            for kk in range(kc):
                at = _u(i0 + (k0 + kk) * s1)
                for i in range(_u(m)):
                    ap[(i // MR) * MR * kc + kk * MR + i % MR] = a[at + i]
            return
        for p in range((m + MR - 1) // MR):
            base = p * MR * kc
            rows = min(MR, m - p * MR)
            src = (i0 + p * MR) * s0 + k0 * s1
            if s1 == 1:  # rows of A are contiguous: read each along k
                for r in range(rows):
                    at, to = _u(src + r * s0), _u(base + r)
                    for kk in range(_u(kc)):
                        ap[to + kk * MR] = a[at + kk]
            else:
                for kk in range(kc):
                    at, to = _u(src + kk * s1), _u(base + kk * MR)
                    for r in range(_u(rows)):
                        ap[to + r] = a[at + r * s0]

    @_jit
    def _pack_b(b, s0, s1, k0, kc, j0, n, bp):
        """Rows k0:k0+kc, columns j0:j0+n of B (flat, element strides s0, s1) into panels of
        NR columns, each row of a panel NR consecutive floats (columns past n are zeros)."""
        full = n // NR
        if n % NR:
            bp[full * NR * kc : (full + 1) * NR * kc] = 0.0
        if s0 == 1 and s1 != 1:  # columns of B are contiguous: read each along k
            for j in range(n):
                at = _u(k0 + (j0 + j) * s1)
                to = _u((j // NR) * NR * kc + j % NR)
                for kk in range(_u(kc)):
                    bp[to + kk * NR] = b[at + kk]
            return
        for kk in range(kc):  # along the rows of B: each is read once, in order when s1 == 1
            at = _u((k0 + kk) * s0 + j0 * s1)
            for q in range(full + (1 if n % NR else 0)):
                to = _u(q * NR * kc + kk * NR)
                fr = _u(at + q * NR * s1)
                if s1 == 1 and q < full:
                    for j in range(_u(NR)):
                        bp[to + j] = b[fr + j]
                else:
                    for j in range(_u(min(NR, n - q * NR))):
                        bp[to + j] = b[fr + j * s1]

    @_jit
    def _block(ap, a_at, a_rs, a_ks, bp, kc, c, ic, mc, jc, nc, add, edge):
        """c[ic:ic+mc, jc:jc+nc] (+)= A's block times the packed B panels bp. A's block is the
        packed ap, or, when a_rs > 0, read in place from the address a_at, its element (r, k)
        at r a_rs + k a_ks floats (its last, ragged panel is packed into ap then)."""
        ldc = c.strides[0] // 4
        direct = a_rs > 0
        if direct and mc % MR:  # rows past the last must not be read: pack that panel
            last = (mc // MR) * MR
            extent = (mc - 1) * a_rs + (kc - 1) * a_ks + 1
            _pack_a(_floats_at(a_at, extent), a_rs, a_ks, last, mc - last, 0, kc, ap)
        for q in range((nc + NR - 1) // NR):  # one panel of B stays in L1 while A's pass by
            cols = min(NR, nc - q * NR)
            b_addr = bp.ctypes.data + 4 * q * NR * kc
            for p in range((mc + MR - 1) // MR):
                rows = min(MR, mc - p * MR)
                i, j = ic + p * MR, jc + q * NR
                full = cols == NR  # (the kernel itself leaves out rows past the last)
                if full:
                    c_addr, c_step, c_add = c.ctypes.data + 4 * (i * ldc + j), ldc, add
                else:  # a ragged right edge: the block into a scratch tile first
                    c_addr, c_step, c_add = edge.ctypes.data, NR, 0
                if direct and rows == MR:
                    a_addr, rs, ks = a_at + 4 * p * MR * a_rs, a_rs, a_ks
                elif direct:
                    a_addr, rs, ks = ap.ctypes.data, 1, MR
                else:
                    a_addr, rs, ks = ap.ctypes.data + 4 * p * MR * kc, 1, MR
                _micro(kc, a_addr, rs, ks, b_addr, c_addr, c_step, c_add, rows)
                if not full:
                    for r in range(rows):
                        for jj in range(cols):
                            if add:
                                c[i + r, j + jj] += edge[r * NR + jj]
                            else:
                                c[i + r, j + jj] = edge[r * NR + jj]

    @_jit
    def _a_block(af, a0, a1, ic, mc, pc, kc, ap, bp, c, jc, nc, add, edge):
        """_block for rows ic:ic+mc, depth pc:pc+kc of A (flat, element strides a0, a1): read
        in place when its rows or its columns are contiguous (the kernel broadcasts A's
        elements one by one, so it needs no copy), else packed first."""
        if a1 == 1 or a0 == 1:
            at = af.ctypes.data + 4 * (ic * a0 + pc * a1)
            _block(ap, at, a0, a1, bp, kc, c, ic, mc, jc, nc, add, edge)
        else:
            _pack_a(af, a0, a1, ic, mc, pc, kc, ap)
            _block(ap, 0, 0, 0, bp, kc, c, ic, mc, jc, nc, add, edge)

    @_jit
    def _gemm_serial(a, b, c, i0, i1, j0, j1, accumulate):
        """c[i0:i1, j0:j1] (+)= a[i0:i1] @ b[:, j0:j1] on one core (c's rows are contiguous)."""
        k = a.shape[1]
        af, a0, a1 = _flat(a), a.strides[0] // 4, a.strides[1] // 4
        bf, b0, b1 = _flat(b), b.strides[0] // 4, b.strides[1] // 4
        kb = min(KC, k)
        ap = _aligned(min(MC, i1 - i0 + MR) * kb)
        bp = _aligned(min(NC, j1 - j0 + NR) * kb)
        edge = _aligned(MR * NR)
        for jc in range(j0, j1, NC):
            nc = min(NC, j1 - jc)
            for pc in range(0, k, KC):
                kc = min(KC, k - pc)
                _pack_b(bf, b0, b1, pc, kc, jc, nc, bp)
                for ic in range(i0, i1, MC):
                    mc = min(MC, i1 - ic)
                    _a_block(
                        af, a0, a1, ic, mc, pc, kc, ap, bp, c, jc, nc, accumulate or pc > 0, edge
                    )

    @_jit
    def _gemm_packed_serial(a, bp, c, i0, i1, j0, j1, accumulate):
        """As _gemm_serial, with all of B packed beforehand by _pack_all (a weight used by many
        products, such as the recurrent weight of an LSTM, is packed once). c is the whole
        of C: its columns are B's, which tell where B's panels lie."""
        k = a.shape[1]
        panels = (c.shape[1] + NR - 1) // NR
        af, a0, a1 = _flat(a), a.strides[0] // 4, a.strides[1] // 4
        ap = _aligned(min(MC, i1 - i0 + MR) * min(KC, k))
        edge = _aligned(MR * NR)
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            start = pc * panels * NR + (j0 // NR) * NR * kc
            for ic in range(i0, i1, MC):
                mc = min(MC, i1 - ic)
                _a_block(af, a0, a1, ic, mc, pc, kc, ap, bp[start:], c, j0, j1 - j0,
                         accumulate or pc > 0, edge)  # fmt: skip

    @_jit
    def _pack_all(b):
        """All of B in panels, KC rows of B at a time (the layout _gemm_packed_serial reads)."""
        k, n = b.shape
        panels = (n + NR - 1) // NR
        bp = _aligned(k * panels * NR)
        bf, b0, b1 = _flat(b), b.strides[0] // 4, b.strides[1] // 4
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            _pack_b(bf, b0, b1, pc, kc, 0, n, bp[pc * panels * NR :])
        return bp

    @_jit
    def _cut(size, parts, step, t):
        """The t-th of `parts` near-equal ranges of range(size), cut at multiples of step."""
        blocks = (size + step - 1) // step
        lo = min(size, (blocks * t // parts) * step)
        hi = min(size, (blocks * (t + 1) // parts) * step)
        return lo, hi

    @_jit
    def _share(c, parts, split_rows, t):
        """The rows i0:i1 and columns j0:j1 of C that core t of `parts` computes: a share of
        the rows (split_rows) or of the columns, cut at whole panels."""
        m, n = c.shape
        if split_rows:
            lo, hi = _cut(m, parts, MR, t)
            return lo, hi, 0, n
        lo, hi = _cut(n, parts, NR, t)
        return 0, m, lo, hi

    @_pjit
    def _gemm_parallel(a, b, c, parts, split_rows, accumulate):
        """c (+)= a @ b with the rows (split_rows) or the columns of c cut in `parts`."""
        for t in prange(parts):
            i0, i1, j0, j1 = _share(c, parts, split_rows, t)
            _gemm_serial(a, b, c, i0, i1, j0, j1, accumulate)

    @_pjit
    def _gemm_ksplit(a, b, c, parts, accumulate):
        """c (+)= a @ b with the depth k cut in `parts`, each core's sum into a buffer of its
        own, then added (for a C too small to share: a convolution's weight gradient with a
        few channels, say, whose depth is every output position of a batch)."""
        m, n = c.shape
        part = np.empty((parts, m, n), np.float32)
        for t in prange(parts):
            lo, hi = _cut(a.shape[1], parts, KC, t)
            _gemm_serial(a[:, lo:hi], b[lo:hi], part[t], 0, m, 0, n, False)
        for i in range(m):
            for j in range(n):
                total = part[0, i, j]
                for t in range(1, parts):
                    total += part[t, i, j]
                c[i, j] = c[i, j] + total if accumulate else total

    @_pjit
    def _bmm_parallel(a, b, c, parts, accumulate):
        """c[i, j] (+)= a[i, j] @ b[i, j] for the products of a batch with two batch dims (any
        strides: a view of an attention's heads is read in place), `parts` cores taking a
        share of the products each."""
        d0, d1, m, n = c.shape
        for t in prange(parts):
            lo, hi = _cut(d0 * d1, parts, 1, t)
            for i in range(lo, hi):
                i0, i1 = i // d1, i % d1
                _gemm_serial(a[i0, i1], b[i0, i1], c[i0, i1], 0, m, 0, n, accumulate)

    @_pjit
    def _gemm_packed_parallel(a, bp, c, parts, split_rows, accumulate):
        """As _gemm_parallel, B packed beforehand."""
        for t in prange(parts):
            i0, i1, j0, j1 = _share(c, parts, split_rows, t)
            _gemm_packed_serial(a, bp, c, i0, i1, j0, j1, accumulate)


def _signatures() -> dict:
    """The one signature each entry point is compiled for: any float32 strides (numba would
    otherwise compile a copy per layout it meets, ~2 s each)."""
    a = types.Array(types.float32, 2, "A", readonly=True)
    c = types.Array(types.float32, 2, "A")
    a4 = types.Array(types.float32, 4, "A", readonly=True)
    c4 = types.Array(types.float32, 4, "A")
    flat = types.Array(types.float32, 1, "C")
    i, yes = types.intp, types.boolean
    return {
        _gemm_serial: (a, a, c, i, i, i, i, yes),
        _gemm_parallel: (a, a, c, i, yes, yes),
        _bmm_parallel: (a4, a4, c4, i, yes),
        _gemm_ksplit: (a, a, c, i, yes),
        _gemm_packed_serial: (a, flat, c, i, i, i, i, yes),
        _gemm_packed_parallel: (a, flat, c, i, yes, yes),
        _pack_all: (a,),
    }


_compiled: set = set()  # the entry points already compiled (numba's own check costs ~3 us)


def _ready(fn):
    """fn, compiled (or loaded from numba's cache) for its one signature at its first use."""
    if fn not in _compiled:
        if not fn.signatures:
            fn.compile(_signatures()[fn])
            fn.disable_compile()
        _compiled.add(fn)
    return fn


class _state:
    threads = None  # see threads
    blas = None  # see _blas_thread_setters
    pool_used = False  # whether a product here has asked for the cores (see _numpy)
    pid = os.getpid()  # the process that may use the thread pool (see threads)


def threads() -> int:
    """Cores the products may use: numba's thread count, at most OMP_NUM_THREADS when set.
    Read once (numba's getter costs ~7 us, as much as a small product's packing). One in a
    process forked from the one that loaded this module (a DataLoader worker): GNU OpenMP,
    under numba's thread pool, ends a forked child that starts a parallel loop."""
    if os.getpid() != _state.pid:
        return 1
    if _state.threads is None:
        n = numba.get_num_threads()
        limit = os.environ.get("OMP_NUM_THREADS", "")
        _state.threads = min(n, int(limit)) if limit.isdigit() and int(limit) > 0 else n
    _state.pool_used = True
    return _state.threads


def cores_for(size: int, minimum: int) -> int:
    """Cores for a compiled loop over `size` items (elements, channels, samples) to share,
    where ember's own products use them (see threads): all of them from `minimum` items on,
    below it one (starting the others would cost more than they save)."""
    return threads() if AVAILABLE and size >= minimum else 1


def _fits(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a @ b (NumPy arrays, the product in the last two dims) may take this path:
    float32, AVX-512, the fast paths on, and a product (a batch: all its products) that
    OpenBLAS would run on several cores (the smaller ones it runs on one, about as fast as
    here), each with a full panel of rows at least: with fewer (a batch of one through a
    linear layer), packing B costs more than the product saves. A product too small to
    share between the cores stays with OpenBLAS until products here have used them (see
    below)."""
    if not (AVAILABLE and kernels.state.fast and a.dtype == np.float32 and b.dtype == np.float32):
        return False
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return False
    m, k = a.shape[-2:]
    flops = 2 * m * k * b.shape[-1]
    if a.ndim > 2 or b.ndim > 2:  # NumPy calls BLAS once for each product of a batch:
        # small ones (an attention's heads) ran at ~50 GF/s there, ~100 here
        flops *= max(math.prod(a.shape[:-2]), math.prod(b.shape[:-2]))
    # Until products here have used the cores, OpenBLAS keeps those too small to share
    # between them: with its two threads, faster than one core here (measured on a
    # 1-sample CNN's layers, im2col and product: 76 vs 95 us, 75 vs 84, 29 vs 34).
    return m >= MR and flops >= MIN_FLOPS and (flops >= PARALLEL_FLOPS or _state.pool_used)


def _writable(out: np.ndarray) -> bool:
    """True when the kernels can write out: float32 with contiguous rows."""
    return (
        type(out) is np.ndarray
        and out.dtype == np.float32
        and out.strides[-1] == 4
        and (min(out.strides) > 0 or out.size == 0)
    )


class Packed:
    """A matrix B (K x N, float32) packed once for many products a @ B (see ``pack``)."""

    __slots__ = ("data", "shape")

    def __init__(self, b: np.ndarray):
        self.data = _ready(_pack_all)(b)
        _ready(_gemm_packed_serial)  # (also called from compiled loops: kernels.rnn)
        self.shape = b.shape


def pack(b: np.ndarray) -> Packed | None:
    """B packed for ``matmul(a, packed)``, or None where the packed path does not apply (then
    pass B itself)."""
    if b.ndim != 2 or b.size == 0 or b.shape[1] < NR:
        return None
    if not _fits(np.empty((4 * MR, b.shape[0]), b.dtype), b):
        return None
    return Packed(np.ascontiguousarray(b) if min(b.strides) < 0 else b)


def _split(m: int, n: int, flops: int):
    """How many cores, and whether to cut the rows of C (else its columns)."""
    parts = threads() if flops >= PARALLEL_FLOPS else 1
    rows = m >= parts * 2 * MR and (n < parts * 2 * NR or m > 2 * n)
    if not rows:
        parts = max(1, min(parts, (n + NR - 1) // NR))
    return parts, rows


def matmul(a: np.ndarray, b, out: np.ndarray | None = None, accumulate: bool = False):
    """a @ b as np.matmul computes it, for 2-D operands and for batches of products (3-D or
    more, the batch dims broadcast), into out when given; with accumulate, out += a @ b.
    b may be a ``Packed`` matrix (2-D a only). Products this path does not take (other
    dtypes, CuPy arrays, vectors, small products) go to NumPy's matmul.

    A float32 product that OpenBLAS would run on several cores comes here whatever the
    layout of its operands (copied if need be), or, with fewer rows than a panel, goes to
    OpenBLAS held to one thread (see _numpy): OpenBLAS's threads keep spinning for a while
    after each product, and their cores are then not free for the next product here
    (mixed, a step ran up to 20 times slower, measured)."""
    packed = type(b) is Packed
    if packed and out is not None:  # the recurrent layers' step: lean
        _packed(a, b, out, accumulate)
        return out
    if not packed:
        if a.ndim < 2 or b.ndim < 2 or not _fits(a, b):
            return _numpy(a, b, out, accumulate)
        if a.shape[:-2] != b.shape[:-2]:  # broadcast batch dims: zero strides, no copies
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            a, b = (
                np.broadcast_to(a, batch + a.shape[-2:]),
                np.broadcast_to(b, batch + b.shape[-2:]),
            )
        if min(a.strides) < 0:
            a = np.ascontiguousarray(a)
        if min(b.strides) < 0:
            b = np.ascontiguousarray(b)
    if out is not None and not _writable(out):
        y = matmul(a, b)
        if accumulate:
            out += y
        else:
            out[...] = y
        return out
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if out is None:
        out = np.empty((*a.shape[:-2], m, n), np.float32)
        accumulate = False
    if out.size == 0:
        return out
    if k == 0:
        if not accumulate:
            out[...] = 0
        return out
    if packed:
        _packed(a, b, out, accumulate)
        return out
    kernels.taken["gemm"] += 1
    if a.ndim == 2:
        _gemm(a, b, out, accumulate)
    else:
        if a.ndim <= 4:  # one or two batch dims: read in place, whatever their strides
            lift = (1,) * (4 - a.ndim)  # (adding dims of size 1 never copies)
            a4, b4 = a.reshape(lift + a.shape), b.reshape(lift + b.shape)
            c4 = out.reshape(lift + out.shape)
        else:  # more: merged into one (copies where they do not merge)
            a4, b4 = a.reshape(1, -1, m, k), b.reshape(1, -1, k, n)
            c4 = out.reshape(1, -1, m, n)
            if not np.may_share_memory(c4, out):  # out's batch dims do not merge
                out[...] = matmul(a4, b4, None).reshape(out.shape) + (out if accumulate else 0)
                return out
        products = c4.shape[0] * c4.shape[1]
        parts = min(threads(), products)
        if parts > 1:
            _ready(_bmm_parallel)(a4, b4, c4, parts, accumulate)
        else:
            for i in range(products):
                i0, i1 = divmod(i, c4.shape[1])
                _gemm(a4[i0, i1], b4[i0, i1], c4[i0, i1], accumulate)
    return out


def _packed(a, b, out, accumulate):
    """out (+)= a @ b for a 2-D a and a Packed b."""
    m, k = a.shape
    n = b.shape[1]
    kernels.taken["gemm"] += 1
    parts, rows = _split(m, n, 2 * m * n * k)
    if parts == 1:
        _ready(_gemm_packed_serial)(a, b.data, out, 0, m, 0, n, accumulate)
    else:
        _ready(_gemm_packed_parallel)(a, b.data, out, parts, rows, accumulate)


def _gemm(a, b, out, accumulate, flipped=False):
    """out (+)= a @ b for one 2-D product, on as many cores as it is worth. C^T = B^T A^T is
    computed instead (then copied) for a narrow C (a few columns, far from filling its last
    panel), and where packing B^T costs less than packing B by more than the copy of C
    (x @ W.T for a few rows of x)."""
    m, k = a.shape
    n = b.shape[1]
    if not flipped and (-(-n // NR) * NR > 1.5 * n and m >= 4 * NR or _cheaper_transposed(a, b)):
        t = np.empty((n, m), np.float32)
        _gemm(b.T, a.T, t, False, flipped=True)
        if accumulate:
            out += t.T
        else:
            out[...] = t.T
        return
    parts, rows = _split(m, n, 2 * m * n * k)
    if parts > 1:
        _ready(_gemm_parallel)(a, b, out, parts, rows, accumulate)
    elif 2 * m * n * k >= PARALLEL_FLOPS and threads() > 1 and k >= 4 * KC:
        _ready(_gemm_ksplit)(a, b, out, threads(), accumulate)
    else:
        _ready(_gemm_serial)(a, b, out, 0, m, 0, n, accumulate)


def _pack_cost(b, rows, cols) -> float:
    """Rough time (ns) to pack a (rows x cols) B: a copy along its rows, or a slower gather
    along its columns. (A costs nothing where its rows or its columns are contiguous: the
    kernel reads it in place.)"""
    return rows * cols * (0.25 if b.strides[1] == 4 else 0.7)


def _in_place(a) -> bool:
    return a.strides[0] == 4 or a.strides[1] == 4


def _cheaper_transposed(a, b) -> bool:
    """Whether C^T = B^T A^T (then a copy of C) moves less memory than C = A B: for
    x @ W.T with few rows of x, W is read in place instead of W^T gathered into panels."""
    m, k = a.shape
    n = b.shape[1]
    plain = _pack_cost(b, k, n) + (0 if _in_place(a) else _pack_cost(a.T, k, m))
    flipped = _pack_cost(a.T, k, m) + (0 if _in_place(b) else _pack_cost(b, k, n))
    return flipped + m * n < plain  # the copy of C, ~1 ns an element


def _numpy(a, b, out, accumulate):
    """The product by the arrays' own module (NumPy, or CuPy for its arrays). Once products
    here have used the cores, a float32 product that OpenBLAS would share between its
    threads runs on one of them (see matmul: its threads would spin on the cores the next
    product here needs); those left to it here are skinny (fewer rows than a panel) and
    bound by memory. A process whose products all go to OpenBLAS (a batch of one through
    linear layers) keeps its threads."""
    xp = get_array_module(a)
    one = (
        xp is np
        and _state.pool_used
        and kernels.state.fast
        and a.dtype == np.float32
        and a.ndim >= 2
        and b.ndim >= 2
        and a.shape[-2] * a.shape[-1] * b.shape[-1] > 1 << 18
    )
    setters = _blas_thread_setters() if one else ()
    before = [get() for get, _ in setters]
    for _, put in setters:
        put(1)
    try:
        if out is None:
            return xp.matmul(a, b)
        if accumulate:
            out += xp.matmul(a, b)
        else:
            xp.matmul(a, b, out=out)
        return out
    finally:
        for (_, put), n in zip(setters, before):
            put(n)


def _blas_thread_setters() -> list:
    """(get, set) of the thread count of each OpenBLAS in the process (NumPy's, SciPy's),
    found once in the loaded libraries; empty where there is none or it cannot be told."""
    if _state.blas is None:
        _state.blas = []
        try:
            with open("/proc/self/maps") as fh:
                paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower()})
        except OSError:
            paths = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for pre, post in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""),
                              ("openblas_", "64_"), ("openblas_", "")):  # fmt: skip
                get = getattr(lib, f"{pre}get_num_threads{post}", None)
                put = getattr(lib, f"{pre}set_num_threads{post}", None)
                if get is not None and put is not None:
                    _state.blas.append((get, put))
                    break
    return _state.blas
