"""Write benchmarks/RESULTS.md from the JSON files the benchmark scripts left in a folder.

Why it exists: the results file must say exactly what was run, on what, when,
and with which versions, and it must never be edited by hand to look better.
benchmarks/run_all.sh runs each script with `--json OUT/<script>.json`; this
renders them with benchmarks/results_template.md.j2 (a template, so that the
prose can be read and changed without touching the numbers' code).  A missing
JSON leaves its section out; `--preliminary` puts the "machine under load"
warning at the top.

Usage: .venv/bin/python benchmarks/write_results.py OUT_DIR [--preset NAME]
           [--preliminary] [-o benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jinja2

import bench_common as common

SCRIPTS = ("grade_check_times", "overhead", "scaling", "compare_tools", "big_class")
NUMPY_ASSIGNMENTS = ("fc_nets", "batchnorm", "dropout", "cnn")  # grade check goal: at most 0.6 s


def _load(out_dir: Path, name: str) -> dict | None:
    path = out_dir / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ratio(value) -> str:
    return "" if value is None else f"{value:.1f}×"


def render(out_dir: Path, preset: str, preliminary: bool, note: str = "") -> str:
    data = {name: _load(out_dir, name) for name in SCRIPTS}
    present = [d for d in data.values() if d]
    if not present:
        raise SystemExit(f"write_results: no benchmark JSON in {out_dir} "
                         f"(expected {', '.join(n + '.json' for n in SCRIPTS)})")
    first = min(present, key=lambda d: d["machine"]["date"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(common.HERE)),
                             undefined=jinja2.StrictUndefined, trim_blocks=False,
                             keep_trailing_newline=True)
    env.filters.update(
        f0=lambda v: f"{v:.0f}", f1=lambda v: f"{v:.1f}", f2=lambda v: f"{v:.2f}",
        f3=lambda v: f"{v:.3f}", num=lambda v: f"{v:g}", ratio=_ratio,
        relative=lambda p: str(Path(p).relative_to(common.ROOT))
        if Path(p).is_relative_to(common.ROOT) else p)
    view = {"preset": preset, "preliminary": preliminary, "out_dir": out_dir, "note": note,
            "machine": first["machine"],
            "load": ", ".join(f"{x:g}" for x in first["machine"]["load_average"]),
            "commands": [d["command_line"] for d in present],
            "compare": data["compare_tools"], "overhead": data["overhead"],
            "scaling": data["scaling"], "checks": data["grade_check_times"]}
    compare = data["compare_tools"]
    if compare:
        rows = {r["tool"]: r for r in compare["rows"]}
        nb = next(r for t, r in rows.items() if t.startswith("nbgrader"))
        ot = next(r for t, r in rows.items() if t.startswith("otter"))
        view.update(nbgrader_ratio=nb["ratio"]["1"], otter_ratio=ot["ratio"]["1"],
                    nbgrader_ratio2=nb["ratio"].get("2"), otter_ratio2=ot["ratio"].get("2"))
    overhead = data["overhead"]
    if overhead:
        view["wall_1"] = next(r["wall_s"] for r in overhead["runs"] if r["workers"] == 1)
        calls = overhead.get("calls_per_submission", {})
        view["breakdown"] = [
            (label, seconds, f"{calls[label]:.0f}" if label in calls and
             not label.startswith(("rest of", "student code")) else "")
            for label, seconds in sorted(overhead["per_submission_s"].items(), key=lambda kv: -kv[1])]
    if data["grade_check_times"]:
        view["any_dropped"] = any(r["page_cache_dropped"] for r in data["grade_check_times"]["rows"])
    view["big"] = data["big_class"]
    view["goals"] = goals(data)
    return env.get_template("results_template.md.j2").render(**view)


def _starts(counts: dict | None) -> str:
    """worker_start counts of a run's results as words: "warm (40)", "cold (3), warm (37)"."""
    return ", ".join(f"{k} ({v})" for k, v in sorted((counts or {}).items())) or "not recorded"


def goals(data: dict) -> list[tuple[str, str, str, str]]:
    """(goal, target, measured, verdict) rows for issue 17's goals whose benchmark ran."""
    rows = []

    def row(goal: str, target: str, measured: str, met: bool | None) -> None:
        rows.append((goal, target, measured, "reported" if met is None else
                     ("met" if met else "not met")))

    compare = data["compare_tools"]
    if compare:
        for name, target in (("nbgrader", 10.0), ("otter", 40.0)):
            tool = next(r for r in compare["rows"] if r["tool"].startswith(name))
            ratio = tool["ratio"]["1"]
            row(f"time of {tool['tool']} ÷ ours, {compare.get('size', '')} notebooks, 1 worker",
                f"≥ {target:g}×", f"{ratio:.1f}×", ratio >= target)
    overhead = data["overhead"]
    if overhead:
        one = next(r for r in overhead["runs"] if r["workers"] == 1)
        row(f"overhead ratio, {overhead['size']} fc_nets submissions, 1 worker "
            f"(workers: {_starts(one.get('worker_start'))})", "≤ 2",
            f"{one['overhead_ratio']:.2f}", one["overhead_ratio"] <= 2.0)
    checks = data["grade_check_times"]
    if checks:
        for r in checks["rows"]:
            numpy = r["assignment"] in NUMPY_ASSIGNMENTS
            row(f"`grade check` on the {r['assignment']} solution (warm median; cold)",
                "≤ 0.6 s" if numpy else "reported",
                f"{r['warm_median_s']:.2f} s; {r['cold_wall_s']:.2f} s",
                r["warm_median_s"] <= 0.6 if numpy else None)
    big = data["big_class"]
    if big:
        for run in big["runs"]:
            row(f"{big['size']} fc_nets submissions, `--workers {big['workers']}`, {run['mode']} "
                f"(workers: {_starts(run.get('worker_start'))})", "reported",
                f"{run['per_minute']:.1f}/min; judge peak RSS {run['judge_peak_rss_mib']:.0f} MiB "
                f"(batch process {run['batch_peak_rss_mib']:.0f} MiB)", None)
        if big.get("dask_ratio") is not None:
            row("Dask LocalCluster time ÷ local pool, same class", "≤ 1.10",
                f"{big['dask_ratio']:.2f}", big["dask_ratio"] <= 1.10)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--preset", default="full")
    parser.add_argument("--preliminary", action="store_true",
                        help="mark the figures as taken on a machine under load")
    parser.add_argument("--note", default="",
                        help="one line under the header saying how the run deviated from make bench")
    parser.add_argument("-o", "--output", type=Path, default=common.HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    if not args.out_dir.is_dir():
        parser.error(f"{args.out_dir} is not a folder")
    args.output.write_text(render(args.out_dir, args.preset, args.preliminary, args.note))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
