#!/usr/bin/env bash
# Install the Debian packages crmos needs for tests, demos and benchmarks.
#
# Idempotent and cheap: presence is checked with one dpkg-query call (plus a glob for
# the PostgreSQL server binaries), so a run where everything is present does nothing.
# As root, missing packages are installed with apt-get (one `apt-get update` first).
# As a non-root user, the missing packages are listed and the script exits 0.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Packages whose presence is checked with dpkg. postgresql is handled separately:
# any /usr/lib/postgresql/<version>/bin with initdb counts as "installed".
packages=(
  redis-server
  mosquitto
  tesseract-ocr
  tesseract-ocr-chi-sim
  tesseract-ocr-eng
  fonts-noto-cjk
  chromium
  # A Java runtime for Splink on Spark (`crmos identity dedupe --engine spark`).
  default-jre-headless
)

missing=()

have_pg_server() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] && return 0
  done
  return 1
}
have_pg_server || missing+=(postgresql)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-system-deps: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
  echo "install-system-deps: needed: postgresql ${packages[*]}" >&2
  exit 0
fi

# One dpkg-query call for all packages; unknown packages print nothing (stderr dropped).
declare -A installed=()
while IFS=' ' read -r name status; do
  [[ "$status" == "install ok installed" ]] && installed["${name%%:*}"]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)

for p in "${packages[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

((${#missing[@]} == 0)) && exit 0

if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-system-deps: not root; missing Debian packages: ${missing[*]}" >&2
  echo "install-system-deps: install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: apt-get not found; please install: ${missing[*]}" >&2
  exit 1
fi

echo "install-system-deps: installing ${missing[*]}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-system-deps: apt-get update failed" >&2
  exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-system-deps: apt-get install failed for: ${missing[*]}" >&2
  exit 1
fi
echo "install-system-deps: installed ${missing[*]}"
