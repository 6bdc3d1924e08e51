#!/usr/bin/env python3
"""Merge the runs of several `nrg ph` output directories into one grid table.

usage: scripts/ph-grid-summary.py OUTPREFIX SOURCE [SOURCE ...]

Each SOURCE is either an `nrg ph` output directory (grid mode, not --study; its summary.json
is read) or a JSON file this script wrote before (e.g. OUTPREFIX.json itself: its runs are
kept with their "source"), so new seeds can be merged into an earlier summary without the
earlier output directories. Keeps every run (a run given twice, same n, r and seed, is kept
once, from the later SOURCE), and writes OUTPREFIX.csv (one row per run), OUTPREFIX.json (runs
and per-(n, r) aggregates) and OUTPREFIX.md (the aggregate table: median [min, max] over
seeds). Runs with stop reason "diverged" (direct_stop / nr_stop) are counted in a "diverged"
column when there are any. Standard library only.
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


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    prefix = Path(sys.argv[1])
    by_key = {}
    for d in sys.argv[2:]:
        p = Path(d)
        if p.is_dir():
            s = json.loads((p / "summary.json").read_text())
            found = [dict(r, source=p.name) for r in s["runs"]]
        else:
            found = [dict(r) for r in json.loads(p.read_text())["runs"]]
        for r in found:
            key = (r["n"], r["range"], r["seed"])
            if key in by_key:
                print(f"note: n={key[0]} r={key[1]} seed={key[2]} given twice; keeping "
                      f"{r.get('source')}", file=sys.stderr)
            by_key[key] = r
    runs = sorted(by_key.values(), key=lambda r: (r["n"], r["range"], r["seed"]))

    def ratio(a, b):
        return a / b if a is not None and b else None

    for r in runs:
        # train speedup = step ratio × per-step cost ratio (direct ms/step ÷ NR ms/step)
        nr_all = r["nr_steps"] + r["nr_direct_steps"]
        r["step_ratio"] = ratio(r["direct_steps"], nr_all)
        r["direct_ms_per_step"] = ratio(1000 * r["direct_time_s"], r["direct_steps"])
        r["nr_ms_per_step"] = ratio(1000 * r["train_time_s"], nr_all)
        # Runs before the stop reasons were recorded never diverged (a divergence aborted).
        r.setdefault("direct_stop", "")
        r.setdefault("nr_stop", "")
        r.setdefault("error", None)
        if "diverged" in (r["direct_stop"], r["nr_stop"]):
            # No comparable time to stop or to a loss level (nrg ph writes null here too).
            # Nor a comparable step count: the step ratio is null as well.
            for k in ("train_speedup", "total_speedup", "equal_loss_speedup", "step_ratio"):
                r[k] = None
    keys = []
    for r in runs:
        keys += [k for k in r if k != "source" and k not in keys]
    keys.append("source")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{prefix}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, restval="")
        w.writeheader()
        for r in runs:
            w.writerow(r)
    groups = {}
    for r in runs:
        groups.setdefault((r["n"], r["range"]), []).append(r)
    fields = ["direct_time_s", "prefit_time_s", "train_time_s", "total_time_s",
              "train_speedup", "total_speedup", "equal_loss_speedup",
              "direct_loss", "nr_loss", "direct_steps", "nr_steps", "nr_direct_steps",
              "step_ratio", "direct_ms_per_step", "nr_ms_per_step"]
    def lower(r):
        a, b = r["nr_loss"], r["direct_loss"]
        return a is not None and b is not None and a < b

    rows = []
    for (n, rng), rs in sorted(groups.items()):
        row = {"n": n, "range": rng, "runs": len(rs),
               "seeds": sorted(r["seed"] for r in rs),
               "nr_lower": sum(1 for r in rs if lower(r)),
               "diverged": sum(1 for r in rs if "diverged" in (r["direct_stop"], r["nr_stop"]))}
        for k in fields:
            row[k] = agg(r[k] for r in rs)
        rows.append(row)
    Path(f"{prefix}.json").write_text(json.dumps({"aggregate": rows, "runs": runs}, indent=1))

    def mm(a, fmt):
        if a["median"] is None:
            return "–"
        return f"{a['median']:{fmt}} [{a['min']:{fmt}}, {a['max']:{fmt}}]"

    any_diverged = any(row["diverged"] for row in rows)

    out = ["| n | r | seeds | direct s | prefit s | train s | total s | train speedup | "
           "total speedup | equal-loss speedup | direct loss | NR loss | NR lower |"
           + (" diverged |" if any_diverged else ""),
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
           + ("---|" if any_diverged else "")]
    for row in rows:
        out.append("| {} | {:g} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |".format(
            row["n"], row["range"], ",".join(map(str, row["seeds"])),
            mm(row["direct_time_s"], ".1f"), mm(row["prefit_time_s"], ".2f"),
            mm(row["train_time_s"], ".1f"), mm(row["total_time_s"], ".1f"),
            mm(row["train_speedup"], ".2f"), mm(row["total_speedup"], ".2f"),
            mm(row["equal_loss_speedup"], ".2f"),
            mm(row["direct_loss"], ".3f"), mm(row["nr_loss"], ".3f"),
            row["nr_lower"], row["runs"])
            + (" {} |".format(row["diverged"]) if any_diverged else ""))
    out2 = ["| n | r | direct steps | NR + stage-2 steps | step ratio | direct ms/step | "
            "NR ms/step | train speedup |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        nrs = agg([r["nr_steps"] + r["nr_direct_steps"]
                   for r in groups[(row["n"], row["range"])]])
        out2.append("| {} | {:g} | {} | {} | {} | {} | {} | {} |".format(
            row["n"], row["range"], mm(row["direct_steps"], ".0f"), mm(nrs, ".0f"),
            mm(row["step_ratio"], ".2f"), mm(row["direct_ms_per_step"], ".1f"),
            mm(row["nr_ms_per_step"], ".1f"), mm(row["train_speedup"], ".2f")))
    Path(f"{prefix}.md").write_text(
        "Median [min, max] over seeds; speedups are per-run ratios (direct / NR) of runs made "
        "back to back in one process.\n\n" + "\n".join(out) + "\n\n"
        "Steps and cost per step (a step is one loss evaluation; train speedup = step ratio × "
        "direct ms/step ÷ NR ms/step):\n\n" + "\n".join(out2) + "\n")
    print("\n".join(out))
    print("\n".join(out2))


if __name__ == "__main__":
    main()
