#!/usr/bin/env python3
"""ETL benchmark: pipegen's etl against DuckDB (and Spark local, --spark) on
the same simulated bronze, in the same run. Prints a markdown table.

  scripts/bench-etl.sh [--sizes 1000000,10000000] [--profiles capstone,flashcommerce]
                       [--spark] [--repeat 3]

Each case: generate bronze with the simulator (gzip JSON lines, Hive hour
partitions), run a full ETL (silver + invalid + 15 gold tables, Parquet),
then an empty-delta run; run bench/etl_duckdb.sql on the same bronze; report
events/s, wall time, peak RSS, and the ratio DuckDB time / pipegen time.

Method: every command (pipegen, DuckDB, Spark alike) runs --repeat times from
the same starting state and the table shows the median wall time and the
largest peak RSS; the file system is synced before each run, so writeback of
the generator's or the previous run's output is not billed to the next one.
"""
import argparse
import json
import statistics
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "target" / "release"
WORK = ROOT / "target" / "bench-etl"


def measured(cmd, env=None, fatal=True):
    """Runs cmd; returns (seconds, peak RSS in MB of that child, stdout), or
    None when a peer (fatal=False) fails, so one peer running out of memory
    does not lose the rows already measured."""
    # A fresh wrapper process per command, so ru_maxrss is this command's peak.
    wrapper = [sys.executable, "-c",
               "import resource,subprocess,sys,json;"
               "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "sys.stderr.write(r.stderr);print(r.stdout,end='');"
               "print('\\n@@RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
               "sys.exit(r.returncode)"] + cmd
    os.sync()
    t = time.perf_counter()
    r = subprocess.run(wrapper, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        message = f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}"
        if fatal:
            sys.exit(message)
        print(f"# {message}", file=sys.stderr)
        return None
    out, _, rss = r.stdout.rpartition("@@RSS")
    return dt, int(rss.strip()) / 1024, out


def repeated(times, prepare, run):
    """Runs `prepare(); run()` `times` times; returns (median seconds, largest
    peak RSS in MB, the last stdout, every time), or None if any run failed."""
    results = []
    for _ in range(times):
        prepare()
        r = run()
        if r is None:
            return None
        results.append(r)
    seconds = [r[0] for r in results]
    return statistics.median(seconds), max(r[1] for r in results), results[-1][2], seconds


def spread(seconds):
    return "/".join(f"{s:.2f}" for s in seconds)


def fresh(path):
    def prepare():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    return prepare


def duckdb_run(bronze_glob, out, zone):
    sql = (ROOT / "bench" / "etl_duckdb.sql").read_text()
    sql = sql.replace("{bronze}", bronze_glob).replace("{out}", str(out)).replace("{zone}", zone)
    script = out.parent / "duckdb.sql"
    script.write_text(sql)
    py = ROOT / ".venv" / "bench" / "bin" / "python"
    code = ("import duckdb,sys;c=duckdb.connect();c.execute(\"SET threads=%d\");"
            "c.execute(open(sys.argv[1]).read())" % os.cpu_count())
    return measured([str(py), "-c", code, str(script)], fatal=False)


def spark_run(bronze_glob, out, zone):
    py = ROOT / ".venv" / "bench" / "bin" / "python"
    return measured([str(py), str(ROOT / "bench" / "etl_spark.py"), bronze_glob, str(out), zone], fatal=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--profiles", default="capstone,flashcommerce")
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the median is reported")
    a = ap.parse_args()
    rows = []
    for profile in a.profiles.split(","):
        for n in [int(x) for x in a.sizes.split(",")]:
            case = WORK / f"{profile}-{n}"
            lake = case / "lake"
            if not (case / "manifest.json").exists():
                shutil.rmtree(case, ignore_errors=True)
                lake.mkdir(parents=True)
                t = time.perf_counter()
                out = subprocess.run([str(TARGET / "examples" / "bronze"), profile, str(n), str(lake)],
                                     check=True, capture_output=True, text=True).stdout
                (case / "manifest.json").write_text(out)
                os.sync()
                print(f"# generated {profile} {n:,} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            manifest = json.loads((case / "manifest.json").read_text())
            lines = manifest["lines"]

            def clean_lake():
                for d in ["silver", "gold", "invalid", "_state"]:
                    shutil.rmtree(lake / d, ignore_errors=True)
                shutil.rmtree(case / "work", ignore_errors=True)

            zone = "Asia/Kolkata" if profile == "flashcommerce" else "UTC"
            etl = [str(TARGET / "etl"), "--lake-dir", str(lake), "--source-format", profile, "--json",
                   "--work-dir", str(case / "work")]
            t_full, rss_full, out, runs = repeated(a.repeat, clean_lake, lambda: measured(etl))
            print(f"# {profile} {n:,} pipegen full runs: {spread(runs)} s", file=sys.stderr)
            report = json.loads(out)
            assert report["reconciled"] and report["totals"]["lines"] == lines, report["totals"]
            stages = ", ".join(f"{k} {v / 1000:.2f} s" for k, v in report["timings_ms"].items())
            print(f"# {profile} {n:,} stages: {stages}", file=sys.stderr)
            t_empty, _, _, runs = repeated(a.repeat, lambda: None, lambda: measured(etl))
            print(f"# {profile} {n:,} pipegen empty deltas: {spread(runs)} s", file=sys.stderr)
            duck_out = case / "duckdb"
            glob = str(lake / "bronze" / "events" / "**" / "*.jsonl.gz")
            duck = repeated(a.repeat, fresh(duck_out), lambda: duckdb_run(glob, duck_out, zone))
            if duck:
                print(f"# {profile} {n:,} duckdb runs: {spread(duck[3])} s", file=sys.stderr)
            spark = ""
            if a.spark and n <= 1_000_000:
                spark_out = case / "spark"
                measured_spark = repeated(a.repeat, lambda: shutil.rmtree(spark_out, ignore_errors=True),
                                          lambda: spark_run(glob, spark_out, zone))
                if measured_spark:
                    print(f"# {profile} {n:,} spark runs: {spread(measured_spark[3])} s", file=sys.stderr)
                spark = (f"{measured_spark[0]:.1f} s ({measured_spark[0] / t_full:.1f}x)"
                         if measured_spark else "failed")
            rows.append((profile, n, lines, t_full, rss_full, t_empty, duck, spark))
            print(f"# {profile} {n:,}: pipegen {t_full:.2f} s, {rss_full:,.0f} MB; duckdb "
                  + (f"{duck[0]:.2f} s, {duck[1]:,.0f} MB" if duck else "failed"), file=sys.stderr)
    print(f"Median of {a.repeat} runs each; peak RSS is the largest of them.\n")
    print("| profile | events | lines | pipegen full run | events/s | peak RSS | empty delta | DuckDB | DuckDB RSS | DuckDB / pipegen | Spark local (x pipegen) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for p, n, lines, tf, rf, te, duck, sp in rows:
        peer = f"{duck[0]:.2f} s | {duck[1]:,.0f} MB | {duck[0] / tf:.2f}x" if duck else "failed | - | -"
        print(f"| {p} | {n:,} | {lines:,} | {tf:.2f} s | {lines / tf:,.0f} | {rf:,.0f} MB | {te * 1000:.0f} ms | "
              f"{peer} | {sp or '-'} |")


if __name__ == "__main__":
    main()
