# Sourced by scripts/firmware.sh and scripts/arch-costs.sh: the cores the firmware runs on and how
# to install the tools, build an image and run it for one of them. Expects $ROOT (the repository).
#
# Each core names its target, its QEMU machine and an optional -C target-cpu, so a core can only
# be run on the machine that has its FPU (build.rs and qemu-run.sh refuse other pairings too).

# core  target                     machine     target-cpu  what
FW_CORES="
m0      thumbv6m-none-eabi         microbit    -           Cortex-M0, no FPU, 16 KB RAM
m3      thumbv7m-none-eabi         mps2-an385  -           Cortex-M3, no FPU
m4f     thumbv7em-none-eabihf      mps2-an386  -           Cortex-M4F, single-precision FPU
m7      thumbv7em-none-eabihf      mps2-an500  cortex-m7   Cortex-M7, double-precision FPU
m33     thumbv8m.main-none-eabihf  mps2-an505  -           Cortex-M33, single-precision FPU
m55     thumbv8m.main-none-eabihf  mps3-an547  cortex-m55  Cortex-M55, double-precision FPU, Helium
"
FW_ALL_CORES=$(awk 'NF { print $1 }' <<<"$FW_CORES" | xargs)
FW_MATHS="libm micromath"

fw_die() {
    echo "firmware: error: $*" >&2
    exit 1
}

# fw_select CORE: sets FW_TRIPLE, FW_QEMU (machine), FW_CPU and FW_DESC for CORE, or stops.
fw_select() {
    local line
    line=$(awk -v c="$1" '$1 == c' <<<"$FW_CORES")
    [ -n "$line" ] || fw_die "unknown core '$1' (known: $FW_ALL_CORES)"
    read -r _ FW_TRIPLE FW_QEMU FW_CPU FW_DESC <<<"$line"
}

# fw_ensure_tools CORE...: installs what building and running those cores needs (Rust targets,
# qemu-system-arm, defmt-print 1.2.0), or stops naming exactly what is missing.
fw_ensure_tools() {
    local core triple targets=()
    command -v cargo >/dev/null && command -v rustup >/dev/null ||
        fw_die "cargo and rustup are missing (install Rust with https://rustup.rs)"
    for core in "$@"; do
        fw_select "$core"
        targets+=("$FW_TRIPLE")
    done
    local installed missing=()
    installed=$(rustup target list --installed)
    for triple in $(printf '%s\n' "${targets[@]}" | sort -u); do
        grep -qx "$triple" <<<"$installed" || missing+=("$triple")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "firmware: rustup target add ${missing[*]}" >&2
        rustup target add "${missing[@]}" >&2 || fw_die "could not install the Rust targets ${missing[*]} (rustup target add ${missing[*]})"
    fi
    command -v timeout >/dev/null || fw_die "timeout (GNU coreutils) is missing"
    if ! command -v qemu-system-arm >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "firmware: installing qemu-system-arm with apt-get" >&2
            { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-remove --no-install-recommends qemu-system-arm; } >&2 ||
                fw_die "could not install qemu-system-arm without removing packages; install it yourself (Debian: apt-get install --no-install-recommends qemu-system-arm)"
        else
            fw_die "qemu-system-arm is missing; install it (Debian: apt-get install --no-install-recommends qemu-system-arm) or run this script as root"
        fi
    fi
    # Captured first: with pipefail, grep -q closing the pipe early would fail the pipeline.
    local version
    version=$(defmt-print --version 2>/dev/null)
    if ! grep -q '^defmt-print 1\.2\.0' <<<"$version"; then
        echo "firmware: cargo install defmt-print --version 1.2.0 --locked" >&2
        cargo install defmt-print --version 1.2.0 --locked >&2 ||
            fw_die "could not install defmt-print 1.2.0 (cargo install defmt-print --version 1.2.0 --locked)"
    fi
}

# fw_image CORE MATH BIN: where fw_build leaves BIN's ELF for that variant.
fw_image() {
    fw_select "$1"
    echo "$ROOT/firmware/target/images/$1-$2/$FW_TRIPLE/release/$3"
}

# fw_build CORE MATH: builds every image of one variant (libm or micromath) for CORE, and keeps
# them at fw_image's paths. Cargo's output goes to stderr. One target dir per core, so changing
# the core never rebuilds another core's artifacts; changing the math rebuilds the two crates.
fw_build() {
    local core=$1 math=$2 args bin out
    fw_select "$core"
    args=(build --release --bins --target "$FW_TRIPLE" --target-dir "$ROOT/firmware/target/$core")
    [ "$math" = micromath ] && args+=(--features micromath)
    # --config, not RUSTFLAGS: the variable would replace the linker flags of .cargo/config.toml.
    [ "$FW_CPU" != - ] && args+=(--config "target.$FW_TRIPLE.rustflags=['-C','target-cpu=$FW_CPU']")
    (cd "$ROOT/firmware" && FW_MACHINE=$FW_QEMU cargo "${args[@]}") >&2 || return 1
    out=$ROOT/firmware/target/images/$core-$math/$FW_TRIPLE/release
    mkdir -p "$out"
    for bin in sync sweep panic fault; do
        cp "$ROOT/firmware/target/$core/$FW_TRIPLE/release/$bin" "$out/$bin" || return 1
    done
}

# fw_run CORE ELF: runs ELF on CORE's machine through the cargo runner; output on stdout,
# status QEMU's (0 pass, 1 fail/panic/HardFault, 2 refused, 124 timeout, 134 lockup).
fw_run() {
    fw_select "$1"
    FW_MACHINE=$FW_QEMU "$ROOT/firmware/qemu-run.sh" "$2" 2>&1
}

# fw_size_tool: prints the path of llvm-size from rustup's llvm-tools (installing the component
# if needed), or stops.
fw_size_tool() {
    local bin
    bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-size"
    if [ ! -x "$bin" ]; then
        rustup component add llvm-tools >&2 || fw_die "could not install llvm-size (rustup component add llvm-tools)"
    fi
    [ -x "$bin" ] || fw_die "llvm-size not found at $bin after rustup component add llvm-tools"
    echo "$bin"
}

# fw_sizes ELF: prints "flash static_ram" in bytes: flash holds the vector table, code, read-only
# data and .data's initial values; static RAM is .data, .bss and .uninit (the heap of the
# heap-backed images is a .bss array, so it counts).
fw_sizes() {
    "$FW_SIZE" -A "$1" | awk '
        $1 ~ /^\.(vector_table|text|rodata|data|gnu\.sgstubs)$/ { flash += $2 }
        $1 ~ /^\.(data|bss|uninit)$/ { ram += $2 }
        END { print flash + 0, ram + 0 }'
}
