#!/usr/bin/env python3
"""Multi-node test of InitLab over real processes on loopback (run by scripts/multinode-test.sh).

PostgreSQL, 2 API nodes (`initlab serve --workers 0`) and 3 worker processes (`initlab worker`):
  1. reference: every spec once on a single-node SQLite `initlab serve`;
  2. 300 jobs submitted round-robin to the API nodes (each with its own Idempotency-Key, retried on the other
     node when one is down); one worker and one API node are killed with kill -9 mid-run, then restarted;
  3. lease expiry: a worker running a job is paused with SIGSTOP until its lease expires, the job runs again
     elsewhere, the paused worker is resumed with SIGCONT and must not overwrite the re-run's result;
  4. cross-node idempotency races (one key sent to both API nodes at once) and a cross-node cancel;
  5. `pg_ctlcluster 15 main restart` mid-run (when the database is the local cluster and we are root).
Then: every acknowledged job succeeded exactly once (one job per key, one result each), attempts recorded, and
each result is byte-identical to the reference run of the same spec.

Environment: INITLAB_BIN (the initlab binary), INITLAB_MULTINODE_URL (postgres:// URL of an empty database).
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

BIN = os.environ["INITLAB_BIN"]
DB_URL = os.environ["INITLAB_MULTINODE_URL"]
WORK = tempfile.mkdtemp(prefix="initlab-multinode-")
LEASE = ["--lease-duration", "3s", "--heartbeat-interval", "500ms", "--max-attempts", "5"]
JOBS = int(os.environ.get("INITLAB_MULTINODE_JOBS", "300"))
FAILURES = []


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, message):
    if condition:
        log(f"ok: {message}")
    else:
        log(f"FAIL: {message}")
        FAILURES.append(message)


def tiny_spec(seed):
    return {"depth": 20, "width": 64, "batch": 64, "init": "kaiming_normal", "activation": "relu", "seed": seed}


def slow_spec(seed):
    return {"depth": 60, "width": 128, "batch": 128, "init": "kaiming_normal", "activation": "tanh", "seed": seed}


def psql(sql):
    out = subprocess.run(["psql", DB_URL, "-qtAX", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.strip().splitlines() if line]


class Node:
    """One initlab process: `serve` (API only, or with workers for the reference) or `worker`."""

    def __init__(self, name, args):
        self.name, self.args, self.proc, self.port = name, args, None, None
        self.log_path = os.path.join(WORK, f"{name}.log")

    def start(self):
        with open(self.log_path, "ab") as err:
            self.proc = subprocess.Popen([BIN, *self.args], stdout=subprocess.PIPE, stderr=err, cwd=WORK)
        line = self.proc.stdout.readline().decode().strip()  # "listening on HOST:PORT" or "worker ready"
        if line.startswith("listening on "):
            self.port = int(line.rsplit(":", 1)[1])
        elif line != "worker ready":
            raise RuntimeError(f"{self.name} did not start: {line!r}; see {self.log_path}")
        log(f"{self.name} started (pid {self.proc.pid}{', port %d' % self.port if self.port else ''})")
        return self

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.proc.wait()
        log(f"{self.name} killed with SIGKILL")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill9()

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"


FASHION = "/usr/share/datasets/fashion-mnist"


def own_cache(name, mirror):
    """Each node its own dataset cache folder, as on its own host; only `mirror` nodes can reach a mirror (the
    others' only mirror is an empty folder, so a dataset reaches them through the database or not at all)."""
    nowhere = os.path.join(WORK, "no-mirror")
    os.makedirs(nowhere, exist_ok=True)
    return ["--cache-dir", os.path.join(WORK, f"cache-{name}"), "--dataset-mirror",
            f"fashion-mnist={FASHION if mirror else nowhere}"]


def api_node(name, database=DB_URL, workers="0", mirror=False):
    return Node(name, ["serve", "--port", "0", "--workers", workers, "--queue-size", "2000", "--database", database,
                       "--log-level", "warning", *LEASE, *own_cache(name, mirror)])


def worker_node(name):
    return Node(name, ["worker", "--database", DB_URL, "--log-level", "info", *LEASE, *own_cache(name, False)])


def http(method, url, body=None, headers=None, timeout=15):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None, b""


def submit(nodes, first, spec, key, patience=120):
    """POSTs with the key, to `nodes[first]` first, then the others, until a 202 (acknowledged)."""
    deadline = time.time() + patience
    index = first
    while time.time() < deadline:
        node = nodes[index % len(nodes)]
        index += 1
        if not node.alive:
            continue
        status, body = http("POST", node.base + "/v1/experiments", spec, {"Idempotency-Key": key})
        if status == 202:
            return json.loads(body)["id"]
        if status not in (None, 409, 503):
            raise RuntimeError(f"submit got {status}: {body[:300]!r}")
        time.sleep(0.2)
    raise RuntimeError(f"submit of key {key} not acknowledged within {patience} s")


def result(node, job_id):
    status, body = http("GET", f"{node.base}/v1/experiments/{job_id}/result")
    return body if status == 200 else None


def wait_terminal(ids, timeout):
    deadline = time.time() + timeout
    wanted = "','".join(ids)
    while time.time() < deadline:
        rows = psql(f"SELECT count(*) FROM jobs WHERE id IN ('{wanted}') AND status IN ('succeeded','failed','cancelled')")
        done = int(rows[0][0])
        if done == len(ids):
            return True
        time.sleep(0.5)
    return False


def digest(data):
    return hashlib.sha256(data).hexdigest()


def dataset_spec(seed):
    return {"depth": 3, "width": 32, "batch": 16, "seed": seed, "init": "kaiming_normal", "activation": "relu",
            "loss": "cross_entropy", "input": {"dataset": "fashion-mnist", "split": "test", "sample_seed": seed}}


def fetch_dataset(node):
    """POST /v1/datasets/fashion-mnist/fetch on `node`, then poll until the fetch is over; its final state."""
    http("POST", f"{node.base}/v1/datasets/fashion-mnist/fetch", {})
    deadline = time.time() + 120
    while time.time() < deadline:
        status, body = http("GET", f"{node.base}/v1/datasets/fashion-mnist")
        state = json.loads(body)["fetch"]["state"] if status == 200 else None
        if state in ("ready", "failed"):
            return state
        time.sleep(0.5)
    return "timeout"


def reference(specs, dataset=False):
    """Each spec's result on a single-node SQLite service (the byte-identical baseline)."""
    node = api_node("reference-sqlite", database=os.path.join(WORK, "reference.sqlite"), workers="1",
                    mirror=True).start()
    try:
        if dataset:
            check(fetch_dataset(node) == "ready", "reference: Fashion-MNIST fetched from Debian's folder")
        ids = [submit([node], 0, spec, str(uuid.uuid4())) for spec in specs]
        out = []
        for job_id in ids:
            while True:
                status, body = http("GET", f"{node.base}/v1/experiments/{job_id}?wait=30", timeout=40)
                if status == 200 and json.loads(body)["status"] in ("succeeded", "failed", "cancelled"):
                    break
            out.append(digest(result(node, job_id) or b""))
        return out
    finally:
        node.stop()


def verify(apis, acknowledged, expected, label):
    """Every acknowledged (key → id) succeeded once, with a result identical to the reference."""
    ids = list(acknowledged.values())
    check(len(set(ids)) == len(ids), f"{label}: {len(ids)} keys gave {len(set(ids))} distinct jobs (no duplicates)")
    check(wait_terminal(ids, 300), f"{label}: every acknowledged job finished")
    wanted = "','".join(ids)
    rows = psql(f"SELECT status, attempt, count(*) FROM jobs WHERE id IN ('{wanted}') GROUP BY 1, 2 ORDER BY 1, 2")
    log(f"{label}: status/attempt/count: {rows}")
    statuses = {r[0] for r in rows}
    check(statuses == {"succeeded"}, f"{label}: all succeeded (0 lost, 0 failed)")
    results = int(psql(f"SELECT count(*) FROM results WHERE job_id IN ('{wanted}')")[0][0])
    check(results == len(ids), f"{label}: exactly one stored result per job ({results})")
    api = next(node for node in apis if node.alive)
    mismatched = [key for key, job_id in acknowledged.items() if digest(result(api, job_id) or b"") != expected[key]]
    check(not mismatched, f"{label}: results byte-identical to single-node SQLite ({len(mismatched)} differ)")
    return rows


def main():
    log(f"work folder {WORK}; database {DB_URL}")
    specs = {f"seed-{seed}": tiny_spec(seed) for seed in range(JOBS)}
    specs["slow-0"] = slow_spec(0)
    specs["slow-1"] = slow_spec(1)
    log(f"reference run of {len(specs)} specs on SQLite")
    keys = list(specs)
    expected = dict(zip(keys, reference([specs[k] for k in keys])))

    apis = [api_node("api-1").start(), api_node("api-2").start()]
    workers = [worker_node(f"worker-{n}").start() for n in (1, 2, 3)]
    try:
        # Phase 1: 300 jobs round-robin; kill -9 a worker and an API node mid-run, then restart them.
        acknowledged, expected_by_key = {}, {}
        t0 = time.time()
        for seed in range(JOBS):
            key = str(uuid.uuid4())
            acknowledged[key] = submit(apis, seed % 2, specs[f"seed-{seed}"], key)
            expected_by_key[key] = expected[f"seed-{seed}"]
            if seed == JOBS // 3:
                time.sleep(1)  # let the workers get busy
                workers[0].kill9()
                apis[0].kill9()
            if seed == JOBS // 2:
                workers[0].start()
                apis[0].start()
        log(f"phase 1: {len(acknowledged)} acknowledged in {time.time() - t0:.1f} s")
        rows = verify(apis, acknowledged, expected_by_key, "phase 1 (kill -9 worker and API node)")
        retried = sum(int(r[2]) for r in rows if int(r[1]) > 1)
        log(f"phase 1: {retried} job(s) ran more than once (the killed worker's)")

        # Phase 2: lease expiry. One worker left; it takes a slow job; SIGSTOP it past its lease.
        for worker in workers[1:]:
            worker.stop()
        key = str(uuid.uuid4())
        job_id = submit(apis, 0, specs["slow-0"], key)
        deadline = time.time() + 60
        while time.time() < deadline and psql(f"SELECT status FROM jobs WHERE id = '{job_id}'")[0][0] != "running":
            time.sleep(0.05)
        owner = psql(f"SELECT worker FROM jobs WHERE id = '{job_id}'")[0][0]
        workers[0].signal(signal.SIGSTOP)
        log(f"phase 2: job {job_id} running on {owner}; worker-1 (pid {workers[0].proc.pid}) stopped with SIGSTOP")
        workers[1].start()
        check(wait_terminal([job_id], 120), "phase 2: the job finished elsewhere while its first worker was paused")
        before = psql(f"SELECT status, attempt, worker FROM jobs WHERE id = '{job_id}'")[0]
        stored_before = digest(result(apis[1], job_id) or b"")
        workers[0].signal(signal.SIGCONT)
        log(f"phase 2: after the re-run {before}; worker-1 resumed with SIGCONT")
        time.sleep(6)
        after = psql(f"SELECT status, attempt, worker, version FROM jobs WHERE id = '{job_id}'")[0]
        check(before[0] == "succeeded" and int(before[1]) >= 2, f"phase 2: re-run succeeded with attempt {before[1]}")
        check(after[:3] == before, f"phase 2: the resumed worker changed nothing ({after})")
        check(digest(result(apis[1], job_id) or b"") == stored_before == expected["slow-0"],
              "phase 2: the stored result is the re-run's, byte-identical to SQLite")
        with open(workers[0].log_path) as handle:
            lost = "lease was lost" in handle.read()
        check(lost, "phase 2: the resumed worker noticed its lease was lost and stopped")
        workers[2].start()

        # Phase 3: idempotency races across nodes, and a cross-node cancel.
        race = {}
        for n in range(20):
            key = str(uuid.uuid4())
            seed = n
            outcome = {}

            def send(node_index, key=key, seed=seed, outcome=outcome):
                status, body = http("POST", apis[node_index].base + "/v1/experiments", specs[f"seed-{seed}"],
                                    {"Idempotency-Key": key})
                outcome[node_index] = (status, json.loads(body).get("id") if status == 202 else None)

            threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            race[key] = outcome
        same = all(o[0][1] == o[1][1] and o[0][0] == 202 for o in race.values())
        check(same, "phase 3: one key sent to both API nodes at once gives one job (the other gets the replay)")
        jobs_for_keys = int(psql("SELECT count(*) FROM idempotency_keys WHERE key IN ('%s')" % "','".join(race))[0][0])
        check(jobs_for_keys == 20, f"phase 3: 20 keys stored once each ({jobs_for_keys})")
        acknowledged = {key: o[0][1] for key, o in race.items() if o[0][1]}
        verify(apis, acknowledged, {k: expected[f"seed-{n}"] for n, k in enumerate(race)}, "phase 3 (races)")

        job_id = submit(apis, 0, specs["slow-1"], str(uuid.uuid4()))
        while psql(f"SELECT status FROM jobs WHERE id = '{job_id}'")[0][0] != "running":
            time.sleep(0.05)
        time.sleep(0.5)
        cancelled_at = time.time()
        status, _ = http("POST", f"{apis[1].base}/v1/experiments/{job_id}/cancel", {})
        check(status == 200, "phase 3: cancel accepted on the other API node")
        owner = psql(f"SELECT worker FROM jobs WHERE id = '{job_id}'")[0][0]
        stopped = False
        while time.time() - cancelled_at < 10 and not stopped:
            for worker in workers:
                with open(worker.log_path) as handle:
                    stopped = stopped or any(job_id in line and "job ended" in line for line in handle)
            time.sleep(0.1)
        check(stopped, f"phase 3: the worker ({owner}) stopped the cancelled run within {time.time() - cancelled_at:.1f} s")

        # Phase 4: the database restarts mid-run.
        if os.geteuid() == 0 and "127.0.0.1" in DB_URL and subprocess.run(["which", "pg_ctlcluster"], capture_output=True).returncode == 0:
            acknowledged, expected_by_key = {}, {}
            restarted = threading.Event()

            def restart():
                time.sleep(2)
                subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True)
                log("phase 4: pg_ctlcluster 15 main restart done")
                restarted.set()

            threading.Thread(target=restart).start()
            for seed in range(60):
                key = str(uuid.uuid4())
                acknowledged[key] = submit(apis, seed % 2, specs[f"seed-{seed}"], key)
                expected_by_key[key] = expected[f"seed-{seed}"]
                time.sleep(0.05)
            restarted.wait(60)
            verify(apis, acknowledged, expected_by_key, "phase 4 (database restart)")
            for node in apis:
                status, _ = http("GET", node.base + "/readyz")
                check(status == 200, f"phase 4: {node.name} ready again")
        else:
            log("phase 4 skipped: needs root and the local cluster 15/main (pg_ctlcluster)")

        # Phase 5: datasets across hosts. Every node has its own cache folder and no mirror, except api-3: a job
        # on Fashion-MNIST is refused until some node fetched it; api-3's fetch puts it in the database, then
        # api-2 accepts such jobs and the workers copy it from the database and run them, byte-identical to SQLite.
        dataset_specs = [dataset_spec(seed) for seed in range(6)]
        dataset_expected = reference(dataset_specs, dataset=True)
        status, body = http("POST", apis[1].base + "/v1/experiments", dataset_specs[0])
        check(status == 409 and json.loads(body).get("code") == "dataset_not_cached",
              f"phase 5: before any fetch, api-2 answers 409 dataset_not_cached ({status})")
        fetcher = api_node("api-3", mirror=True).start()
        try:
            check(fetch_dataset(fetcher) == "ready", "phase 5: api-3 fetched Fashion-MNIST from its mirror")
            stored = psql("SELECT count(*) FROM dataset_files WHERE dataset = 'fashion-mnist'")[0][0]
            check(stored == "4", f"phase 5: its four files are in the database ({stored})")
            acknowledged = {f"d-{n}": submit(apis, 1, spec, str(uuid.uuid4())) for n, spec in enumerate(dataset_specs)}
            check(wait_terminal(list(acknowledged.values()), 120), "phase 5: every dataset job finished")
            mismatched = [n for n, (key, job_id) in enumerate(acknowledged.items())
                          if digest(result(apis[1], job_id) or b"") != dataset_expected[n]]
            check(not mismatched, f"phase 5: dataset jobs succeeded on the workers, byte-identical to SQLite "
                                  f"({len(mismatched)} differ)")
            copied = [w.name for w in workers if os.path.exists(
                os.path.join(WORK, f"cache-{w.name}", "fashion-mnist", "train-images-idx3-ubyte.gz"))]
            check(copied, f"phase 5: the workers that ran them copied the dataset into their own cache ({copied})")
        finally:
            fetcher.stop()
    finally:
        for node in apis + workers:
            if node.alive:
                try:
                    node.signal(signal.SIGCONT)
                except ProcessLookupError:
                    pass
                node.stop()
    if FAILURES:
        log(f"{len(FAILURES)} check(s) failed; logs in {WORK}")
        sys.exit(1)
    log(f"all checks passed; logs in {WORK}")


if __name__ == "__main__":
    main()
