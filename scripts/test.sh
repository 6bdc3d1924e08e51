#!/usr/bin/env bash
# The whole test suite, as CI runs it: sets up what it needs, runs every check, fails loudly.
#
#   scripts/test.sh            everything (host tests, no_std builds, firmware under QEMU)
#
# Installs, when missing: rustup targets and components, qemu-system-arm (Debian package),
# defmt-print (cargo install). Stops with a message naming what to install where it cannot.
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
    echo "==> $name"
    if "$@" >"$log" 2>&1; then
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

echo "==> setup: rustup targets and components"
rustup target add thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf thumbv8m.main-none-eabihf \
    || die "rustup target add failed: run 'rustup target add thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf thumbv8m.main-none-eabihf'"
rustup component add rustfmt clippy || die "rustup component add rustfmt clippy failed"

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
