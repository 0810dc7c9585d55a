#!/usr/bin/env bash
# dustctl top against two real dustd on loopback (host1 trusting host2):
#   - without a terminal (a pipe), and with --once, it prints one frame and exits: host1's line
#     and host2's row (live, its announced accuracy); --json gives the results it draws from;
#   - on a pseudo-terminal it redraws every --interval on the alternate screen, host2's updates
#     per second a number after the first frame, and q, Ctrl-C (the terminal's SIGINT) and
#     SIGTERM each end it with exit 0, the screen and cursor restored and the terminal's settings
#     (termios) exactly as before;
#   - a bad --interval is a usage error.
#
# Usage: bash tests/integration/top_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: top_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"
# shellcheck source=tests/e2e/netlib.sh
source "$SRC/tests/e2e/netlib.sh"
# shellcheck source=tests/e2e/cluster.sh
source "$SRC/tests/e2e/cluster.sh"
cl_find_bins "$BUILD" || give_up "build dustd, dustctl and dust-bench in $BUILD first"

CL_WORK=$(mktemp -d /tmp/dust-top-test.XXXXXX)
cleanup() {
  local rc=$?
  net_cleanup
  [ "$rc" -eq 0 ] || { [ -f "$CL_WORK/h1/dustd.log.cur" ] && tail -n 20 "$CL_WORK/h1/dustd.log.cur"; }
  rm -rf "$CL_WORK"
  exit "$rc"
}
trap cleanup EXIT

# Two consecutive free UDP ports (cluster.sh gives host i CL_PORT0 + i).
CL_PORT0=$("$PY" -c '
import socket
def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port)); return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
while True:
    base = free(0)
    if base < 65000 and free(base + 1) and free(base + 2): break
print(base)')
CL_MODE=loopback
CL_LOOPBACK_HOSTS="1 2"
CL_DATA=$CL_WORK/data
"$CL_BIN_BENCH" split --data "$SRC/data/mnist-10k" --out "$CL_DATA" --parts 2 --split iid \
  --seed 1 --limit 2000 >/dev/null 2>&1 || give_up "dust-bench split failed"
CL_DUSTD_ARGS=(--send-interval 0.2 --announce-interval 0.5 --eval-interval 1 --rescan-interval 0
  --cpu-budget 0.3)
cl_start 1 || give_up "host1 did not start"
cl_start 2 || give_up "host2 did not start"
cl_pair "1 2"
ID2=$(cl_node_id 2)
for ((t = 0; t < 120; t++)); do
  cl_ctl 1 --json peers | jget "any(p['live'] and p['accuracy'] is not None and p['updates_accepted'] > 0
    for p in d['peers'] if p['node_id'] == '$ID2')" | grep -q True && break
  sleep 0.5
done
[ "$t" -lt 120 ] || give_up "host1 did not hear host2 (live, accuracy, updates) within 60 s"

# --- one frame: --once, a pipe, --json ---------------------------------------------------------
# check_frame FILE WHAT: FILE is exactly one frame showing host1 and host2 live.
check_frame() {
  local before=$failures
  [ "$(grep -c 'holdout' "$1")" = 1 ] || fail "$2: not exactly one frame: $(cat "$1")"
  grep -q "^host1 ${ID_1:0:7}  " "$1" || fail "$2: no line for host1"
  grep -qE "^${ID2:0:7}  host2  live  +[0-9]+s ago  +[0-9.]+%  +[0-9]+ " "$1" ||
    fail "$2: no live row with accuracy for host2: $(cat "$1")"
  pass_if "$before" "$2 prints one frame: host1's line, host2 live with its accuracy"
}
ID_1=$(cl_node_id 1)
cl_ctl 1 top --once >"$CL_WORK/once.txt" </dev/null || fail "top --once failed"
check_frame "$CL_WORK/once.txt" "top --once"
sed 's/^/  /' "$CL_WORK/once.txt"
timeout 10 "$CL_BIN_CTL" --socket "$(cl_sock 1)" top </dev/null | cat >"$CL_WORK/pipe.txt" ||
  fail "top into a pipe did not exit by itself within 10 s"
check_frame "$CL_WORK/pipe.txt" "top without a terminal"
cl_ctl 1 --json top | jget "(sorted(d) == ['peers', 'status'] and d['status']['node_id'] == '$ID_1'
  and any(p['node_id'] == '$ID2' for p in d['peers']['peers']))" | grep -q True ||
  fail "top --json: not the status and peers results"
rc=0
cl_ctl 1 top --interval 0 >/dev/null 2>"$CL_WORK/err" || rc=$?
{ [ "$rc" = 1 ] && grep -q "interval" "$CL_WORK/err"; } || fail "top --interval 0: exit $rc, $(cat "$CL_WORK/err")"
pass_if 0 "top --json has the status and peers results; --interval 0 is a usage error"

# --- on a pseudo-terminal: live frames, and each way out restores the terminal ---------------
for how in q ctrl-c sigterm; do
  "$PY" - "$CL_BIN_CTL" "$(cl_sock 1)" "$how" "${ID2:0:7}" <<'PYEOF' || fail "top on a terminal, ended by $how"
import os, re, select, signal, subprocess, sys, termios, time, fcntl
ctl, sock, how, id2 = sys.argv[1:]
master, slave = os.openpty()
before = termios.tcgetattr(slave)

def become_terminal_owner():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty is its controlling terminal: Ctrl-C signals it

p = subprocess.Popen([ctl, '--socket', sock, 'top', '--interval', '0.3'], stdin=slave,
                     stdout=slave, stderr=slave, preexec_fn=become_terminal_owner)
out = b''
def read_for(seconds, until=None):
    global out
    end = time.time() + seconds
    while time.time() < end and not (until and until(out)):
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
# Four frames (about 1 s): the alternate screen, then redraws; host2's rate appears from the
# second frame on.
read_for(10, lambda o: o.count(b'\x1b[H\x1b[J') >= 4)
frames = out.decode(errors='replace').split('\x1b[H\x1b[J')[1:]
bad = []
if not out.startswith(b'\x1b[?1049h\x1b[?25l'): bad.append('no alternate screen at start: %r' % out[:40])
if len(frames) < 4: bad.append('%d frames in 10 s' % len(frames))
rates = []
for f in frames[1:4]:
    row = [l for l in f.splitlines() if l.startswith(id2)]
    rates.append(row[0].split()[-1] if row else None)
if not all(r is not None and re.fullmatch(r'[0-9]+\.[0-9]', r) for r in rates):
    bad.append("host2's updates/s in frames 2-4: %s" % rates)
if termios.tcgetattr(slave)[3] & termios.ECHO: bad.append('echo still on while running')
t0 = time.time()
if how == 'q': os.write(master, b'q')
elif how == 'ctrl-c': os.write(master, b'\x03')
else: p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(timeout=5)
except subprocess.TimeoutExpired:
    p.kill(); p.wait()
    rc = 'still running after 5 s'
took = time.time() - t0
read_for(0.3)
if rc != 0: bad.append('exit %s' % rc)
if not out.endswith(b'\x1b[?25h\x1b[?1049l'): bad.append('screen not restored at exit: %r' % out[-40:])
if termios.tcgetattr(slave) != before: bad.append('terminal settings not restored')
for b in bad: print('FAIL: %s: %s' % (how, b), file=sys.stderr)
if not bad:
    print('ok: top on a terminal: %d frames, host2 at %s updates/s, ended by %s in %.2f s, '
          'terminal restored' % (len(frames), '/'.join(rates), how, took))
sys.exit(1 if bad else 0)
PYEOF
done

for h in 1 2; do cl_stop "$h" || fail "host$h did not stop cleanly"; done
cl_check_logs || fail "sanitizer reports in the daemons' logs"
finish top
