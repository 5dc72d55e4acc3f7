#!/usr/bin/env bash
# devone/vm/run.sh - test the devone driver in a throwaway VM.
#
# Builds devone.ko against Debian's linux-headers-amd64 (6.1), builds the
# in-VM checks (devone-vmtest, and examples/devone once it exists) as static
# binaries, packs them with busybox into an initramfs, boots Debian's
# matching 6.1 kernel in qemu (TCG, no KVM needed) and reads the one result
# line that the guest's /init prints.  Exit status 0 only on PASS.
#
# Run as root (it apt-get installs a few host packages), from any directory:
#     sudo devone/vm/run.sh
#
# Why a VM: the host runs some other kernel (6.18 here) and may not allow
# loading modules at all; the VM gives the exact kernel the module is built
# for, and a kernel bug in the driver can only take the VM down.
#
# Everything fetched or built goes to target/devone-vm/ (ignored by git), so
# a rerun only rebuilds what changed and boots: a few seconds.
#
# Knobs (environment):
#     DEVONE_VM_TIMEOUT=120   seconds before the boot watchdog kills qemu
#     DEVONE_VM_BZIMAGE=1     boot the compressed bzImage instead of PVH
#     CARGO_TARGET_DIR        where cargo builds (default: <repo>/target)

set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

VM_DIR=$ROOT/target/devone-vm
CARGO_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TRIPLE=x86_64-unknown-linux-gnu
BOOT_TIMEOUT=${DEVONE_VM_TIMEOUT:-120}
CONSOLE_LOG=$VM_DIR/console.log

log() { printf 'devone-vm: %s\n' "$*" >&2; }
die() {
	printf 'devone-vm: error: %s\n' "$*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "run as root: this script installs host packages with apt-get"
mkdir -p "$VM_DIR"

# Two runs at once (a developer and CI, say) would unpack into and boot
# from the same cache; take turns instead.
exec 9>"$VM_DIR/.lock"
flock 9

# ---- 1. host packages ---------------------------------------------------------

# A fresh image has no apt lists, and old lists can name files the mirror
# has dropped: update when there are none, and once more if apt fails.
apt_updated=0
apt_update() {
	log "apt-get update"
	apt-get update -qq >"$VM_DIR/apt-update.log" 2>&1 || {
		cat "$VM_DIR/apt-update.log" >&2
		die "apt-get update failed"
	}
	apt_updated=1
}
apt_retry() {
	"$@" && return 0
	((apt_updated)) && return 1
	apt_update
	"$@"
}
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	apt_update
fi

# linux-headers-amd64 pulls in the gcc the kernel was built with; cpio packs
# the initramfs; busybox-static is the guest's whole userland; xz unpacks
# the kernel.
host_pkgs=(linux-headers-amd64 busybox-static cpio xz-utils make)
missing=()
for pkg in "${host_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	apt_retry env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$VM_DIR/apt-install.log" 2>&1 || {
		cat "$VM_DIR/apt-install.log" >&2
		die "apt-get install failed"
	}
fi

# The ABI name (e.g. 6.1.0-56-amd64) of the headers that linux-headers-amd64
# depends on: the module is built for it and the VM boots exactly that kernel.
KVER=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | sed -E 's/^linux-headers-([^ ,]+).*/\1/')
[[ -d /lib/modules/$KVER/build ]] || die "no kernel build tree at /lib/modules/$KVER/build"
log "kernel $KVER"

# apt-get download drops files here; _apt cannot write to target/, so the
# download runs unsandboxed as root (apt says so on stderr; that is fine).
fetch_debs() {
	local dir=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && apt_retry apt-get download -qq "$@") >"$VM_DIR/apt-download.log" 2>&1 || {
		cat "$VM_DIR/apt-download.log" >&2
		die "apt-get download $* failed"
	}
}

# ---- 2. qemu, unpacked, never installed -----------------------------------------

# Installing Debian 12's qemu-system-x86 (7.2) would remove this image's
# newer qemu-utils (10.0 from backports), so unpack it and whatever it needs
# that the host lacks into our own tree, and run it from there.
QEMU_DIR=$VM_DIR/qemu
if [[ ! -e $QEMU_DIR/.complete ]]; then
	# What an install would bring in, without recommends: the binary, its
	# firmware (seabios, pvh.bin, ...) and the shared libraries not on the host.
	mapfile -t qemu_pkgs < <(apt-get install -s --no-install-recommends qemu-system-x86 | awk '/^Inst /{print $2}')
	((${#qemu_pkgs[@]})) || die "apt-get install -s qemu-system-x86 listed nothing to fetch"
	log "fetching qemu: ${#qemu_pkgs[@]} packages (${qemu_pkgs[*]})"
	fetch_debs "$VM_DIR/debs-qemu" "${qemu_pkgs[@]}"
	rm -rf "$QEMU_DIR" "$QEMU_DIR.tmp"
	mkdir -p "$QEMU_DIR.tmp"
	for deb in "$VM_DIR"/debs-qemu/*.deb; do
		dpkg-deb -x "$deb" "$QEMU_DIR.tmp"
	done
	touch "$QEMU_DIR.tmp/.complete"
	mv "$QEMU_DIR.tmp" "$QEMU_DIR"
	rm -rf "$VM_DIR/debs-qemu"
fi
QEMU=$QEMU_DIR/usr/bin/qemu-system-x86_64
# Libraries come from our tree first, then the host's.
export LD_LIBRARY_PATH=$QEMU_DIR/usr/lib/x86_64-linux-gnu:$QEMU_DIR/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Debian's qemu looks for firmware under /usr/share; point it at ours.
QEMU_FIRMWARE=(-L "$QEMU_DIR/usr/share/qemu" -L "$QEMU_DIR/usr/share/seabios" -L "$QEMU_DIR/usr/lib/ipxe/qemu")
"$QEMU" --version | head -1 | sed 's/^/devone-vm: /' >&2 || die "unpacked qemu does not run"

# ---- 3. the kernel, and its uncompressed vmlinux for a PVH boot -----------------

# Installing linux-image-amd64 would rebuild the host's initramfs and touch
# its boot loader; we only need the vmlinuz out of the package.
KERNEL_DIR=$VM_DIR/kernel-$KVER
if [[ ! -e $KERNEL_DIR/.complete ]]; then
	log "fetching linux-image-$KVER"
	fetch_debs "$VM_DIR/debs-kernel" "linux-image-$KVER"
	rm -rf "$KERNEL_DIR" "$KERNEL_DIR.tmp"
	mkdir -p "$KERNEL_DIR.tmp"
	# Only /boot: the 400 MB of modules in the package are not needed.
	dpkg-deb --fsys-tarfile "$VM_DIR"/debs-kernel/*.deb |
		tar -x -C "$KERNEL_DIR.tmp" "./boot/vmlinuz-$KVER" "./boot/config-$KVER"
	mv "$KERNEL_DIR.tmp/boot/vmlinuz-$KVER" "$KERNEL_DIR.tmp/vmlinuz"
	mv "$KERNEL_DIR.tmp/boot/config-$KVER" "$KERNEL_DIR.tmp/config"
	rmdir "$KERNEL_DIR.tmp/boot"

	# qemu can start a vmlinux ELF at its PVH entry point (the kernel has it
	# with CONFIG_PVH=y), skipping the real-mode setup and, above all, the
	# in-guest xz decompression, which is slow under TCG (measured: ~2.5 s
	# against ~7.5 s per boot).  The bzImage payload is an xz stream: find
	# its magic and unpack from there; --single-stream ignores what follows.
	if grep -q '^CONFIG_PVH=y' "$KERNEL_DIR.tmp/config"; then
		while IFS=: read -r offset _; do
			# (Not a pipe: tail would die of SIGPIPE once xz stops reading.)
			if xz -dc --single-stream < <(tail -c +$((offset + 1)) "$KERNEL_DIR.tmp/vmlinuz") \
				>"$KERNEL_DIR.tmp/vmlinux" 2>/dev/null &&
				[[ $(head -c 4 "$KERNEL_DIR.tmp/vmlinux" | od -An -c | tr -d ' ') == '177ELF' ]]; then
				break
			fi
			rm -f "$KERNEL_DIR.tmp/vmlinux"
		done < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KERNEL_DIR.tmp/vmlinuz")
	fi
	[[ -s $KERNEL_DIR.tmp/vmlinux ]] || log "no vmlinux for PVH in this kernel; will boot the bzImage"
	touch "$KERNEL_DIR.tmp/.complete"
	mv "$KERNEL_DIR.tmp" "$KERNEL_DIR"
	rm -rf "$VM_DIR/debs-kernel"
fi

# ---- 4. the module and the in-VM programs ---------------------------------------

# Build in a copy, so the source directory stays free of build products.
MOD_BUILD=$VM_DIR/module-build
mkdir -p "$MOD_BUILD"
cp -p devone/module/devone.c devone/module/devone_ioctl.h devone/module/Kbuild devone/module/Makefile "$MOD_BUILD/"
log "building devone.ko"
make -C "/lib/modules/$KVER/build" M="$MOD_BUILD" modules >"$VM_DIR/module-build.log" 2>&1 || {
	cat "$VM_DIR/module-build.log" >&2
	die "module build failed"
}
# The driver must build without warnings; Kbuild does not make them fatal.
if grep -q 'warning:' "$VM_DIR/module-build.log"; then
	cat "$VM_DIR/module-build.log" >&2
	die "module build has warnings"
fi

# Static, so the guest needs no libc; --target keeps these objects (built
# with different RUSTFLAGS) apart from the normal host build in target/.
static_build() {
	log "cargo build $*"
	RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
		cargo build --quiet --release --target "$TRIPLE" "$@"
}
static_build -p devone-vmtest
VMTEST_BIN=$CARGO_TARGET/$TRIPLE/release/devone-vmtest
EXAMPLE_BIN=$CARGO_TARGET/$TRIPLE/release/examples/devone
if [[ -f examples/devone.rs ]]; then
	static_build -p minireactor --example devone
fi
for bin in "$VMTEST_BIN" "$EXAMPLE_BIN"; do
	if [[ -e $bin ]] && readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
		die "$bin is dynamically linked; the guest has no libc"
	fi
done

# ---- 5. the initramfs -----------------------------------------------------------

INITRAMFS_DIR=$VM_DIR/initramfs
rm -rf "$INITRAMFS_DIR"
mkdir -p "$INITRAMFS_DIR"/{bin,dev,proc,sys,tmp}
cp /bin/busybox "$INITRAMFS_DIR/bin/busybox"
# One symlink per applet, made here rather than at every boot.
for applet in $(/bin/busybox --list); do
	[[ $applet == busybox ]] || ln -s busybox "$INITRAMFS_DIR/bin/$applet"
done
cp devone/vm/guest-init.sh "$INITRAMFS_DIR/init"
cp "$MOD_BUILD/devone.ko" "$VMTEST_BIN" "$INITRAMFS_DIR/"
if [[ -f examples/devone.rs && -x $EXAMPLE_BIN ]]; then
	cp "$EXAMPLE_BIN" "$INITRAMFS_DIR/devone-example"
fi
chmod 755 "$INITRAMFS_DIR/init"
# Uncompressed: the kernel copies it in no time, while gunzip costs time
# under TCG.
(cd "$INITRAMFS_DIR" && find . -print0 | LC_ALL=C sort -z |
	cpio --quiet -o -0 -H newc -R 0:0) >"$VM_DIR/initramfs.cpio"

# ---- 6. boot --------------------------------------------------------------------

# Kernel arguments, each measured to matter under TCG with -icount:
#   noapictimer        skips calibrating the local APIC timer, which alone
#                      takes ~3.5 s of host time; the HPET drives the tick.
#   no_timer_check     skips the IO-APIC timer check (as KVM guests do).
#   cryptomgr.notests  skips ~0.7 s (guest time) of crypto self-tests.
# panic=-1 turns a panic into a reboot, which -no-reboot turns into exit.
APPEND="console=ttyS0 quiet panic=-1 noapictimer no_timer_check cryptomgr.notests"

boot() {
	local kernel=$1
	# -icount shift=0,sleep=off: the guest clock advances 1 ns per
	# instruction and jumps over idle time, so timer-based checks (200 ms
	# latencies) cost no host time and do not depend on host load.
	local rc=0
	timeout -k 5 "$BOOT_TIMEOUT" "$QEMU" "${QEMU_FIRMWARE[@]}" \
		-accel tcg -m 256M -nographic -no-reboot -nic none \
		-icount shift=0,sleep=off \
		-kernel "$kernel" -initrd "$VM_DIR/initramfs.cpio" -append "$APPEND" \
		</dev/null >"$CONSOLE_LOG" 2>&1 || rc=$?
	return "$rc"
}

boot_rc=0
if [[ -s $KERNEL_DIR/vmlinux && ${DEVONE_VM_BZIMAGE:-0} != 1 ]]; then
	log "booting $KVER (PVH, vmlinux)"
	boot "$KERNEL_DIR/vmlinux" || boot_rc=$?
	# A PVH entry that does not work ends in a triple fault, which
	# -no-reboot turns into a quick exit before /init ever runs: then say so
	# and try the bzImage.  (A hang is left to the watchdog's verdict, not
	# retried: that would only double the wait.)
	if [[ $boot_rc != 124 && $boot_rc != 137 ]] && ! grep -aq 'devone-vm: init started' "$CONSOLE_LOG"; then
		log "PVH boot did not reach /init (qemu exit $boot_rc); falling back to the bzImage"
		cp "$CONSOLE_LOG" "$VM_DIR/console-pvh.log"
		boot_rc=0
		boot "$KERNEL_DIR/vmlinuz" || boot_rc=$?
	fi
else
	log "booting $KVER (bzImage)"
	boot "$KERNEL_DIR/vmlinuz" || boot_rc=$?
fi

# ---- 7. the verdict ---------------------------------------------------------------

# The serial console ends lines with \r\n.
result=$(tr -d '\r' <"$CONSOLE_LOG" | grep -a '^DEVONE-VM-RESULT: ' | tail -n 1 || true)
if [[ $boot_rc == 124 || $boot_rc == 137 ]]; then
	result="DEVONE-VM-RESULT: FAIL boot watchdog: no power-off within ${BOOT_TIMEOUT}s"
elif [[ -z $result ]]; then
	result="DEVONE-VM-RESULT: FAIL no result line (qemu exit $boot_rc)"
fi

if [[ $result == 'DEVONE-VM-RESULT: PASS '* ]]; then
	# Just the checks, not the boot messages.
	tr -d '\r' <"$CONSOLE_LOG" | sed -n '/^devone-vm: ---- checks ----/,/^devone-vm: ---- end of checks ----/p'
	echo "$result"
	exit 0
fi
echo "devone-vm: ---- guest console ($CONSOLE_LOG) ----"
tr -d '\r' <"$CONSOLE_LOG"
echo "devone-vm: ---- end of guest console ----"
echo "$result"
exit 1
