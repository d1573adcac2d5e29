#!/usr/bin/env python3
"""Mutation testing of src/protocols/ against the scenario library, by hand (not in CI).

Each mutant in mutants.txt is one realistic one-line bug. For each: apply it, build the
release binary, sweep every scenario of the mutant's directories over SEEDS, revert. A
mutant is *caught* if some sweep exits non-zero (a check failed that the scenario does not
expect to fail, an expected failure never happened, or a seed panicked), or if it does
not build. Usage, from the repository root:

    python3 tests/mutants/run.py [--file tests/mutants/mutants.txt] [--seeds 0..50] [--only ID ...]

It builds with the `mutants` profile (release without LTO, incremental), so a one-line
change rebuilds in seconds and sweeps run at nearly release speed.

The tree must be clean in src/protocols/ (the script restores each file it touched).
"""
import argparse, glob, subprocess, sys

def mutants(path):
    blocks = [b for b in open(path).read().split("\n\n") if b.strip()]
    for b in blocks:
        lines = [l for l in b.splitlines() if not l.startswith("#")]
        if not lines:
            continue
        ident, file, old, new, dirs = lines[0], lines[1], lines[2], lines[3], lines[4].split()
        yield ident, file, old, new, dirs

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0..50")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--file", default="tests/mutants/mutants.txt")
    args = ap.parse_args()
    build = ["cargo", "build", "-q", "--bin", "msgsim", "--profile", "mutants"]
    binary = "target/mutants/msgsim"
    results = []
    for ident, file, old, new, dirs in mutants(args.file):
        if args.only and ident not in args.only:
            continue
        src = open(file).read()
        hits = [i for i, l in enumerate(src.splitlines()) if l.strip() == old]
        if not hits:
            print(f"{ident}: line not found in {file}", file=sys.stderr)
            results.append((ident, "stale"))
            continue
        lines = src.splitlines(keepends=True)
        i = hits[0]
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = indent + new + "\n"
        open(file, "w").write("".join(lines))
        try:
            built = subprocess.run(build, capture_output=True, text=True)
            if built.returncode != 0:
                results.append((ident, "caught (does not build)"))
                continue
            caught_by = None
            for d in dirs:
                for scenario in sorted(glob.glob(f"scenarios/{d}/**/*.ron", recursive=True)):
                    r = subprocess.run([binary, "sweep", scenario, "--seeds", args.seeds],
                                       capture_output=True, text=True)
                    if r.returncode != 0:
                        caught_by = scenario
                        break
                if caught_by:
                    break
            results.append((ident, f"caught by {caught_by}" if caught_by else "SURVIVED"))
        finally:
            open(file, "w").write(src)
        print(f"{ident}: {results[-1][1]}", flush=True)
    caught = sum(1 for _, r in results if r.startswith("caught"))
    judged = sum(1 for _, r in results if r != "stale")
    print(f"score: {caught} of {judged} caught (seeds {args.seeds})")
    subprocess.run(build)

if __name__ == "__main__":
    main()
