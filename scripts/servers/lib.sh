# shellcheck shell=bash
# lib.sh -- helpers shared by the throwaway test-server scripts in this directory
# (dovecot-, cyrus-, courier-test-server.sh) and by install-system-packages.sh.
# Source it; it defines functions only.
#
# Exit codes used by every server script (tests/support/servers.py relies on them):
#   0  done
#   1  the server failed for another reason (config error, crash): a real failure
#   2  this machine cannot run the server (package missing, not root, no mount
#      namespaces, .deb not downloadable): tests skip, or fail under CI
#   3  the port is already taken: the caller retries with another port

die()      { echo "${SCRIPT_NAME:-test-server}: $*" >&2; exit 1; }
die_env()  { echo "${SCRIPT_NAME:-test-server}: $*" >&2; exit 2; }
die_port() { echo "${SCRIPT_NAME:-test-server}: $*" >&2; exit 3; }

# The three Debian IMAP daemons (dovecot-imapd, cyrus-imapd, courier-imap) all
# "Provides: imap-server" and "Conflicts: imap-server": apt keeps at most one.  The
# others are unpacked from their .deb (apt-get download + dpkg-deb -x) into this cache.
deb_cache_dir() {
    local dir=${IMSH_DEB_CACHE:-/var/cache/imsh/imap-debs}
    if ! mkdir -p "$dir" 2>/dev/null || [ ! -w "$dir" ]; then
        dir=/tmp/imsh-imap-debs-$(id -u)
        mkdir -p "$dir"
    fi
    echo "$dir"
}

# apt-get download PKG[=VERSION] into the current directory; refresh the package
# lists once (as root) when the first try fails, as on a fresh CI machine.
_apt_download() {
    apt-get download -q "$1" >/dev/null 2>&1 && return 0
    [ "$(id -u)" -eq 0 ] || return 1
    apt-get update -qq >/dev/null 2>&1 || return 1
    apt-get download -q "$1" >/dev/null 2>&1
}

# unpacked_deb PKG [VERSION] -> prints the root of the unpacked package.
# Cached as CACHE/PKG (with a .version stamp); an older stamp than VERSION is
# replaced.  Serialised with flock so parallel test workers do not race.
unpacked_deb() {
    local pkg=$1 want=${2:-} cache root tmp
    command -v dpkg-deb >/dev/null || die_env "dpkg-deb missing: cannot unpack $pkg"
    cache=$(deb_cache_dir)
    root=$cache/$pkg
    (
        flock 9
        if [ -f "$root.version" ] && { [ -z "$want" ] || [ "$(cat "$root.version")" = "$want" ]; }; then
            exit 0
        fi
        tmp=$(mktemp -d "$cache/.dl-XXXXXX")
        chmod 0777 "$tmp"              # apt's _apt user writes the download here
        (cd "$tmp" && _apt_download "$pkg${want:+=$want}") \
            || { rm -rf "$tmp"; exit 2; }
        mkdir "$tmp/root"
        dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"
        dpkg-deb -f "$tmp"/"$pkg"_*.deb Version > "$tmp/version"
        rm -rf "$root"
        mv "$tmp/root" "$root"
        mv "$tmp/version" "$root.version"
        rm -rf "$tmp"
    ) 9>"$cache/.$pkg.lock" \
        || die_env "cannot apt-get download $pkg${want:+=$want} (no network or package lists?);" \
                   "run scripts/servers/install-system-packages.sh"
    echo "$root"
}

installed_version() {  # installed_version PKG -> version, or nothing
    dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$1" 2>/dev/null \
        | awk '$1 == "ii" { print $2 }'
}

port_is_free() {  # port_is_free HOST PORT
    python3 - "$1" "$2" <<'PY'
import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((sys.argv[1], int(sys.argv[2])))
    except OSError:
        sys.exit(1)
PY
}

# wait_for_greeting HOST PORT PIDFILE [SECONDS]: until HOST:PORT sends "* OK".
# Fails early when the daemon named by PIDFILE is gone.
wait_for_greeting() {
    python3 - "$1" "$2" "$3" "${4:-20}" <<'PY'
import os, socket, sys, time
host, port, pidfile, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
start = time.monotonic()
def daemon_alive():
    try:
        os.kill(int(open(pidfile).read().split()[0]), 0)
        return True
    except (OSError, ValueError, IndexError):
        return time.monotonic() - start < 2   # pid file may not be written yet
while time.monotonic() - start < limit:
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            if s.recv(200).startswith(b"* OK"):
                sys.exit(0)
    except OSError:
        pass
    if not daemon_alive():
        sys.exit("daemon exited before greeting")
    time.sleep(0.05)
sys.exit(f"no IMAP greeting on {host}:{port} within {limit:.0f}s")
PY
}

# listener_owned_by PID PORT: does PID or one of its children hold the socket listening
# on 127.0.0.1:PORT?  Guards against a lost port race, where a daemon that failed to
# bind keeps running and the readiness probe would greet another server on that port.
listener_owned_by() {
    python3 - "$1" "$2" <<'PY'
import os, sys
pid, port = sys.argv[1], int(sys.argv[2])
inodes = set()
with open("/proc/net/tcp") as table:
    for line in list(table)[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            inodes.add(f"socket:[{fields[9]}]")
def children(p):
    try:
        with open(f"/proc/{p}/task/{p}/children") as f:
            return f.read().split()
    except OSError:
        return []
for p in [pid, *children(pid)]:
    try:
        fds = os.listdir(f"/proc/{p}/fd")
    except OSError:
        continue
    for fd in fds:
        try:
            if os.readlink(f"/proc/{p}/fd/{fd}") in inodes:
                sys.exit(0)
        except OSError:
            pass
sys.exit(1)
PY
}

# A 0700 parent (pytest's /tmp/pytest-of-root) keeps the unprivileged server users
# out.  can_reach USER TEST-ARGS... runs `test` as USER.
can_reach() {
    local user=$1; shift
    setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups test "$@"
}
