#!/usr/bin/env bash
# Cargo runner for the firmware: runs an ELF under qemu-system-arm with semihosting, decodes its
# defmt stream with defmt-print, and exits with QEMU's status (not defmt-print's).
#
#   qemu-run.sh path/to/target/<triple>/<profile>/<bin>
#
# The machine is $FW_MACHINE, or the default for the triple (the same rule as build.rs).
# icount makes SysTick count guest instructions (shared/docs/firmware.md §4); the timeout turns a
# hang into exit 124. Exit codes: 0 pass, 1 failure/panic/HardFault, 124 timeout, 134 lockup.
set -uo pipefail

elf=${1:?usage: qemu-run.sh ELF}
timeout_s=${FW_TIMEOUT:-300}
triple=$(basename "$(dirname "$(dirname "$elf")")")

case "$triple" in
    thumbv6m-none-eabi) default=microbit ;;
    thumbv7m-none-eabi) default=mps2-an385 ;;
    thumbv7em-none-eabihf) default=mps2-an386 ;;
    thumbv8m.main-none-eabihf) default=mps2-an505 ;;
    *) echo "qemu-run.sh: cannot tell the target from $elf (expected target/<triple>/<profile>/<bin>)" >&2; exit 2 ;;
esac
machine=${FW_MACHINE:-$default}

# A hard-float image on a board without an FPU would HardFault at its first FP instruction.
case "$triple:$machine" in
    *eabihf:mps2-an386 | *eabihf:mps2-an500 | *eabihf:mps2-an505 | *eabihf:mps3-an547 | *eabihf:netduinoplus2) ;;
    *eabihf:*) echo "qemu-run.sh: $machine has no FPU; refusing to run the hard-float image $elf" >&2; exit 2 ;;
esac

for tool in qemu-system-arm defmt-print timeout; do
    command -v "$tool" >/dev/null || { echo "qemu-run.sh: $tool not found (scripts/firmware.sh installs it)" >&2; exit 2; }
done

timeout "$timeout_s" qemu-system-arm -machine "$machine" -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -icount shift=7,align=off,sleep=off \
    -kernel "$elf" </dev/null | defmt-print -e "$elf" --log-format '{L} {s}'
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && echo "qemu-run.sh: $elf on $machine timed out after ${timeout_s}s" >&2
exit "$rc"
