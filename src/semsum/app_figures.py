"""What the web page shows of a summary's scores.json: the importance curve over time (selected units shaded,
shot boundaries dotted) and a thumbnail of each selected unit. Pure functions of the document and the video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

MAX_GALLERY = 30
STILL_HEIGHT = 160


def _lines(name: str, x: list[float | None], y: list[float | None], hover: str, **style: Any) -> go.Scatter:
    """A plotly line trace with its legend name and hover text."""
    return go.Scatter(x=x, y=y, mode="lines", name=name, hovertemplate=f"{hover}<extra></extra>", **style)


def importance_figure(doc: dict[str, Any]) -> go.Figure:
    """The importance curve over time from scores.json, selected units shaded, shot boundaries dotted."""
    fps = float(doc["fps"])
    scores = list(doc["step_scores"])
    fig = go.Figure()
    times = [p / fps for p in doc["picks"]]
    fig.add_trace(_lines("importance", times, scores, "%{x:.1f} s: importance %{y:.3f}", line_shape="hv"))
    xs: list[float | None] = []
    ys: list[float | None] = []
    for u in doc["units"]:
        if u["selected"]:
            fig.add_vrect(x0=u["start_time"], x1=u["end_time"], fillcolor="#f59e0b", opacity=0.25, line_width=0)
            xs += [u["start_time"], u["end_time"], None]
            ys += [u["score"], u["score"], None]
    hover = "selected unit %{x:.1f} s: score %{y:.3f}"
    fig.add_trace(_lines("selected units (mean score)", xs, ys, hover, line={"color": "#d97706", "width": 4}))
    cuts = [b / fps for b in doc["shot_boundaries"]]
    bx = [x for c in cuts for x in (c, c, None)]
    by = [0.0, max(scores, default=1.0), None] * len(cuts)
    dotted = {"color": "#6b7280", "dash": "dot", "width": 1}
    fig.add_trace(_lines("shot boundaries", bx, by, "cut at %{x:.2f} s", line=dotted))
    fig.update_layout(
        height=320,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        xaxis_title="time (s)",
        yaxis_title="importance",
        legend={"orientation": "h", "y": -0.25},
        hovermode="closest",
    )
    return fig


def unit_stills(video: Path, doc: dict[str, Any]) -> list[tuple[Any, str]]:
    """A thumbnail of each selected unit (its middle frame) with its times and score; the best MAX_GALLERY."""
    from semsum.video.stills import stills_at

    units = [u for u in doc["units"] if u["selected"]]
    if len(units) > MAX_GALLERY:
        keep = sorted(sorted(units, key=lambda u: -u["score"])[:MAX_GALLERY], key=lambda u: u["start_time"])
        units = keep
    images = stills_at(video, [(u["start_time"] + u["end_time"]) / 2 for u in units], STILL_HEIGHT)
    return [
        (img, f"{u['start_time']:.1f}–{u['end_time']:.1f} s · score {u['score']:.2f}")
        for img, u in zip(images, units, strict=True)
    ]
