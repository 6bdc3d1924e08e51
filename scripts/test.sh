#!/usr/bin/env bash
# The whole test suite, as CI runs it: sets up what it needs, runs every check, fails loudly.
#
#   scripts/test.sh            everything (host tests, no_std builds, firmware under QEMU)
#
# Installs, when missing: rustup targets and components, qemu-system-arm (Debian package),
# defmt-print (cargo install). It first prints what it is about to install; apt-get runs with
# --no-remove, so it never removes or replaces a package. Stops with a message naming what to
# install where it cannot. While a step runs, a heartbeat line shows every 20 s with the last
# line of that step's log (the whole log: target/test-logs/).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
log_dir=${NRG_TEST_LOG_DIR:-target/test-logs}
mkdir -p "$log_dir"

die() {
    echo "error: $*" >&2
    exit 1
}

# step NAME COMMAND...: runs a check, records pass/fail, shows the log tail on failure.
step() {
    local name=$1
    shift
    local log="$log_dir/${name//[^A-Za-z0-9_.-]/_}.log"
    local start=$SECONDS
    echo "==> $name (log: $log)"
    "$@" >"$log" 2>&1 &
    local pid=$! rc
    # Heartbeat: a long step still shows it is alive and what it is doing.
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if kill -0 "$pid" 2>/dev/null && [ $(((SECONDS - start) % 20)) -eq 0 ]; then
            echo "    ... $((SECONDS - start)) s: $(tail -n 1 "$log" | cut -c1-100)"
        fi
    done
    wait "$pid"
    rc=$?
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "    ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "    FAILED ($((SECONDS - start)) s); last lines of $log:"
        tail -n 40 "$log" | sed 's/^/    | /'
    fi
}

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null || die "rustup not found: nrg's test command needs rustup to add the thumb targets"

# --- Setup: say what is missing, then install exactly that -------------------------------------
targets="thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf thumbv8m.main-none-eabihf"
installed_targets=$(rustup target list --installed)
missing_targets=()
for t in $targets; do
    grep -qx "$t" <<<"$installed_targets" || missing_targets+=("$t")
done
installed_components=$(rustup component list --installed)
missing_components=()
for c in rustfmt clippy; do
    grep -q "^$c" <<<"$installed_components" || missing_components+=("$c")
done
need_qemu=false
command -v qemu-system-arm >/dev/null || need_qemu=true
defmt_version=$(defmt-print --version 2>/dev/null)
need_defmt=false
grep -q '^defmt-print 1\.2\.0' <<<"$defmt_version" || need_defmt=true

plan=()
[ ${#missing_targets[@]} -gt 0 ] && plan+=("Rust targets (rustup target add): ${missing_targets[*]}")
[ ${#missing_components[@]} -gt 0 ] && plan+=("Rust components (rustup component add): ${missing_components[*]}")
$need_qemu && plan+=("qemu-system-arm (apt-get install --no-remove --no-install-recommends; never removes a package)")
$need_defmt && plan+=("defmt-print 1.2.0 (cargo install --locked, into ~/.cargo/bin)")
if [ ${#plan[@]} -eq 0 ]; then
    echo "==> setup: everything needed is installed"
else
    echo "==> setup: test.sh will install:"
    printf '      - %s\n' "${plan[@]}"
fi
if [ ${#missing_targets[@]} -gt 0 ]; then
    rustup target add "${missing_targets[@]}" ||
        die "rustup target add failed: run 'rustup target add ${missing_targets[*]}'"
fi
if [ ${#missing_components[@]} -gt 0 ]; then
    rustup component add "${missing_components[@]}" ||
        die "rustup component add ${missing_components[*]} failed"
fi
if $need_qemu; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        # --no-remove: abort rather than remove or downgrade anything already installed.
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-remove \
            --no-install-recommends qemu-system-arm; } ||
            die "could not install qemu-system-arm without removing packages; install it yourself (Debian: apt-get install --no-install-recommends qemu-system-arm)"
    else
        die "qemu-system-arm is missing; install it (Debian: apt-get install --no-install-recommends qemu-system-arm) or run this script as root"
    fi
fi
if $need_defmt; then
    cargo install defmt-print --version 1.2.0 --locked ||
        die "could not install defmt-print 1.2.0 (cargo install defmt-print --version 1.2.0 --locked)"
fi

# No test may be skipped: an ignored or filtered test is a failure.
cargo_test() {
    local out
    out=$(cargo test "$@" 2>&1)
    local rc=$?
    echo "$out"
    [ $rc -eq 0 ] || return $rc
    if echo "$out" | grep -E '^test result:' | grep -vqE ' 0 ignored; 0 measured; 0 filtered out'; then
        echo "error: some tests were ignored or filtered out (see the 'test result' lines above)"
        return 1
    fi
    echo "$out" | grep -qE '^test result: ok\. [1-9]' || { echo "error: no test ran"; return 1; }
}

step "format (cargo fmt --check)" cargo fmt --all -- --check
step "lints (cargo clippy -D warnings)" cargo clippy --workspace --all-targets -- -D warnings
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    step "nrg-core builds for $target (libm)" cargo build -p nrg-core --release --target "$target"
    step "nrg-core builds for $target (micromath, defmt)" \
        cargo build -p nrg-core --release --target "$target" --features micromath,defmt
done
step "core docs build without warnings" env RUSTDOCFLAGS="-D warnings" cargo doc -p nrg-core --no-deps
step "host tests (cargo test --release)" cargo_test --workspace --release
step "benches compile (cargo bench --no-run)" cargo bench --no-run
if [ -x scripts/firmware.sh ]; then
    step "firmware under QEMU (scripts/firmware.sh)" scripts/firmware.sh
else
    failed=$((failed + 1))
    failures+=("scripts/firmware.sh is missing")
fi

echo
if [ $failed -gt 0 ]; then
    echo "FAILED checks:"
    printf '  - %s\n' "${failures[@]}"
fi
echo "nrg: $passed passed, $failed failed"
[ $failed -eq 0 ]
