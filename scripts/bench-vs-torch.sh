#!/usr/bin/env bash
# nrg against the PyTorch reference (shared/bench/torch_ref), in one sitting, interleaved:
# torch, nrg, torch, nrg (--passes N). Prints a markdown table of µs per step (torch f32, one
# thread; nrg criterion mean) and torch ÷ nrg per pass, with the machine and the load average.
# Without VENV it times nrg's side alone.
#
#   VENV=/path/to/torch-venv scripts/bench-vs-torch.sh [--passes 2] [--kernels fast|reference]
#
# The table lands in target/bench-vs-torch/table.md (raw data next to it); with a VENV it is
# also written to docs/perf.md, the record of the last sitting.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TORCH_REF=${TORCH_REF:-$ROOT/../shared/bench/torch_ref}
OUT=$ROOT/target/bench-vs-torch
passes=2
kernels=fast
while [ $# -gt 0 ]; do
    case "$1" in
        --passes) passes=${2:?}; shift ;;
        --kernels) kernels=${2:?}; shift ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument '$1'" >&2; exit 1 ;;
    esac
    shift
done
rm -rf "$OUT" && mkdir -p "$OUT"

# nrg bench id | torch problem | torch graph | torch model | h | label | target (torch ÷ nrg, issue 10)
CASES="
direct_step/heat/lattice50x50|heat|lattice2d_50x50|Linear|0|heat 50×50 direct|35
direct_step/kuramoto/lattice25x25|kuramoto|lattice2d_25x25|Linear|0|Kuramoto 25×25 direct|40
direct_step/hopf_kuramoto_s2_1/lattice50x50|hopf_kuramoto|lattice2d_50x50|Linear|0|Hopf–Kuramoto 50×50 (s2 = 1) direct|30
nr_step/heat/h16|heat|lattice2d_50x50|GCN|16|heat GCN h16|5
nr_step/heat/h64|heat|lattice2d_50x50|GCN|64|heat GCN h64|3
nr_step/kuramoto/rgcn_h10|kuramoto|lattice2d_25x25|RGCN|10|Kuramoto 25×25 RGCN h10|8
nr_step/hopf_kuramoto50/rgcn_h10|hopf_kuramoto|lattice2d_50x50|RGCN|10|HK 50×50 RGCN h10|6
"

(cd "$ROOT" && cargo bench --no-run --bench energy --bench nr_step) >&2

nrg_pass() {
    local p=$1 id f
    (cd "$ROOT" && NRG_KERNELS=$kernels cargo bench --bench energy -- \
        'direct_step/(heat/lattice50x50|kuramoto/lattice25x25|hopf_kuramoto_s2_1)' &&
        NRG_KERNELS=$kernels cargo bench --bench nr_step -- 'heat/h16|heat/h64|rgcn_h10') >"$OUT/nrg-$p.log" 2>&1
    while IFS='|' read -r id _; do
        [ -n "$id" ] || continue
        for f in "$ROOT/target/criterion/$id/new/estimates.json" \
            "$ROOT/target/criterion/${id%%/*}/$(tr / _ <<<"${id#*/}")/new/estimates.json"; do
            [ -f "$f" ] || continue
            tr -d ' \n' <"$f" |
                sed -n 's/.*"mean":{"confidence_interval":{[^}]*},"point_estimate":\([0-9.eE+-]*\).*/\1/p' |
                awk -v id="$id" '{ printf "%s\t%.2f\n", id, $1 / 1000 }'
            break
        done
    done <<<"$CASES" >"$OUT/nrg-$p.tsv"
}

torch_pass() {
    local p=$1
    rm -rf "$OUT/torch_ref" && cp -r "$TORCH_REF" "$OUT/torch_ref"
    (cd "$OUT/torch_ref" && "$VENV/bin/python" run_all.py timing) >"$OUT/torch-$p.log" 2>&1
    cp "$OUT/torch_ref/results.json" "$OUT/torch-$p.json"
}

loads=()
for p in $(seq 1 "$passes"); do
    if [ -n "${VENV:-}" ]; then
        echo "bench-vs-torch: pass $p, torch" >&2
        torch_pass "$p"
    fi
    echo "bench-vs-torch: pass $p, nrg ($kernels kernels)" >&2
    nrg_pass "$p"
    loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
done

python3 - "$OUT" "$passes" "$kernels" "${loads[*]}" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" <<PY >"$OUT/table.md"
import json, os, sys
out, passes, kernels, loads, cpu, ncpu = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
cases = [l.split("|") for l in """$CASES""".strip().splitlines()]
def nrg(p):
    d = {}
    for line in open(os.path.join(out, f"nrg-{p}.tsv")):
        k, v = line.split("\t"); d[k] = float(v)
    return d
def torch(p):
    f = os.path.join(out, f"torch-{p}.json")
    if not os.path.exists(f): return None
    rows = json.load(open(f))["timing"]["rows"]
    return {(r["problem"], r["graph"], r["model"], r["h"]): r["us_per_step_median"]
            for r in rows if r["dtype"] == "float32" and r["threads"] == 1}
N = [nrg(p) for p in range(1, passes + 1)]
T = [torch(p) for p in range(1, passes + 1)]
print(f"Machine: {cpu}, {ncpu} CPUs; load average (1, 5, 15 min) after each pass: {loads}.")
print(f"nrg kernels: {kernels}. torch: float32, 1 thread, median of 7 × 200 steps; nrg: criterion mean.")
print()
hdr = "| step | " + " | ".join(f"torch µs (pass {p})" for p in range(1, passes + 1)) + " | " + \
      " | ".join(f"nrg µs (pass {p})" for p in range(1, passes + 1)) + " | " + \
      " | ".join(f"torch ÷ nrg (pass {p})" for p in range(1, passes + 1)) + " | target | |"
print(hdr)
print("|---" * (3 + 3 * passes) + "|")
for nid, prob, graph, model, h, label, target in cases:
    key = (prob, graph, model, int(h))
    ts = [t.get(key) if t else None for t in T]
    ns = [n.get(nid) for n in N]
    f = lambda x, d=1: "–" if x is None else f"{x:.{d}f}"
    rs = [None if (t is None or n is None) else t / n for t, n in zip(ts, ns)]
    got = [r for r in rs if r is not None]
    verdict = "–" if not got else ("met" if min(got) >= float(target) else
                                   "missed" if max(got) < float(target) else
                                   f"met in {sum(r >= float(target) for r in got)} of {len(got)}")
    print(f"| {label} | " + " | ".join(f(t) for t in ts) + " | " + " | ".join(f(n, 2) for n in ns)
          + " | " + " | ".join(f(r, 1) + ("×" if r else "") for r in rs) + f" | ≥ {target}× | {verdict} |")
h16 = [(n.get("nr_step/heat/h16"), n.get("direct_step/heat/lattice50x50")) for n in N]
steps = [f"{a / b:.1f}" for a, b in h16 if a and b]
print()
print(f"Heat NR step h16 in heat direct steps (target ≤ 12), per pass: {', '.join(steps) or '–'}.")
PY
cat "$OUT/table.md"
if [ -n "${VENV:-}" ]; then
    {
        echo "# nrg against PyTorch: the last sitting"
        echo
        echo "Written by \`VENV=… scripts/bench-vs-torch.sh --passes $passes --kernels $kernels\` on $(date -u '+%Y-%m-%d %H:%M UTC'):"
        echo "torch and nrg interleaved, pass after pass, in one sitting. Absolute times on these VMs"
        echo "differ up to 4× between machines and sittings; compare the ratios. docs/kernels.md explains"
        echo "the kernels and what would close the gaps."
        echo
        cat "$OUT/table.md"
    } >"$ROOT/docs/perf.md"
    echo "bench-vs-torch: wrote docs/perf.md" >&2
fi
