#!/usr/bin/env python3
"""The include graph of masteryd's targets, checked against the build graph.

Reads BUILD/layering.tsv (written by CMake: each target, its folder, the targets it links
directly) and every quoted #include in each target's folder. A header must come from the
target's own folder or from a target it links *directly*: leaning on what a dependency happens
to link is refused, so the link lines in CMake are the complete dependency table.

    layering.py BUILD            check; exit 1 and name every offending include
    layering.py BUILD --table    per target: direct links, and the targets its includes use
    layering.py BUILD --dot      the include graph as Graphviz (dot -Tsvg > layers.svg)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Symbols that only their owner may use, so one module keeps each concern: LMDB keys and
# record layouts belong to records.c (the store's own file defines them).
OWNED = [
    (re.compile(r"\b(store_key_\w+|store_get|store_put|store_del|store_iter_\w+|store_last|"
                r"store_count|STORE_DB_\w+|STORE_APPEND)\b"),
     {"records.c", "records.h", "store.c", "store.h"}, "the stored layout belongs to daemon/records.c"),
]


def load(build):
    targets = {}
    with open(os.path.join(build, "layering.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, folder, links = (line.rstrip("\n").split("\t") + [""])[:3]
            targets[name] = (folder, links.split())
    return targets


def headers_of(targets):
    """Which target owns each header name (generated protobuf headers belong to mastery_proto)."""
    owner = {}
    for name, (folder, _) in targets.items():
        for fn in os.listdir(folder):
            if fn.endswith(".h"):
                owner.setdefault(fn, set()).add(name)
    return owner


def sources_of(folder, target, targets):
    """The C files a target is built from: its folder, less files of other targets there.

    Most targets own their folder (lib/*, clients/masteryctl/). daemon/ holds two targets;
    clients/ holds single-file programs (mastery-verify.c), named by their target."""
    files = sorted(f for f in os.listdir(folder) if f.endswith((".c", ".h")))
    if target == "masteryd":
        return ["main.c"]
    if target == "masteryd_core":
        return [f for f in files if f != "main.c"]
    if os.path.basename(folder) == "clients":
        stem = target
        return [f for f in files if f.startswith(stem + ".") or f.startswith(stem.replace("-", "_") + "_")]
    return files


def analyse(targets):
    owner = headers_of(targets)
    problems, uses = [], {}
    for name, (folder, links) in targets.items():
        if name == "mastery_proto":
            continue
        allowed = {name} | set(links)
        if name == "masteryd":
            allowed.add("masteryd_core")
        used = set()
        sources = sources_of(folder, name, targets)
        if not sources:
            # A target whose files moved must not pass by having nothing to check.
            problems.append(f"{folder}: no C files of {name} found")
        for fn in sources:
            text = open(os.path.join(folder, fn), encoding="utf-8").read()
            for inc in INCLUDE.findall(text):
                if inc.startswith("mastery/v1/"):
                    who = {"mastery_proto"}
                elif "/" in inc:
                    problems.append(f"{folder}/{fn}: #include \"{inc}\": a path into another folder")
                    continue
                else:
                    who = owner.get(inc, set())
                if not who:
                    problems.append(f"{folder}/{fn}: #include \"{inc}\": no target owns it")
                    continue
                if name in who:
                    continue
                ok = who & allowed
                if not ok:
                    problems.append(f"{folder}/{fn}: #include \"{inc}\" belongs to "
                                    f"{'/'.join(sorted(who))}, which {name} does not link")
                else:
                    used |= ok
        uses[name] = used
        if name == "masteryd_core":
            for fn in sources_of(folder, name, targets):
                text = open(os.path.join(folder, fn), encoding="utf-8").read()
                for pattern, owners, why in OWNED:
                    if fn in owners:
                        continue
                    for m in sorted(set(pattern.findall(text))):
                        problems.append(f"{folder}/{fn}: uses {m}: {why}")
    return problems, uses


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    targets = load(argv[1])
    problems, uses = analyse(targets)
    ours = set(targets)
    if "--table" in argv:
        for name in sorted(targets):
            links = [l for l in targets[name][1] if l in ours]
            ext = [l.replace("PkgConfig::", "") for l in targets[name][1] if l not in ours]
            print(f"{name:16} links {' '.join(links) or '-'}"
                  f"{'  (+ ' + ' '.join(ext) + ')' if ext else ''}")
            if name in uses:
                print(f"{'':16} includes from {' '.join(sorted(uses[name])) or '-'}")
    if "--dot" in argv:
        print("digraph masteryd {\n  rankdir=BT; node [shape=box];")
        for name in sorted(uses):
            for dep in sorted(uses[name]):
                print(f'  "{name}" -> "{dep}";')
        print("}")
    for p in problems:
        print("layering:", p, file=sys.stderr)
    if problems:
        print(f"layering: {len(problems)} include(s) outside the build graph", file=sys.stderr)
        return 1
    if "--table" not in argv and "--dot" not in argv:
        print(f"layering: {len(targets)} targets, every include within a direct dependency")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
