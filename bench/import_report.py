"""The import bench's arithmetic and table: medians and spreads per engine, the floor, the ratios and the targets.

bench/run.py collects the runs of one case (size, bad fraction, format, database); `summarise_case` turns them into
the record written to results.json, `print_table` prints the records. Targets are marked PASS/MISS, never asserted.
"""

from __future__ import annotations

import statistics
from typing import Any

OURS = "primepre"
THEIRS = "django-import-export"
FLOOR = "floor"

# Issue #15's targets. Ratios are judged from 100,000 rows up (at 7,000 rows start-up is most of the wall time and
# the 0.8 s target covers it); the wall time of our CLI on PostgreSQL at 7,000 rows; memory per size.
RATIO_MIN_ROWS = 100_000
FLOOR_TARGETS = {"postgres": 1.5, "sqlite": 2.0}  # ours (CLI wall) ÷ floor, at most
THEIRS_TARGET = 10.0  # django-import-export's wall ÷ ours, at least
WALL_TARGETS = {("postgres", 7_000): 0.8}
MEMORY_TARGETS_MB = {100_000: 160, 1_000_000: 300}
FLOOR_LABELS = {"copy-one": "COPY, 1 tx", "copy-batches": "COPY per batch", "json-batches": "json_each per batch"}


def spread(values: list[float]) -> dict[str, Any]:
    """Median and min–max of some seconds (the median of an even count is the mean of the middle two)."""
    return {"median": round(statistics.median(values), 4), "min": min(values), "max": max(values), "all": values}


def summarise_engine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One engine's runs of a case: counts of its first run, wall and pipeline seconds, the worst memory.

    `memory_mb` is what the memory target judges: the larger of the sampled RSS and ru_maxrss for one process, the
    peak of the summed PSS when the import ran as several processes (RSS would count their shared pages twice)."""
    good = [run for run in runs if "summary" in run]
    result: dict[str, Any] = {"runs": runs, "errors": [run["error"] for run in runs if "error" in run]}
    if not good:
        return result
    counts = {key: good[0]["summary"].get(key) for key in ("status", "read", "created", "updated", "failed")}
    result.update(counts)
    result["counts_differ"] = any(
        {key: run["summary"].get(key) for key in counts} != counts for run in good[1:]
    )  # the same file must give the same outcome every round
    result["wall"] = spread([run["process_seconds"] for run in good])
    result["pipeline"] = spread([run["summary"]["seconds"] for run in good])
    result.update(_cpu(good))
    result["peak_rss_mb"] = max(run["peak_rss_mb"] for run in good)
    result["peak_pss_mb"] = max(run["peak_pss_mb"] for run in good)
    result["maxrss_mb"] = max(run["maxrss_mb"] or 0 for run in good)
    result["processes"] = max(run["processes"] for run in good)
    if result["processes"] > 1:
        result["memory_mb"], result["memory_basis"] = result["peak_pss_mb"], "PSS sum"
    else:
        result["memory_mb"], result["memory_basis"] = max(result["peak_rss_mb"], result["maxrss_mb"]), "RSS"
    return result


def _cpu(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """CPU seconds of the engine's process and of the database server, where measured: with the wall time, they say
    what bounds it (on a machine of N cores the wall is at least the sum ÷ N, and at least the start-up plus the
    database's part, which cannot begin before the first batch)."""
    result = {}
    if all(run.get("cpu_seconds") is not None for run in runs):
        result["cpu"] = spread([run["cpu_seconds"] for run in runs])
    if all(run.get("database_cpu_seconds") is not None for run in runs):
        result["database_cpu"] = spread([run["database_cpu_seconds"] for run in runs])
    return result


def summarise_floor(floor_runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The floor is the cheaper method (by median) of those measured; every method's figures are kept."""
    methods, cpu = {}, {}
    errors = []
    for method, runs in floor_runs.items():
        errors += [run["error"] for run in runs if "error" in run]
        good = [run for run in runs if "summary" in run]
        if good:
            methods[method] = spread([run["summary"]["seconds"] for run in good])
            cpu[method] = _cpu(good)
    if not methods:
        return {"errors": errors} if errors else None
    chosen = min(methods, key=lambda method: methods[method]["median"])
    return {"method": chosen, "seconds": methods[chosen], "methods": methods, "cpu": cpu, "errors": errors}


def _ratio(numerator: dict[str, Any] | None, denominator: dict[str, Any] | None) -> float | None:
    if not numerator or not denominator or not denominator["median"]:
        return None
    return round(numerator["median"] / denominator["median"], 2)


def _targets(case: dict[str, Any], ours: dict[str, Any], ratios: dict[str, float | None]) -> list[dict[str, Any]]:
    """Issue #15's targets that apply to this case, each with its figure and PASS (True) or MISS (False)."""
    marks = []
    size, kind = case["rows"], case["db"]

    def mark(name: str, value: float | None, limit: float, at_most: bool) -> None:
        if value is not None:
            marks.append(
                {"target": name, "value": value, "limit": limit, "pass": value <= limit if at_most else value >= limit}
            )

    if (kind, size) in WALL_TARGETS and "wall" in ours:
        mark("wall", ours["wall"]["median"], WALL_TARGETS[(kind, size)], True)
    if size >= RATIO_MIN_ROWS:
        mark("wall/floor", ratios["wall_floor"], FLOOR_TARGETS[kind], True)
        mark("theirs/ours", ratios["theirs_ours_wall"], THEIRS_TARGET, False)
    if size in MEMORY_TARGETS_MB and "memory_mb" in ours:
        mark("memory", ours["memory_mb"], MEMORY_TARGETS_MB[size], True)
    return marks


def summarise_case(
    case: dict[str, Any], runs: dict[str, list[dict[str, Any]]], floor_runs: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The record of one case: each engine summarised, the floor, the ratios of medians, the targets."""
    engines = {engine: summarise_engine(engine_runs) for engine, engine_runs in runs.items()}
    ours, theirs = engines.get(OURS, {}), engines.get(THEIRS, {})
    floor = summarise_floor(floor_runs)
    floor_seconds = floor.get("seconds") if floor else None
    ratios = {
        "wall_floor": _ratio(ours.get("wall"), floor_seconds),
        "pipeline_floor": _ratio(ours.get("pipeline"), floor_seconds),
        "theirs_ours_wall": _ratio(theirs.get("wall"), ours.get("wall")),
        "theirs_ours_pipeline": _ratio(theirs.get("pipeline"), ours.get("pipeline")),
    }
    errors = [error for result in [*engines.values(), floor or {}] for error in result.get("errors", [])]
    return {
        "case": case,
        "engines": engines,
        "floor": floor,
        "ratios": ratios,
        "targets": _targets(case, ours, ratios),
        "errors": errors,
    }


# --- the table ----------------------------------------------------------------------------------------------------


def _seconds(figure: dict[str, Any] | None) -> str:
    if not figure:
        return "-"
    if len(figure["all"]) == 1:
        return f"{figure['median']:.3f}"
    return f"{figure['median']:.3f} ({figure['min']:.2f}–{figure['max']:.2f})"


def _verdict(record: dict[str, Any], name: str) -> str:
    for target in record["targets"]:
        if target["target"] == name:
            sign = "≤" if name != "theirs/ours" else "≥"
            return f" {'PASS' if target['pass'] else 'MISS'}{sign}{target['limit']:g}"
    return ""


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"


def _cpu_cell(figures: dict[str, Any]) -> str:
    """`process + database` CPU seconds, medians (the database's part on PostgreSQL only)."""
    if "cpu" not in figures:
        return "-"
    cell = f"{figures['cpu']['median']:.2f}"
    return cell + (f" + {figures['database_cpu']['median']:.2f}" if "database_cpu" in figures else "")


def _row(record: dict[str, Any]) -> list[str]:
    case, ratios, floor = record["case"], record["ratios"], record["floor"] or {}
    ours, theirs = record["engines"].get(OURS, {}), record["engines"].get(THEIRS, {})
    failed = "-" if ours.get("failed") is None else f"{ours['failed']:,}"
    memory = "-"
    if "memory_mb" in ours:
        memory = f"{ours['memory_mb']:.0f} {ours['memory_basis']}{_verdict(record, 'memory')} · RSS"
        memory += f" {ours['peak_rss_mb']:.0f}, maxrss {ours['maxrss_mb']:.0f}, PSS {ours['peak_pss_mb']:.0f}"
        memory += f" · {ours['processes']} proc"
    return [
        f"{case['rows']:,}",
        f"{case['bad_fraction']:g}",
        case["format"],
        case["db"],
        "-" if ours.get("created") is None else f"{ours['created']:,}",
        f"{failed}/{case['planted_bad']:,}",
        _seconds(ours.get("wall")) + _verdict(record, "wall"),
        _seconds(ours.get("pipeline")),
        _seconds(floor.get("seconds")) + (f" {FLOOR_LABELS[floor['method']]}" if floor.get("method") else ""),
        _times(ratios["wall_floor"]) + _verdict(record, "wall/floor"),
        _times(ratios["pipeline_floor"]),
        _cpu_cell(ours),
        _cpu_cell((floor.get("cpu") or {}).get(floor.get("method"), {})),
        _seconds(theirs.get("wall")),
        _seconds(theirs.get("pipeline")),
        _times(ratios["theirs_ours_wall"]) + _verdict(record, "theirs/ours"),
        _times(ratios["theirs_ours_pipeline"]),
        memory,
    ]


HEADERS = [
    "rows", "bad", "fmt", "db", "created", "failed/planted", "ours wall s", "ours pipeline s", "floor s",
    "wall÷floor", "pipeline÷floor", "ours CPU s", "floor CPU s", "DIE wall s", "DIE pipeline s", "DIE÷ours wall",
    "DIE÷ours pipeline", "ours MB",
]  # fmt: skip
LEFT = {1, 2, 3, 8, 17}


def print_table(records: list[dict[str, Any]]) -> None:
    if not records:
        print("\nno runs (every database skipped?)")
        return
    rows = [_row(record) for record in records]
    widths = [max(len(HEADERS[i]), *(len(row[i]) for row in rows)) for i in range(len(HEADERS))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in LEFT else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print()
    print(line(HEADERS))
    for row in rows:
        print(line(row))
    for record in records:
        case = record["case"]
        where = f"{case['rows']:,} b{case['bad_fraction']:g} {case['format']} {case['db']}"
        for error in record["errors"]:
            print(f"ERROR {where}: {error.splitlines()[0][:160]}")
        for engine, result in record["engines"].items():
            if result.get("counts_differ"):
                print(f"NOTE {where}: {engine}'s counts differ between rounds")
    print(
        "\nSeconds: median (min–max) of the rounds. ours wall = the whole `manage.py import_customers` process,"
        " start-up included; pipeline = the import's own `seconds` (file opened → last commit). floor = the"
        " database alone loading the same clean rows into the same emptied table (bench/floor.py), the cheaper"
        " method by median. DIE = django-import-export (bench/compare_import_export.py), the same two figures."
        " CPU s = CPU seconds, medians: the process (start-up included), + the PostgreSQL server's over the same"
        " run (on SQLite the database works inside the process); for the floor, of its own process, which only"
        " sends prepared rows."
        f" Ratios are of medians.\nTargets (issue #15): from {RATIO_MIN_ROWS:,} rows, ours wall ≤ 1.5× the floor on"
        " PostgreSQL and ≤ 2× on SQLite, DIE wall ÷ ours wall ≥ 10; 7,000 rows on PostgreSQL ≤ 0.8 s wall; memory"
        " ≤ 160 MB at 100,000 rows and ≤ 300 MB at 1,000,000 (RSS for one process, the larger of sampled and"
        " ru_maxrss; the PSS sum for several)."
    )
