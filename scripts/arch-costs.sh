#!/usr/bin/env bash
# The cross-architecture cost table: builds and runs every core × math variant of the firmware
# under QEMU and writes docs/arch-costs.md and docs/arch-costs.json.
#
# Per core and math library: instructions per step of each kernel (energy + gradient, one direct
# Adam step, one NR step and its parts) against n = 16 … 256 from the `sweep` image; flash,
# static RAM and peak stack of the `sync` image and its runs; beside them the host's ns per step
# for the same kernels at n = 64, read from criterion's target/criterion/<group>/<bench>/new/
# estimates.json when present ("n/a" otherwise).
#
#   scripts/arch-costs.sh                 every core: m0 m3 m4f m7 m33 m55
#   scripts/arch-costs.sh --cores "m0 m4f"
#   scripts/arch-costs.sh --bench         first run the n = 64 host benches (about 3 minutes)
#
# The figures are instructions executed under QEMU's -icount, not cycles: QEMU models no
# pipeline, wait states or FPU latency. Only the core table in firmware/variants.sh is offered,
# so a hard-float image never meets a board without an FPU.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../firmware/variants.sh
source "$ROOT/firmware/variants.sh"

cores=$FW_ALL_CORES
bench=false
while [ $# -gt 0 ]; do
    case "$1" in
        --cores) cores=${2:?--cores needs a list}; shift ;;
        --bench) bench=true ;;
        -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
        *) fw_die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

fw_ensure_tools $cores
FW_SIZE=$(fw_size_tool)
OUT=$ROOT/target/arch-costs
rm -rf "$OUT" && mkdir -p "$OUT"
REC=$OUT/records.tsv # one fact per line, tab-separated; the tables are made from it
: >"$REC"

# --- Host: criterion estimates for the n = 64 kernels ------------------------------------------
if $bench; then
    echo "arch-costs: cargo bench (n = 64 kernels)" >&2
    (cd "$ROOT" && cargo bench --bench energy -- 'ring64|lattice8x8' && cargo bench --bench nr_step -- 'ring64') >&2 ||
        fw_die "the host benches failed"
fi
# host_ns GROUP BENCH: criterion's mean in ns, or n/a. Criterion keeps a bench id with slashes
# either as nested directories or with the slashes made underscores; both are tried.
host_ns() {
    local f
    for f in "$ROOT/target/criterion/$1/$2/new/estimates.json" "$ROOT/target/criterion/$1/${2//\//_}/new/estimates.json"; do
        if [ -f "$f" ]; then
            # {"mean":{"confidence_interval":{...},"point_estimate":<ns>,...},...}
            tr -d ' \n' <"$f" |
                sed -n 's/.*"mean":{"confidence_interval":{[^}]*},"point_estimate":\([0-9.eE+-]*\).*/\1/p' |
                awk '{ printf "%.0f\n", $1 }'
            return
        fi
    done
    echo n/a
}
# kernel graph group bench (the benches use the firmware's problems: ring64 and lattice8x8, h = 8)
while read -r kernel graph group id; do
    printf 'host\t%s\t%s\t%s\t%s/%s\n' "$kernel" "$graph" "$(host_ns "$group" "$id")" "$group" "$id" >>"$REC"
done <<'EOF'
energy_grad ring energy kuramoto_vg/ring64
energy_grad lattice energy kuramoto_vg/lattice8x8
direct_step ring direct_step kuramoto/ring64
direct_step lattice direct_step kuramoto/lattice8x8
nr_step ring nr_step kuramoto_ring64/h8
nr_step lattice nr_step kuramoto_lattice8x8/h8
EOF

# --- Firmware: every core × math -----------------------------------------------------------------
failures=0
for core in $cores; do
    fw_select "$core"
    printf 'core\t%s\t%s\t%s\t%s\t%s\n' "$core" "$FW_TRIPLE" "$FW_QEMU" "$FW_CPU" "$FW_DESC" >>"$REC"
    for math in $FW_MATHS; do
        v=$core-$math
        echo "arch-costs: $v ($FW_TRIPLE on $FW_QEMU)" >&2
        if ! fw_build "$core" "$math" 2>"$OUT/build-$v.log"; then
            tail -20 "$OUT/build-$v.log" >&2
            fw_die "building $v failed (log: $OUT/build-$v.log)"
        fi
        for bin in sync sweep; do
            if ! fw_run "$core" "$(fw_image "$core" "$math" $bin)" >"$OUT/$bin-$v.log"; then
                echo "arch-costs: $bin $v failed (log: $OUT/$bin-$v.log)" >&2
                failures=$((failures + 1))
            fi
        done
        read -r flash ram <<<"$(fw_sizes "$(fw_image "$core" "$math" sync)")"
        printf 'size\t%s\t%s\t%s\t%s\n' "$core" "$math" "$flash" "$ram" >>"$REC"
        # sync: per run "<problem> <method>: <s> steps, E = <e>, rho = <r>, stop: <why>" and its
        # "  stage <nr|direct>: <s> steps, last E = <e>, <i> instructions/step" lines, then
        # "RAM <static> bytes static + <stack> bytes peak stack, of <ram>".
        awk -v c="$core" -v m="$math" '
            function flush() { if (run != "") print "run", c, m, run, nr, dir; run = "" }
            function bare(s) { gsub(/[,:]/, "", s); return s }
            /^ *RAM / { flush(); print "stack", c, m, $2, $6, $11; next }
            / steps, E = .*, stop: / {
                flush()
                run = $1 OFS bare($2) OFS $3 OFS bare($7) OFS bare($10) OFS $12
                nr = dir = "-" OFS "-"
                next
            }
            /^ *stage nr: / { nr = $3 OFS $(NF - 1) }
            /^ *stage direct: / { dir = $3 OFS $(NF - 1) }
            END { flush() }' OFS='\t' "$OUT/sync-$v.log" >>"$REC"
        # sweep: "COST <graph> <n> <kernel> <instructions>", "SKIP <graph> <n> <what>: ..."
        awk -v c="$core" -v m="$math" '
            /^COST / { print "cost", c, m, $2, $3, $4, $5 }
            /^SKIP / { sub(":", "", $4); print "skip", c, m, $2, $3, $4, $6 }' OFS='\t' "$OUT/sweep-$v.log" >>"$REC"
    done
done

# --- Tables ------------------------------------------------------------------------------------
awk -F'\t' -v cores="$cores" -v maths="$FW_MATHS" -v json="$ROOT/docs/arch-costs.json" \
    -v date="$(date -u +%Y-%m-%d)" -v rustc="$(rustc --version)" \
    -v qemu="$(qemu-system-arm --version | head -1)" -f "$ROOT/firmware/arch-costs.awk" "$REC" \
    >"$ROOT/docs/arch-costs.md" || fw_die "writing the tables failed"
echo "arch-costs: wrote docs/arch-costs.md and docs/arch-costs.json" >&2
[ "$failures" -eq 0 ] || fw_die "$failures image runs failed (logs in $OUT)"
