#!/usr/bin/env bash
# courier-test-server.sh -- a self-contained throwaway Courier-IMAP 5.0 server on
# 127.0.0.1 for tests and benchmarks (Debian 12 courier-base + courier-authdaemon +
# the imapd binaries of courier-imap, unpacked from its .deb when not installed).
#
#   courier-test-server.sh start DIR PORT [NUSERS]  users user1..userN (default 3), password "pw"
#   courier-test-server.sh add-users DIR NAME...    more users, live
#   courier-test-server.sh wipe-user DIR NAME       replace the user's Maildir by an empty one
#   courier-test-server.sh stop DIR                 SIGTERM to the supervisor (DIR/courier.pid)
#
# Namespace: separator ".", personal folders below "INBOX.".  No proxy authorization
# (Courier ignores a SASL authzid and logs in as the authcid).
#
# Why a mount namespace: authdaemond's socket (/run/courier/authdaemon), config and
# userdb (/etc/courier) are compiled-in paths.  Each instance runs a supervisor under
# "unshare -m" that bind-mounts DIR/etc over /etc/courier and DIR/run over /run/courier,
# visible only inside that namespace.  Needs root (CAP_SYS_ADMIN); the system's
# /etc/courier is never modified.
#
# Environment (all optional):
#   COURIER_IDLE_TIMEOUT=60   IMAP_IDLE_TIMEOUT (seconds between IDLE polls)
#   COURIER_ENHANCEDIDLE=0    1: IDLE via gamin (near-instant news)
#   COURIER_DEBUG_LOGIN=0     1 or 2: authdaemond logs auth details to DIR/log
#
# Start prints "PID <supervisor pid>" as its last line.
set -euo pipefail
SCRIPT_NAME=courier-test-server
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

PASSWORD=pw
AUTHDAEMOND=/usr/lib/courier/courier-authlib/authdaemond

usage() { die "usage: $0 start DIR PORT [NUSERS] | add-users DIR NAME... | wipe-user DIR NAME | stop DIR"; }

check_machine() {
    [ "$(id -u)" -eq 0 ] || die_env "Courier needs root (mount namespace, setuid to courier)"
    local f
    for f in "$AUTHDAEMOND" /usr/sbin/couriertcpd /usr/lib/courier-authlib/libauthuserdb.so \
             /usr/sbin/makeuserdb /usr/sbin/userdbpw /usr/bin/maildirmake.courier; do
        [ -e "$f" ] || die_env "missing $f (install courier-base courier-authdaemon courier-authlib-userdb)"
    done
    id courier >/dev/null 2>&1 || die_env "user courier missing (is courier-base installed?)"
    [ -d /etc/courier ] || die_env "/etc/courier missing (is courier-base installed?)"
    unshare -m --propagation private true 2>/dev/null \
        || die_env "cannot create a mount namespace here (needs CAP_SYS_ADMIN)"
}

locate_imapd() {  # sets IMAPD and IMAPLOGIN
    IMAPD=/usr/bin/imapd
    IMAPLOGIN=/usr/lib/courier/courier/imaplogin
    # /usr/bin/imapd may belong to another package: only trust courier-imap's
    if [ -x "$IMAPLOGIN" ] && [ -n "$(installed_version courier-imap)" ]; then return 0; fi
    local root
    root=$(unpacked_deb courier-imap)
    IMAPD=$root/usr/bin/imapd
    IMAPLOGIN=$root/usr/lib/courier/courier/imaplogin
    [ -x "$IMAPD" ] && [ -x "$IMAPLOGIN" ] || die_env "no imapd/imaplogin in the unpacked courier-imap"
}

add_users() {  # add_users NAME...   (authdaemond reads the rebuilt userdb.dat live)
    local uid gid name hash
    uid=$(id -u courier) gid=$(id -g courier)
    touch "$DIR/etc/userdb"
    chmod 0600 "$DIR/etc/userdb"
    for name in "$@"; do
        grep -q "^$name	" "$DIR/etc/userdb" && continue
        # a here-string, not a pipe: userdbpw may exit before a writer finishes, and under
        # pipefail that writer's SIGPIPE failed the whole start (exit 141) now and then
        hash=$(userdbpw -md5 <<< "$PASSWORD"$'\n'"$PASSWORD")
        printf '%s\tuid=%s|gid=%s|home=%s|systempw=%s\n' \
            "$name" "$uid" "$gid" "$DIR/home/$name" "$hash" >> "$DIR/etc/userdb"
        make_maildir "$name"
    done
    makeuserdb -f "$DIR/etc/userdb"
}

make_maildir() {
    mkdir -p "$DIR/home/$1"
    [ -d "$DIR/home/$1/Maildir" ] || maildirmake.courier "$DIR/home/$1/Maildir"
    chown -R courier:courier "$DIR/home/$1"
}

write_imapd_env() {  # Courier's imapd takes its settings from the environment
    cat > "$DIR/etc/imapd.env" <<EOF
IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN"
IMAP_KEYWORDS=1
IMAP_ACL=1
IMAP_PROXY=0
IMAP_PROXY_FOREIGN=0
IMAP_IDLE_TIMEOUT=${COURIER_IDLE_TIMEOUT:-60}
IMAP_ENHANCEDIDLE=${COURIER_ENHANCEDIDLE:-0}
IMAP_MAILBOX_SANITY_CHECK=1
IMAP_DISABLETHREADSORT=0
IMAP_CHECK_ALL_FOLDERS=0
IMAP_OBSOLETE_CLIENT=0
IMAP_UMASK=022
IMAP_USELOCKS=1
IMAP_SHAREDINDEXFILE=/etc/courier/shared/index
IMAP_TRASHFOLDERNAME=Trash
# Debian's default "Trash:7" purges Trash by file mtime (= INTERNALDATE): off for tests
IMAP_EMPTYTRASH=""
IMAP_MOVE_EXPUNGE_TO_TRASH=0
IMAP_STARTTLS=NO
IMAP_TLS_REQUIRED=0
SENDMAIL=/usr/sbin/sendmail
HEADERFROM=X-IMAP-Sender
EOF
    cat > "$DIR/etc/authdaemonrc" <<EOF
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=2
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=${COURIER_DEBUG_LOGIN:-0}
DEFAULTOPTIONS=""
LOGGEROPTS=""
EOF
}

write_supervisor() {  # write_supervisor PORT
    cat > "$DIR/supervisor.sh" <<EOF
#!/bin/bash
# Runs inside "unshare -m" as a session and process-group leader (setsid).
set -e
mount --bind "$DIR/etc" /etc/courier
mkdir -p /run/courier
mount --bind "$DIR/run" /run/courier
set -a; . /etc/courier/authdaemonrc; set +a
$AUTHDAEMOND >>"$DIR/log/authdaemond.log" 2>&1 &
set -a; . /etc/courier/imapd.env; set +a
/usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=100 -maxperip=100 \\
    -nodnslookup -noidentlookup $1 "$IMAPLOGIN" "$IMAPD" Maildir >>"$DIR/log/imapd.log" 2>&1 &
TCPD=\$!
# couriertcpd leads its own process group, which holds the imapd sessions;
# authdaemond stays in ours.  SIGKILL would leave both behind: use SIGTERM.
stop() {
    trap "" TERM INT
    kill -TERM -\$TCPD 2>/dev/null || true
    kill -TERM -\$\$ 2>/dev/null || true
    wait 2>/dev/null || true
    exit 0
}
trap stop TERM INT
wait
EOF
    chmod +x "$DIR/supervisor.sh"
}

wait_for_login() {  # wait_for_login PORT PID USER: authdaemond and couriertcpd both up
    python3 - "$1" "$2" "$3" "$PASSWORD" <<'PY'
import imaplib, os, sys, time
port, pid, user, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
start, err = time.monotonic(), None
while time.monotonic() - start < 20:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("courier supervisor exited; see DIR/log")
    try:
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(user, pw)
        m.logout()
        sys.exit(0)
    except Exception as e:  # not up yet: connection refused or auth not ready
        err = e
    time.sleep(0.05)
sys.exit(f"courier did not accept LOGIN on port {port} within 20s: {err!r}")
PY
}

start() {
    local port=$1 nusers=${2:-3} i names=() pid
    check_machine
    locate_imapd
    port_is_free 127.0.0.1 "$port" || die_port "port $port is in use"
    if [ -f "$DIR/courier.pid" ] && kill -0 "$(cat "$DIR/courier.pid")" 2>/dev/null; then
        die "a Courier instance is already running in $DIR"
    fi
    mkdir -p "$DIR"/{etc/shared,run/authdaemon,home,log}
    chmod 0755 "$DIR"
    write_imapd_env
    # a probe user keeps the readiness check independent of NUSERS (which may be 0)
    for i in $(seq 1 "$nusers"); do names+=("user$i"); done
    add_users probe "${names[@]}"
    can_reach courier -w "$DIR/home/probe/Maildir" \
        || die_env "user courier cannot reach $DIR: a parent directory is not world-traversable" \
                   "(use a directory under /tmp, not pytest's tmp_path)"
    write_supervisor "$port"
    setsid unshare -m --propagation private "$DIR/supervisor.sh" \
        </dev/null >>"$DIR/log/supervisor.log" 2>&1 &
    pid=$!
    echo "$pid" > "$DIR/courier.pid"
    if ! wait_for_login "$port" "$pid" probe; then
        kill -TERM "$pid" 2>/dev/null || true
        if grep -qi "address already in use" "$DIR/log/imapd.log" 2>/dev/null; then
            die_port "port $port was taken meanwhile"
        fi
        die "courier did not come up on $port (see $DIR/log)"
    fi
    # couriertcpd is the supervisor's child; make sure it, not another server, answered
    if ! listener_owned_by "$pid" "$port"; then
        kill -TERM "$pid" 2>/dev/null || true
        die_port "port $port was taken by another server meanwhile"
    fi
    echo "PID $pid"
}

stop() {
    local pid i
    [ -s "$DIR/courier.pid" ] || { echo "not running"; return 0; }
    pid=$(cat "$DIR/courier.pid")
    kill -TERM "$pid" 2>/dev/null || { echo "not running"; return 0; }
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { echo "stopped $pid"; return 0; }
        sleep 0.05
    done
    kill -TERM -- "-$pid" 2>/dev/null || true
    echo "gave up waiting for $pid"
}

wipe_user() {
    grep -q "^$1	" "$DIR/etc/userdb" || die "no user $1 in $DIR"
    rm -rf "${DIR:?}/home/$1/Maildir"
    make_maildir "$1"
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
    add-users) DIR=$(cd "$DIR" && pwd); add_users "$@" ;;
    wipe-user) [ $# -eq 1 ] || usage; DIR=$(cd "$DIR" && pwd); wipe_user "$1" ;;
    *) usage ;;
esac
