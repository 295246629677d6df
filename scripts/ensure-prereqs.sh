#!/bin/sh
# Installs what `npm start` and `npm test` need on a fresh Debian machine: the npm dependencies and the Debian
# packages of PostgreSQL 15 with pg_cron, pgTAP, plpgsql_check and pg_prove. Stops with the exact command when it cannot.
set -eu
cd "$(dirname "$0")/.."

packages="postgresql-15 postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check libtap-parser-sourcehandler-pgtap-perl"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "flows: installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
  else
    echo "flows: these Debian packages are missing:$missing" >&2
    echo "flows: install them as root, then run this command again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi

if ! command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "flows: setpriv (util-linux) is needed to run PostgreSQL as the postgres user; install util-linux" >&2
  exit 1
fi

# npm dependencies: install when missing or when package-lock.json changed since the last install.
if [ ! -x node_modules/.bin/deno ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "flows: installing npm dependencies"
  # npm ci refuses a lock file that lacks other platforms' optional packages (deno and rollup ship one per
  # platform, and some npm configurations record only the local one); npm install then installs the same locked
  # versions without rewriting the lock file.
  npm ci --no-audit --no-fund --loglevel=silent 2>/dev/null || npm install --no-audit --no-fund --no-save --loglevel=error
fi
