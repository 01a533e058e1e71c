#!/usr/bin/env bash
# The local query benchmark (see scripts/bench-queries.py): DuckDB as the
# same-run peer in .venv/bench, the ETL and the bronze generator in release.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/bench
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q 'duckdb==2.0.0'
cargo build --release -q -p pipegen-etl --bin etl --example bronze
exec "$venv/bin/python" scripts/bench-queries.py "$@"
