#!/usr/bin/env bash
# The firmware's end-to-end test (scripts/test.sh calls it): build the images, run them under
# QEMU (defmt over semihosting, decoded by defmt-print), check exit codes and output, and check
# parity with the host bit for bit. Installs what it needs (Rust targets, qemu-system-arm,
# defmt-print) or stops naming what is missing. Ends with "firmware: N passed, M failed" and
# exits non-zero if anything failed.
#
#   scripts/firmware.sh                 M0 and M4F, libm and micromath
#   scripts/firmware.sh --cores "m0 m3" other cores (m0 m3 m4f m7 m33 m55), or --all
#   scripts/firmware.sh --record        also rewrite firmware/parity/*.txt from the M4F runs
#                                       (after a deliberate change of the sync problems)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../firmware/variants.sh
source "$ROOT/firmware/variants.sh"

cores="m0 m4f"
record=false
while [ $# -gt 0 ]; do
    case "$1" in
        --cores) cores=${2:?--cores needs a list}; shift ;;
        --all) cores=$FW_ALL_CORES ;;
        --record) record=true ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) fw_die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
$record && [[ " $cores " != *" m4f "* ]] && fw_die "--record takes the M4F runs: include m4f in --cores"

OUT=$ROOT/target/firmware
rm -rf "$OUT" && mkdir -p "$OUT"
passed=0
failed=0

# check NAME COMMAND...: runs one check, counts it, and points at its log on failure.
check() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name" >&2
    fi
}

# expect_run LOG WANT_STATUS PATTERN CORE ELF: runs ELF, wants that status and PATTERN in its output.
expect_run() {
    local log=$1 want=$2 pattern=$3 status
    fw_run "$4" "$5" >"$log"
    status=$?
    if [ "$status" != "$want" ] || ! grep -q -- "$pattern" "$log"; then
        echo "      exit status $status (want $want), '$pattern' $(grep -q -- "$pattern" "$log" && echo found || echo missing); log: $log" >&2
        sed 's/^/      | /' "$log" | tail -25 >&2
        return 1
    fi
}

# build CORE MATH: builds one variant, its cargo output in a log shown on failure.
build() {
    local log=$OUT/build-$1-$2.log
    fw_build "$1" "$2" 2>"$log" || { sed 's/^/      | /' "$log" | tail -20 >&2; return 1; }
}

# same_lines NAME A B: A and B hold the same lines.
same_lines() {
    if ! diff -u "$2" "$3" >"$OUT/$1.diff"; then
        echo "      $2 and $3 differ:" >&2
        sed 's/^/      | /' "$OUT/$1.diff" >&2
        return 1
    fi
}

fw_ensure_tools $cores
for core in $cores; do fw_select "$core"; done # validates the list before any build

# --- Images: build, run, exit codes -----------------------------------------------------------
for core in $cores; do
    for math in $FW_MATHS; do
        v=$core-$math
        check "build $v" build "$core" "$math" || continue
        check "sync $v: both solvers meet the rule, exit 0" \
            expect_run "$OUT/sync-$v.log" 0 "RESULT pass" "$core" "$(fw_image "$core" "$math" sync)"
        grep '^PARITY ' "$OUT/sync-$v.log" >"$OUT/parity-$v.txt"
        check "sweep $v: every size measured or reported as not fitting, exit 0" \
            expect_run "$OUT/sweep-$v.log" 0 "COST ring 64 nr_step" "$core" "$(fw_image "$core" "$math" sweep)"
    done
    check "panic $core: logged, exit 1" \
        expect_run "$OUT/panic-$core.log" 1 "panic: panicked at" "$core" "$(fw_image "$core" libm panic)"
    check "HardFault $core: logged, exit 1" \
        expect_run "$OUT/fault-$core.log" 1 "HardFault at pc" "$core" "$(fw_image "$core" libm fault)"
done

# --- Bad input: a hard-float image cannot be built for, or run on, a board without an FPU ----
refuse_build() {
    (cd "$ROOT/firmware" && FW_MACHINE=mps2-an385 cargo build --release --bin sync \
        --target thumbv7em-none-eabihf --target-dir "$ROOT/firmware/target/m4f") >"$OUT/refuse-build.log" 2>&1
    [ $? -ne 0 ] && grep -q "mps2-an385 has no FPU" "$OUT/refuse-build.log"
}
refuse_run() {
    local elf
    elf=$(fw_image m4f libm sync)
    FW_MACHINE=mps2-an385 "$ROOT/firmware/qemu-run.sh" "$elf" >"$OUT/refuse-run.log" 2>&1
    [ $? -eq 2 ] && grep -q "has no FPU; refusing" "$OUT/refuse-run.log"
}
if [[ " $cores " == *" m4f "* ]]; then
    check "hard-float image for mps2-an385 (no FPU): build refused" refuse_build
    check "hard-float image on mps2-an385 (no FPU): run refused" refuse_run
fi

# --- Parity: every firmware run against the host, bit for bit ---------------------------------
if $record; then
    for math in $FW_MATHS; do
        { echo "# PARITY lines of the sync image (firmware run: mps2-an386, M4F), checked against the host by"
          echo "# tests/firmware_parity.rs. Regenerate with: scripts/firmware.sh --record"
          cat "$OUT/parity-m4f-$math.txt"; } >"$ROOT/firmware/parity/$math.txt"
    done
    echo "recorded firmware/parity/{libm,micromath}.txt from the M4F runs"
fi
host_parity() {
    local math=$1 features=()
    [ "$math" = micromath ] && features=(--features nrg-core/micromath)
    (cd "$ROOT" && NRG_PARITY_OUT="$OUT/parity-host-$math.txt" \
        cargo test --test firmware_parity "${features[@]}" -- --test-threads 1) >"$OUT/host-$math.log" 2>&1 ||
        { sed 's/^/      | /' "$OUT/host-$math.log" | grep -v "^      | *Compiling" | tail -30 >&2; return 1; }
}
for math in $FW_MATHS; do
    check "host $math: tests/firmware_parity.rs (host = committed firmware record)" host_parity "$math"
    for core in $cores; do
        [ -s "$OUT/parity-$core-$math.txt" ] || continue
        check "parity $core-$math: firmware = host, bit for bit" \
            same_lines "parity-$core-$math" "$OUT/parity-host-$math.txt" "$OUT/parity-$core-$math.txt"
    done
done

echo "firmware: $passed passed, $failed failed (logs in ${OUT#"$ROOT"/})"
[ "$failed" -eq 0 ]
