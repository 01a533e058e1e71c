#!/usr/bin/env bash
# The ETL benchmark (see scripts/bench-etl.py): installs the peers (DuckDB,
# and PySpark with --spark) into .venv/bench, builds the ETL and the bronze
# generator in release mode, and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/bench
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q 'duckdb==2.0.0'
if [[ " $* " == *" --spark "* ]]; then "$venv/bin/pip" install -q 'pyspark==4.0.1'; fi
cargo build --release -q -p pipegen-etl --bin etl --example bronze
exec python3 scripts/bench-etl.py "$@"
