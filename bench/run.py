"""Train and run the workloads in ember and in PyTorch (eager, float32), side by side, and
write a Markdown table.

    python -m bench.run [--rounds R] [--seconds S] [--only a,b] [--out bench/RESULTS.md]
                        [--threads N] [--malloc KEY=VALUE,...] [--smoke]

Each (workload, framework, round) runs in its own fresh Python process, so the peak RSS
(VmHWM) is that framework's alone, and the time to the first step counts the interpreter's
start, the imports and the model's construction. Within a round each workload runs in both
frameworks back to back, ember first in odd rounds and PyTorch first in even ones, so a noisy
moment on the machine hits both alike; the ratio is the median over rounds of the per-round
ratios. Both children get the same environment: the thread count (OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, MKL_NUM_THREADS before NumPy or PyTorch is imported, and
torch.set_num_threads) and the same glibc malloc settings (MALLOC_* variables: none by
default, i.e. glibc's defaults; any inherited from the shell are removed).

A child prints one line ``BENCH-RESULT {json}`` on stdout; the parent collects them, writes
the table to ``--out`` and every child's record to the same name with ``.jsonl``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

FRAMEWORKS = ("ember", "torch")
MARKER = "BENCH-RESULT "
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TINY_OP_TARGET_US = 3.0
ROOT = Path(__file__).resolve().parent.parent


# --- the child: one workload in one framework -----------------------------------------------


def _peak_rss_mib() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss can carry the parent's over exec.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _blas_info() -> tuple[int | None, str | None]:
    """The BLAS thread count and the kernels' architecture (OpenBLAS: the core type it runs)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None, None
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return None, None
    arch = sorted({f"{p['internal_api']} {p['architecture']}" for p in pools if p.get("architecture")})
    return max(p["num_threads"] for p in pools), ", ".join(arch) or None


def _timed_loop(step, make_batch, start_index, seconds, min_steps):
    """Run steps until both ``seconds`` have passed and ``min_steps`` are done."""
    i, t0, cpu0 = 0, time.perf_counter(), time.process_time()
    while True:
        out = step(make_batch(start_index + i))
        i += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and i >= min_steps:
            return out, i, elapsed, time.process_time() - cpu0


def _child(args) -> int:
    t_spawn = args.t0 if args.t0 is not None else time.monotonic()
    for var in THREAD_VARS:
        os.environ.setdefault(var, str(args.threads))
    if args.framework == "torch":
        import torch as m

        m.set_num_threads(args.threads)
    else:
        import ember as m
    import numpy as np

    from bench import workloads

    t_import = time.monotonic() - t_spawn
    m.manual_seed(0)
    rows = []
    if args.child == "f":
        ops = workloads.tiny_ops(m)
        t_build = time.monotonic() - t_spawn
        for fn in ops.values():
            fn(1)
        t_first = time.monotonic() - t_spawn
        per_op = max(args.seconds / len(ops), 1e-3)
        for name, fn in ops.items():
            fn(1000)  # warm-up
            # Calibrate a block of about a tenth of the time, then take the median block.
            n, t = 1000, 0.0
            while t < per_op / 10 and n < 10**8:
                n *= 2
                t0 = time.perf_counter()
                fn(n)
                t = time.perf_counter() - t0
            blocks, t_end = [], time.perf_counter() + per_op
            while time.perf_counter() < t_end or len(blocks) < 3:
                t0 = time.perf_counter()
                fn(n)
                blocks.append((time.perf_counter() - t0) / n * 1e6)
            rows.append({"row": f"f. tiny op with autograd: {name}",
                         "value": statistics.median(blocks), "unit": "us/op"})  # fmt: skip
        loss_first = loss_last = 0.0
        steps, samples, elapsed, cpu = len(rows), 0, None, None
    else:
        setup = workloads.WORKLOADS[args.child].build(m, smoke=args.smoke)
        t_build = time.monotonic() - t_spawn
        out = setup.step(setup.make_batch(0))
        loss_first = float(out.detach().sum())
        t_first = time.monotonic() - t_spawn
        _timed_loop(setup.step, setup.make_batch, 1, args.warmup, 1)
        out, steps, elapsed, cpu = _timed_loop(
            setup.step, setup.make_batch, 1, args.seconds, args.min_steps
        )
        loss_last = float(out.detach().sum())
        samples = setup.samples
        rows.append({"row": workloads.WORKLOADS[args.child].title,
                     "value": steps * samples / elapsed, "unit": "samples/s"})  # fmt: skip
    result = {
        "workload": args.child,
        "framework": args.framework,
        "rows": rows,
        "steps": steps,
        "samples_per_step": samples,
        "timed_s": elapsed,
        "timed_cpu_s": cpu,  # CPU time of all threads: with --threads N, up to N x timed_s
        "loss_first": loss_first,
        "loss_last": loss_last,
        "finite": bool(np.isfinite(loss_first) and np.isfinite(loss_last)),
        "import_s": t_import,
        "build_s": t_build,
        "first_step_s": t_first,
        "peak_rss_mib": _peak_rss_mib(),
        "version": m.__version__,
        "numpy": np.__version__,
        "threads": m.get_num_threads() if args.framework == "torch" else None,
        "blas_threads": _blas_info()[0],
        "blas_arch": _blas_info()[1],
        "malloc": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
        # ember keeps freed host memory for reuse at import (ember.backend.tune_host_allocator)
        "host_allocator_tuned": getattr(getattr(m, "backend", None), "host_allocator_tuned", None),
        # Compilers or libraries the framework pulled in, which change its speed and memory.
        "extras": {
            name: getattr(sys.modules[name], "__version__", "?")
            for name in ("numba", "scipy", "cupy")
            if name in sys.modules
        },
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    print(MARKER + json.dumps(result), flush=True)
    return 0


# --- the parent -----------------------------------------------------------------------------


def parse_malloc(spec: str) -> dict[str, str]:
    """``"default"`` (or empty) -> {}; ``"MALLOC_ARENA_MAX=2,MALLOC_TRIM_THRESHOLD_=0"`` ->
    the dict of those variables."""
    if spec.strip() in ("", "default"):
        return {}
    out = {}
    for item in spec.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not key.startswith("MALLOC_") or not value:
            raise ValueError(
                f"--malloc: expected 'default' or MALLOC_NAME=VALUE[,...], received {item!r}"
            )
        out[key] = value
    return out


def child_env(threads: int, malloc: dict[str, str]) -> dict[str, str]:
    """The environment both frameworks' children get: ours minus any MALLOC_* variable, plus
    the thread count and the chosen malloc settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update({var: str(threads) for var in THREAD_VARS})
    env.update(malloc)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_child(workload: str, framework: str, args, env, round_no: int) -> dict:
    cmd = [sys.executable, "-m", "bench.run", "--child", workload, "--framework", framework,
           "--threads", str(args.threads), "--seconds", str(args.seconds),
           "--warmup", str(args.warmup), "--min-steps", str(args.min_steps)]  # fmt: skip
    if args.smoke:
        cmd.append("--smoke")
    t0 = time.monotonic()
    cmd += ["--t0", repr(t0)]
    try:
        proc = subprocess.run(
            cmd,
            check=False,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=args.timeout,
        )
    except subprocess.TimeoutExpired:
        return {"workload": workload, "framework": framework, "round": round_no,
                "error": f"timed out after {args.timeout} s"}  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)]
    if proc.returncode or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"workload": workload, "framework": framework, "round": round_no,
                "error": f"exit {proc.returncode}: {tail[0]}", "stderr": proc.stderr[-4000:]}  # fmt: skip
    result = json.loads(lines[-1][len(MARKER) :])
    result["round"] = round_no
    result["wall_s"] = time.monotonic() - t0
    return result


def select(only: str | None, names) -> list[str]:
    """``--only a,e-mlp-1`` -> the workloads named exactly, or whose letter matches."""
    if not only:
        return list(names)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [n for n in names if n in wanted or n.split("-")[0] in wanted]
    unknown = [w for w in wanted if not any(n == w or n.split("-")[0] == w for n in names)]
    if unknown:
        raise ValueError(f"--only: unknown workload(s) {unknown}; known: {', '.join(names)}")
    return chosen


# --- the table ------------------------------------------------------------------------------


def _median(xs):
    return statistics.median(xs) if xs else None


def _empty():
    return {"value": [], "rss": [], "build": [], "first": [], "finite": []}


def summarize(records: list[dict]) -> list[dict]:
    """One entry per table row, in the order first seen: medians over rounds of each
    framework's value, peak RSS, import+build and first-step times, and the median, min and
    max of the per-round ratios (ember/torch for throughput, torch/ember for times per op, so
    above 1 means ember is faster). A workload whose children failed keeps its errors; one
    that never succeeded still gets a row."""
    rows: dict[str, dict] = {}
    errors: dict[str, list[str]] = {}
    for rec in records:
        if "error" in rec:
            errors.setdefault(rec["workload"], []).append(
                f"{rec['workload']} {rec['framework']} round {rec['round']}: {rec['error']}"
            )
            continue
        for r in rec["rows"]:
            entry = rows.setdefault(r["row"], {"unit": r["unit"], "workload": rec["workload"],
                                               "by_round": {}})  # fmt: skip
            fw = entry.setdefault(rec["framework"], _empty())
            fw["value"].append(r["value"])
            fw["rss"].append(rec["peak_rss_mib"])
            fw["build"].append(rec["build_s"])
            fw["first"].append(rec["first_step_s"])
            fw["finite"].append(rec["finite"])
            entry["by_round"].setdefault(rec["round"], {})[rec["framework"]] = r["value"]
    for wl in errors:
        if not any(e["workload"] == wl for e in rows.values()):
            rows[wl] = {"unit": "", "workload": wl, "by_round": {}}
    out = []
    for name, entry in rows.items():
        ratios = []
        for vals in entry["by_round"].values():
            if "ember" in vals and "torch" in vals:
                e, t = vals["ember"], vals["torch"]
                ratios.append(e / t if entry["unit"] == "samples/s" else t / e)
        summary = {"row": name, "unit": entry["unit"], "workload": entry["workload"],
                   "ratio": _median(ratios), "ratio_min": min(ratios, default=None),
                   "ratio_max": max(ratios, default=None), "rounds": len(ratios),
                   "errors": errors.get(entry["workload"], [])}  # fmt: skip
        for fw in FRAMEWORKS:
            d = entry.get(fw, _empty())
            summary[fw] = {k: _median(v) for k, v in d.items() if k != "finite"}
            summary[fw]["finite"] = all(d["finite"]) if d["finite"] else None
        out.append(summary)
    return out


def _fmt(x, spec):
    return "–" if x is None else format(x, spec)


def _fmt_value(x, unit):
    if x is None:
        return "–"
    if unit == "us/op":
        return f"{x:.2f} us"
    return f"{x:,.1f}" if x < 1000 else f"{x:,.0f}"


def evaluate_targets(summary: list[dict]) -> list[tuple[str, bool, str]]:
    """The issue's targets as (target, met, detail)."""
    tp = [s for s in summary if s["unit"] == "samples/s"]
    tiny = [s for s in summary if s["unit"] == "us/op"]
    missing = [s["row"] for s in summary if s["ratio"] is None]
    ratios = [(s["ratio"], s["row"]) for s in tp if s["ratio"] is not None]
    below = sorted((r, n) for r, n in ratios if r < 1.0)
    at13 = [n for r, n in ratios if r >= 1.3]
    worst = f"; lowest {below[0][0]:.2f}x ({below[0][1]})" if below else ""
    targets = [
        (
            "ember >= 1.0x PyTorch on every workload (a-e)",
            bool(ratios) and not below and len(ratios) == len(tp),
            f"{len(ratios) - len(below)} of {len(tp)} at or above 1.0x{worst}",
        ),
        (
            "ember >= 1.3x PyTorch on at least two workloads",
            len(at13) >= 2,
            f"{len(at13)} at or above 1.3x" + (f": {'; '.join(at13)}" if at13 else ""),
        ),
    ]
    rss = [(s["ember"]["rss"], s["torch"]["rss"], s["row"]) for s in summary]
    rss_ok = [e < t for e, t, _ in rss if e is not None and t is not None]
    over = [n for e, t, n in rss if e is not None and t is not None and e >= t]
    targets.append(
        (
            "peak RSS below PyTorch's on every workload",
            bool(rss_ok) and all(rss_ok) and len(rss_ok) == len(rss),
            f"{sum(rss_ok)} of {len(rss)} below"
            + (f"; not below: {'; '.join(over)}" if over else ""),
        )
    )
    us = [(s["ember"]["value"], s["row"].split(": ", 1)[-1]) for s in tiny]
    targets.append(
        (
            f"a tiny op with autograd at most {TINY_OP_TARGET_US:g} us (ember)",
            bool(us) and all(v is not None and v <= TINY_OP_TARGET_US for v, _ in us),
            ", ".join(f"{n}: {_fmt(v, '.2f')} us" for v, n in us) or "not measured",
        )
    )
    if missing:
        targets.append(("every row measured in both frameworks", False, "; ".join(missing)))
    return targets


def format_table(summary: list[dict], meta: dict) -> str:
    """The Markdown report: a header with the conditions, the table, the targets."""
    lines = ["# ember vs PyTorch: training and inference throughput", ""]
    for key in ("date", "machine", "versions", "threads", "allocator", "rounds", "load",
                "command", "WARNING"):  # fmt: skip
        if key in meta:
            value = f"`{meta[key]}`" if key == "command" else meta[key]
            lines.append(f"- {key}: {value}")
    lines += [
        "",
        (
            "Throughput is in samples (images, sequences) per second, higher is better; the "
            "tiny ops are in microseconds per op, lower is better. Each cell is the median "
            "over rounds; the ratio is the median (min-max) over rounds of the per-round ratio, "
            "ember/PyTorch for throughput and PyTorch/ember for times, so above 1 means ember "
            "is faster. Peak RSS is each framework's own process (VmHWM). Import+build and "
            "first step are seconds from the process's start to the model being built and to "
            "the end of the first step."
        ),
        "",
        (
            "| workload | ember | PyTorch | ember/PyTorch | ember peak RSS MiB "
            "| PyTorch peak RSS MiB | ember import+build s | PyTorch import+build s "
            "| ember first step s | PyTorch first step s |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary:
        e, t = s["ember"], s["torch"]
        ratio = "–"
        if s["ratio"] is not None:
            ratio = f"{s['ratio']:.2f}x"
            if s["rounds"] > 1:
                ratio += f" ({s['ratio_min']:.2f}-{s['ratio_max']:.2f})"
        cells = [
            s["row"] + (" **(failed)**" if s["errors"] else ""),
            _fmt_value(e["value"], s["unit"]),
            _fmt_value(t["value"], s["unit"]),
            ratio,
            _fmt(e["rss"], ".0f"),
            _fmt(t["rss"], ".0f"),
            _fmt(e["build"], ".2f"),
            _fmt(t["build"], ".2f"),
            _fmt(e["first"], ".2f"),
            _fmt(t["first"], ".2f"),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "## Targets", ""]
    for target, met, detail in evaluate_targets(summary):
        lines.append(f"- {target}: **{'met' if met else 'not met'}** ({detail})")
    errs = [e for s in summary for e in s["errors"]]
    if errs:
        lines += ["", "## Failures", ""] + [f"- {e}" for e in dict.fromkeys(errs)]
    return "\n".join(lines) + "\n"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return f"{os.cpu_count()} logical cores" + (f" ({usable} usable)" if usable else "")


def _git_state() -> str:
    """The commit of the tree the bench ran, and whether ember's files differed from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "ember"], cwd=ROOT,
                               check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (" with uncommitted changes to ember/" if dirty else "")


def source_stamp() -> tuple:
    """Sizes and modification times of ember's source files: a change during a run means the
    rounds did not all measure the same code."""
    return tuple(
        (str(f), f.stat().st_mtime_ns, f.stat().st_size)
        for f in sorted((ROOT / "ember").rglob("*.py"))
    )


def collect_meta(args, argv, records, malloc, load_start, changed=False) -> dict:
    ok = [r for r in records if "error" not in r]
    by_fw = {fw: next((r for r in ok if r["framework"] == fw), None) for fw in FRAMEWORKS}
    numpy_v = next((r["numpy"] for r in ok), "?")
    extras = sorted({f"{k} {v}" for r in ok if r["framework"] == "ember"
                     for k, v in r.get("extras", {}).items()})  # fmt: skip
    versions = (
        f"Python {platform.python_version()}, NumPy {numpy_v}, "
        f"ember {by_fw['ember']['version'] if by_fw['ember'] else '?'} ({_git_state()}"
        + (f"; ember loaded {', '.join(extras)}" if extras else "")
        + f"), PyTorch {by_fw['torch']['version'] if by_fw['torch'] else '?'}"
    )
    torch_threads = by_fw["torch"]["threads"] if by_fw["torch"] else None
    blas = {fw: r["blas_threads"] for fw, r in by_fw.items() if r}
    threads = (
        f"{args.threads} ({'/'.join(THREAD_VARS)}={args.threads} and torch.set_num_threads; "
        f"seen in the children: torch.get_num_threads()={torch_threads}, BLAS threads "
        + ", ".join(f"{fw} {n}" for fw, n in blas.items())
        + ")"
    )
    alloc = ", ".join(f"{k}={v}" for k, v in malloc.items()) or "glibc defaults (no MALLOC_*)"
    alloc += ", the same for both"
    if by_fw["ember"] and by_fw["ember"].get("host_allocator_tuned"):
        alloc += (
            "; ember, at import, keeps freed memory in the heap for reuse (mallopt: mmap "
            "threshold 32 MiB, trim threshold 1 GiB; EMBER_HOST_ALLOCATOR=system turns it off)"
        )
    core = os.environ.get("OPENBLAS_CORETYPE")
    blas_arch = (
        f"NumPy's {by_fw['ember'].get('blas_arch') or 'BLAS ?'}"
        + (f" (OPENBLAS_CORETYPE={core} set in the environment)" if core else "")
        if by_fw["ember"]
        else "?"
    )
    loads = [r["load"] for r in ok if r.get("load") is not None]
    load = (
        f"1-minute load average {_fmt(load_start, '.2f')} before the run; at the end of the "
        f"children median {_fmt(_median(loads), '.2f')}, max {_fmt(max(loads, default=None), '.2f')}"
        f" (each child itself adds up to {args.threads})"
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    warnings = []
    if (load_start or 0) > cores - args.threads + 0.5 or (_median(loads) or 0) > cores + 1:
        warnings.append(
            "other jobs were using the cores, so these numbers are noisy (thread pools that "
            "wait for each other, PyTorch's OpenMP threads above all, suffer most)"
        )
    if changed:
        warnings.append("ember's source files changed during the run")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{_cpu_model()}, {_cores()}, {platform.system()} {platform.release()}",
        "versions": versions,
        "threads": threads,
        "allocator": alloc,
        "BLAS": blas_arch,
        "rounds": (
            f"{args.rounds} (ember first in odd rounds, PyTorch first in even ones); "
            f"{args.warmup:g} s warm-up then {args.seconds:g} s (at least {args.min_steps} "
            f"steps) timed per child" + ("; SMOKE shapes" if args.smoke else "")
        ),
        "load": load,
        "command": "python -m bench.run" + (" " + shlex.join(argv) if argv else ""),
        **({"WARNING": "; ".join(warnings)} if warnings else {}),
    }


def main(argv: list[str] | None = None) -> int:
    from bench.workloads import WORKLOADS

    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    # five: the median of five per-round ratios stands even if two rounds were disturbed (on
    # a shared host, single rounds of one workload have moved by up to 1.7x in one run)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=4.0, help="timed seconds per child")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per child")
    p.add_argument("--min-steps", type=int, default=3, help="least timed steps per child")
    p.add_argument("--only", help=f"comma-separated workloads or letters: {', '.join(WORKLOADS)}")
    p.add_argument("--out", default="bench/RESULTS.md")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0))
                   if hasattr(os, "sched_getaffinity") else os.cpu_count())  # fmt: skip
    p.add_argument("--malloc", default="default",
                   help="'default' (glibc's) or MALLOC_NAME=VALUE,... for both frameworks")  # fmt: skip
    p.add_argument("--timeout", type=float, default=600.0, help="seconds before a child is killed")
    p.add_argument("--smoke", action="store_true", help="tiny shapes (for the tests)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--framework", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    p.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args)
    if args.rounds < 1 or args.threads < 1:
        p.error(f"--rounds and --threads must be positive, received {args.rounds}, {args.threads}")
    try:
        names = select(args.only, WORKLOADS)
        malloc = parse_malloc(args.malloc)
    except ValueError as e:
        p.error(str(e))
    env = child_env(args.threads, malloc)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    stamp = source_stamp()
    records = []
    for round_no in range(1, args.rounds + 1):
        order = FRAMEWORKS if round_no % 2 else FRAMEWORKS[::-1]
        for name in names:
            for fw in order:
                rec = run_child(name, fw, args, env, round_no)
                records.append(rec)
                if "error" in rec:
                    msg = f"FAILED {rec['error']}"
                else:
                    vals = ", ".join(f"{r['value']:.4g} {r['unit']}" for r in rec["rows"])
                    msg = (f"{vals}, {rec['peak_rss_mib']:.0f} MiB, "
                           f"first step {rec['first_step_s']:.2f} s")  # fmt: skip
                print(f"[round {round_no}/{args.rounds}] {name:<10} {fw:<5} {msg}",
                      file=sys.stderr, flush=True)  # fmt: skip
    meta = collect_meta(args, argv, records, malloc, load_start, source_stamp() != stamp)
    text = format_table(summarize(records), meta)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
