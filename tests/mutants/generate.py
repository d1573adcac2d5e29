#!/usr/bin/env python3
"""Automatic operator mutants of src/protocols/*.rs, written in the held-out format that
tests/mutants/schemata.py compiles all at once (one build measures hundreds of mutants).

    python3 tests/mutants/generate.py [--out tests/mutants/auto-1.txt] [--max 360] \
        [--drop-from cargo-build.log ...] [--skip-fn validate --skip-fn corrupt ...]

It scans every protocol file but mod.rs, skipping comments, string literals and `#[cfg(test)]`
items, and finds lines it can rewrite as a switch without changing what surrounds them:
- `if COND {`, `} else if COND {`, `while COND {` (not `if let`) become `if (if ON { M } else
  { COND }) {`;
- `let PAT = EXPR;`, `PLACE = EXPR;`, `PLACE op= EXPR;`, `return EXPR;` become `... = if ON
  { M } else { EXPR };`;
- `field: EXPR,` inside a struct literal opened by `= Type {` or `(Type {` becomes
  `field: if ON { M } else { EXPR },`;
- an assignment or a one-line method call statement may also be skipped: `if !ON { STATEMENT }`
  (an update or a step forgotten).
In the wrapped expression one operator site is mutated: ` < `/` <= `, ` > `/` >= `, ` == `/` != `,
` && `/` || ` (spaces required, so generics, `->` and `=>` are never touched), ` + 1`/` - 1`
dropped, `.min(`/`.max(`, `saturating_sub`/`saturating_add`, `pop_front`/`pop_back`,
`push_back`/`push_front`, `is_some`/`is_none`, `true`/`false`, and a `!` before a condition
removed. One mutant per line (schemata.py allows no more): the site is chosen by a hash of the
mutant's id, so the set is the same on every run over the same code.

The scenario directories of a file are those (explore and bench excluded) with a scenario whose
`protocol:` names a protocol of the file, read from src/registry.rs and each type's `NAME`; a
file that registers none (a layer such as causal.rs) takes the protocols of the files that use
it, and a file that registers some also takes those of the files that use it directly.

`--skip-fn NAME` leaves out the bodies of functions of that name: auto-1 showed that mutants in
`validate` (bad input, which no valid scenario gives) and `Message::corrupt` (equivalent: every
protocol drops a copy whose checksum failed) only dilute a scenario-driven set.

Some mutants do not type-check. `--drop-from LOG` reads a `cargo build` log of the schemata
clone, drops every mutant on a line rustc reports as an error (or, for an error on a line no
mutant changed, the nearest mutant above it in the same file) and records those lines in the
output's `# dropped:` header, so regenerating keeps them out: repeat until the build compiles.
When there are more candidates than --max, a deterministic sample (hash order, taken round-robin
over the files so every file is represented) is kept; the sample is drawn before any drop, so
dropping never brings in a mutant that was not yet compiled.
"""
import argparse
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = "src/protocols"


def h(text):
    return hashlib.sha1(text.encode()).hexdigest()


def mask(line):
    """The line with string-literal contents and any trailing `//` comment blanked, same length."""
    out, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            out.append('"' + "_" * (min(j, n) - i - 1) + ('"' if j < n else ""))
            i = j + 1
            continue
        if line.startswith("//", i):
            out.append(" " * (n - i))
            break
        out.append(c)
        i += 1
    return "".join(out)[:n]


def balanced(text):
    depth = {"(": 0, "[": 0, "{": 0}
    close = {")": "(", "]": "[", "}": "{"}
    for c in text:
        if c in depth:
            depth[c] += 1
        elif c in close:
            depth[close[c]] -= 1
            if depth[close[c]] < 0:
                return False
    return all(v == 0 for v in depth.values())


# (name, regex on the masked text, replacement): each match is one site.
SWAPS = [
    ("lt-le", r"(?<= )<(?= )", "<="),
    ("le-lt", r"(?<= )<=(?= )", "<"),
    ("gt-ge", r"(?<= )>(?= )", ">="),
    ("ge-gt", r"(?<= )>=(?= )", ">"),
    ("eq-ne", r"(?<= )==(?= )", "!="),
    ("ne-eq", r"(?<= )!=(?= )", "=="),
    ("and-or", r"(?<= )&&(?= )", "||"),
    ("or-and", r"(?<= )\|\|(?= )", "&&"),
    ("plus1-dropped", r" \+ 1(?![\w.])", ""),
    ("minus1-dropped", r" - 1(?![\w.])", ""),
    ("min-max", r"\.min\(", ".max("),
    ("max-min", r"\.max\(", ".min("),
    ("satsub-satadd", r"\.saturating_sub\(", ".saturating_add("),
    ("front-back", r"\.pop_front\(", ".pop_back("),
    ("pushback-pushfront", r"\.push_back\(", ".push_front("),
    ("some-none", r"\.is_some\(\)", ".is_none()"),
    ("none-some", r"\.is_none\(\)", ".is_some()"),
    ("true-false", r"\btrue\b", "false"),
    ("false-true", r"\bfalse\b", "true"),
]
# A `!` that negates a condition: at the start, after `(`, `&& ` or `|| `, before a name or `(`.
NOT = re.compile(r"(?:(?<=^)|(?<=\()|(?<=&& )|(?<=\|\| ))!(?=[\w(*&])")


def sites(expr, masked, condition):
    """Every (operator, mutated expression) for one wrapped expression."""
    out = []
    for name, pat, rep in SWAPS:
        for m in re.finditer(pat, masked):
            out.append((name, expr[: m.start()] + rep + expr[m.end():]))
    if condition:
        for m in NOT.finditer(masked):
            if not masked.startswith("!=", m.start()):
                out.append(("not-dropped", expr[: m.start()] + expr[m.end():]))
    return out


COND = re.compile(r"^(\}\s*else\s+if|if|while)\s+(.*)\s\{$")
LET = re.compile(r"^(let\s+[^=]+?=\s)(.*);$")
ASSIGN = re.compile(r"^([\w.\[\]*()&, ]+?\s(?:[-+*/|&^%]|<<|>>)?=\s)(.*);$")
RETURN = re.compile(r"^(return\s)(.*);$")
FIELD = re.compile(r"^([a-z_][a-z0-9_]*:\s)(.*),$")
LITERAL_OPENER = re.compile(r"(=|\(|=>|return|,)\s*(Self|[A-Z]\w*(::[A-Z]\w*)*)\s*\{$")
CALL = re.compile(r"^(self|ctx|[a-z_][a-z0-9_]*)(\.[a-z_][a-z0-9_]*(\[[^\]]*\])?)*\.[a-z_][a-z0-9_]*\(.*\);$")
SKIP_STARTS = ("assert", "debug_assert", "#", "//", "///", "//!", "panic!", "unreachable!")


FN = re.compile(r"^(?:pub(?:\([\w:]+\))?\s+)?(?:const\s+)?fn\s+(\w+)")


def candidates(file, skip_fns=()):
    """All mutants of one file: (line number, trimmed line, op, mutated line, switch line), none
    inside a function named in `skip_fns`."""
    lines = open(os.path.join(ROOT, file)).read().splitlines()
    out, skip_depth, pending_test, seen = [], None, False, set()
    openers = []  # (brace depth at which it opened, the opening line's masked text)
    depth, last_code = 0, ""
    fns = []  # [brace depth outside it, name, body opened] of the functions the line is in
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        masked = mask(line).rstrip()
        if skip_depth is not None:
            depth += masked.count("{") - masked.count("}")
            if depth <= skip_depth:
                skip_depth = None
            continue
        if line.startswith("#[cfg(test)]"):
            pending_test = True
            continue
        if pending_test and line and not line.startswith("#"):
            pending_test = False
            if "{" in masked and masked.count("{") > masked.count("}"):
                skip_depth = depth
                depth += masked.count("{") - masked.count("}")
                continue
            if masked.endswith(";") or masked.endswith("}"):
                continue
        enclosing = openers[-1][1] if openers else ""
        named = FN.match(masked)
        if named:
            fns.append([depth, named.group(1), False])
        previous, last_code = last_code, masked if masked and not masked.startswith(("//", "#")) else last_code
        for c in masked:
            if c == "{":
                depth += 1
                openers.append((depth, masked))
            elif c == "}":
                while openers and openers[-1][0] >= depth:
                    openers.pop()
                depth -= 1
        if fns and depth > fns[-1][0]:
            fns[-1][2] = True
        skipped = any(f in skip_fns for _, f, _ in fns)
        while fns and depth <= fns[-1][0] and (fns[-1][2] or masked.endswith(";")):
            fns.pop()  # the body closed, or a declaration without one ended
        if skipped:
            continue
        commented = mask(line) != masked  # a trailing comment was blanked
        if not line or commented or line.startswith(SKIP_STARTS) or "r#" in line or "/*" in line:
            continue
        if line in seen:
            continue  # schemata.py switches the first line with this text only
        seen.add(line)
        # A statement starts a line only after one that ended a statement or opened a block
        # (otherwise the line is the tail of a statement begun above it).
        statement_start = previous.endswith((";", "{", "}")) or previous == ""
        field_start = previous.endswith((",", "{"))
        forms = []  # (is a condition, start of the expression, its end, the switch for a mutated one)
        m = COND.match(masked)
        if m:
            cm = m.group(2)
            if not re.search(r"\blet\b", cm) and "{" not in cm and balanced(cm):
                head, c = line[: m.start(2)], line[m.start(2): m.end(2)]
                forms.append((True, m.start(2), m.end(2), lambda x, c=c, head=head: f"{head}(if ON {{ {x} }} else {{ {c} }}) {{"))
        else:
            rxs = (LET, RETURN, ASSIGN) + ((FIELD,) if LITERAL_OPENER.search(enclosing) else ())
            for rx in rxs:
                m = rx.match(masked)
                if not m or not (field_start if rx is FIELD else statement_start):
                    continue
                em = m.group(2)
                if not em.strip() or "{" in em or not balanced(em) or re.search(r"\b(else|match|loop|if)\b", em):
                    break
                if rx is ASSIGN and re.match(r"(let|return|type|const|static|pub|use)\b", m.group(1)):
                    break
                head, e, tail = line[: m.start(2)], line[m.start(2): m.end(2)], line[m.end(2):]
                forms.append((False, m.start(2), m.end(2), lambda x, e=e, head=head, tail=tail: f"{head}if ON {{ {x} }} else {{ {e} }}{tail}"))
                if rx is ASSIGN:
                    out.append((no, line, "stmt-skipped", f"({line} deleted)", f"if !ON {{ {line} }}"))
                break
        if not forms and statement_start and CALL.match(masked) and balanced(masked) and "{" not in masked:
            out.append((no, line, "call-skipped", f"({line} deleted)", f"if !ON {{ {line} }}"))
        for condition, a, b, wrap in forms:
            for op, mutated in sites(line[a:b], masked[a:b], condition):
                out.append((no, line, op, line[:a] + mutated + line[b:], wrap(mutated)))
    # One mutant per line, chosen by hash.
    by_line = {}
    for c in out:
        by_line.setdefault(c[0], []).append(c)
    chosen = []
    stem = os.path.basename(file)[:-3].replace("_", "-")
    for no, cs in sorted(by_line.items()):
        cs = sorted(cs, key=lambda c: h(f"{stem}:{no}:{c[2]}:{c[3]}"))
        chosen.append((f"auto-{stem}-l{no}-{cs[0][2]}",) + cs[0])
    return chosen


def protocol_dirs():
    """file -> the scenario directories that run one of its protocols, read from the repository."""
    files = sorted(f for f in os.listdir(os.path.join(ROOT, PROTO)) if f.endswith(".rs") and f != "mod.rs")
    text = {f: open(os.path.join(ROOT, PROTO, f)).read() for f in files}
    own = {f: set() for f in files}
    registry = open(os.path.join(ROOT, "src/registry.rs")).read()
    for path in re.findall(r"with_protocol::<([\w:]+)>", registry):
        parts = path.split("::")
        f, ty = parts[-2] + ".rs", parts[-1]
        named = re.search(r'const NAME: &\'static str = "(\w+)"', text[f])
        own[f].add(named.group(1) if named else ty)  # a macro's NAME is stringify!($name)
    users = {f: {g for g in files if g != f and re.search(rf"\b(super|crate::protocols)::{f[:-3]}::", text[g])} for f in files}

    def names(f, seen):
        found = set(own[f]) | {n for g in users[f] for n in own[g]}
        if not found:
            for g in sorted(users[f] - seen):
                found |= names(g, seen | {f})
        return found

    scen = {}
    for d in sorted(os.listdir(os.path.join(ROOT, "scenarios"))):
        p = os.path.join(ROOT, "scenarios", d)
        if not os.path.isdir(p) or d in ("explore", "bench"):
            continue
        for dp, _, fs in os.walk(p):
            for x in fs:
                if x.endswith(".ron"):
                    scen.setdefault(d, []).append(open(os.path.join(dp, x)).read())
    out = {}
    for f in files:
        ns = names(f, set())
        rx = re.compile(r"protocol:\s*(" + "|".join(sorted(ns)) + r")\s*\(") if ns else None
        out[f"{PROTO}/{f}"] = [d for d in sorted(scen) if rx and any(rx.search(s) for s in scen[d])]
    return out, {f"{PROTO}/{f}": sorted(names(f, set())) for f in files}


def errors_in(log):
    """(file, line) of every rustc error's primary span in a cargo log."""
    found, in_error = [], False
    for l in open(log, errors="replace"):
        if re.match(r"^error(\[E\d+\])?:", l):
            in_error = True
        elif re.match(r"^(warning|note)", l):
            in_error = False
        m = re.match(r"^\s*--> (src/protocols/\w+\.rs):(\d+):\d+", l)
        if m and in_error:
            found.append((m.group(1), int(m.group(2))))
            in_error = False
    return found


def main():
    ap = argparse.ArgumentParser(description="Generate operator mutants of src/protocols/*.rs.")
    ap.add_argument("--out", default="tests/mutants/auto-1.txt")
    ap.add_argument("--max", type=int, default=360)
    ap.add_argument("--drop-from", action="append", default=[])
    ap.add_argument("--skip-fn", action="append", default=[], help="leave out the body of every function of this name (e.g. validate, corrupt)")
    a = ap.parse_args()
    out = os.path.join(ROOT, a.out)
    dropped = set()
    if os.path.exists(out):
        for l in open(out):
            if l.startswith("# dropped:"):
                dropped |= {(x.rsplit(":", 1)[0], int(x.rsplit(":", 1)[1])) for x in l.split()[2:]}
    dirs, names = protocol_dirs()
    per_file = {f: candidates(f, set(a.skip_fn)) for f in sorted(dirs) if dirs[f]}  # no scenario runs the others
    total = sum(len(v) for v in per_file.values())
    # The deterministic sample: operator mutants first, skipped statements at most a third; each
    # file's mutants in hash order, taken round-robin over the files.
    def round_robin(pool, n):
        queues = {f: sorted(v, key=lambda c: h(c[0])) for f, v in pool.items()}
        picked, k = [], 0
        while len(picked) < n and any(k < len(q) for q in queues.values()):
            for f in sorted(queues):
                if k < len(queues[f]) and len(picked) < n:
                    picked.append((f,) + queues[f][k])
            k += 1
        return picked

    def kind(skip):
        return {f: [c for c in v if c[3].endswith("-skipped") == skip] for f, v in per_file.items()}

    skips = round_robin(kind(True), a.max // 3)
    sample = round_robin(kind(False), a.max - len(skips))
    sample += round_robin(kind(True), a.max - len(sample))
    lines_of = {}
    for s in sample:
        lines_of.setdefault(s[0], []).append(s[2])
    for log in a.drop_from:
        for f, no in errors_in(os.path.join(ROOT, log) if not os.path.isabs(log) else log):
            near = [x for x in lines_of.get(f, []) if x <= no and no - x <= 40]
            if not near:
                print(f"error at {f}:{no} near no mutant", file=sys.stderr)
                continue
            if no not in near:
                print(f"error at {f}:{no} on no mutant line: dropping {f}:{max(near)}", file=sys.stderr)
            dropped.add((f, no if no in near else max(near)))
    kept = [s for s in sample if (s[0], s[2]) not in dropped]
    kept.sort(key=lambda s: (s[0], s[2]))
    with open(out, "w") as o:
        o.write("# Automatic operator mutants of src/protocols/*.rs, written by tests/mutants/generate.py\n")
        o.write(f"# (python3 tests/mutants/generate.py --out {a.out} --max {a.max}): {total} candidates, one per\n")
        o.write(f"# line; a deterministic sample of {len(sample)}, less {len(sample) - len(kept)} that did not compile = {len(kept)}.\n")
        o.write("# Each entry: id, file, exact trimmed original line, mutated line, scenario directories, switch.\n")
        o.write("# Protocols per file (the scenario directories are those whose scenarios name one):\n")
        for f in sorted(names):
            o.write(f"#   {f}: {' '.join(names[f]) or '-'} -> {' '.join(dirs[f]) or '-'}\n")
        o.write("# A file whose protocols no scenario directory names gets no mutants.\n")
        o.write("# dropped: " + " ".join(f"{f}:{n}" for f, n in sorted(dropped)) + "\n")
        for f, ident, no, line, op, mutated, switch in kept:
            o.write(f"\n{ident}\n{f}\n{line}\n{mutated}\n{' '.join(dirs[f])}\n{switch}\n")
    print(f"{total} candidates, {len(sample)} sampled, {len(kept)} kept, {len(dropped)} lines dropped -> {a.out}")


if __name__ == "__main__":
    main()
