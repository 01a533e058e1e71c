#!/usr/bin/env bash
# The local AWS emulator: moto server, installed into a git-ignored venv and
# run on 127.0.0.1 with a free port. No Docker, no licence.
#
#   localstack/moto.sh start    install if needed, start if not running, wait
#                               until healthy, print the endpoint URL
#   localstack/moto.sh endpoint print the endpoint of the running server
#   localstack/moto.sh stop     stop the server this script started (only that
#                               process: its pid file and command line must match)
#   localstack/moto.sh status
#
# Idempotent: `start` twice prints the same endpoint. Docker-backed Lambda is
# turned off (moto never runs function code; pipegen's local runner does) and
# IAM managed policies are loaded, as DESIGN.md describes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
run="$here/.run"
MOTO_VERSION=5.2.5
mkdir -p "$run"

running() {
  [[ -f $run/moto.pid ]] || return 1
  local pid; pid=$(cat "$run/moto.pid")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q moto_server
}

healthy() {
  # Any HTTP answer will do. (/moto-api/data.json, the probe this used to ask,
  # serialises the emulator's whole state: seconds once tests have filled it,
  # and a slow answer made a concurrent `start` launch a second server.)
  [[ -f $run/endpoint ]] && curl -sS -o /dev/null --max-time 5 "$(cat "$run/endpoint")/moto-api/" 2>/dev/null
}

install() {
  # Several test processes (and CI's background installer) may start the
  # emulator at once: one installs, the others wait for it.
  exec 9>"$run/install.lock"
  flock 9
  if [[ ! -f $venv/.moto-$MOTO_VERSION ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    touch "$venv/.moto-$MOTO_VERSION"
  fi
  # Corrections pipegen's CloudFormation tests need (idempotent; fails loudly
  # if the pinned moto no longer has the code it patches).
  "$venv/bin/python" "$here/moto-patches.py"
  # Close the lock, or the server started next would inherit and hold it.
  exec 9>&-
}

start() {
  # One start at a time: test processes start the emulator concurrently.
  exec 8>"$run/start.lock"
  flock 8
  if running; then
    # A busy server may answer slowly; never start a second one beside it.
    for _ in $(seq 1 300); do
      if healthy; then cat "$run/endpoint"; return 0; fi
      running || break
      sleep 0.1
    done
    if running; then
      echo "moto server (pid $(cat "$run/moto.pid")) does not answer; see $run/moto.log" >&2
      exit 1
    fi
  fi
  install
  local port
  port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  MOTO_IAM_LOAD_MANAGED_POLICIES=true nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" \
    >"$run/moto.log" 2>&1 8>&- &
  echo $! >"$run/moto.pid"
  echo "http://127.0.0.1:$port" >"$run/endpoint"
  for _ in $(seq 1 100); do
    if healthy; then
      curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d '{"lambda": {"use_docker": false}}' "$(cat "$run/endpoint")/moto-api/config"
      cat "$run/endpoint"; return 0
    fi
    running || { echo "moto server exited; see $run/moto.log" >&2; tail -20 "$run/moto.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "moto server did not become healthy within 10 s; see $run/moto.log" >&2
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$run/moto.pid")" && rm -f "$run/moto.pid" "$run/endpoint"
    echo "stopped"
  else
    rm -f "$run/moto.pid" "$run/endpoint"
    echo "not running (nothing of ours to stop)"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  endpoint) running && healthy && cat "$run/endpoint" || { echo "not running" >&2; exit 1; } ;;
  status) if running && healthy; then echo "running at $(cat "$run/endpoint")"; else echo "not running"; fi ;;
  *) echo "usage: $0 start|stop|endpoint|status" >&2; exit 2 ;;
esac
