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
$need_qemu && plan+=("qemu-system-arm (apt-get install --no-remove --no-install-recommends; never removes a package; from the release's backports when the installed QEMU packages come from there)")
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
        export DEBIAN_FRONTEND=noninteractive
        qemu_install=(install -y --no-remove --no-install-recommends)
        if ! { apt-get update && apt-get "${qemu_install[@]}" qemu-system-arm; }; then
            # A machine whose qemu-utils comes from <codename>-backports (QEMU 10 on bookworm)
            # cannot take the release's older qemu-system-common beside it (qemu-utils Breaks
            # it). Take qemu-system-arm from that backports suite too, through a private copy
            # of the source list with backports added: the system's apt sources stay as they are.
            codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
            apt_dir=$(mktemp -d)
            chmod 755 "$apt_dir" # apt downloads as its own user
            mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial"
            cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$apt_dir/parts/" 2>/dev/null
            printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$codename" >"$apt_dir/parts/backports.sources"
            apt_private=(-o "Dir::Etc::SourceParts=$apt_dir/parts" -o "Dir::State::Lists=$apt_dir/lists")
            echo "==> setup: the release's qemu-system-arm would replace installed QEMU packages; trying $codename-backports"
            { [ -n "$codename" ] && apt-get "${apt_private[@]}" update &&
                apt-get "${apt_private[@]}" "${qemu_install[@]}" "qemu-system-arm/$codename-backports"; } ||
                die "could not install qemu-system-arm without removing packages; install it yourself (Debian: apt-get install --no-install-recommends qemu-system-arm, or qemu-system-arm/$codename-backports with that suite in the sources when qemu-utils comes from there)"
            rm -rf "$apt_dir"
        fi
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
step "docs build without warnings (core and host)" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
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
