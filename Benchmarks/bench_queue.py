#!/usr/bin/env python3
"""The job queue on SQLite and on PostgreSQL, side by side (issue 13).

Rows, for each store:
  - submissions/s: POST /v1/experiments, one keep-alive connection, sequential, to an API node with no
    workers (so nothing runs meanwhile);
  - claim-to-start latency, p50 and p99: an idle worker, one job at a time; started_at - created_at
    (SQLite: the in-process wake; PostgreSQL: NOTIFY from the API process to a separate worker process);
  - jobs/s of tiny experiments with 1 and 2 workers: a backlog submitted first, then the workers started
    (SQLite: `serve --workers K`, threads of one process; PostgreSQL: K `initlab worker` processes);
  - the same claim/finish loop written plainly for PostgreSQL: pgbench with a SKIP LOCKED script, 1 and 2
    clients, so the queue's own overhead is visible.

Usage: python3 Benchmarks/bench_queue.py --bin .build/release/initlab --postgres postgres://…/initlab_bench
(the database is emptied first: give it one of its own). --jobs N sets the backlog and submissions count.
"""
import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time

TINY = json.dumps({"depth": 1, "width": 8, "batch": 8, "init": "kaiming_normal", "activation": "relu"})


def start(binary, args, cwd):
    proc = subprocess.Popen([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd)
    line = proc.stdout.readline().decode().strip()
    port = int(line.rsplit(":", 1)[1]) if line.startswith("listening on ") else None
    if port is None and line != "worker ready":
        raise RuntimeError(f"{args[0]} did not start: {line!r}")
    return proc, port


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def post(conn):
    conn.request("POST", "/v1/experiments", body=TINY, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 202:
        raise RuntimeError(f"submit: {response.status} {body[:200]!r}")
    return json.loads(body)


def get(conn, path):
    conn.request("GET", path)
    response = conn.getresponse()
    return json.loads(response.read())


def iso(text):
    # "2026-12-06T03:13:28.497Z" → seconds
    return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + text[20:23])


class Store:
    def __init__(self, name, database, count_done, reset):
        self.name, self.database, self.count_done, self.reset = name, database, count_done, reset


def bench(binary, store, jobs, work):
    rows = {}
    common = ["--database", store.database, "--queue-size", str(jobs * 2 + 100), "--log-level", "error"]
    # Submissions/s and the backlog for jobs/s.
    for workers in (1, 2):
        store.reset()
        api, port = start(binary, ["serve", "--port", "0", "--workers", "0", *common], work)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        t0 = time.perf_counter()
        for _ in range(jobs):
            post(conn)
        rate = jobs / (time.perf_counter() - t0)
        rows.setdefault("submissions/s", []).append(rate)
        # Drain with K workers.
        if store.name == "SQLite":
            stop(api)
            t0 = time.perf_counter()
            runner, _ = start(binary, ["serve", "--port", "0", "--workers", str(workers), *common], work)
            runners = [runner]
        else:
            t0 = time.perf_counter()
            runners = [start(binary, ["worker", *common], work)[0] for _ in range(workers)]
        while store.count_done() < jobs:
            time.sleep(0.02)
        rows[f"jobs/s, {workers} worker{'s' if workers > 1 else ''}"] = jobs / (time.perf_counter() - t0)
        for proc in runners:
            stop(proc)
        if store.name != "SQLite":
            stop(api)
    rows["submissions/s"] = max(rows["submissions/s"])
    # Claim-to-start latency: one idle worker, one job at a time.
    store.reset()
    procs = []
    if store.name == "SQLite":
        api, port = start(binary, ["serve", "--port", "0", "--workers", "1", *common], work)
        procs = [api]
    else:
        api, port = start(binary, ["serve", "--port", "0", "--workers", "0", *common], work)
        procs = [api, start(binary, ["worker", *common], work)[0]]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    latencies = []
    for _ in range(min(jobs, 200)):
        job = post(conn)
        while job["status"] != "succeeded":
            job = get(conn, f"/v1/experiments/{job['id']}?wait=10")
        time.sleep(0.02)  # the worker is idle (waiting) again
        latencies.append((iso(job["started_at"]) - iso(job["created_at"])) * 1000)
    latencies.sort()
    rows["claim-to-start p50 (ms)"] = statistics.median(latencies)
    rows["claim-to-start p99 (ms)"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    for proc in procs:
        stop(proc)
    return rows


def pgbench(url, clients, seconds=5):
    """The plain SKIP LOCKED loop: claim one row, then mark it done, as two transactions."""
    psql = ["psql", url, "-qtAX", "-c"]
    subprocess.run([*psql[:-1], "-c", "DROP TABLE IF EXISTS plain_queue", "-c",
                    "CREATE TABLE plain_queue (id bigserial PRIMARY KEY, status text NOT NULL, lease timestamptz)", "-c",
                    "INSERT INTO plain_queue (status) SELECT 'queued' FROM generate_series(1, 300000)", "-c",
                    "CREATE INDEX ON plain_queue (id) WHERE status = 'queued'"], check=True, capture_output=True)
    script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
    script.write(
        "UPDATE plain_queue SET status = 'running', lease = now() + interval '30 seconds' WHERE id = "
        "(SELECT id FROM plain_queue WHERE status = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
        "RETURNING id \\gset\n"
        "UPDATE plain_queue SET status = 'done' WHERE id = :id AND status = 'running';\n")
    script.close()
    out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(clients), "-T", str(seconds), "-f", script.name, url],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(script.name)
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/initlab")
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--jobs", type=int, default=500)
    options = parser.parse_args()
    binary = os.path.abspath(options.bin)
    work = tempfile.mkdtemp(prefix="initlab-bench-queue-")
    sqlite_path = os.path.join(work, "bench.sqlite")

    def sqlite_reset():
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(sqlite_path + suffix):
                os.remove(sqlite_path + suffix)

    def sqlite_done():
        out = subprocess.run(["sqlite3", sqlite_path, "SELECT count(*) FROM jobs WHERE status = 'succeeded'"],
                             capture_output=True, text=True).stdout.strip()
        return int(out or 0)

    def pg(sql):
        return subprocess.run(["psql", options.postgres, "-qtAX", "-c", sql], check=True, capture_output=True, text=True).stdout

    def pg_reset():
        # Every table the migrations made, whichever they are: the schema goes and comes back empty.
        pg("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public AUTHORIZATION CURRENT_USER")

    def pg_done():
        try:
            return int(pg("SELECT count(*) FROM jobs WHERE status = 'succeeded'").strip() or 0)
        except subprocess.CalledProcessError:
            return 0

    stores = [Store("SQLite", sqlite_path, sqlite_done, sqlite_reset), Store("PostgreSQL", options.postgres, pg_done, pg_reset)]
    results = {store.name: bench(binary, store, options.jobs, work) for store in stores}
    plain = {clients: pgbench(options.postgres, clients) for clients in (1, 2)}
    print(f"| Row ({options.jobs} jobs; {os.path.basename(os.path.dirname(binary))} build) | SQLite | PostgreSQL |")
    print("| --- | --- | --- |")
    for row in results["SQLite"]:
        print(f"| {row} | {results['SQLite'][row]:.1f} | {results['PostgreSQL'][row]:.1f} |")
    for clients, tps in plain.items():
        print(f"| plain SKIP LOCKED claim+finish loop (pgbench), {clients} client{'s' if clients > 1 else ''}, jobs/s | – | {tps:.0f} |")


if __name__ == "__main__":
    main()
