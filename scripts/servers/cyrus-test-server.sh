#!/usr/bin/env bash
# cyrus-test-server.sh -- a self-contained throwaway Cyrus IMAP 3.6 server on
# 127.0.0.1 for tests and benchmarks (Debian 12 cyrus-common + the imapd binaries of
# cyrus-imapd, unpacked from its .deb when that package is not installed).
#
#   cyrus-test-server.sh start DIR PORT [NUSERS]   users user1..userN (default 3), password "pw"
#   cyrus-test-server.sh add-users DIR NAME...     more users, live
#   cyrus-test-server.sh wipe-user DIR NAME        delete and recreate the user's mailboxes
#   cyrus-test-server.sh stop DIR                  SIGTERM to the master (DIR/master.pid)
#
# Admin "admin" / "pw" may proxy: AUTHENTICATE PLAIN "user1\0admin\0pw" acts as user1.
# Default namespace: separator ".", personal folders below "INBOX." (altnamespace no).
#
# Environment (all optional):
#   CYRUS_SEP=dot|slash        hierarchy separator (unixhierarchysep no|yes), default dot
#   CYRUS_ALTNS=no|yes         altnamespace (yes: personal folders at the top level)
#   CYRUS_MUNGE8BIT=no|yes     Cyrus' own default "yes" turns raw 8-bit header bytes into
#                              "X"; default here is no, so messages round-trip
#   CYRUS_EXTRA_CONF='k: v\n'  extra imapd.conf lines (printf %b)
#
# Start prints "PID <master pid>" as its last line.  Logs go to syslog only (ident
# cyrus-PORT); without a syslog daemon they are lost.
set -euo pipefail
SCRIPT_NAME=cyrus-test-server
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

LIBEXEC=/usr/lib/cyrus/bin
REALM=cyrustest          # saslpasswd2 -u must equal imapd.conf "servername"
PASSWORD=pw

usage() { die "usage: $0 start DIR PORT [NUSERS] | add-users DIR NAME... | wipe-user DIR NAME | stop DIR"; }

locate_imapd() {  # -> directory holding imapd and idled
    [ -x "$LIBEXEC/imapd" ] && { echo "$LIBEXEC"; return 0; }
    local ver root
    ver=$(installed_version cyrus-common)
    # imapd links cyrus-common's private libraries: versions must match exactly
    root=$(unpacked_deb cyrus-imapd "$ver")
    [ -x "$root$LIBEXEC/imapd" ] || die_env "no imapd in the unpacked cyrus-imapd"
    echo "$root$LIBEXEC"
}

mailbox_sep() { [ "${CYRUS_SEP:-dot}" = slash ] && echo / || echo .; }

write_config() {  # write_config PORT BIN RUNUSER
    local port=$1 bin=$2 runuser=$3 unixhs=no
    case "${CYRUS_SEP:-dot}" in
        dot) ;; slash) unixhs=yes ;;
        *) die "CYRUS_SEP must be dot or slash" ;;
    esac
    cat > "$DIR/conf/imapd.conf" <<EOF
configdirectory: $DIR/lib
defaultpartition: default
partition-default: $DIR/spool
proc_path: $DIR/run/proc
mboxname_lockpath: $DIR/run/lock
lmtpsocket: $DIR/run/socket/lmtp
idlesocket: $DIR/run/socket/idle
notifysocket: $DIR/run/socket/notify
sievedir: $DIR/sieve
servername: $REALM
cyrus_user: $runuser
admins: admin
altnamespace: ${CYRUS_ALTNS:-no}
unixhierarchysep: $unixhs
allowplaintext: yes
allowanonymouslogin: no
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $DIR/conf/sasldb2
sasl_mech_list: PLAIN LOGIN
sasl_auto_transition: no
umask: 077
hashimapspool: false
syslog_prefix: cyrus-$port
munge8bit: ${CYRUS_MUNGE8BIT:-no}
imapidlepoll: 5
# tests try wrong passwords on purpose: answer at once (default: 3 s pause)
failedloginpause: 0
EOF
    if [ -n "${CYRUS_EXTRA_CONF:-}" ]; then printf '%b\n' "$CYRUS_EXTRA_CONF" >> "$DIR/conf/imapd.conf"; fi
    # only an imap listener (no pop3/lmtp/sieve that could clash); idled pushes IDLE news
    cat > "$DIR/conf/cyrus.conf" <<EOF
START {
  recover    cmd="ctl_cyrusdb -C $DIR/conf/imapd.conf -r"
}
SERVICES {
  imap       cmd="$bin/imapd -C $DIR/conf/imapd.conf" listen="127.0.0.1:$port" prefork=1 maxchild=100
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -C $DIR/conf/imapd.conf -c" period=30
}
DAEMON {
  idled      cmd="$bin/idled -C $DIR/conf/imapd.conf"
}
EOF
}

set_passwords() {  # set_passwords NAME...   (SASL users in DIR/conf/sasldb2)
    local name
    for name in "$@"; do
        printf '%s' "$PASSWORD" | saslpasswd2 -f "$DIR/conf/sasldb2" -p -c -u "$REALM" "$name"
    done
    if [ "$(id -u)" -eq 0 ]; then chown cyrus:mail "$DIR/conf/sasldb2"; fi
    chmod 0640 "$DIR/conf/sasldb2"
}

# admin_imap ACTION NAME...: as the Cyrus admin, "create" or "recreate" user.NAME.
# Cyrus creates no INBOX by itself; the admin must CREATE user.NAME.
admin_imap() {
    python3 - "$(cat "$DIR/port")" "$PASSWORD" "$(mailbox_sep)" "$@" <<'PY'
import imaplib, sys
port, pw, sep, action, names = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("admin", pw)
for name in names:
    box = f"user{sep}{name}"
    if action == "recreate":
        # the admin needs the x right on the user's mailbox to delete it
        m.setacl(box, "admin", "lrswipkxtecda")
        typ, data = m.delete(box)
        if typ != "OK":
            sys.exit(f"DELETE {box} failed: {data!r}")
    typ, data = m.create(box)
    if typ != "OK" and b"already exists" not in data[0].lower():
        sys.exit(f"CREATE {box} failed: {data!r}")
m.logout()
PY
}

start() {
    local port=$1 nusers=${2:-3} bin runuser i names=()
    [ -x "$LIBEXEC/master" ] || die_env "cyrus-common is not installed ($LIBEXEC/master missing)"
    command -v saslpasswd2 >/dev/null || die_env "sasl2-bin is not installed (saslpasswd2 missing)"
    bin=$(locate_imapd)
    # master keeps running without a listener when bind fails: check the port first
    port_is_free 127.0.0.1 "$port" || die_port "port $port is in use"
    if [ -f "$DIR/master.pid" ] && kill -0 "$(cat "$DIR/master.pid")" 2>/dev/null; then
        die "a Cyrus instance is already running in $DIR"
    fi
    mkdir -p "$DIR"/{conf,spool,sieve,run/socket,run/proc,run/lock} \
             "$DIR"/lib/{db,log,msg,proc,ptclient,quota,sieve,socket,user}
    echo "$port" > "$DIR/port"
    # Cyrus refuses to run as root: as root the master switches to the package's
    # "cyrus" user; otherwise the caller is declared the Cyrus user (CYRUS_USER).
    if [ "$(id -u)" -eq 0 ]; then
        id cyrus >/dev/null 2>&1 || die_env "user cyrus missing (is cyrus-common installed?)"
        runuser=cyrus
    else
        runuser=$(id -un)
        export CYRUS_USER=$runuser
    fi
    write_config "$port" "$bin" "$runuser"
    for i in $(seq 1 "$nusers"); do names+=("user$i"); done
    set_passwords admin "${names[@]}"
    if [ "$runuser" = cyrus ]; then
        chown -R cyrus:mail "$DIR"
        can_reach cyrus -w "$DIR/lib/db" \
            || die_env "user cyrus cannot reach $DIR: a parent directory is not world-traversable" \
                       "(use a directory under /tmp, not pytest's tmp_path)"
    fi
    "$LIBEXEC/master" -C "$DIR/conf/imapd.conf" -M "$DIR/conf/cyrus.conf" \
        -p "$DIR/master.pid" -d -l 64 </dev/null >/dev/null 2>&1 \
        || die "cyrus master failed to start"
    wait_for_greeting 127.0.0.1 "$port" "$DIR/master.pid" \
        || die "cyrus did not come up on $port (logs go to syslog, ident cyrus-$port)"
    for i in $(seq 1 40); do [ -s "$DIR/master.pid" ] && break; sleep 0.05; done
    if ! listener_owned_by "$(head -1 "$DIR/master.pid")" "$port"; then
        stop
        die_port "port $port was taken by another server meanwhile"
    fi
    if [ ${#names[@]} -gt 0 ]; then admin_imap create "${names[@]}" || die "could not create the users' mailboxes"; fi
    echo "PID $(cat "$DIR/master.pid")"
}

stop() {
    local pid i
    [ -s "$DIR/master.pid" ] || { echo "not running"; return 0; }
    pid=$(head -1 "$DIR/master.pid")
    kill -TERM "$pid" 2>/dev/null || { echo "not running"; return 0; }
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { echo "stopped $pid"; return 0; }
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    echo "killed $pid"
}

[ $# -ge 2 ] || usage
CMD=$1 DIR=$2
shift 2
case "$CMD" in
    start)
        [ $# -ge 1 ] || usage
        mkdir -p "$DIR"
        DIR=$(cd "$DIR" && pwd)
        start "$@" ;;
    stop)      DIR=$(cd "$DIR" && pwd); stop ;;
    add-users) DIR=$(cd "$DIR" && pwd); set_passwords "$@"; admin_imap create "$@" ;;
    wipe-user) [ $# -eq 1 ] || usage; DIR=$(cd "$DIR" && pwd); admin_imap recreate "$1" ;;
    *) usage ;;
esac
