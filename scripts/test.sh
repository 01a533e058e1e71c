#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine. This is the README's
# test command and what CI runs (.ci/run). It installs what the tests need
# into git-ignored folders of the repository; the one system package is
# Debian's chromium (scripts/install-browser.sh), which the dashboard test
# opens the dashboard in.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n==> %s   (at %ds)\n' "$*" "$((SECONDS - started))"; }

# Tests that need AWS APIs start the local emulator themselves
# (localstack/moto.sh start is idempotent); stop it when we are done.
trap 'localstack/moto.sh stop >/dev/null 2>&1 || true' EXIT

# The checkers and the emulator are downloads, the build is CPU: overlap them.
install_log=$(mktemp)
( scripts/install-checkers.sh && scripts/install-browser.sh && localstack/moto.sh start ) >"$install_log" 2>&1 &
installer=$!

step "format"
cargo fmt --all -- --check

step "build and test (debug, locked dependencies)"
# Wait for the installer before tests start the emulator themselves.
cargo test --workspace --locked --no-run
wait "$installer" || { cat "$install_log"; echo "installing the checkers, the browser or the emulator failed"; exit 1; }
cargo test --workspace --locked

# The pipegen binary the tests built (with the workspace's features): running
# it directly avoids a second build of shared dependencies for `-p pipegen`.
export PIPEGEN_BIN="${CARGO_TARGET_DIR:-target}/debug/pipegen"

step "the shipped environments validate"
"$PIPEGEN_BIN" validate

step "rendered infrastructure against cfn-lint, checkov, cfn-guard, terraform and the provider schema"
scripts/check-rendered.sh
printf "\n==> all checks passed in %ds\n" "$((SECONDS - started))"
