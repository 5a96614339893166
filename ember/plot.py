"""The training curves of a run as a PNG: loss (left) and accuracy (right) per epoch,
training in blue and validation in orange.

With matplotlib installed the plot has titles, axes and a legend. Without it, ember draws
the same two panels itself with NumPy and writes the PNG with zlib: curves, markers, axes
and a light grid, but no text, so every run folder has a plot on a NumPy-only install.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import struct
import zlib

import numpy as np

__all__ = ["plot_metrics", "read_metrics", "write_png"]

BLUE = (31, 119, 180)
ORANGE = (255, 127, 14)
PANELS = (("loss", "val_loss", "loss"), ("accuracy", "val_accuracy", "accuracy"))


def read_metrics(path: str) -> dict[str, list[float]]:
    """Columns of a metrics CSV (one row per epoch) as {name: [values]}; empty cells and
    text become NaN."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    out: dict[str, list[float]] = {}
    for name in rows[0]:
        col = []
        for row in rows:
            try:
                col.append(float(row[name]))
            except (TypeError, ValueError):
                col.append(math.nan)
        out[name] = col
    return out


def plot_metrics(metrics, path: str, title: str = "", use_matplotlib: bool | None = None) -> str:
    """Draw loss and accuracy per epoch to the PNG file ``path``; returns ``path``.

    metrics: a dict {column: [value per epoch]} (a History's ``history`` dict works) or the
    path of a metrics CSV. Columns used: epoch, loss, val_loss, accuracy, val_accuracy;
    missing ones are left out. use_matplotlib: None picks matplotlib when it is installed.
    """
    if isinstance(metrics, (str, os.PathLike)):
        metrics = read_metrics(os.fspath(metrics))
    metrics = {k: [float(v) for v in vs] for k, vs in metrics.items()}
    n = max((len(v) for v in metrics.values()), default=0)
    epochs = metrics.get("epoch") or list(range(1, n + 1))
    if metrics.get("epoch") and min(epochs, default=1) == 0:
        epochs = [e + 1 for e in epochs]  # Keras-style 0-based epoch column
    if use_matplotlib is None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            use_matplotlib = False
        else:
            use_matplotlib = True
    if use_matplotlib:
        _plot_matplotlib(metrics, epochs, path, title)
    else:
        write_png(path, _draw(metrics, epochs))
    return path


def _plot_matplotlib(metrics, epochs, path, title):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for ax, (train, val, label) in zip(axes, PANELS):
        for key, color, name in ((train, BLUE, "train"), (val, ORANGE, "validation")):
            if key in metrics and not all(math.isnan(v) for v in metrics[key]):
                ys = metrics[key]
                ax.plot(epochs[: len(ys)], ys, "o-", color=[c / 255 for c in color], label=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------- drawing
def _draw(metrics, epochs, width: int = 960, height: int = 400) -> np.ndarray:
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    margin, gap = 40, 40
    pw = (width - 2 * margin - gap) // 2
    for i, (train, val, _) in enumerate(PANELS):
        x0 = margin + i * (pw + gap)
        box = (x0, margin, x0 + pw, height - margin)  # left, top, right, bottom
        series = [
            (metrics[k][: len(epochs)], color)
            for k, color in ((train, BLUE), (val, ORANGE))
            if k in metrics
        ]
        _panel(img, box, epochs, series)
    return img


def _panel(img, box, epochs, series):
    left, top, right, bottom = box
    values = [v for ys, _ in series for v in ys if math.isfinite(v)]
    for k in range(1, 5):  # light grid
        y = top + (bottom - top) * k // 5
        img[y, left:right] = (230, 230, 230)
        x = left + (right - left) * k // 5
        img[top:bottom, x] = (230, 230, 230)
    img[top, left : right + 1] = img[bottom, left : right + 1] = (90, 90, 90)
    img[top : bottom + 1, left] = img[top : bottom + 1, right] = (90, 90, 90)
    if not values or not epochs:
        return
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    e0, e1 = min(epochs), max(epochs)
    span = (e1 - e0) or 1.0
    inner_l, inner_r = left + 8, right - 8

    def to_px(e, v):
        x = inner_l + (e - e0) / span * (inner_r - inner_l) if e1 > e0 else (left + right) / 2
        y = bottom - (v - lo) / (hi - lo) * (bottom - top)
        return x, y

    for ys, color in series:
        pts = [to_px(e, v) for e, v in zip(epochs, ys) if math.isfinite(v)]
        for (xa, ya), (xb, yb) in itertools.pairwise(pts):
            _line(img, xa, ya, xb, yb, color, radius=1)
        for x, y in pts:
            _dot(img, x, y, color, radius=3)


def _line(img, xa, ya, xb, yb, color, radius):
    n = int(max(abs(xb - xa), abs(yb - ya)) * 2) + 2
    t = np.linspace(0.0, 1.0, n)
    _stamp(img, xa + (xb - xa) * t, ya + (yb - ya) * t, color, radius)


def _dot(img, x, y, color, radius):
    _stamp(img, np.array([x]), np.array([y]), color, radius)


def _stamp(img, xs, ys, color, radius):
    """Paint a (2r+1)-pixel square at each point: thick lines and markers, clipped."""
    h, w = img.shape[:2]
    offs = np.arange(-radius, radius + 1)
    px = (np.rint(xs)[:, None] + offs[None, :]).astype(int)
    py = (np.rint(ys)[:, None] + offs[None, :]).astype(int)
    px = np.repeat(px, len(offs), axis=1).ravel()
    py = np.tile(py, (1, len(offs))).ravel()
    keep = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    img[py[keep], px[keep]] = color


# ---------------------------------------------------------------------------- PNG
def write_png(path: str, img: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB image as a PNG file (8-bit truecolour, no filtering)."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"write_png: expected an (H, W, 3) image, received shape {img.shape}")
    h, w = img.shape[:2]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * 3)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
    with open(path, "wb") as fh:
        fh.write(png)
