#!/usr/bin/env bash
# install-system-packages.sh -- install (idempotently) the Debian packages the test
# suite needs, and pre-fetch the IMAP daemons that cannot be apt-installed side by side,
# so that tests never download anything at run time.  Debian 12; run as root
# (or with sudo available).  Safe to run again: it only installs what is missing.
#
# The three Debian IMAP daemons (dovecot-imapd, cyrus-imapd, courier-imap) all
# "Provides: imap-server" and "Conflicts: imap-server", so apt keeps one of them.
# dovecot-imapd is apt-installed; cyrus-imapd and courier-imap are unpacked from their
# .debs into the cache of lib.sh (IMSH_DEB_CACHE, default /var/cache/imsh/imap-debs),
# where the server scripts look for them.
set -euo pipefail
SCRIPT_NAME=install-system-packages
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

PACKAGES=(
    dovecot-core dovecot-imapd
    cyrus-common sasl2-bin
    courier-base courier-authdaemon courier-authlib-userdb
    gamin libgamin0 libgdbm6 libidn12 libcourier-unicode4
    isync openssl tmux
    python3-venv pipx
    postgresql-15   # the PostgreSQL store's tests: initdb/pg_ctl of a throwaway cluster
)

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "run as root (or install sudo)"
    exec sudo --preserve-env=IMSH_DEB_CACHE bash "$0" "$@"
fi

# Package scripts must not start the system services (exim4, dovecot, cyrus...):
# tests start their own instances.  exit 101 = "action not allowed".
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    echo "created /usr/sbin/policy-rc.d (no service starts on install)"
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    [ -n "$(installed_version "$pkg")" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "all packages already installed"
fi

# Pre-fetch the conflicting daemons (lib.sh: unpacked_deb refreshes the apt lists if needed).
[ -n "$(installed_version cyrus-imapd)" ] \
    || echo "cyrus-imapd unpacked in $(unpacked_deb cyrus-imapd "$(installed_version cyrus-common)")"
[ -n "$(installed_version courier-imap)" ] \
    || echo "courier-imap unpacked in $(unpacked_deb courier-imap)"
[ -x /usr/lib/dovecot/imap ] \
    || echo "dovecot-imapd unpacked in $(unpacked_deb dovecot-imapd "$(installed_version dovecot-core)")"
echo "test servers ready"
