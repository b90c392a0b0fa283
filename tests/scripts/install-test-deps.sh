#!/usr/bin/env bash
# Installs everything the FtpsMount tests need on Debian 12 (run as root). Idempotent; a second run
# only checks and takes well under a second.
#
#  * apt packages: openssl, curl, proftpd (+ mod_tls), fuse3 + headers, lftp, and the libraries the
#    unpacked servers link against. No system FTP daemon is left running or enabled.
#  * vsftpd and pure-ftpd conflict with proftpd as Debian packages, so their .debs are downloaded and
#    unpacked (not installed) under $FTPSMOUNT_TEST_PREFIX/servers/{vsftpd,pure-ftpd}.
#  * the local test account the reference servers log in (a real user with a login shell), its
#    password in $FTPSMOUNT_TEST_PREFIX/ftpsmtest.password (root only), and the PAM service the test
#    vsftpd uses (/etc/pam.d/ftpsmount-vsftpd).
#
# The test harness (tests/FtpsMount.Testing/ReferenceServers) reads the same paths: keep them in step
# with ReferenceServerInstallation.cs. The password is never printed. To choose it yourself, set
# FTPSMOUNT_TEST_PASSWORD; otherwise a random one is generated on the first run and kept.
set -euo pipefail

PREFIX="${FTPSMOUNT_TEST_PREFIX:-/opt/ftpsmount-test}"
TEST_USER="ftpsmtest"
PASSWORD_FILE="$PREFIX/$TEST_USER.password"
PAM_SERVICE_FILE="/etc/pam.d/ftpsmount-vsftpd"
SERVERS_DIR="$PREFIX/servers"

APT_PACKAGES=(
    ca-certificates openssl curl lftp
    fuse3 libfuse3-dev gcc pkg-config
    # Real tools the mount tests run on the mount.
    rsync git fio sqlite3 tar coreutils
    # The dashboard test (tests/FtpsMount.Service.Tests) drives Debian's headless Chromium; dpkg-deb (the .deb test) comes with dpkg.
    chromium chromium-driver
    proftpd-core proftpd-mod-crypto
    # Run-time libraries of the unpacked vsftpd and pure-ftpd (their Depends, minus the daemons'
    # packaging bits).
    libc6 libcap2 libcrypt1 libpam0g libpam-modules libpam-runtime libssl3 libwrap0 libsodium23
    # Cross compiler for the Dokan (Windows x64) ABI probe: native/dokan-probe.sh.
    gcc-mingw-w64-x86-64
    # Reliability drills: ps (the password grep), mount/umount (a tmpfs for the full-staging drill).
    procps mount
)
# Debian packages unpacked side by side: name -> binary that must exist afterwards.
declare -A UNPACKED=(
    [vsftpd]="usr/sbin/vsftpd"
    [pure-ftpd]="usr/sbin/pure-ftpd"
)
SYSTEM_FTP_SERVICES=(proftpd vsftpd pure-ftpd)

log() { printf 'install-test-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo --preserve-env=FTPSMOUNT_TEST_PREFIX,FTPSMOUNT_TEST_PASSWORD "$0" "$@"
    fi
    die "must run as root (installs packages and creates the local test account)"
fi
command -v apt-get >/dev/null 2>&1 || die "needs a Debian-like system with apt-get"
export DEBIAN_FRONTEND=noninteractive

# --- keep package scripts from starting daemons while we install ----------------------------------
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=""
POLICY_INSTALLED=0
restore_policy() {
    if [[ $POLICY_INSTALLED -eq 1 ]]; then
        if [[ -n $POLICY_BACKUP ]]; then
            mv -f "$POLICY_BACKUP" "$POLICY"
        else
            rm -f "$POLICY"
        fi
        POLICY_INSTALLED=0
    fi
}
block_service_starts() {
    if [[ $POLICY_INSTALLED -eq 1 ]]; then return; fi
    if [[ -e $POLICY ]]; then
        POLICY_BACKUP="$(mktemp "$POLICY.ftpsmount-backup.XXXXXX")"
        cp -p "$POLICY" "$POLICY_BACKUP"
    fi
    printf '#!/bin/sh\n# Temporary, from FtpsMount install-test-deps.sh: start no services.\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    POLICY_INSTALLED=1
}

WORK_DIR=""
cleanup() {
    restore_policy
    if [[ -n $WORK_DIR ]]; then rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT

APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
}

package_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == "ii "* ]]
}

# --- 1. apt packages ------------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    package_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    block_service_starts
    apt_update_once
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
fi

# --- 2. no system FTP daemon enabled or running ---------------------------------------------------
systemd_running=0
[[ -d /run/systemd/system ]] && systemd_running=1
for svc in "${SYSTEM_FTP_SERVICES[@]}"; do
    if [[ $systemd_running -eq 1 ]] && systemctl list-unit-files "$svc.service" >/dev/null 2>&1; then
        if systemctl is-enabled --quiet "$svc.service" 2>/dev/null || systemctl is-active --quiet "$svc.service" 2>/dev/null; then
            log "disabling and stopping system service $svc"
            systemctl disable --now --quiet "$svc.service" 2>/dev/null || true
        fi
    fi
    if [[ -x /etc/init.d/$svc ]]; then
        # Enabled sysvinit start links look like /etc/rc2.d/S01proftpd.
        if compgen -G "/etc/rc[2-5].d/S*$svc" >/dev/null; then
            log "disabling sysvinit start of $svc"
            update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi
        if [[ $systemd_running -eq 0 ]] && /etc/init.d/"$svc" status >/dev/null 2>&1; then
            log "stopping system $svc (started by its package)"
            /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
        fi
    fi
done

# --- 3. vsftpd and pure-ftpd unpacked (they conflict with proftpd as packages) ---------------------
mkdir -p "$SERVERS_DIR"
chmod 755 "$PREFIX" "$SERVERS_DIR"
for name in "${!UNPACKED[@]}"; do
    target="$SERVERS_DIR/$name"
    if [[ -x $target/${UNPACKED[$name]} && -s $target/.package-version ]]; then
        continue
    fi
    [[ -n $WORK_DIR ]] || WORK_DIR="$(mktemp -d)"
    dl="$WORK_DIR/$name"
    mkdir -p "$dl"
    # apt-get download drops privileges to _apt; let it write there.
    if id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
    log "downloading and unpacking $name into $target"
    if ! (cd "$dl" && apt-get download -qq "$name" >/dev/null 2>&1); then
        apt_update_once
        (cd "$dl" && apt-get download -qq "$name" >/dev/null)
    fi
    deb=("$dl"/"$name"_*.deb)
    [[ -f ${deb[0]} ]] || die "apt-get download $name produced no .deb"
    rm -rf "$target.new"
    mkdir -p "$target.new"
    dpkg-deb -x "${deb[0]}" "$target.new"
    dpkg-deb -f "${deb[0]}" Version >"$target.new/.package-version"
    rm -rf "$target"
    mv "$target.new" "$target"
done

# Every unpacked binary must find its shared libraries.
for name in "${!UNPACKED[@]}"; do
    bin="$SERVERS_DIR/$name/${UNPACKED[$name]}"
    missing_libs="$(ldd "$bin" | grep 'not found' || true)"
    if [[ -n $missing_libs ]]; then
        printf '%s\n' "$missing_libs" >&2
        die "$bin is missing shared libraries (see above); add their packages to APT_PACKAGES"
    fi
done
[[ -x $SERVERS_DIR/pure-ftpd/usr/bin/pure-pw ]] || die "pure-pw missing from the unpacked pure-ftpd"

# vsftpd's unprivileged helper chroots here: must exist, be empty and not be writable by the user.
install -d -m 755 -o root -g root "$PREFIX/vsftpd-empty"

# --- 4. the local test account ------------------------------------------------------------------------
if ! id "$TEST_USER" >/dev/null 2>&1; then
    log "creating user $TEST_USER"
    useradd --create-home --shell /bin/bash --user-group --comment "FtpsMount test FTP user" "$TEST_USER"
fi
user_shell="$(getent passwd "$TEST_USER" | cut -d: -f7)"
grep -qxF "$user_shell" /etc/shells || die "shell $user_shell of $TEST_USER is not in /etc/shells"
# proftpd (UseFtpUsers) and pam_listfile-based PAM files refuse users named in /etc/ftpusers.
if [[ -f /etc/ftpusers ]] && grep -qxF "$TEST_USER" /etc/ftpusers; then
    sed -i "/^${TEST_USER}\$/d" /etc/ftpusers
fi

umask 077
if [[ -n ${FTPSMOUNT_TEST_PASSWORD:-} ]]; then
    password="$FTPSMOUNT_TEST_PASSWORD"
elif [[ -s $PASSWORD_FILE ]]; then
    password="$(<"$PASSWORD_FILE")"
else
    password="$(openssl rand -hex 16)"
fi
[[ $password =~ ^[^[:space:]:]+$ ]] || die "the test password must not be empty or contain spaces or ':'"
if [[ ! -s $PASSWORD_FILE || "$(<"$PASSWORD_FILE")" != "$password" ]]; then
    printf '%s\n' "$password" >"$PASSWORD_FILE.tmp"
    mv -f "$PASSWORD_FILE.tmp" "$PASSWORD_FILE"
fi
chown root:root "$PASSWORD_FILE"
chmod 600 "$PASSWORD_FILE"
# Set it every time (cheap), so the account always matches the file.
printf '%s:%s\n' "$TEST_USER" "$password" | chpasswd
unset password
umask 022

# --- 5. PAM service for the test vsftpd ---------------------------------------------------------------
pam_content='# Written by FtpsMount tests/scripts/install-test-deps.sh: PAM service of the test vsftpd.
auth    required pam_shells.so
@include common-auth
@include common-account
@include common-session-noninteractive'
if [[ ! -f $PAM_SERVICE_FILE || "$(<"$PAM_SERVICE_FILE")" != "$pam_content" ]]; then
    printf '%s\n' "$pam_content" >"$PAM_SERVICE_FILE"
    chmod 644 "$PAM_SERVICE_FILE"
fi

# --- 6. what is there -----------------------------------------------------------------------------------
# --- playwright-core for the dashboard test (no browser download: it drives /usr/bin/chromium) ------------
# Node from the system when there is one (18+), else Debian's. Installed under $PREFIX/node; the test finds it there.
PLAYWRIGHT_VERSION=1.57.0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_update_once
    log "apt-get install nodejs npm"
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [[ "$(cat "$PREFIX/node/node_modules/playwright-core/package.json" 2>/dev/null | sed -n 's/^ *"version": "\(.*\)",$/\1/p')" != "$PLAYWRIGHT_VERSION" ]]; then
    log "npm install playwright-core@$PLAYWRIGHT_VERSION into $PREFIX/node"
    mkdir -p "$PREFIX/node"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$PREFIX/node" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
fi

{
    printf 'vsftpd %s\n' "$(<"$SERVERS_DIR/vsftpd/.package-version")"
    printf 'pure-ftpd %s\n' "$(<"$SERVERS_DIR/pure-ftpd/.package-version")"
    printf 'proftpd %s\n' "$(dpkg-query -W -f='${Version}' proftpd-core)"
    printf 'lftp %s\n' "$(dpkg-query -W -f='${Version}' lftp)"
    printf 'curl %s\n' "$(dpkg-query -W -f='${Version}' curl)"
} >"$PREFIX/versions.txt.tmp"
mv -f "$PREFIX/versions.txt.tmp" "$PREFIX/versions.txt"
chmod 644 "$PREFIX/versions.txt"
log "ready: $(tr '\n' ' ' <"$PREFIX/versions.txt")"
