#!/usr/bin/env bash
# LocalStack (community, on the host, no Docker), for those who ask for it:
# installed into a git-ignored venv with a Python >= 3.13 interpreter from
# pyenv (localstack-core 2026.3 imports `warnings.deprecated`, new in 3.13),
# run on 127.0.0.1 with a free port.
#
#   localstack/localstack.sh start | endpoint | stop | status
#
# What it can run here (see ../shared/DESIGN.md, "Local emulator facts"): S3,
# Kinesis, SNS, SQS, CloudWatch alarms and core CloudFormation. What it
# cannot: DynamoDB (needs a Java/Docker backend), Lambda (Docker), Glue and
# Athena (Pro only). `pipegen up` therefore uses moto (localstack/moto.sh);
# LocalStack is for trying the CloudFormation template's core and alarms.
# Idempotent; `stop` only stops the process this script started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-localstack"
run="$here/.run"
VERSION=2026.3.0
SERVICES="${LOCALSTACK_SERVICES:-s3,kinesis,sns,sqs,cloudwatch,cloudformation,iam,sts,logs}"
mkdir -p "$run"

python313() {
  local root p
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for p in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.14*/bin/python3 "$(command -v python3.13 || true)"; do
    [[ -x $p ]] && { echo "$p"; return 0; }
  done
  echo "localstack.sh: LocalStack needs Python >= 3.13 (try: pyenv install 3.13)" >&2
  return 1
}

running() {
  [[ -f $run/localstack.pid ]] || return 1
  local pid; pid=$(cat "$run/localstack.pid")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q localstack.runtime.main
}

healthy() {
  [[ -f $run/localstack.endpoint ]] && curl -fsS -o /dev/null --max-time 2 "$(cat "$run/localstack.endpoint")/_localstack/health" 2>/dev/null
}

install() {
  exec 9>"$run/install-localstack.lock"
  flock 9
  if [[ ! -f $venv/.localstack-$VERSION ]]; then
    "$(python313)" -m venv "$venv"
    # The pins localstack 2026.3 needs on the host (found by starting it):
    # cbor2 6 moved `cbor2._decoder`; pyOpenSSL 24.3 dropped
    # `X509.add_extensions` and needs cryptography < 44 for its bindings;
    # twisted's TLS needs service_identity.
    "$venv/bin/pip" install --quiet --disable-pip-version-check "localstack-core[runtime]==$VERSION" \
      "cbor2<5.8" "pyopenssl<24.3" "cryptography<44" service_identity >"$run/localstack-pip.log" 2>&1 \
      || { cat "$run/localstack-pip.log" >&2; exit 1; }
    touch "$venv/.localstack-$VERSION"
  fi
  exec 9>&-
}

start() {
  if running && healthy; then cat "$run/localstack.endpoint"; return 0; fi
  install
  local port
  port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  GATEWAY_LISTEN="127.0.0.1:$port" SERVICES="$SERVICES" LOCALSTACK_VOLUME_DIR="$run/localstack-volume" \
    nohup "$venv/bin/python" -m localstack.runtime.main >"$run/localstack.log" 2>&1 &
  echo $! >"$run/localstack.pid"
  echo "http://127.0.0.1:$port" >"$run/localstack.endpoint"
  for _ in $(seq 1 240); do
    if healthy; then cat "$run/localstack.endpoint"; return 0; fi
    running || break
    sleep 0.5
  done
  echo "localstack.sh: LocalStack did not become healthy; see $run/localstack.log" >&2
  tail -n 20 "$run/localstack.log" >&2 || true
  return 1
}

stop() {
  if running; then
    kill "$(cat "$run/localstack.pid")"
    echo "stopped LocalStack ($(cat "$run/localstack.endpoint"))"
  else
    echo "LocalStack is not running (or was not started by this script)"
  fi
  rm -f "$run/localstack.pid"
}

case "${1:-}" in
  start) start ;;
  endpoint) healthy && cat "$run/localstack.endpoint" ;;
  stop) stop ;;
  status) if running && healthy; then echo "running at $(cat "$run/localstack.endpoint")"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|endpoint|stop|status" >&2; exit 2 ;;
esac
