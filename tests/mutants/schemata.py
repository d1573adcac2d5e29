#!/usr/bin/env python3
"""Mutant schemata for tests/mutants/held-out.txt: every mutant compiled into one binary and
chosen at run time by MSGSIM_MUTANT=id, so the whole set is measured after one build instead
of one build per mutant. Apply to a scratch clone only, never to the working tree:

    git clone . /tmp/schema && python3 tests/mutants/schemata.py /tmp/schema
    (cd /tmp/schema && cargo build --bin msgsim --profile mutants)
    python3 tests/mutants/schemata.py --drive /tmp/schema 0..20 [ID ...]

Each entry of S is a mutant's line written as a switch (ON is replaced by the test of
MSGSIM_MUTANT); a mutant whose line changed in the code stops the script with its id. A
mutant is caught when a sweep of one of its scenario directories (bench excluded) exits 1 (a
check failed that the scenario does not expect to fail, or an expected failure happened on no
seed) and the same sweep with MSGSIM_MUTANT=none (the same seeds) exits 0: a scenario that does
not pass unmutated (the explore/ ones made for `msgsim explore`, whose declared failure a sweep
seldom hits) judges nothing, so it is skipped. That baseline is swept at most once per scenario
per drive, and only for a scenario some mutant fails. A sweep that runs past TIMEOUT_S or exits
otherwise (3: a seed hit an error, such as a protocol panic; 2: bad input) is not a catch: the
drive names it on the mutant's line and goes on to the next scenario.

`--file tests/mutants/held-out-2.txt` (before the other arguments, in both steps) takes
another set whose entries carry their switch as a sixth line; a set is applied to a clone
of its own, since each application appends `mutant_on` to src/protocols/mod.rs.
"""
import glob, os, subprocess, sys

TIMEOUT_S = 900
SET = "tests/mutants/held-out.txt"
if len(sys.argv) > 2 and sys.argv[1] == "--file":
    SET = sys.argv[2]
    del sys.argv[1:3]

def sweep(binary, sc, seeds, env, root):
    try:
        return subprocess.run([binary, "sweep", sc, "--seeds", seeds], capture_output=True, text=True, env=env, cwd=root, timeout=TIMEOUT_S).returncode
    except subprocess.TimeoutExpired:
        return "timeout"

def drive(root, seeds, only):
    binary = f"{root}/target/mutants/msgsim"
    blocks = [b for b in open(f"{root}/{SET}").read().split("\n\n") if b.strip()]
    baseline = {}  # scenario -> the unmutated sweep's exit code (or "timeout"), swept lazily
    def passes_unmutated(sc):
        if sc not in baseline:
            baseline[sc] = sweep(binary, sc, seeds, dict(os.environ, MSGSIM_MUTANT="none"), root)
        return baseline[sc] == 0
    caught = judged = 0
    for b in blocks:
        L = [l for l in b.splitlines() if not l.startswith("#")]
        if not L:
            continue
        ident, dirs = L[0], [d for d in L[4].split() if d != "bench"]
        if only and ident not in only:
            continue
        if not dirs:
            print(f"{ident}: bench only, not judged", flush=True)
            continue
        env = dict(os.environ, MSGSIM_MUTANT=ident)
        by, notes = None, []
        for d in dirs:
            for sc in sorted(glob.glob(f"{root}/scenarios/{d}/**/*.ron", recursive=True)):
                rc = sweep(binary, sc, seeds, env, root)
                if rc == 0:
                    continue
                name = sc.replace(root + "/", "")
                if not passes_unmutated(sc):
                    notes.append(f"{name} skipped (fails unmutated: {baseline[sc]})")
                elif rc == 1:
                    by = name
                    break
                else:
                    notes.append(f"{name} " + ("timed out" if rc == "timeout" else f"exited {rc}"))
            if by:
                break
        judged += 1
        caught += bool(by)
        print(f"{ident}: " + (f"caught by {by}" if by else "SURVIVED") + "".join(f"; {n}" for n in notes), flush=True)
    print(f"score: {caught} of {judged} caught (seeds {seeds})", flush=True)

if sys.argv[1] == "--drive":
    drive(sys.argv[2], sys.argv[3], set(sys.argv[4:]))
    sys.exit(0)
root = sys.argv[1]
S = {
"fifo-seq-starts-at-one": "let body = Numbered { seq: if ON { *seq + 1 } else { *seq }, payload };",
"causal-merge-overwrites": "*m = if ON { *t } else { (*m).max(*t) };",
"causal-knowledge-shared-across-dests": "let known = net.stamp.0.entry(if ON { Dest::All } else { dest }).or_insert_with(|| vec![0; n]);",
"sequencer-no-deliver-on-app": "if !ON { self.deliver_ready(ctx, dest); }",
"sequencer-orders-keyed-on-all": "self.orders.insert((if ON { Dest::All } else { dest }, n), of);",
"isis-agreed-ts-not-applied": "if !ON { q.ts = ts; }",
"isis-proposal-tagged-with-origin": "let ts = (self.clock, if ON { key.0 } else { ctx.me() });",
"rmcast-no-self-delivery": "if !ON { self.receive(net, ctx, key, dest, payload); }",
"group-ack-to-origin": "ctx.send_ack(if ON { key.0 } else { from }, Wire::Ack { key, stamp: self.net.stamp.clone() }, series(key));",
"group-ack-clears-origin-entry": "if let Some(o) = self.net.outstanding.remove(&(key, if ON { key.0 } else { from })) {",
"group-backoff-never-grows": "o.backoff_ns = if ON { self.retry.base_ns } else { self.retry.next_backoff(o.backoff_ns) };",
"group-timer-not-rearmed": "if !ON { o.timer = ctx.set_timer(wait, Resend { key, to }); }",
"views-seen-not-cleared": "if !ON { self.seen.clear(); }",
"views-frozen-not-reset": "if !ON { self.frozen = false; }",
"views-flushok-not-merged": "if !ON { f.collected.extend(unstable.into_iter().map(|e| (e.key, e))); }",
"views-rank-over-trusted": "let rank = u64::from(((if ON { self.trusted() } else { self.members }) & (bit(me) - 1)).count_ones());",
"alo-jitter-replaces-wait": "if spread == 0 { backoff } else if ON { ctx.rng().between(0, spread) } else { backoff.saturating_add(ctx.rng().between(0, spread)) }",
"alo-cap-as-floor": "if ON { u64::try_from(grown).unwrap_or(u64::MAX).max(self.cap_ns) } else { u64::try_from(grown).unwrap_or(u64::MAX).min(self.cap_ns) }",
"alo-ack-keyed-on-self": "if let Some(o) = self.outstanding.remove(&(key, if ON { ctx.me() } else { from })) {",
"amo-id-not-recorded": "if self.dedup && (if ON { self.delivered.contains(&payload.id) } else { !self.delivered.insert(payload.id) }) {",
"eo-evicts-newest": "self.keys.remove(if ON { &key } else { &oldest });",
"eo-key-not-recorded": "if (if ON { self.keys.contains(&key) } else { !self.keys.insert(key) }) {",
"best-effort-group-as-broadcast": "Dest::Group(g) => if ON { ctx.broadcast(msg) } else { ctx.multicast(g, msg) },",
"pingpong-extra-round": "Ball::Pong(n) if (if ON { n < self.round_trips } else { n + 1 < self.round_trips }) => ctx.send(incoming.from, Ball::Ping(n + 1)),",
"breaker-half-open-admits-extra": "BreakerState::HalfOpen if (if ON { self.admitted <= self.cfg.half_open_calls } else { self.admitted < self.cfg.half_open_calls }) => {",
"breaker-window-not-cleared": "if !ON { self.window.clear(); }",
"breaker-admitted-not-reset": "if ON { (self.done, self.failed, self.slow) = (0, 0, 0); } else { (self.admitted, self.done, self.failed, self.slow) = (0, 0, 0, 0); }",
"calls-first-backoff-off-by-one": "let wait = r.jitter.next_wait(&r.policy, &mut p.backoff_ns, p.attempt == (if ON { 1 } else { 2 }), ctx);",
"calls-stale-response-accepted": "let Some(p) = c.pending.get_mut(&call).filter(|p| (ON || p.attempt == attempt) && p.timer.is_some()) else { return };",
"detector-deadline-not-cancelled": "if !ON { ctx.cancel_timer(t); }",
"detector-phi-std-floor-as-cap": "let std = if ON { std.min(min_std_ns) } else { std.max(min_std_ns) };",
"detector-phi-variance-not-rooted": "(mean as u64, if ON { variance as u64 } else { variance.isqrt() as u64 })",
"secure-open-key-swapped": "let key = if ON { self.keys.pair(to, from) } else { self.keys.pair(from, to) };",
"secure-late-arrival-not-recorded": "if !ON { self.seen |= 1 << age; }",
"secure-replay-of-highest": "if (if ON { seq >= self.highest } else { seq > self.highest }) {",
"secure-access-checks-receiver": "if self.access.as_ref().is_none_or(|a| !a.enforce || a.permits(if ON { ctx.me() } else { incoming.from }, kind)) {",
"service-operations-off-by-one": "if (if ON { c.ended > self.spec.operations } else { c.ended >= self.spec.operations }) {",
"service-timeout-not-removed": "let Some((server, _)) = (if ON { c.pending.get(&op).copied() } else { c.pending.remove(&op) }) else { return };",
"service-server-ignores-busy": "if (s.busy && !ON) || s.queue.is_empty() {",
"work-queue-visibility-wrong-handout": "ctx.set_timer(self.spec.visibility_ns, Timer::Visibility(task.id, if ON { 0 } else { self.handouts }));",
"work-queue-expired-not-requeued": "if !ON { self.queue.push_front(task); }",
"work-queue-idle-duplicated": "if (ON || !self.idle.contains(&from)) && !self.out.values().any(|(c, _, _)| *c == from) {",
"pubsub-subscribe-delay-absolute": "ctx.set_timer(if ON { s.from_ns } else { s.from_ns - now }, Change { topic: s.topic, subscribe: true });",
"pubsub-unsubscribe-delay-absolute": "ctx.set_timer(if ON { s.until_ns } else { s.until_ns - now }, Change { topic: s.topic, subscribe: false });",
"pubsub-forward-unchecked": "if !incoming.checksum_ok && !(ON && matches!(incoming.msg, PubSubMsg::Forward(_))) {",
"exchange-priority-of-recipient": "let msg = Wire::Data { payload, priority: self.spec.priority[if ON { to.index() } else { ctx.me().index() }] };",
"exchange-call-wait-not-serialised": "if ON { matches!(self.spec.mode, Mode::Sync { .. }) } else { matches!(self.spec.mode, Mode::Sync { .. } | Mode::Call { wait: true, .. }) }",
"exchange-no-checksum-test": "if !ON && !incoming.checksum_ok {",
"gossip-peer-pick-off-by-one": "let to = NodeId(if (if ON { pick > me } else { pick >= me }) { pick + 1 } else { pick });",
"gossip-rounds-learn-not-recorded": "if (if ON { !self.known.contains_key(&p.id) } else { self.known.insert(p.id, p).is_none() }) {",
"rumour-ticking-not-reset": "if !ON { self.ticking = false; }",
"rumour-lose-interest-inverted": "if ON { ctx.rng().below(self.k) != 0 } else { ctx.rng().below(self.k) == 0 }",
"lamport-clock-not-merged": "self.clock = if ON { self.clock + 1 } else { self.clock.max(ts) + 1 };",
"lamport-latest-keyed-on-me": "self.latest.insert(if ON { me } else { origin }, ts);",
"lamport-early-next-not-advanced": "if !ON { *self.next.get_mut(&origin).expect(\"present\") += 1; }",
"two-generals-expected-off-by-one": "(r, _) => if ON { r + 1 } else { r + 2 },",
"two-generals-parity-swapped": "let parity = if commander != ON { 0 } else { 1 };",
"two-generals-extra-round": "if (if ON { round <= self.rounds } else { round < self.rounds }) {",
}
blocks = [b for b in open(f"{root}/{SET}").read().split("\n\n") if b.strip()]
files = {}
for b in blocks:
    L = [l for l in b.splitlines() if not l.startswith("#")]
    if not L: continue
    ident, file, old = L[0], L[1], L[2]
    if len(L) > 5:
        assert ident not in S, f"two switches for {ident}"
        S[ident] = L[5]
    files.setdefault(file, []).append((ident, old))
missing = set(S) ^ {i for v in files.values() for i, _ in v}
if SET != "tests/mutants/held-out.txt":
    missing -= set(S) - {i for v in files.values() for i, _ in v}
assert not missing, missing
for file, ms in files.items():
    path = f"{root}/{file}"
    lines = open(path).read().splitlines(keepends=True)
    orig = list(lines)
    for ident, old in ms:
        hits = [i for i, l in enumerate(orig) if l.strip() == old]
        assert hits, ident
        i = hits[0]
        assert lines[i] == orig[i], f"two mutants on one line: {ident}"
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = indent + S[ident].replace("ON", f'crate::protocols::mutant_on("{ident}")') + "\n"
    open(path, "w").write("".join(lines))
with open(f"{root}/src/protocols/mod.rs", "a") as f:
    f.write('''
/// Scratch mutant schemata: the mutant named by MSGSIM_MUTANT is on.
pub(crate) fn mutant_on(id: &str) -> bool {
    static M: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    M.get_or_init(|| std::env::var("MSGSIM_MUTANT").unwrap_or_default()) == id
}
''')
print("ok", sum(len(v) for v in files.values()))
