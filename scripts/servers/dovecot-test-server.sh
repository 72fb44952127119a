#!/usr/bin/env bash
# dovecot-test-server.sh -- a self-contained throwaway Dovecot 2.3 IMAP server on
# 127.0.0.1 (or $LISTEN) for tests and benchmarks.  Never reads /etc/dovecot, never touches the
# system service.
#
#   dovecot-test-server.sh start DIR PORT [NUSERS]   users user1..userN (default 3), password "pw"
#   dovecot-test-server.sh add-users DIR NAME...     more users (password "pw"), live
#   dovecot-test-server.sh wipe-user DIR NAME        empty a user's mail (no open sessions!)
#   dovecot-test-server.sh stop DIR
#
# Master user "admin" / "adminpw": LOGIN "user1*admin" adminpw acts as user1.
#
# Environment (all optional):
#   TLS_PORT=N          also listen with implicit TLS on N (self-signed cert DIR/etc/cert.pem,
#                       SAN DNS:localhost + IP:127.0.0.1); STARTTLS is then offered on PORT
#   SEP=/|.             hierarchy separator (default /; "." gives Maildir++ naming)
#   MAIL_FORMAT=maildir|mdbox|sdbox   (default maildir)
#   MAIL_FSYNC=optimized|always|never (default optimized; never = faster bulk APPEND)
#   QUOTA=yes           enable the quota plugin (count backend, IMAP QUOTA extension); limits
#                       are per user: a "userdb_quota_rule=*:messages=N" extra field in
#                       DIR/etc/users (tests/adversity/capacity_support.py edits it live)
#   OAUTH2_INTROSPECTION_URL=URL   opt-in OAuth 2.0: also offer AUTH=XOAUTH2 and OAUTHBEARER,
#                       validated by Dovecot's oauth2 passdb with RFC 7662 introspection (POST)
#                       at URL; the token's "email" must be in the login user's domain
#                       (username_format = %Ld: an app token serves every mailbox of its
#                       tenant's domain). OAUTH2_CA_FILE=PEM: the CA that signed URL's cert.
#   SPECIAL_USE=archive  also mark a folder named Archive \Archive (besides Drafts, Sent, Trash,
#                       Junk); SPECIAL_USE=exchange: Exchange's folders instead (Sent Items,
#                       Deleted Items, Junk Email, Drafts, Archive, created at first login and
#                       marked); exchange-unmarked: the same folders without the attributes;
#                       SPECIAL_USE=gmail: Gmail's [Gmail]/All Mail (\All), Drafts, Important,
#                       Sent Mail, Spam (\Junk), Starred (\Flagged), Trash, created and marked
#   LISTEN=ADDR         the address to listen on (default 127.0.0.1), e.g. an address of a
#                       network namespace the script runs in (tests/support/netns.py)
#   IMAPD_ROOT=/path    prefix of usr/lib/dovecot/imap; default / when dovecot-imapd is
#                       installed, else the .deb matching dovecot-core is unpacked (lib.sh)
#
# Start prints "PID <master pid>" as its last line.  Runs as root (mail owned by nobody)
# or as an unprivileged user (everything owned by that user).
set -euo pipefail
SCRIPT_NAME=dovecot-test-server
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

LISTEN=${LISTEN:-127.0.0.1}
PASSWORD=pw

usage() { die "usage: $0 start DIR PORT [NUSERS] | add-users DIR NAME... | wipe-user DIR NAME | stop DIR"; }

locate_imapd() {  # -> directory holding the imap, imap-login ... binaries
    local root=${IMAPD_ROOT:-}
    if [ -z "$root" ]; then
        if [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/imap-login ]; then
            root=/
        else
            local ver
            ver=$(installed_version dovecot-core)
            [ -n "$ver" ] || die_env "dovecot-core is not installed"
            # the imap binaries use dovecot-core's private ABI: versions must match exactly
            root=$(unpacked_deb dovecot-imapd "$ver")
        fi
    fi
    [ -x "${root%/}/usr/lib/dovecot/imap" ] || die_env "no dovecot imap binary under $root"
    echo "${root%/}/usr/lib/dovecot"
}

# base_dir holds UNIX sockets; sun_path allows 107 bytes, and the longest socket name
# (replication-notify-fifo) adds ~28.  For a long DIR use a short /tmp dir + symlink.
make_run_dir() {
    if [ $(( ${#DIR} + 28 )) -gt 107 ]; then
        local short
        short=/tmp/dovecot-run-$(printf %s "$DIR" | md5sum | cut -c1-12)
        mkdir -p "$short"
        ln -sfn "$short" "$DIR/run"
    else
        mkdir -p "$DIR/run"
    fi
}

choose_owners() {  # sets MAIL_UID MAIL_GID INTERNAL_USER LOGIN_USER CHROOT
    if [ "$(id -u)" -eq 0 ]; then
        # Dovecot refuses mail access as uid 0; the package's users run auth and login
        MAIL_UID=$(id -u nobody) MAIL_GID=$(id -g nobody)
        INTERNAL_USER=dovecot LOGIN_USER=dovenull CHROOT=
        id dovecot >/dev/null 2>&1 && id dovenull >/dev/null 2>&1 \
            || die_env "users dovecot/dovenull missing (is dovecot-core installed?)"
    else
        MAIL_UID=$(id -u) MAIL_GID=$(id -g)
        INTERNAL_USER=$(id -un) LOGIN_USER=$(id -un)
        CHROOT="  chroot ="   # an unprivileged master cannot chroot()
    fi
}

add_users() {  # add_users NAME...
    local name users=$DIR/etc/users mtime=
    [ -f "$users" ] && mtime=$(stat -c %Y "$users")
    for name in "$@"; do
        grep -q "^$name:" "$users" 2>/dev/null && continue
        echo "$name:{PLAIN}$PASSWORD:$MAIL_UID:$MAIL_GID::$DIR/mail/$name::" >> "$users"
    done
    [ -n "$mtime" ] || return 0
    # A running Dovecot stats a passwd-file at most once per second and re-reads it
    # only when the mtime (whole seconds) differs.  Step the mtime back, then let the
    # current second pass: the next lookup is sure to see the new users.
    touch -d "@$((mtime - 1))" "$users"
    python3 -c 'import time; time.sleep(1.01 - time.time() % 1)'
}

make_cert() {
    [ -f "$DIR/etc/cert.pem" ] && return 0
    command -v openssl >/dev/null || die_env "openssl missing (needed for TLS_PORT)"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$DIR/etc/key.pem" -out "$DIR/etc/cert.pem" 2>/dev/null \
        || die "openssl could not create a certificate"
    chmod 0600 "$DIR/etc/key.pem"
}

mail_location() {
    local loc
    case "${MAIL_FORMAT:-maildir}" in
        maildir) loc="maildir:~/Maildir" ;;
        mdbox)   loc="mdbox:~/mdbox" ;;
        sdbox)   loc="sdbox:~/sdbox" ;;
        *) die "MAIL_FORMAT must be maildir, mdbox or sdbox" ;;
    esac
    # with "/" as separator, Maildir needs LAYOUT=fs so "." may appear in folder names
    if [ "${MAIL_FORMAT:-maildir}" = maildir ] && [ "${SEP:-/}" = / ]; then loc="$loc:LAYOUT=fs"; fi
    echo "$loc"
}

special_use_mailboxes() {  # SPECIAL_USE=default|archive|exchange|exchange-unmarked
    case "${SPECIAL_USE:-default}" in
        exchange|exchange-unmarked)  # Exchange's own folders, present from the first login
            local role name
            for role in "Drafts:Drafts" "Sent:Sent Items" "Trash:Deleted Items" \
                        "Junk:Junk Email" "Archive:Archive"; do
                name=${role#*:}
                printf '  mailbox "%s" {\n    auto = subscribe\n' "$name"
                [ "$SPECIAL_USE" = exchange ] && printf '    special_use = \\%s\n' "${role%%:*}"
                printf '  }\n'
            done
            return 0 ;;
        gmail)  # Gmail's IMAP layout (docs/gmail.md): [Gmail]/ views and system labels
            local role name
            for role in "All:All Mail" "Drafts:Drafts" "Important:Important" "Sent:Sent Mail" \
                        "Junk:Spam" "Flagged:Starred" "Trash:Trash"; do
                name=${role#*:}
                printf '  mailbox "[Gmail]/%s" {\n    auto = subscribe\n' "$name"
                printf '    special_use = \\%s\n  }\n' "${role%%:*}"
            done
            return 0 ;;
    esac
    local role
    for role in Drafts Sent Trash Junk; do
        printf '  mailbox %s {\n    special_use = \\%s\n  }\n' "$role" "$role"
    done
    [ "${SPECIAL_USE:-default}" = archive ] && printf '  mailbox Archive {\n    special_use = \\Archive\n  }\n'
    return 0
}

quota_block() {  # opt-in (QUOTA=yes): without a per-user quota_rule a user is unlimited
    [ "${QUOTA:-no}" = yes ] || return 0
    cat <<EOF
mail_plugins = \$mail_plugins quota
plugin {
  quota = count:User quota
  quota_vsizes = yes
}
protocol imap {
  mail_plugins = \$mail_plugins imap_quota
}
EOF
}

write_config() {  # write_config PORT IMAPD_BIN
    local port=$1 bin=$2 ssl_block="ssl = no" imaps_port=0 svc
    if [ -n "${TLS_PORT:-}" ]; then
        make_cert
        ssl_block="ssl = yes
ssl_cert = <$DIR/etc/cert.pem
ssl_key = <$DIR/etc/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2"
        imaps_port=$TLS_PORT
    fi
    {
        cat <<EOF
# generated by dovecot-test-server.sh
instance_name = dovecot-test-$port
base_dir = $(cd "$DIR/run" && pwd -P)
state_dir = $DIR/state
log_path = $DIR/log/dovecot.log
protocols = imap
listen = $LISTEN
default_internal_user = $INTERNAL_USER
default_internal_group = $(id -gn "$INTERNAL_USER")
default_login_user = $LOGIN_USER
first_valid_uid = 1
first_valid_gid = 1
shutdown_clients = yes
$ssl_block
disable_plaintext_auth = no
auth_mechanisms = plain login$(oauth2_mechanisms)
auth_master_user_separator = *
# tests try wrong passwords on purpose: answer at once (default: 2 s delay)
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = username_format=%u $DIR/etc/master-users
  master = yes
  pass = yes
}
passdb {
  driver = passwd-file
  args = username_format=%u $DIR/etc/users
}
$(oauth2_passdb)
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/etc/users
}
mail_location = $(mail_location)
mail_fsync = ${MAIL_FSYNC:-optimized}
$(quota_block)
namespace inbox {
  inbox = yes
  separator = ${SEP:-/}
  prefix =
$(special_use_mailboxes)
}
protocol imap {
  # the default (10 per user and IP) is too few for parallel migration workers
  mail_max_userip_connections = 200
}
EOF
        for svc in imap imap-hibernate imap-urlauth imap-urlauth-worker; do
            printf 'service %s {\n  executable = %s/%s\n}\n' "$svc" "$bin" "$svc"
        done
        # No auth penalty (each failed login from 127.0.0.1 would delay the next ones by
        # up to 15 s): auth cannot open a mode-0 penalty socket and then skips penalties.
        printf 'service anvil {\n%s\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n' "$CHROOT"
        cat <<EOF
service imap-urlauth-login {
  executable = $bin/imap-urlauth-login
$CHROOT
}
service imap-login {
  executable = $bin/imap-login
$CHROOT
  inet_listener imap {
    address = $LISTEN
    port = $port
  }
  inet_listener imaps {
    address = $LISTEN
    port = $imaps_port
    ssl = yes
  }
}
EOF
    } > "$DIR/etc/dovecot.conf"
}

# --- opt-in OAuth 2.0 (OAUTH2_INTROSPECTION_URL) ---
oauth2_mechanisms() {
    [ -n "${OAUTH2_INTROSPECTION_URL:-}" ] && echo " xoauth2 oauthbearer"
    return 0
}

oauth2_passdb() {
    [ -n "${OAUTH2_INTROSPECTION_URL:-}" ] || return 0
    {
        echo "introspection_url = $OAUTH2_INTROSPECTION_URL"
        echo "introspection_mode = post"
        echo "username_attribute = email"
        echo "username_format = %Ld"
        echo "active_attribute = active"
        echo "active_value = true"
        echo "timeout_msecs = 10000"
        [ -n "${OAUTH2_CA_FILE:-}" ] && echo "tls_ca_cert_file = $OAUTH2_CA_FILE"
    } > "$DIR/etc/oauth2.conf.ext"
    printf 'passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n' \
        "$DIR/etc/oauth2.conf.ext"
}

check_reachable() {  # only as root: the unprivileged server users must reach DIR
    [ "$(id -u)" -eq 0 ] || return 0
    can_reach "$INTERNAL_USER" -r "$DIR/etc/users" \
        || die_env "$INTERNAL_USER cannot read $DIR/etc/users: a parent directory is not" \
                   "world-traversable (use a directory under /tmp, not pytest's tmp_path)"
    can_reach nobody -w "$DIR/mail" \
        || die_env "nobody cannot write $DIR/mail: a parent directory is not world-traversable"
}

start() {
    local port=$1 nusers=${2:-3} bin i names=()
    command -v dovecot >/dev/null || die_env "dovecot is not installed (dovecot-core)"
    bin=$(locate_imapd)
    port_is_free "$LISTEN" "$port" || die_port "port $port is in use"
    if [ -n "${TLS_PORT:-}" ]; then
        port_is_free "$LISTEN" "$TLS_PORT" || die_port "port $TLS_PORT is in use"
    fi
    if [ -f "$DIR/run/master.pid" ] && kill -0 "$(cat "$DIR/run/master.pid")" 2>/dev/null; then
        die "a Dovecot instance is already running in $DIR"
    fi
    mkdir -p "$DIR"/{etc,state,log,mail}
    chmod 0755 "$DIR" "$DIR/etc" "$DIR/mail"
    make_run_dir
    choose_owners
    chown "$MAIL_UID:$MAIL_GID" "$DIR/mail"
    for i in $(seq 1 "$nusers"); do names+=("user$i"); done
    add_users "${names[@]}"
    echo "admin:{PLAIN}adminpw::::::" > "$DIR/etc/master-users"
    check_reachable
    write_config "$port" "$bin"
    # The daemon must not keep our stdout/stderr open: a caller reading them through
    # a pipe would never see EOF.
    if ! dovecot -c "$DIR/etc/dovecot.conf" </dev/null >"$DIR/log/startup.log" 2>&1; then
        cat "$DIR/log/startup.log" >&2
        if grep -q "Address already in use" "$DIR/log/startup.log" "$DIR/log/dovecot.log" 2>/dev/null; then
            die_port "port $port or ${TLS_PORT:-} was taken meanwhile"
        fi
        die "dovecot failed to start (see $DIR/log)"
    fi
    wait_for_greeting "$LISTEN" "$port" "$DIR/run/master.pid" \
        || { tail -20 "$DIR/log/dovecot.log" >&2 2>/dev/null; die "dovecot did not come up on $port"; }
    echo "PID $(cat "$DIR/run/master.pid")"
}

stop() {
    local pidfile=$DIR/run/master.pid pid i
    [ -f "$pidfile" ] || { echo "not running"; return 0; }
    pid=$(cat "$pidfile")
    doveadm -c "$DIR/etc/dovecot.conf" stop 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    # a short run dir under /tmp (see make_run_dir) goes with the instance
    if [ -L "$DIR/run" ]; then rm -rf "$(readlink "$DIR/run")"; fi
    echo "stopped $pid"
}

wipe_user() {  # Dovecot recreates an empty mailbox at the user's next login
    local name=$1
    grep -q "^$name:" "$DIR/etc/users" || die "no user $name in $DIR"
    rm -rf "${DIR:?}/mail/$name"
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
    add-users) DIR=$(cd "$DIR" && pwd); choose_owners; add_users "$@" ;;
    wipe-user) [ $# -eq 1 ] || usage; DIR=$(cd "$DIR" && pwd); wipe_user "$1" ;;
    *) usage ;;
esac
