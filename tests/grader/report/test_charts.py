"""Chart specs and their drawings (grader/report/charts.py): bounded, placed right, described in words."""

from __future__ import annotations

import json

from grader.report import charts


def test_line_chart_spec_is_plain_bounded_json():
    losses = [(i, 2.3 * 0.99 ** i) for i in range(500)]
    spec = charts.line_chart("Training loss", "iteration", "loss", {"yours": losses})
    assert json.loads(json.dumps(spec)) == spec
    points = spec["series"][0]["points"]
    assert len(points) == charts.MAX_POINTS
    assert points[0] == [0.0, 2.3] and points[-1] == [499.0, losses[-1][1]]  # ends kept


def test_non_finite_points_are_left_out_and_series_are_capped():
    spec = charts.line_chart("t", "x", "y", {f"s{i}": [(0, 1), (1, float("nan"))] for i in range(9)})
    assert len(spec["series"]) == charts.MAX_SERIES
    assert spec["series"][0]["points"] == [[0.0, 1.0]]


def test_line_view_places_points_inside_the_plot_with_higher_values_higher():
    spec = charts.line_chart("Accuracy vs sparsity", "sparsity (%)", "accuracy",
                             {"yours": [(0, 0.95), (50, 0.94), (80, 0.70)],
                              "reference": [(0, 0.95), (50, 0.945), (80, 0.72)]},
                             target=0.9, target_label="accepted")
    view = charts.view(spec)
    left, top, width, height = view.plot
    first = view.lines[0]
    assert first.name == "yours" and len(first.dots) == 3
    for x, y in first.dots:
        assert left <= x <= left + width and top <= y <= top + height
    (x0, y0), (x1, y1), (x2, y2) = first.dots
    assert x0 < x1 < x2 and y0 < y2  # SVG y grows downwards: 0.95 is drawn above 0.70
    assert top <= view.target_y <= top + height
    assert "yours: (0, 0.95), (50, 0.94), (80, 0.7)" in view.description
    assert [t.label for t in view.y_ticks] and [t.label for t in view.x_ticks]


def test_bar_view_starts_at_zero_and_names_every_bar():
    spec = charts.bar_chart("Test accuracy by normalization", "test accuracy",
                            {"none": 0.94, "batch": 0.97, "layer": 0.0}, target=0.9)
    view = charts.view(spec)
    assert [b.label for b in view.bars] == ["none", "batch", "layer"]
    batch, layer = view.bars[1], view.bars[2]
    assert batch.height > view.bars[0].height > layer.height == 0
    assert view.description == "none: 0.94; batch: 0.97; layer: 0"


def test_a_spec_it_cannot_draw_gives_no_view():
    assert charts.view({"type": "pie"}) is None
    assert charts.view({"type": "line", "series": []}) is None
    assert charts.view({"type": "bar", "bars": [{"label": "x"}]}) is None
