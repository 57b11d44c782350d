#!/usr/bin/env bash
# bench_xapi: xAPI import rate beside the raw evidence ingestion rate, in the same run.
#
#   tests/bench/bench_xapi.sh [BIN_DIR] [N] [ROUNDS]
#
# Starts masteryd (BIN_DIR/masteryd, default build/bin) on ephemeral loopback ports with a
# temporary data directory, loads the example fractions framework, generates N (default
# 100000) xAPI statements as JSON lines and the N equivalent evidence lines (same learners,
# competencies, scores and times; ids of their own so neither run sees duplicates), and
# imports them ROUNDS times (default 3; fresh ids each round, the order of the two alternating)
# with `masteryctl xapi import` and `masteryctl evidence import`. Prints each run and the
# medians in items/s, and the ratio xapi / evidence (the goal is >= 0.5).
# Benchmarks print numbers; they never assert timings.
set -euo pipefail

BIN=${1:-build/bin}
N=${2:-100000}
ROUNDS=${3:-3}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
CTL="$BIN/masteryctl"

work=$(mktemp -d /tmp/bench_xapi.XXXXXX)
daemon_pid=
cleanup() {
    if [ -n "$daemon_pid" ]; then
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$BIN/masteryd" -d --data "$work/data" --listen 'tcp://127.0.0.1:*' \
    --events 'tcp://127.0.0.1:*' 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
    grep -q ready "$work/daemon.log" 2>/dev/null && break
    sleep 0.1
done
endpoint=$(sed -n 's/.*requests on \([^ ]*\).*/\1/p' "$work/daemon.log" | head -1)
[ -n "$endpoint" ] || { echo "masteryd did not start" >&2; cat "$work/daemon.log" >&2; exit 1; }
export MASTERYD_ENDPOINT=$endpoint
"$CTL" framework load "$SRC/schemas/examples/fractions.json" >/dev/null

cat >"$work/map.json" <<'EOF'
{"activities": {
   "https://quiz.example.org/q/equivalent": "frac.equivalent",
   "https://quiz.example.org/q/compare": "frac.compare",
   "https://quiz.example.org/q/add-like": "frac.add-like",
   "https://quiz.example.org/q/subtract-like": "frac.subtract-like",
   "https://quiz.example.org/q/add-unlike": "frac.add-unlike",
   "https://quiz.example.org/q/mixed-numbers": "frac.mixed-numbers"},
 "learners": {"account": [{"homePage": "https://lms.example.org", "use": "name"}]},
 "source": "bench"}
EOF

# gen ROUND: writes xapi-ROUND.jsonl and evidence-ROUND.jsonl (the same N observations)
gen() {
    "$PY" - "$N" "$1" "$work" <<'EOF'
import json, random, sys
n, rnd, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
comps = ["equivalent", "compare", "add-like", "subtract-like", "add-unlike", "mixed-numbers"]
r = random.Random(42)
with open(f"{work}/xapi-{rnd}.jsonl", "w") as fx, open(f"{work}/evidence-{rnd}.jsonl", "w") as fe:
    for i in range(n):
        learner = "s-%04d" % r.randrange(2000)
        comp = r.choice(comps)
        scaled = round(r.random(), 3)
        t = "2026-11-%02dT%02d:%02d:%02dZ" % (1 + i // 86400 % 28, i // 3600 % 24, i // 60 % 60, i % 60)
        sid = "%08x-%04x-4%03x-8%03x-%012x" % (int(rnd), i >> 16, i & 0xfff, r.randrange(4096), i)
        fx.write(json.dumps({
            "id": sid,
            "actor": {"objectType": "Agent", "name": learner,
                      "account": {"homePage": "https://lms.example.org", "name": learner}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/scored", "display": {"en-US": "scored"}},
            "object": {"objectType": "Activity", "id": "https://quiz.example.org/q/" + comp,
                       "definition": {"name": {"en-US": "Quiz " + comp}}},
            "result": {"score": {"scaled": scaled, "raw": scaled * 10, "min": 0, "max": 10},
                       "success": scaled >= 0.8, "completion": True},
            "context": {"platform": "bench", "contextActivities": {"grouping": [
                {"id": "https://quiz.example.org/course/fractions"}]}},
            "timestamp": t, "version": "1.0.3"}) + "\n")
        fe.write(json.dumps({
            "id": "ev-" + sid, "learner": learner, "competency": "frac." + comp,
            "score": scaled, "outcome": "passed" if scaled >= 0.8 else "failed",
            "observed_at": t, "source": "bench"}) + "\n")
EOF
}

rate() { "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d.get("statements_per_s", d.get("lines_per_s")))'; }

xr=(); er=()
for round in $(seq "$ROUNDS"); do
    gen "$round"
    run_x() { "$CTL" --json xapi import "$work/xapi-$round.jsonl" --mapping "$work/map.json" | rate; }
    run_e() { "$CTL" --json evidence import "$work/evidence-$round.jsonl" | rate; }
    if [ $((round % 2)) -eq 1 ]; then x=$(run_x); e=$(run_e); else e=$(run_e); x=$(run_x); fi
    printf 'round %d: xapi import %8.0f statements/s   evidence import %8.0f lines/s\n' \
        "$round" "$x" "$e"
    xr+=("$x"); er+=("$e")
    rm -f "$work/xapi-$round.jsonl" "$work/evidence-$round.jsonl"
done
"$PY" - "${xr[*]}" "${er[*]}" "$N" <<'EOF'
import statistics, sys
x = [float(v) for v in sys.argv[1].split()]
e = [float(v) for v in sys.argv[2].split()]
mx, me = statistics.median(x), statistics.median(e)
print(f"median of {len(x)} rounds of {sys.argv[3]}: xapi {mx:.0f} statements/s, "
      f"evidence {me:.0f} lines/s, ratio {mx / me:.2f} (goal >= 0.50)")
EOF
