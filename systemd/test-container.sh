#!/usr/bin/env bash
# make systemd-test: the shipped system unit under a real systemd (Debian bookworm, systemd 252),
# booted with systemd-nspawn -b in a cgroup2 subtree of its own, sharing the host's network so
# a receiver on 127.0.0.1 gets the reminders. Needs root. Fails (exit 1, with the reason) when
# the machine cannot boot a container; never passes silently.
#
# The debootstrapped root is cached in $SIMKEEPER_SYSTEMD_CACHE (default
# /var/cache/simkeeper-systemd-test); each run works on a copy of it, removed at the end with
# every cgroup and process the run made. The journal of the run is kept in
# $SIMKEEPER_SYSTEMD_JOURNAL (default: build/systemd-test-journal.txt).
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
# The checkout whose wheel and units are tested (another one shows what these checks catch).
SOURCE=${SIMKEEPER_SOURCE:-$HERE}
CACHE=${SIMKEEPER_SYSTEMD_CACHE:-/var/cache/simkeeper-systemd-test}
JOURNAL_OUT=${SIMKEEPER_SYSTEMD_JOURNAL:-$HERE/build/systemd-test-journal.txt}
PYTHON=${PYTHON:-python3}
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,libpam-systemd,dbus,procps,python3,python3-venv
T0=$(date +%s)
WORK= CG= NSPAWN_PID= RECEIVER_PID= LEADER= MADE_NSPAWN_RUN=
FAILED=0

say() { printf '[%4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }
pass() { say "PASS: $*"; }
fail() { say "FAIL: $*" >&2; FAILED=1; }
inside() { nsenter -t "$LEADER" -a -- "$@"; }
prop() { inside systemctl show -P "$2" "$1"; }

cleanup() {
    local rc=$?
    set +e
    if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        say "halting the container"
        kill -TERM "$NSPAWN_PID"  # nspawn halts the container's systemd in order
        for _ in $(seq 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$NSPAWN_PID" 2>/dev/null && kill -KILL "$NSPAWN_PID"
        wait "$NSPAWN_PID" 2>/dev/null
        say "container halted"
    fi
    [[ -n $WORK && -f $WORK/nspawn.log ]] && cp "$WORK/nspawn.log" "${JOURNAL_OUT%.txt}-console.txt"
    if [[ -n $RECEIVER_PID ]]; then
        kill "$RECEIVER_PID" 2>/dev/null && wait "$RECEIVER_PID" 2>/dev/null
        say "receiver stopped"
    fi
    if [[ -n $CG && -d $CG ]]; then
        for p in $(find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null); do
            kill -KILL "$p" 2>/dev/null
        done
        sleep 0.2
        find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null
        [[ -d $CG ]] && say "WARNING: could not remove the cgroup $CG" >&2
        say "cgroup removed"
    fi
    if [[ -n $WORK && -d $WORK ]]; then
        findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
        mountpoint -q "$WORK" && umount "$WORK"
        rm -rf --one-file-system "$WORK"
    fi
    [[ -n $MADE_NSPAWN_RUN ]] && rm -rf /run/systemd/nspawn
    say "cleaned up (container halted, cgroup, copy of the root and receiver removed)"
    [[ $rc -eq 0 && $FAILED -eq 0 ]] && say "systemd-test: all checks passed in $(($(date +%s) - T0)) s"
    exit $((rc ? rc : FAILED))
}
trap cleanup EXIT

# -- can this machine boot a container? -------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "must run as root (systemd-nspawn -b needs it)"
for tool in debootstrap systemd-nspawn nsenter findmnt mountpoint; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y --no-install-recommends debootstrap systemd-container"
done
CG2=$(findmnt -rn -t cgroup2 -o TARGET | head -1)
[[ -n $CG2 ]] || die "no cgroup2 hierarchy is mounted, so systemd-nspawn cannot give the container one"
if [[ $CG2 != /sys/fs/cgroup ]]; then
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1  # v1 hybrid host: the container gets cgroup2 only
fi
[[ -d /run/systemd/nspawn ]] || MADE_NSPAWN_RUN=1

# -- the cached root ----------------------------------------------------------------------------
ROOT_CACHE=$CACHE/$SUITE-$(echo "$PACKAGES" | md5sum | cut -c1-8)
if [[ ! -x $ROOT_CACHE/usr/bin/python3 ]]; then
    say "debootstrap $SUITE into $ROOT_CACHE (once per machine)"
    mkdir -p "$CACHE"
    rm -rf "$ROOT_CACHE.tmp"
    # The Debian mirror apt is configured with (its main archive, not -security or others).
    MIRROR=$(grep -rhoE '^(URIs:|deb)( \[[^]]*\])? +https?://[^ ]+' /etc/apt/sources.list \
        /etc/apt/sources.list.d/ 2>/dev/null | awk '{print $NF}' | grep -E '/debian/?$' | head -1 || true)
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT_CACHE.tmp" "${MIRROR:-http://deb.debian.org/debian}" \
        >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed: see $CACHE/debootstrap.log"
    mv "$ROOT_CACHE.tmp" "$ROOT_CACHE"
    say "debootstrap done"
fi

# -- a copy with simkeeper installed ------------------------------------------------------------
WORK=$(mktemp -d /var/tmp/simkeeper-systemd-test.XXXXXX)
# In memory: copying the root there and dropping it at the end takes a second, not a minute.
mount -t tmpfs -o size=2g,mode=0700 simkeeper-systemd-test "$WORK" || die "cannot mount a tmpfs on $WORK"
ROOT=$WORK/root
say "building the wheel of simkeeper and its dependencies"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check -w "$WORK/wheels" "$SOURCE" \
    >"$WORK/pip.log" 2>&1 || { cat "$WORK/pip.log" >&2; die "pip wheel failed (log above)"; }
say "copying the root and installing simkeeper into /opt/simkeeper inside it"
cp -a "$ROOT_CACHE" "$ROOT"
cp -r "$WORK/wheels" "$ROOT/tmp/wheels"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /usr/bin/python3 -m venv /opt/simkeeper
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /opt/simkeeper/bin/pip install --quiet \
    --disable-pip-version-check --no-index --find-links /tmp/wheels simkeeper \
    || die "installing the wheel inside the container failed"
rm -rf "$ROOT/tmp/wheels"
install -m 0644 "$SOURCE"/systemd/simkeeper*.service "$SOURCE"/systemd/simkeeper*.socket "$ROOT/etc/systemd/system/"
install -d -m 0700 "$ROOT/etc/simkeeper/credentials"
TOKEN=tok3n-$RANDOM$RANDOM
printf '%s' "$TOKEN" >"$ROOT/etc/simkeeper/credentials/HOOK_TOKEN"
chmod 0600 "$ROOT/etc/simkeeper/credentials/HOOK_TOKEN"
echo simkeeper-test >"$ROOT/etc/hostname"
# A quiet boot: no getty on the console, nothing the checks do not need.
chroot "$ROOT" systemctl mask -q console-getty.service getty.target
chroot "$ROOT" useradd -m -u 1000 -s /bin/sh alice  # for the user unit

# -- a receiver on 127.0.0.1 --------------------------------------------------------------------
"$PYTHON" - "$WORK/received" "$WORK/port" <<'EOF' &
import http.server, sys
out, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(out, "ab") as f:
            f.write(self.path.encode() + b" " + body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile + ".tmp", "w").write(str(s.server_address[1]))
__import__("os").replace(portfile + ".tmp", portfile)
s.serve_forever()
EOF
RECEIVER_PID=$!
for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
PORT=$(cat "$WORK/port") || die "the receiver did not start"
: >"$WORK/received"
received() { grep -c -- "$1" "$WORK/received" || true; }

# A config whose on-the-day reminder fell a minute ago (UTC), so it is due at once.
write_config() {  # $1: extra [settings] lines, $2: extra text at the end
    local at
    at=$(date -u -d '-1 min' +%s)
    cat >"$ROOT/etc/simkeeper/config.toml" <<EOF
[settings]
timezone = "UTC"
remind_at = "$(date -u -d "@$at" +%H:%M:%S)"
send_timeout = 5
$1

[[notify]]
name = "hook"
url = "json://127.0.0.1:$PORT/\${HOOK_TOKEN}"

[[numbers]]
name = "giffgaff"
number = "+447911123456"
due = $(date -u -d "@$at" +%F)
remind = ["0d"]
$2
EOF
    chmod 0644 "$ROOT/etc/simkeeper/config.toml"
}
write_config "" ""
# A config error the validator reports (not a TOML one): the targets stay usable for the alert.
BROKEN=$'\n[[numbers]]\nname = "broken"\nnumber = "+447911123458"\ndue = 2099-01-01\ncycel = "30d"'

# -- boot ---------------------------------------------------------------------------------------
CG=$CG2/simkeeper-systemd-test-$$
mkdir "$CG" || die "cannot create the cgroup $CG"
say "booting the container (systemd-nspawn -b, cgroup $CG)"
(
    echo "$BASHPID" >"$CG/cgroup.procs"
    exec systemd-nspawn -q -D "$ROOT" --register=no --keep-unit -b --console=read-only \
        --machine=simkeeper-test
) >"$WORK/nspawn.log" 2>&1 &
NSPAWN_PID=$!
for _ in $(seq 300); do
    LEADER=$(cat "$CG/payload/init.scope/cgroup.procs" 2>/dev/null | head -1 || true)
    [[ -n $LEADER ]] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -n $LEADER ]] || { cat "$WORK/nspawn.log" >&2; die "the container did not boot (log above)"; }
state=
for _ in $(seq 600); do  # until its bus answers and start-up is over, at most 2 minutes
    state=$(inside systemctl is-system-running 2>&1 || true)
    [[ $state == running || $state == degraded ]] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.2
done
[[ $state == running || $state == degraded ]] \
    || { cat "$WORK/nspawn.log" >&2; die "the container's systemd did not come up: $state"; }
say "booted: $(inside systemctl --version | head -1), system $state"
inside systemctl daemon-reload

journal() { inside journalctl -q -o short-iso --no-pager "$@"; }
wait_until() {  # $1: seconds, then a command
    local until=$(($(date +%s) + $1)); shift
    while ! "$@"; do [[ $(date +%s) -lt $until ]] || return 1; sleep 0.2; done
}
# Conditions wait_until polls (each evaluates again on every call).
restarts_at_least() { [[ $(prop simkeeper NRestarts) -ge $1 ]]; }
substate_is() { [[ $(prop simkeeper SubState) == "$1" ]]; }
received_at_least() { [[ $(received "$1") -ge $2 ]]; }
cursor() { inside journalctl -n 0 --show-cursor -q --no-pager | sed -n 's/^-- cursor: //p'; }

# 1. READY at start: Type=notify, so `systemctl start` returns only after READY=1.
say "check: start (READY=1)"
if inside timeout 60 systemctl start simkeeper && [[ $(prop simkeeper ActiveState) == active ]] \
    && [[ $(prop simkeeper SubState) == running ]]; then
    pass "started as Type=$(prop simkeeper Type): $(prop simkeeper StatusText)"
else
    fail "simkeeper did not start: $(inside systemctl status simkeeper --no-pager 2>&1 | tail -20)"
fi

# 2. The due reminder reaches the receiver on 127.0.0.1, with the secret from LoadCredential=.
say "check: a due reminder delivered"
if wait_until 60 received_at_least "/$TOKEN " 1; then
    pass "reminder received: $(grep -m1 -o '"title": *"[^"]*"' "$WORK/received")"
else
    fail "no reminder reached the receiver within 60 s"
fi

# 3. A good reload is synchronous: the new config is in use when `systemctl reload` returns,
# even when the daemon is busy when the reload comes (here: frozen for 2 s), where
# `kill -HUP` would let systemd say "Reloaded" at once.
say "check: a good reload (daemon busy for 2 s)"
write_config "" $'\n[[numbers]]\nname = "reload-marker"\nnumber = "+447911123457"\ndue = 2099-01-01'
c=$(cursor)
inside systemctl kill -s STOP --kill-who=main simkeeper
inside timeout 60 systemctl reload simkeeper &
RELOAD_PID=$!
sleep 2
early=no; kill -0 "$RELOAD_PID" 2>/dev/null || early=yes
inside systemctl kill -s CONT --kill-who=main simkeeper
rc=0; wait "$RELOAD_PID" || rc=$?
order=$(journal --after-cursor="$c" -u simkeeper \
    | grep -n -e 'config reloaded: 2 number(s)' -e 'Reloaded simkeeper.service' | cut -d: -f1 | tr '\n' ' ')
if [[ $early == no && $rc -eq 0 ]] \
    && journal --after-cursor="$c" -u simkeeper | grep 'config reloaded: 2 number(s)' >/dev/null \
    && [[ $(journal --after-cursor="$c" -u simkeeper | grep -e 'config reloaded: 2 number' \
        -e 'Reloaded simkeeper.service' | head -1) == *'config reloaded'* ]]; then
    pass "systemctl reload waited for the busy daemon; 'config reloaded' came before 'Reloaded'"
else
    fail "good reload: returned while the daemon was frozen: $early, exit $rc, journal lines $order"
fi

# 4. A rejected reload fails with the reason; the daemon keeps running on the old config.
say "check: a rejected reload"
write_config "" "$BROKEN"
c=$(cursor)
rc=0; inside timeout 60 systemctl reload simkeeper 2>/dev/null || rc=$?
if [[ $rc -ne 0 && $rc -ne 124 ]] && [[ $(prop simkeeper ActiveState) == active ]] \
    && journal --after-cursor="$c" -u simkeeper | grep 'numbers\[2\]\.cycel' >/dev/null; then
    pass "systemctl reload exited $rc, the reason is in the journal, the unit is active"
else
    fail "rejected reload: systemctl reload exited $rc, state $(prop simkeeper ActiveState)"
fi

# 5. A reload whose pass then fails (a calendar in the read-only /etc/simkeeper) leaves the
# unit active, and later reloads work; a relative calendar lands in the state folder.
say "check: a reload whose pass fails"
write_config 'calendar = "/etc/simkeeper/renewals.ics"' ""
rc=0; inside timeout 60 systemctl reload simkeeper || rc=$?
st=$(prop simkeeper ActiveState)
write_config 'calendar = "renewals.ics"' ""
rc2=0; inside timeout 60 systemctl reload simkeeper || rc2=$?
if [[ $rc -eq 0 && $st == active && $rc2 -eq 0 && $(prop simkeeper ActiveState) == active ]] \
    && journal -u simkeeper | grep 'calendar feed not updated: cannot create /etc/simkeeper/renewals.ics' >/dev/null \
    && wait_until 20 test -s "$ROOT/var/lib/private/simkeeper/renewals.ics"; then
    pass "unit active after the failed pass, the next reload worked, renewals.ics in /var/lib/simkeeper"
else
    fail "after a reload whose pass failed: reload exited $rc then $rc2, state $st"
fi

# 6. The watchdog: a daemon that stops answering is killed and restarted.
say "check: the watchdog"
inside mkdir -p /run/systemd/system/simkeeper.service.d
printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\n' | inside tee /run/systemd/system/simkeeper.service.d/fast.conf >/dev/null
inside systemctl daemon-reload
inside timeout 60 systemctl restart simkeeper
sleep 7  # more than twice WatchdogSec: a live daemon is not killed
alive=$(prop simkeeper NRestarts)
inside systemctl kill -s STOP simkeeper
if [[ $alive == 0 ]] && wait_until 30 restarts_at_least 1 \
    && wait_until 30 substate_is running \
    && journal -u simkeeper | grep 'Watchdog timeout' >/dev/null; then
    pass "pinged through 7 s of WatchdogSec=3s; killed and restarted once it stopped"
else
    fail "watchdog: NRestarts $alive before the freeze, $(prop simkeeper NRestarts) after"
fi
inside rm -r /run/systemd/system/simkeeper.service.d
inside systemctl daemon-reload

# 7. A config error does not restart-loop: the unit fails at once and OnFailure= alerts.
say "check: a config error (no restart loop, OnFailure= alert)"
write_config "" "$BROKEN"
inside systemctl reset-failed simkeeper 2>/dev/null || true
rc=0; inside timeout 60 systemctl restart simkeeper 2>/dev/null || rc=$?
sleep 1
st=$(prop simkeeper ActiveState)/$(prop simkeeper SubState)
if [[ $rc -ne 0 && $st == failed/failed && $(prop simkeeper ExecMainStatus) == 2 ]] \
    && wait_until 60 received_at_least 'simkeeper has stopped' 1; then
    pass "exit 2 left the unit failed (no restart), and the OnFailure= alert reached the receiver"
else
    fail "config error: state $st, exit $(prop simkeeper ExecMainStatus), alerts $(received 'simkeeper has stopped')"
fi

# 8. Stop: a clean exit.
say "check: stop"
write_config "" ""
inside systemctl reset-failed simkeeper 2>/dev/null || true
inside timeout 60 systemctl start simkeeper || true
if inside timeout 60 systemctl stop simkeeper && [[ $(prop simkeeper ActiveState) == inactive ]] \
    && [[ $(prop simkeeper Result) == success ]] && journal -u simkeeper | grep 'simkeeper stopped' >/dev/null; then
    pass "stopped cleanly"
else
    fail "stop: state $(prop simkeeper ActiveState), result $(prop simkeeper Result)"
fi

# 9. The user unit: the database in ~/.local/state/simkeeper, ~/.config/simkeeper left 0700.
say "check: the user unit's state folder"
U=/home/alice
inside runuser -u alice -- sh -c 'umask 077; mkdir -p ~/.config/simkeeper ~/.config/systemd/user ~/.local/share/simkeeper'
inside ln -s /opt/simkeeper $U/.local/share/simkeeper/venv
install -m 0644 "$SOURCE/systemd/simkeeper-user.service" "$ROOT$U/.config/systemd/user/simkeeper.service"
sed 's/^state = .*//' "$ROOT/etc/simkeeper/config.toml" >"$ROOT$U/.config/simkeeper/config.toml"
printf 'HOOK_TOKEN=%s\n' "$TOKEN" >"$ROOT$U/.config/simkeeper/env"
inside chown -R alice:alice $U/.config
inside chmod 0600 $U/.config/simkeeper/config.toml $U/.config/simkeeper/env
inside systemctl start user@1000.service \
    || { journal -u user@1000.service | tail -20 >&2; die "the user manager of alice did not start"; }
as_alice() { inside runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1000 "$@"; }
as_alice systemctl --user daemon-reload
if as_alice timeout 60 systemctl --user start simkeeper \
    && wait_until 20 inside test -s $U/.local/state/simkeeper/simkeeper.db \
    && [[ $(inside stat -c %a $U/.config/simkeeper) == 700 ]] \
    && ! inside test -e $U/.config/simkeeper/simkeeper.db; then
    pass "user unit: database in ~/.local/state/simkeeper, ~/.config/simkeeper still 0700"
else
    fail "user unit: state in $(inside find $U -name simkeeper.db), ~/.config/simkeeper mode $(inside stat -c %a $U/.config/simkeeper)"
fi
as_alice systemctl --user stop simkeeper || true
inside journalctl -q -o short-iso --no-pager _UID=1000 >"${JOURNAL_OUT%.txt}-user.txt" || true
inside systemctl stop user@1000.service

# 10. The web face: socket activation, a page served by the service the request started, the
# daemon and the web process on one database, and the idle exit. The socket listens on a free
# port of the shared network (a drop-in), the config's [web] table says the same.
say "check: the web face (socket activation, a page, health beside the daemon, idle exit)"
WPORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A second number due now: its reminder, sent by the daemon, carries the web face's links.
write_config "" $'\n[[numbers]]\nname = "web-marker"\nnumber = "+447911123459"\ndue = '"$(date -u +%F)"$'\nremind = ["0d"]\n\n[web]\nlisten = "127.0.0.1:'"$WPORT"$'"\nbase_url = "https://sims.example.com"'
inside mkdir -p /run/systemd/system/simkeeper-web.socket.d /run/systemd/system/simkeeper-web.service.d
printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:%s\n' "$WPORT" \
    | inside tee /run/systemd/system/simkeeper-web.socket.d/port.conf >/dev/null
inside systemctl daemon-reload
http_get() {  # $1: path; prints the status, then the body
    # (head -1 on it would break its pipe: take the first line with ${x%%$'\n'*})
    "$PYTHON" - "http://127.0.0.1:$WPORT$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=30)
except urllib.error.HTTPError as e:
    r = e
print(r.status)
sys.stdout.write(r.read().decode())
PY
}
web_state() { prop simkeeper-web.service ActiveState; }
web_is() { [[ $(web_state) == "$1" ]]; }
inside systemctl reset-failed simkeeper 2>/dev/null || true
inside timeout 60 systemctl start simkeeper || true
if inside timeout 60 systemctl enable --now simkeeper-web.socket 2>/dev/null \
    && [[ $(prop simkeeper-web.socket SubState) == listening ]] && web_is inactive; then
    first=$(http_get /healthz || true)
    first=${first%%$'\n'*}
    started=$(web_state)
    healthy() { [[ $(http_get /healthz) == $'200\nok' ]]; }
    wait_until 60 healthy || true  # once the daemon's start-up pass is recorded
    health=$(http_get /healthz || true)
    KEYFILE=$ROOT/var/lib/private/simkeeper/web.key
    page=$(http_get "/?token=$("$PYTHON" -c 'import sys; from simkeeper.send.links import page_token; print(page_token(bytes.fromhex(open(sys.argv[1]).read().strip()), "status"))' "$KEYFILE")" || true)
    if [[ $first =~ ^(200|503)$ && $started == active && $health == $'200\nok' ]] \
        && [[ ${page%%$'\n'*} == 200 && $page == *giffgaff* ]] \
        && [[ $(inside stat -c %a /var/lib/private/simkeeper/web.key) == 600 ]]; then
        pass "socket listening, the first request started simkeeper-web.service; /healthz ok beside the running daemon, the status page served"
    else
        fail "web face: first answer $first, service $started after it; /healthz: ${health//$'\n'/ }; status page: ${page:0:80}"
    fi
else
    fail "web socket: $(prop simkeeper-web.socket SubState), service $(web_state) before any request"
fi
# The "I renewed it" link of the message the daemon sent, pressed (POST): the web process,
# the daemon's transient user without a network of its own, writes the renewal to the database.
link=$(grep -o 'I renewed it: https://sims.example.com/r/[A-Za-z0-9_.-]*' "$WORK/received" | tail -1 || true)
posted=$("$PYTHON" - "http://127.0.0.1:$WPORT${link#*https://sims.example.com}" <<'PY' || true
import sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"), timeout=30)
except urllib.error.HTTPError as e:
    r = e
print(r.status)
PY
)
if [[ -n $link && $posted == 200 ]] \
    && inside /opt/simkeeper/bin/simkeeper --config /etc/simkeeper/config.toml history web-marker \
        | grep renewal >/dev/null; then
    pass "the reminder's 'I renewed it' link, POSTed: the renewal is in simkeeper history"
else
    fail "renewal link: '${link:0:60}', POST answered '$posted'"
fi
# The idle exit: a short --idle-exit, then the service leaves by itself (exit 0) and the next
# request starts it again.
printf '[Service]\nExecStart=\nExecStart=/opt/simkeeper/bin/simkeeper --config /etc/simkeeper/config.toml web --idle-exit 2\n' \
    | inside tee /run/systemd/system/simkeeper-web.service.d/idle.conf >/dev/null
inside systemctl daemon-reload
inside systemctl stop simkeeper-web.service
first=$(http_get /healthz || true)
first=${first%%$'\n'*}
answer_is_200() { local a; a=$(http_get /healthz); [[ ${a%%$'\n'*} == 200 ]]; }
if [[ $first == 200 ]] && wait_until 30 web_is inactive \
    && [[ $(prop simkeeper-web.service Result) == success ]] \
    && journal -u simkeeper-web | grep 'no request for 2 s: exiting until the next connection' >/dev/null \
    && answer_is_200 && web_is active; then
    pass "idle for 2 s: simkeeper-web.service exited 0, and the next request started it again"
else
    fail "idle exit: first answer $first, service $(web_state), result $(prop simkeeper-web.service Result)"
fi
inside systemctl stop simkeeper-web.socket simkeeper-web.service simkeeper || true
inside rm -r /run/systemd/system/simkeeper-web.socket.d /run/systemd/system/simkeeper-web.service.d
inside systemctl daemon-reload

mkdir -p "$(dirname "$JOURNAL_OUT")"
journal -u simkeeper -u 'simkeeper-failure@*' -u 'simkeeper-web*' >"$JOURNAL_OUT" || true
say "journal of simkeeper and its failure alert: $JOURNAL_OUT ($(wc -l <"$JOURNAL_OUT") lines)"
grep -F "$TOKEN" "$JOURNAL_OUT" >/dev/null && fail "the secret appears in the journal"
exit 0
