#!/usr/bin/python3
"""A quiz engine posting its results to masteryd.

Grades quiz submissions (JSON lines: {"submission", "learner", "submitted_at", "answers":
{question: answer}}) against a quiz ({"id", "framework", "questions": [{"id", "competency",
"answer"}]}), sends one evidence item per answered question (score 1 or 0, outcome passed or
failed) and prints what each learner has mastered. Without --quiz/--responses it grades a
built-in fractions quiz (schemas/examples/fractions.json; load it with --load-framework).

Evidence ids are "<quiz>/<submission>/<question>", so running it twice stores nothing twice:
the second run reports every item as a duplicate.

Exit status: 0 every item stored, 1 some item refused, 2 usage or key file errors, 3 the
daemon could not be reached. With a secure daemon, pass this tool's key file and the daemon's
public key, as for masteryctl: -k quiz.key --server-key curve.key.pub.
"""
import argparse
import json
import os
import sys

try:
    import masteryd_client
except ImportError:  # run from a checkout: the package is beside this directory
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import masteryd_client

DEMO_QUIZ = {
    "id": "quiz-2026-11-23-fractions",
    "framework": "urn:example:math:fractions-g5",
    "questions": [
        {"id": "q1", "competency": "frac.equivalent", "answer": "2/4"},
        {"id": "q2", "competency": "frac.equivalent", "answer": "6/9"},
        {"id": "q3", "competency": "frac.equivalent", "answer": "3/12"},
        {"id": "q4", "competency": "frac.add-like", "answer": "5/7"},
        {"id": "q5", "competency": "frac.add-like", "answer": "1"},
    ],
}
DEMO_RESPONSES = [
    {"submission": "s-1001-a1", "learner": "s-1001", "submitted_at": "2026-11-23T09:05:00Z",
     "answers": {"q1": "2/4", "q2": "6/9", "q3": "3/12", "q4": "5/7", "q5": "1"}},
    {"submission": "s-1002-a1", "learner": "s-1002", "submitted_at": "2026-11-23T09:06:30Z",
     "answers": {"q1": "2/4", "q2": "4/6", "q3": "1/4", "q4": "5/14"}},
]


def grade(quiz, responses):
    """One evidence dict per answered question."""
    items = []
    for r in responses:
        for q in quiz["questions"]:
            if q["id"] not in r["answers"]:
                continue
            right = str(r["answers"][q["id"]]).strip() == q["answer"]
            items.append({"evidence_id": "%s/%s/%s" % (quiz["id"], r["submission"], q["id"]),
                          "learner": r["learner"], "competency": q["competency"],
                          "score": 1.0 if right else 0.0, "outcome": "passed" if right else
                          "failed", "observed_at": r["submitted_at"]})
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-e", "--endpoint", help="request endpoint (env MASTERYD_ENDPOINT)",
                    default=os.environ.get("MASTERYD_ENDPOINT") or
                    masteryd_client.DEFAULT_ENDPOINT)
    ap.add_argument("-k", "--key", metavar="FILE", default=os.environ.get("MASTERYD_KEY"),
                    help="this tool's CURVE secret key, from masteryctl keygen (env MASTERYD_KEY)")
    ap.add_argument("--server-key", metavar="FILE",
                    default=os.environ.get("MASTERYD_SERVER_KEY"),
                    help="the daemon's public key, curve.key.pub (env MASTERYD_SERVER_KEY)")
    ap.add_argument("--load-framework", metavar="FILE", help="load this framework first")
    ap.add_argument("--quiz", metavar="FILE", help="the quiz (JSON)")
    ap.add_argument("--responses", metavar="FILE", help="submissions (JSON lines)")
    ap.add_argument("-t", "--timeout", type=float, default=5.0, help="seconds per attempt")
    args = ap.parse_args()

    quiz, responses = DEMO_QUIZ, DEMO_RESPONSES
    if args.quiz:
        with open(args.quiz) as f:
            quiz = json.load(f)
    if args.responses:
        with open(args.responses) as f:
            responses = [json.loads(line) for line in f if line.strip()]
    keys = None
    if args.key or args.server_key:
        if not (args.key and args.server_key):
            ap.error("--key and --server-key go together")
        try:
            keys = masteryd_client.curve_keys_from_files(args.key, args.server_key)
        except (OSError, ValueError) as e:
            print("quiz_tool: %s" % e, file=sys.stderr)
            return 2

    try:
        with masteryd_client.Client(args.endpoint, curve_keys=keys, timeout=args.timeout,
                                    source="quiz-tool") as md:
            if args.load_framework:
                info = md.load_framework(args.load_framework)
                print("framework %s revision %d" % (info.framework, info.revision))
            results = md.submit_batch(grade(quiz, responses))
            print("%d stored, %d already stored, %d refused"
                  % (results.accepted, results.duplicates, len(results.rejected)))
            for r in results.rejected:
                print("  refused %s: %s" % (r.evidence_id, r.error), file=sys.stderr)
            for learner in sorted({r["learner"] for r in responses}):
                try:
                    state = md.learner_state(learner, quiz["framework"])
                except masteryd_client.ForbiddenError:
                    break   # a secure daemon lets a tool key submit, not read learners
                mastered = sorted(c for c, s in state.statuses().items() if s == "MASTERED")
                print("%s mastered: %s" % (learner, ", ".join(mastered) or "-"))
    except masteryd_client.ConnectionTimeout as e:
        print("quiz_tool: %s" % e, file=sys.stderr)
        return 3
    except masteryd_client.MasterydError as e:
        print("quiz_tool: %s" % e, file=sys.stderr)
        return 1
    return 1 if results.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
