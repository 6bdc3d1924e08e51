#!/usr/bin/env python3
"""Merge the runs of several `nrg ph --study NAME` output directories (e.g. one per seed).

usage: scripts/ph-study-summary.py NAME OUTPREFIX DIR [DIR ...]

Reads DIR/study_NAME.json of each directory, keeps every (variant, run), and writes
OUTPREFIX.csv (one row per run), OUTPREFIX.json (runs and per-variant aggregates) and
OUTPREFIX.md (median [min, max] over seeds per variant, variants in the study's order).
Standard library only.
"""
import csv
import json
import statistics
import sys
from pathlib import Path


def agg(xs):
    xs = sorted(x for x in xs if x is not None and x == x)
    if not xs:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1]}


def mm(a, fmt):
    if a["median"] is None:
        return "–"
    if a["min"] == a["max"]:
        return f"{a['median']:{fmt}}"
    return f"{a['median']:{fmt}} [{a['min']:{fmt}}, {a['max']:{fmt}}]"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    name, prefix = sys.argv[1], Path(sys.argv[2])
    runs, order, settings = [], [], None
    for d in sys.argv[3:]:
        s = json.loads((Path(d) / f"study_{name}.json").read_text())
        settings = settings or s.get("settings")
        for label, r in s["runs"]:
            if label not in order:
                order.append(label)
            r = dict(r)
            r["variant"] = label
            r["source"] = Path(d).name
            runs.append(r)
    for r in runs:
        nr_all = r["nr_steps"] + r["nr_direct_steps"]
        r["step_ratio"] = r["direct_steps"] / nr_all
    prefix.parent.mkdir(parents=True, exist_ok=True)
    keys = ["variant"] + [k for k in runs[0] if k not in ("variant", "source")] + ["source"]
    with open(f"{prefix}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in runs:
            w.writerow(r)
    fields = ["prefit_time_s", "train_time_s", "direct_time_s", "train_speedup",
              "total_speedup", "equal_loss_speedup", "step_ratio", "nr_loss", "direct_loss",
              "nr_steps", "prefit_mse"]
    rows = []
    for label in order:
        rs = [r for r in runs if r["variant"] == label]
        row = {"variant": label, "runs": len(rs), "seeds": sorted(r["seed"] for r in rs),
               "nr_lower": sum(1 for r in rs if r["nr_loss"] < r["direct_loss"])}
        for k in fields:
            row[k] = agg(r[k] for r in rs)
        rows.append(row)
    Path(f"{prefix}.json").write_text(
        json.dumps({"study": name, "settings": settings, "aggregate": rows, "runs": runs},
                   indent=1))
    out = ["| variant | seeds | prefit s | train s | direct s | train speedup | total speedup | "
           "equal-loss speedup | step ratio | NR loss | direct loss | NR lower | NR steps |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | {} |".format(
            row["variant"], ",".join(map(str, row["seeds"])),
            mm(row["prefit_time_s"], ".2f"), mm(row["train_time_s"], ".1f"),
            mm(row["direct_time_s"], ".1f"), mm(row["train_speedup"], ".2f"),
            mm(row["total_speedup"], ".2f"), mm(row["equal_loss_speedup"], ".2f"),
            mm(row["step_ratio"], ".2f"), mm(row["nr_loss"], ".3f"),
            mm(row["direct_loss"], ".3f"), row["nr_lower"], row["runs"],
            mm(row["nr_steps"], ".0f")))
    Path(f"{prefix}.md").write_text(
        f"Study `{name}` ({settings}). Median [min, max] over seeds.\n\n" + "\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
