#!/usr/bin/env bash
# Run stekker's full test suite on a Debian machine: installs what is missing
# (Debian packages for the DNS lab, PostgreSQL and Chromium; the Python
# package with its pinned test dependencies), starts a throwaway PostgreSQL
# server on loopback, runs pytest, and stops the server again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS="knot knot-dnsutils unbound postgresql chromium fonts-dejavu-core"
need_apt=0
for bin in /usr/sbin/knotd /usr/sbin/unbound /usr/bin/chromium; do
  [ -x "$bin" ] || need_apt=1
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt=1
if [ "$need_apt" = 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $APT_PKGS >/dev/null
    # the Debian packages start their own daemons; the lab runs its own
    systemctl disable --now knot unbound 2>/dev/null || true
    service unbound stop 2>/dev/null || true
    service knot stop 2>/dev/null || true
  else
    echo "missing Debian packages; run as root or: sudo apt-get install $APT_PKGS" >&2
    exit 2
  fi
fi

# A fresh virtual environment without system site-packages, and a regular
# (non-editable) install: an undeclared dependency or a file missing from the
# package fails here exactly as it would for a user's `pip install .`.
# STEKKER_VENV=DIR reuses a venv of your own (developers: an editable one).
VENV=${STEKKER_VENV:-}
if [ -z "$VENV" ]; then
  VENV=$(mktemp -d /tmp/stekker-venv.XXXXXX)
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install -q '.[test]'
fi
export PATH="$VENV/bin:$PATH"

# A throwaway PostgreSQL server for the PostgreSQL storage tests.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDIR=$(mktemp -d /tmp/stekker-pg.XXXXXX)
PGPORT=${STEKKER_PG_PORT:-55432}
RUNAS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; RUNAS=(runuser -u postgres --); fi
cleanup() {
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
  [ -n "${STEKKER_VENV:-}" ] || rm -rf "$VENV"
}
trap cleanup EXIT
"${RUNAS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U stekker --auth=trust >/dev/null
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR" start >/dev/null
"${RUNAS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U stekker stekker_test
export STEKKER_TEST_PG="postgresql://stekker@127.0.0.1:$PGPORT/stekker_test"

"$VENV/bin/python" -m pytest -q "$@"
