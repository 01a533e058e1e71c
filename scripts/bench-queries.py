#!/usr/bin/env python3
"""Local query latency: every named query of queries/ on the gold tables of a
benchmark lake, through `etl query` (what `pipegen query --local` runs), and
the same SQL in DuckDB on the same Parquet files, in the same run.

  scripts/bench-queries.sh [--events 1000000] [--profile flashcommerce] [--repeat 5] [--increments 10]

The lake is the ETL benchmark's (target/bench-etl/<profile>-<events>/lake,
generated and processed here if missing). For each query: the median over
--repeat runs of the whole `etl query` process (start, listing, reading the
table's Parquet, SQL, JSON out) and of the engine's own time as it reports
it; DuckDB's median for the same SQL over the same files (read_parquet with
hive partitioning, a view per table). Athena's published figure for the
capstone's queries was 0.66 s per query.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "target" / "release"
WORK = ROOT / "target" / "bench-etl"
PARAMS = {"event_date": None, "seller_id": "S001"}


def lake_for(profile, events, increments):
    """The benchmark lake with gold built; with increments > 1, bronze is
    delivered in that many slices with an ETL run after each (smaller runs
    than one over everything; the result is the same as one run, as the
    ETL's split-invariance test shows)."""
    case = WORK / f"{profile}-{events}"
    lake = case / "lake"
    if not (case / "manifest.json").exists():
        lake.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([str(TARGET / "examples" / "bronze"), profile, str(events), str(lake)],
                             check=True, capture_output=True, text=True).stdout
        (case / "manifest.json").write_text(out)
    if (lake / "gold").exists():
        return lake
    etl = [str(TARGET / "etl"), "--lake-dir", str(lake), "--source-format", profile, "--work-dir", str(case / "work")]
    if increments <= 1:
        subprocess.run(etl, check=True, capture_output=True)
        return lake
    bronze = lake / "bronze"
    staged = case / "staged-bronze"
    if not staged.exists():
        bronze.rename(staged)
    objects = sorted(p for p in staged.rglob("*.jsonl.gz"))
    step = -(-len(objects) // increments)
    for i in range(0, len(objects), step):
        for p in objects[i:i + step]:
            dest = bronze / p.relative_to(staged)
            dest.parent.mkdir(parents=True, exist_ok=True)
            p.rename(dest)
        t = time.perf_counter()
        subprocess.run(etl, check=True, capture_output=True)
        print(f"# ETL increment {i // step + 1}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return lake


def queries():
    out = []
    for f in sorted((ROOT / "queries").glob("*.sql")):
        sql = f.read_text()
        params = []
        for line in sql.splitlines():
            if line.startswith("-- params:"):
                params = [p.strip() for p in line.split(":", 1)[1].split(",") if p.strip()]
        out.append((f.stem, sql, params))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--profile", default="flashcommerce")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--increments", type=int, default=1, help="build gold in this many ETL runs (large sets)")
    a = ap.parse_args()
    lake = lake_for(a.profile, a.events, a.increments)
    dates = sorted(p.name.split("=", 1)[1] for p in (lake / "gold" / "cart_abandonment").glob("event_date=*"))
    PARAMS["event_date"] = dates[len(dates) // 2] if dates else "2025-01-01"
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads={os.cpu_count()}")
    for t in sorted(p.name for p in (lake / "gold").iterdir() if p.is_dir()):
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{lake}/gold/{t}/**/*.parquet', "
                    f"hive_partitioning = true, union_by_name = true)")
    rows = []
    for name, sql, params in queries():
        values = [PARAMS[p] for p in params]
        cmd = [str(TARGET / "etl"), "query", "--lake-dir", str(lake), f"--sql={sql}"] + [f"--param={v}" for v in values]
        walls, engine, result = [], [], None
        for _ in range(a.repeat):
            t = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True)
            walls.append(time.perf_counter() - t)
            if r.returncode != 0:
                sys.exit(f"{name}: {r.stderr[-2000:]}")
            result = json.loads(r.stdout)
            engine.append(result["elapsed_ms"] / 1000)
        ducks = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            n_duck = len(con.execute(sql, values).fetchall())
            ducks.append(time.perf_counter() - t)
        if n_duck != len(result["rows"]):
            sys.exit(f"{name}: DuckDB returned {n_duck} rows, etl query {len(result['rows'])}")
        rows.append((name, len(result["rows"]), result["objects_read"], statistics.median(walls),
                     statistics.median(engine), statistics.median(ducks)))
    print(f"# {a.profile}, {a.events:,} events, gold in {lake}, median of {a.repeat}")
    print("| query | rows | gold objects | `etl query` process | engine time | DuckDB (same run) | engine / DuckDB | Athena published |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, objs, wall, eng, duck in rows:
        print(f"| {name} | {n} | {objs} | {wall * 1000:.0f} ms | {eng * 1000:.1f} ms | {duck * 1000:.1f} ms | "
              f"{eng / duck:.1f}x | 660 ms |")


if __name__ == "__main__":
    main()
