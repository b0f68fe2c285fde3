#!/usr/bin/env bash
# Runs the browser test (make e2e): installs Debian's Chromium when it is missing (CI runs as
# root on a fresh machine, with no one to answer prompts), builds the dev program the test
# starts on free ports, and runs the test with Node's own test runner.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "Chromium is missing: installing Debian's chromium package…"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "Install Chromium first: apt-get install chromium (or set CHROMIUM to its path)." >&2; exit 1; }
    sudo="sudo -n"
  fi
  command -v apt-get >/dev/null || { echo "No apt-get here: install Chromium yourself and set CHROMIUM to its path." >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q chromium
  [ -x "$CHROMIUM" ] || CHROMIUM=/usr/bin/chromium
fi

mkdir -p .build
${GO:-go} build -o .build/dev ./local/cmd/dev
CHROMIUM="$CHROMIUM" DEV_BINARY="$PWD/.build/dev" exec node --test --test-reporter=spec local/e2e/
