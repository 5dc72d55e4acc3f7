#!/bin/sh
# /init of the devone test VM: PID 1 in the initramfs that devone/vm/run.sh
# packs, run by busybox's sh.
#
# It loads devone.ko, runs the checks, unloads the module, scans the kernel
# log for oopses, prints exactly one line
#
#   DEVONE-VM-RESULT: PASS <passed>/<total>
#   DEVONE-VM-RESULT: FAIL <failed>/<total> failed: <names>
#
# and powers the VM off.  PID 1 must never exit (the kernel would panic and
# run.sh would only see a missing result line), so every path ends in finish.

export PATH=/bin
mount -t devtmpfs devtmpfs /dev
# The kernel's own /dev/console went under the devtmpfs mount; reopen it.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp

echo "devone-vm: init started, kernel $(uname -r)"
echo "devone-vm: ---- checks ----"

passed=0
failed=0
failed_names=""

pass() {
	passed=$((passed + 1))
	echo "PASS $1"
}

fail() {
	failed=$((failed + 1))
	failed_names="$failed_names $1"
	echo "FAIL $1${2:+: $2}"
}

finish() {
	echo "devone-vm: ---- end of checks ----"
	total=$((passed + failed))
	if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
		echo "DEVONE-VM-RESULT: PASS $passed/$total"
	else
		echo "DEVONE-VM-RESULT: FAIL $failed/$total failed:$failed_names"
	fi
	sync
	# -f: no init system to ask; straight to the reboot(2) syscall.  qemu
	# runs with -no-reboot, so a reboot ends it as well as a power-off.
	poweroff -f
	reboot -f
	sleep 1000
}

# Runs one program whose output has PASS/FAIL lines (devone-vmtest's
# format) and counts them; a non-zero exit without any FAIL line is a
# failure of its own (a crash, a timeout).
run_checks() {
	label=$1
	shift
	out=/tmp/$label.out
	timeout 120 "$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	n_pass=$(grep -c '^PASS ' "$out")
	n_fail=$(grep -c '^FAIL ' "$out")
	passed=$((passed + n_pass))
	failed=$((failed + n_fail))
	for name in $(sed -n 's/^FAIL \([^:]*\).*/\1/p' "$out"); do
		failed_names="$failed_names $name"
	done
	if [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
		fail "$label" "exit status $rc"
	fi
}

# About 1.5 s (guest time) into the boot the kernel refines its TSC
# calibration and switches clocksource from tsc-early to tsc; a timer that
# spans the switch came ~270 ms late in our runs, which the 200 ms latency
# checks would take for a driver bug.  Let the switch happen first: sleeping
# costs no host time (qemu's -icount sleep=off skips idle guest time).
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
for _ in $(seq 30); do
	[ "$(cat $cs)" = tsc ] && break
	sleep 0.1
done
echo "devone-vm: clocksource $(cat $cs)"

# Only what the module logs from here on is scanned at the end.
dmesg -c >/dev/null

if insmod /devone.ko; then
	pass insmod
else
	fail insmod
	finish
fi

# devtmpfs creates the node before device_create() returns.
if [ -c /dev/devone0 ] && [ "$(stat -c %a /dev/devone0)" = 666 ]; then
	pass dev_node
else
	fail dev_node "$(ls -l /dev/devone0 2>&1)"
fi

params=/sys/module/devone/parameters
show_params() {
	for p in latency_ms pollable read_delay_ms poll_always_ready; do
		printf '%s=%s ' "$p" "$(cat $params/$p)"
	done
}
if [ "$(show_params)" = "latency_ms=0 pollable=Y read_delay_ms=0 poll_always_ready=N " ]; then
	pass default_params
else
	fail default_params "$(show_params)"
fi

# The driver checks, first with plain syscalls, then through the runtime's
# async API (the async_* checks; the last of them drops files with a read
# pending and the timer armed, which the rmmod and the kernel log scan below
# are there to catch).  They set the parameters themselves, check by check.
run_checks devone-vmtest /devone-vmtest

# Phase 2: the runtime's example, if run.sh found and packed it.  Run with
# the book's always-ready device, with a timer behind it, with the timer
# but no poll method (the always-ready fallback), and as ymgyt's blocking
# driver (every read sleeps 1 s, poll always says ready).  Each run logs its
# steps; it passes on exit status 0 with its last step, "done", logged, and
# with epoll used exactly when the driver has a poll method; the blocking
# run must also have moved the device to the blocking pool at its first
# read, with exactly one warning, and the other runs must warn of nothing.
if [ -x /devone-example ]; then
	# latency_ms:pollable:read_delay_ms:poll_always_ready
	for run in 0:1:0:0 200:1:0:0 200:0:0:0 0:1:1000:1; do
		# Split at the colons (the positional parameters are free here).
		IFS=:
		set -- $run
		unset IFS
		latency=$1 pollable=$2 delay=$3 always_ready=$4
		name=example_devone_latency_$latency
		[ "$pollable" = 1 ] || name=${name}_nopoll
		[ "$delay" = 0 ] || name=example_devone_blocking_driver
		want_pollable=true
		[ "$pollable" = 1 ] || want_pollable=false
		echo "$latency" >$params/latency_ms
		echo "$pollable" >$params/pollable
		echo "$delay" >$params/read_delay_ms
		echo "$always_ready" >$params/poll_always_ready
		out=/tmp/$name.out
		NO_COLOR=1 RUST_LOG=info timeout 60 /devone-example >"$out" 2>&1
		rc=$?
		cat "$out"
		warnings=$(grep -c ' WARN ' "$out")
		want_warnings=0
		[ "$delay" = 0 ] || want_warnings=1
		if [ "$rc" -ne 0 ]; then
			fail "$name" "exit status $rc"
		elif ! tail -n 1 "$out" | grep -q ' INFO devone: done$'; then
			fail "$name" "its output does not end with the \"done\" step"
		elif ! grep -q "opened .*pollable=$want_pollable" "$out"; then
			fail "$name" "did not log opening with pollable=$want_pollable"
		elif [ "$delay" != 0 ] && ! grep -q 'read 8 bytes .*offloaded=true' "$out"; then
			fail "$name" "the first slow read did not move the device to the blocking pool"
		elif [ "$warnings" -ne "$want_warnings" ]; then
			fail "$name" "$warnings warnings logged, wanted $want_warnings"
		else
			pass "$name"
		fi
	done
	echo 0 >$params/latency_ms
	echo 1 >$params/pollable
	echo 0 >$params/read_delay_ms
	echo 0 >$params/poll_always_ready
fi

if rmmod devone && [ ! -e /dev/devone0 ]; then
	pass rmmod
else
	fail rmmod
fi

# A BUG/oops/warning in the module may not fail any check by itself.
echo "devone-vm: kernel log since insmod:"
dmesg | tee /tmp/dmesg.out
if grep -E 'BUG|Oops|WARNING:|Call Trace|general protection' /tmp/dmesg.out >/dev/null; then
	fail dmesg_clean "the kernel log above has a BUG, oops or warning"
else
	pass dmesg_clean
fi

finish
