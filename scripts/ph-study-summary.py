#!/usr/bin/env python3
"""Merge the runs of several `nrg ph --study NAME` output directories (e.g. one per seed).

usage: scripts/ph-study-summary.py NAME OUTPREFIX SOURCE [SOURCE ...]

Each SOURCE is an output directory of `nrg ph --study NAME` (its study_NAME.json is read) or a
JSON file this script wrote before (e.g. OUTPREFIX.json: its runs are kept with their
"variant" and "source"), so new seeds can be merged into an earlier summary without the
earlier output directories. Keeps every (variant, run) (one given twice, same variant, n, r
and seed, is kept once, from the later SOURCE); runs whose stop reason is "diverged"
(direct_stop / nr_stop) are kept with the loss of the best state their method kept and
counted in a "diverged" column. Writes
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
    xs = sorted(x for x in xs if x is not None and x == x)  # drop NaN and null
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
    by_key, order, settings = {}, [], None
    for d in sys.argv[3:]:
        p = Path(d)
        if p.is_dir():
            s = json.loads((p / f"study_{name}.json").read_text())
            found = [dict(r, variant=label, source=p.name) for label, r in s["runs"]]
        else:
            s = json.loads(p.read_text())
            found = [dict(r) for r in s["runs"]]
        settings = settings or s.get("settings")
        for r in found:
            if r["variant"] not in order:
                order.append(r["variant"])
            key = (r["variant"], r["n"], r["range"], r["seed"])
            if key in by_key:
                print(f"note: {key} given twice; keeping {r.get('source')}", file=sys.stderr)
            by_key[key] = r
    runs = sorted(by_key.values(), key=lambda r: (order.index(r["variant"]), r["seed"]))
    for r in runs:
        nr_all = r["nr_steps"] + r["nr_direct_steps"]
        r["step_ratio"] = r["direct_steps"] / nr_all if nr_all else None
        # Runs before the stop reasons were recorded never diverged (a divergence aborted).
        r.setdefault("direct_stop", "")
        r.setdefault("nr_stop", "")
        r.setdefault("error", None)
        if "diverged" in (r["direct_stop"], r["nr_stop"]):
            # No comparable time to stop or to a loss level (nrg ph writes null here too).
            # Nor a comparable step count: the step ratio is null as well.
            for k in ("train_speedup", "total_speedup", "equal_loss_speedup", "step_ratio"):
                r[k] = None
    prefix.parent.mkdir(parents=True, exist_ok=True)
    keys = ["variant"]
    for r in runs:
        keys += [k for k in r if k not in ("variant", "source") and k not in keys]
    keys.append("source")
    with open(f"{prefix}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, restval="")
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
               "nr_lower": sum(1 for r in rs if r["nr_loss"] is not None
                               and r["direct_loss"] is not None
                               and r["nr_loss"] < r["direct_loss"]),
               "diverged": sum(1 for r in rs if "diverged" in (r["direct_stop"], r["nr_stop"]))}
        for k in fields:
            row[k] = agg(r[k] for r in rs)
        rows.append(row)
    Path(f"{prefix}.json").write_text(
        json.dumps({"study": name, "settings": settings, "aggregate": rows, "runs": runs},
                   indent=1))
    any_diverged = any(row["diverged"] for row in rows)
    out = ["| variant | seeds | prefit s | train s | direct s | train speedup | total speedup | "
           "equal-loss speedup | step ratio | NR loss | direct loss | NR lower | NR steps |"
           + (" diverged |" if any_diverged else ""),
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
           + ("---|" if any_diverged else "")]
    for row in rows:
        out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | {} |".format(
            row["variant"], ",".join(map(str, row["seeds"])),
            mm(row["prefit_time_s"], ".2f"), mm(row["train_time_s"], ".1f"),
            mm(row["direct_time_s"], ".1f"), mm(row["train_speedup"], ".2f"),
            mm(row["total_speedup"], ".2f"), mm(row["equal_loss_speedup"], ".2f"),
            mm(row["step_ratio"], ".2f"), mm(row["nr_loss"], ".3f"),
            mm(row["direct_loss"], ".3f"), row["nr_lower"], row["runs"],
            mm(row["nr_steps"], ".0f"))
            + (" {} |".format(row["diverged"]) if any_diverged else ""))
    Path(f"{prefix}.md").write_text(
        f"Study `{name}` ({settings}). Median [min, max] over seeds.\n\n" + "\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
