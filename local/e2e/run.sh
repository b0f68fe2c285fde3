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
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends chromium
fi

mkdir -p .build
${GO:-go} build -o .build/dev ./local/cmd/dev
CHROMIUM="$CHROMIUM" DEV_BINARY="$PWD/.build/dev" exec node --test --test-reporter=spec local/e2e/
