#!/usr/bin/env bash
# Crash test: start the real binary, submit jobs, kill -9 it at a random moment, restart, repeat. Then check that
# every job that got a 202 exists, reaches exactly one terminal state (and keeps it), none is duplicated,
# succeeded jobs have their result, and SQLite's integrity check passes. A training run submitted first is
# running at the first kill: it re-runs from its start (attempt 2; no checkpoint is kept) and its result must be
# byte-identical to `initlab run` of the same spec.
#
#   scripts/crash-test.sh [ITERATIONS]      (default 3: about 30-60 s)
#
# Uses ${INITLAB_BIN:-.build/debug/initlab} (built under the shared lock if missing) and python3's sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS="${1:-3}"
BIN="${INITLAB_BIN:-.build/debug/initlab}"
if [ ! -x "$BIN" ]; then flock /tmp/initlab-swift.lock swift build --product initlab; fi
WORK="$(mktemp -d /tmp/initlab-crash.XXXXXX)"
export CRASH_WORK="$WORK" CRASH_BIN="$BIN" CRASH_ITERATIONS="$ITERATIONS"
trap 'rm -rf "$WORK"' EXIT

python3 - <<'PY'
import json, os, random, signal, sqlite3, subprocess, sys, time, urllib.error, urllib.request, uuid

work, binary, iterations = os.environ["CRASH_WORK"], os.environ["CRASH_BIN"], int(os.environ["CRASH_ITERATIONS"])
db = os.path.join(work, "crash.sqlite")
rng = random.Random(int(os.environ.get("CRASH_SEED", "20261129")))
accepted = {}      # id -> spec sent
terminal_seen = {} # id -> first terminal status observed

def start():
    out = open(os.path.join(work, "stdout"), "w")
    err = open(os.path.join(work, "stderr"), "a")
    proc = subprocess.Popen([binary, "serve", "--port", "0", "--database", db, "--max-attempts", "3",
                             "--job-timeout", "60s", "--log-level", "warning"], stdout=out, stderr=err)
    for _ in range(200):
        text = open(os.path.join(work, "stdout")).read()
        if "listening on" in text:
            return proc, int(text.strip().rsplit(":", 1)[1])
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}: " + open(os.path.join(work, "stderr")).read()[-2000:])
        time.sleep(0.05)
    sys.exit("server did not start")

def call(port, method, path, body=None, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(), headers=headers or {})
    if body is not None: request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

def observe(port):
    token, jobs = None, []
    while True:
        status, page = call(port, "GET", "/v1/experiments?page_size=1000" + (f"&page_token={token}" if token else ""))
        assert status == 200, (status, page)
        jobs += page["experiments"]
        token = page.get("next_page_token")
        if not token: return jobs

def check_terminal_stable(jobs):
    for job in jobs:
        if job["status"] in ("succeeded", "failed", "cancelled"):
            first = terminal_seen.setdefault(job["id"], job["status"])
            assert first == job["status"], f"terminal state changed: {job['id']} {first} -> {job['status']}"

training_spec = {"depth": 4, "width": 64, "batch": 32, "seed": 11, "init": "kaiming_normal", "activation": "relu",
                 "train": {"dataset": "teacher", "steps": 600, "eval_every": 200, "stats_every": 300,
                           "validation_size": 500, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}}}
training_id = None

for iteration in range(1, iterations + 1):
    proc, port = start()
    check_terminal_stable(observe(port))
    if training_id is not None:
        # Interrupted once is the case under test: let the re-run finish before the next kill.
        deadline = time.time() + 120
        while call(port, "GET", f"/v1/experiments/{training_id}")[1]["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.time() < deadline, "the re-run training job did not finish in 120 s"
            time.sleep(0.1)
    if training_id is None:
        status, body = call(port, "POST", "/v1/experiments", training_spec)
        assert status == 202, (status, body)
        training_id = body["id"]
        accepted[training_id] = training_spec
        for _ in range(200):  # until it runs: the kill below must interrupt it
            if call(port, "GET", f"/v1/experiments/{training_id}")[1]["status"] == "running": break
            time.sleep(0.02)
    for _ in range(rng.randint(3, 6)):
        spec = {"depth": rng.randint(100, 300), "width": 64, "batch": 64, "seed": rng.randint(0, 2**32),
                "init": "xavier_normal", "activation": "tanh"}
        key = str(uuid.uuid4())
        status, body = call(port, "POST", "/v1/experiments", spec, {"Idempotency-Key": key})
        if status == 202:
            accepted[body["id"]] = spec
            # A retry with the same key must replay the same job, never create a second one.
            again, replay = call(port, "POST", "/v1/experiments", spec, {"Idempotency-Key": key})
            assert again == 202 and replay["id"] == body["id"], (again, replay)
        else:
            assert status == 503, (status, body)
    if rng.random() < 0.5 and len(accepted) > 1:
        call(port, "POST", f"/v1/experiments/{rng.choice([i for i in accepted if i != training_id])}/cancel")
    time.sleep(rng.uniform(0.2, 2.0))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    print(f"iteration {iteration}: killed with {len(accepted)} jobs accepted so far", flush=True)

proc, port = start()
deadline = time.time() + 240
while True:
    jobs = observe(port)
    check_terminal_stable(jobs)
    if all(job["status"] in ("succeeded", "failed", "cancelled") for job in jobs) or time.time() > deadline: break
    time.sleep(0.5)
ids = [job["id"] for job in jobs]
by_status = {}
for job in jobs: by_status[job["status"]] = by_status.get(job["status"], 0) + 1
missing = set(accepted) - set(ids)
for job in jobs:
    if job["status"] == "succeeded":
        status, result = call(port, "GET", f"/v1/experiments/{job['id']}/result")
        assert status == 200 and len(result["layers"]) == job["spec"]["depth"], (job["id"], status)
    assert 1 <= job["attempt"] <= 3, job
training_job = next(job for job in jobs if job["id"] == training_id)
with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/experiments/{training_id}/result", timeout=10) as response:
    served = response.read()
spec_file = os.path.join(work, "training-spec.json")
with open(spec_file, "w") as f: json.dump(training_job["spec"], f)
local = subprocess.run([binary, "run", "--spec", spec_file], capture_output=True, check=True).stdout
proc.send_signal(signal.SIGTERM)
proc.wait(timeout=30)

connection = sqlite3.connect(db)
integrity = connection.execute("PRAGMA integrity_check").fetchall()
duplicates = connection.execute("SELECT id, COUNT(*) FROM jobs GROUP BY id HAVING COUNT(*) > 1").fetchall()
orphans = connection.execute("SELECT COUNT(*) FROM results WHERE job_id NOT IN (SELECT id FROM jobs)").fetchone()[0]
connection.close()

print(f"accepted {len(accepted)}, stored {len(ids)}, statuses {by_status}, integrity {integrity}")
problems = []
if missing: problems.append(f"accepted but missing: {sorted(missing)}")
if len(ids) != len(set(ids)) or duplicates: problems.append(f"duplicates: {duplicates}")
if set(ids) - set(accepted): problems.append(f"unexpected jobs: {sorted(set(ids) - set(accepted))}")
if any(job["status"] not in ("succeeded", "failed", "cancelled") for job in jobs): problems.append("jobs not terminal after 240 s")
if integrity != [("ok",)]: problems.append(f"integrity_check: {integrity}")
if orphans: problems.append(f"{orphans} orphan results")
if training_job["status"] != "succeeded" or training_job["attempt"] < 2:
    problems.append(f"the training run was not re-run after the kill: {training_job['status']}, attempt {training_job['attempt']}")
if served + b"\n" != local:
    problems.append(f"the re-run training result differs from initlab run's ({len(served)} vs {len(local)} bytes)")
else:
    print(f"training run re-ran from its start (attempt {training_job['attempt']}): result byte-identical to initlab run")
if problems:
    print("CRASH TEST FAILED:\n  " + "\n  ".join(problems)); sys.exit(1)
print("crash test passed")
PY
