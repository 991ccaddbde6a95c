"""A line chart as SVG markup (the loss per epoch), drawn on the server like the DAG."""

from __future__ import annotations

from html import escape

W, H, PAD_L, PAD_B, PAD = 480, 220, 56, 34, 12


def line_chart(values: list[float], title: str, x_label: str, y_label: str) -> str:
    """Points joined by a line, with labelled axes and each point's value in its tooltip."""
    if not values:
        return "<p>No values to chart.</p>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = len(values)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = PAD_L + (W - PAD_L - PAD) * (i / (n - 1) if n > 1 else 0.5)
        y = PAD + (H - PAD - PAD_B) * (1 - (v - lo) / span)
        return x, y

    points = [xy(i, v) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>{x_label} {i + 1}: {v:.4f}</title>'
        "</circle>"
        for i, ((x, y), v) in enumerate(zip(points, values, strict=True))
    )
    base = H - PAD_B
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{W}" '
        f'height="{H}" viewBox="0 0 {W} {H}"><title>{escape(title)}</title>'
        f'<line x1="{PAD_L}" y1="{PAD}" x2="{PAD_L}" y2="{base}" class="axis"/>'
        f'<line x1="{PAD_L}" y1="{base}" x2="{W - PAD}" y2="{base}" class="axis"/>'
        f'<text x="{PAD_L - 6}" y="{PAD + 4}" text-anchor="end">{hi:.3g}</text>'
        f'<text x="{PAD_L - 6}" y="{base}" text-anchor="end">{lo:.3g}</text>'
        f'<text x="{PAD_L}" y="{H - 8}">1</text>'
        f'<text x="{W - PAD}" y="{H - 8}" text-anchor="end">{n}</text>'
        f'<text x="{(W + PAD_L) / 2:.0f}" y="{H - 8}" text-anchor="middle">{escape(x_label)}'
        f'</text><text x="14" y="{H / 2:.0f}" transform="rotate(-90 14 {H / 2:.0f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
        f'<polyline points="{line}" fill="none" class="series"/>{dots}</svg>'
    )
