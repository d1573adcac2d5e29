//! The book never lies: every command output it shows is produced here by the real
//! binary and checked in under `book/src/generated/`. A stale file fails this test;
//! `UPDATE_BOOK=1 cargo test --test book` rewrites them (read the diff before committing).

mod common;

use msgsim::export::Kind;
use msgsim::trace::EventKind;
use std::path::Path;
use std::process::Command;

/// (file under book/src/generated, msgsim arguments). Paths are relative to the crate root.
/// (`delivery-stats.txt` is not a command's output: `tests/delivery_stats.rs` writes and checks it;
/// nor are `mailbox-table.md` and `fragmentation-table.md`, which `tests/communication.rs` writes.)
const OUTPUTS: &[(&str, &[&str])] = &[
    ("quickstart-run.txt", &["run", "scenarios/quickstart.ron"]),
    ("quickstart-json.txt", &["run", "scenarios/quickstart.ron", "--json"]),
    ("quickstart-check.txt", &["check", "scenarios/quickstart.ron"]),
    ("quickstart-seed-8.txt", &["run", "scenarios/quickstart.ron", "--seed", "8"]),
    ("best-effort-loses-run.txt", &["run", "scenarios/network/best-effort-loses.ron"]),
    ("perfect-link-run.txt", &["run", "scenarios/network/perfect-link.ron"]),
    ("broken-no-checksum-run.txt", &["run", "scenarios/network/broken-no-checksum.ron"]),
    ("crash-and-partition-run.txt", &["run", "scenarios/network/crash-and-partition.ron"]),
    ("bandwidth-run.txt", &["run", "scenarios/network/bandwidth.ron"]),
    ("ring-run.txt", &["run", "scenarios/network/ring.ron"]),
    ("swarm-run.txt", &["run", "scenarios/network/swarm.ron"]),
    ("swarm-seed-2.txt", &["run", "scenarios/network/swarm.ron", "--seed", "2"]),
    ("trace-tour-run.txt", &["run", "scenarios/trace-tour.ron", "--trace", "TRACE"]),
    ("trace-tour-jsonl-run.txt", &["run", "scenarios/trace-tour.ron", "--trace", "TRACE.jsonl"]),
    ("broken-no-dedup-run.txt", &["run", "scenarios/network/broken-no-dedup.ron"]),
    ("pause-and-resume-run.txt", &["run", "scenarios/network/pause-and-resume.ron", "--trace", "TRACE"]),
    ("ring-check.txt", &["check", "scenarios/network/ring.ron"]),
    ("crash-and-partition-check.txt", &["check", "scenarios/network/crash-and-partition.ron"]),
    ("bad-unknown-field.txt", &["check", "tests/bad/unknown-field-in-links.ron"]),
    ("bad-unknown-node.txt", &["check", "tests/bad/fault-unknown-node.ron"]),
    ("bad-crash-twice.txt", &["check", "tests/bad/crash-twice.ron"]),
    ("bad-probability.txt", &["check", "tests/bad/probability-above-one.ron"]),
    ("bad-not-whole.txt", &["check", "tests/bad/count-not-whole.ron"]),
    ("bad-missing-comma.txt", &["check", "tests/bad/malformed-missing-comma.ron"]),
    ("bad-several.txt", &["check", "book/examples/several-mistakes.ron"]),
    ("bad-several-run.txt", &["run", "book/examples/several-mistakes.ron"]),
    ("every-field-check.txt", &["check", "book/examples/every-field.ron"]),
    ("rare-duplicate-sweep.txt", &["sweep", "book/examples/rare-duplicate.ron", "--seeds", "0..200"]),
    ("rare-duplicate-11-run.txt", &["run", "book/examples/rare-duplicate.ron", "--seed", "11", "--trace", "TRACE"]),
    ("rare-duplicate-sweep-json.txt", &["sweep", "book/examples/rare-duplicate.ron", "--seeds", "11..13", "--json"]),
    ("rare-duplicate-determinism.txt", &["sweep", "book/examples/rare-duplicate.ron", "--seeds", "0..200", "--check-determinism"]),
    ("rare-duplicate-11-plain-run.txt", &["run", "book/examples/rare-duplicate.ron", "--seed", "11"]),
    ("quickstart-sweep.txt", &["sweep", "scenarios/quickstart.ron", "--seeds", "0..200"]),
    (
        "rare-duplicate-11.svg",
        &["trace", "book/examples/rare-duplicate.ron", "--seed", "11", "--format", "svg", "--from", "355", "--to", "372", "-o", "OUT"],
    ),
    ("retry-tour-run.txt", &["run", "scenarios/delivery/retry-tour.ron", "--trace", "TRACE"]),
    ("breaker-run.txt", &["run", "scenarios/failure/breaker.ron"]),
    ("breaker-transitions.txt", &["trace", "scenarios/failure/breaker.ron", "--format", "text", "--node", "c0", "--kind", "breaker"]),
    (
        "breaker-opening.txt",
        &[
            "trace",
            "scenarios/failure/breaker.ron",
            "--format",
            "text",
            "--node",
            "c0",
            "--kind",
            "call,breaker",
            "--from",
            "3270",
            "--to",
            "3400",
        ],
    ),
    (
        "breaker-half-open.svg",
        &["trace", "scenarios/failure/breaker.ron", "--format", "svg", "--node", "c0,svc", "--from", "4355", "--to", "4630", "-o", "OUT"],
    ),
    ("breaker-time-window-run.txt", &["run", "scenarios/failure/breaker-time-window.ron"]),
    ("broken-never-half-open-run.txt", &["run", "scenarios/failure/broken-never-half-open.ron"]),
    ("broken-opens-below-threshold-run.txt", &["run", "scenarios/failure/broken-opens-below-threshold.ron"]),
    ("storm-run.txt", &["run", "scenarios/failure/storm.ron"]),
    ("secure-run.txt", &["run", "scenarios/security/secure.ron"]),
    ("secure-sweep.txt", &["sweep", "scenarios/security/secure.ron", "--seeds", "0..200"]),
    ("broken-unauthenticated-run.txt", &["run", "scenarios/security/broken-unauthenticated.ron"]),
    ("broken-no-replay-window-run.txt", &["run", "scenarios/security/broken-no-replay-window.ron"]),
    ("broken-plaintext-run.txt", &["run", "scenarios/security/broken-plaintext.ron"]),
    ("broken-unauthenticated-adv.txt", &["trace", "scenarios/security/broken-unauthenticated.ron", "--format", "text", "--to", "12"]),
    ("bad-adversary.txt", &["check", "tests/bad/adversary-without-bytes.ron"]),
    ("insider-run.txt", &["run", "scenarios/security/insider.ron"]),
    ("insider-adv.txt", &["trace", "scenarios/security/insider.ron", "--format", "text", "--to", "13", "--kind", "recv,deliver,adv"]),
    (
        "insider-forgery.txt",
        &["trace", "scenarios/security/insider.ron", "--format", "text", "--from", "50", "--to", "50", "--kind", "recv,deliver,adv"],
    ),
    ("broken-no-access-control-run.txt", &["run", "scenarios/security/broken-no-access-control.ron"]),
    ("broken-shared-key-run.txt", &["run", "scenarios/security/broken-shared-key.ron"]),
    (
        "broken-shared-key-forgery.txt",
        &[
            "trace",
            "scenarios/security/broken-shared-key.ron",
            "--format",
            "text",
            "--from",
            "50",
            "--to",
            "50",
            "--kind",
            "recv,deliver,adv",
        ],
    ),
    ("bad-insider.txt", &["check", "tests/bad/adversary-forbidden-by-an-admin.ron"]),
    ("detector-fixed-run.txt", &["run", "scenarios/failure/detector-fixed.ron"]),
    ("detector-fixed-suspicions.txt", &["trace", "scenarios/failure/detector-fixed.ron", "--format", "text", "--kind", "suspect,fault"]),
    (
        "detector-crash.svg",
        &["trace", "scenarios/failure/detector-fixed.ron", "--format", "svg", "--from", "6100", "--to", "6200", "-o", "OUT"],
    ),
    ("detector-phi-run.txt", &["run", "scenarios/failure/detector-phi.ron"]),
    ("broken-detector-run.txt", &["run", "scenarios/failure/broken-detector.ron"]),
    ("broken-detector-hasty-run.txt", &["run", "scenarios/failure/broken-detector-hasty.ron"]),
    ("bad-calls.txt", &["check", "tests/bad/calls-budget-without-retry.ron"]),
    ("at-most-once-run.txt", &["run", "scenarios/delivery/at-most-once.ron"]),
    ("broken-at-most-once-run.txt", &["run", "scenarios/delivery/broken-at-most-once.ron"]),
    ("at-least-once-run.txt", &["run", "scenarios/delivery/at-least-once.ron"]),
    ("broken-at-least-once-run.txt", &["run", "scenarios/delivery/broken-at-least-once.ron"]),
    ("exactly-once-run.txt", &["run", "scenarios/delivery/exactly-once.ron"]),
    ("broken-exactly-once-window-run.txt", &["run", "scenarios/delivery/broken-exactly-once-window.ron"]),
    ("broken-at-least-once-as-exactly-once-run.txt", &["run", "scenarios/delivery/broken-at-least-once-as-exactly-once.ron"]),
    ("bad-retry-cap.txt", &["check", "tests/bad/retry-cap-below-base.ron"]),
    ("rare-duplicate-11-shrunk.ron", &["shrink", "book/examples/rare-duplicate.ron", "--seed", "11", "-o", "OUT"]),
    ("rare-duplicate-11-shrunk-run.txt", &["run", "book/src/generated/rare-duplicate-11-shrunk.ron"]),
    ("trace-tour.svg", &["trace", "scenarios/trace-tour.ron", "--format", "svg", "-o", "OUT"]),
    ("quickstart-partition.svg", &["trace", "scenarios/quickstart.ron", "--format", "svg", "--from", "985", "--to", "1045", "-o", "OUT"]),
    (
        "crash-and-partition-epsilon.svg",
        &[
            "trace",
            "scenarios/network/crash-and-partition.ron",
            "--format",
            "svg",
            "--from",
            "280",
            "--to",
            "620",
            "--node",
            "epsilon",
            "-o",
            "OUT",
        ],
    ),
    ("trace-tour-mermaid.txt", &["trace", "scenarios/trace-tour.ron", "--format", "mermaid", "--from", "35", "--to", "50"]),
    ("trace-tour-shiviz.txt", &["trace", "scenarios/trace-tour.ron", "--format", "shiviz", "--to", "7"]),
    ("trace-tour-chrome.txt", &["trace", "scenarios/trace-tour.ron", "--format", "chrome", "--to", "2"]),
    ("quickstart-mermaid-refused.txt", &["trace", "scenarios/quickstart.ron", "--format", "mermaid"]),
    ("broken-best-effort-run.txt", &["run", "scenarios/ordering/broken-best-effort.ron"]),
    ("reliable-run.txt", &["run", "scenarios/ordering/reliable.ron"]),
    ("broken-reliable-no-relay-run.txt", &["run", "scenarios/ordering/broken-reliable-no-relay.ron"]),
    ("bad-settle.txt", &["check", "tests/bad/settle-negative.ron"]),
    ("bad-group-restart.txt", &["check", "tests/bad/group-restart.ron"]),
    ("fifo-run.txt", &["run", "scenarios/ordering/fifo.ron"]),
    ("broken-fifo-run.txt", &["run", "scenarios/ordering/broken-fifo.ron"]),
    ("causal-run.txt", &["run", "scenarios/ordering/causal.ron"]),
    ("broken-causal-run.txt", &["run", "scenarios/ordering/broken-causal.ron"]),
    ("broken-causal-trace.txt", &["trace", "scenarios/ordering/broken-causal.ron", "--format", "text", "--to", "10", "--node", "n2"]),
    ("sequencer-run.txt", &["run", "scenarios/ordering/sequencer.ron"]),
    ("broken-sequencer-run.txt", &["run", "scenarios/ordering/broken-sequencer.ron"]),
    ("isis-run.txt", &["run", "scenarios/ordering/isis.ron"]),
    ("broken-isis-run.txt", &["run", "scenarios/ordering/broken-isis.ron"]),
    ("atomic-run.txt", &["run", "scenarios/ordering/atomic.ron"]),
    ("broken-atomic-no-relay-run.txt", &["run", "scenarios/ordering/broken-atomic-no-relay.ron"]),
    ("views-run.txt", &["run", "scenarios/ordering/views.ron"]),
    ("views-changes.txt", &["trace", "scenarios/ordering/views.ron", "--format", "text", "--kind", "view,suspect,fault"]),
    (
        "views-second-flush.txt",
        &["trace", "scenarios/ordering/views.ron", "--format", "text", "--kind", "cmd,deliver,view", "--from", "104", "--to", "200"],
    ),
    ("broken-views-no-flush-run.txt", &["run", "scenarios/ordering/broken-views-no-flush.ron"]),
    (
        "broken-views-no-flush-a18.txt",
        &[
            "trace",
            "scenarios/ordering/broken-views-no-flush.ron",
            "--format",
            "text",
            "--kind",
            "cmd,deliver,view",
            "--from",
            "90",
            "--to",
            "102",
        ],
    ),
    ("broken-sync-deadlock-run.txt", &["run", "scenarios/communication/broken-sync-deadlock.ron", "--trace", "TRACE"]),
    ("broken-sync-deadlock.svg", &["trace", "scenarios/communication/broken-sync-deadlock.ron", "--format", "svg", "-o", "OUT"]),
    ("sync-deadlock-timeout-run.txt", &["run", "scenarios/communication/sync-deadlock-timeout.ron"]),
    ("sync-deadlock-timeout-first.txt", &["trace", "scenarios/communication/sync-deadlock-timeout.ron", "--format", "text", "--to", "50"]),
    (
        "sync-deadlock-timeout.svg",
        &["trace", "scenarios/communication/sync-deadlock-timeout.ron", "--format", "svg", "--to", "60", "-o", "OUT"],
    ),
    ("sync-deadlock-async-run.txt", &["run", "scenarios/communication/sync-deadlock-async.ron"]),
    ("broken-call-deadlock-run.txt", &["run", "scenarios/communication/broken-call-deadlock.ron", "--trace", "TRACE"]),
    ("calls-hybrid-run.txt", &["run", "scenarios/communication/calls-hybrid.ron"]),
    (
        "calls-hybrid-late.txt",
        &["trace", "scenarios/communication/calls-hybrid.ron", "--format", "text", "--from", "2", "--to", "36", "--node", "a,c"],
    ),
    ("mailbox-drop-new-run.txt", &["run", "scenarios/communication/mailbox-drop-new.ron"]),
    ("mailbox-drop-oldest-run.txt", &["run", "scenarios/communication/mailbox-drop-oldest.ron"]),
    (
        "mailbox-drop-oldest-evicted.txt",
        &["trace", "scenarios/communication/mailbox-drop-oldest.ron", "--format", "text", "--from", "14", "--to", "16"],
    ),
    ("mailbox-back-pressure-run.txt", &["run", "scenarios/communication/mailbox-back-pressure.ron"]),
    (
        "mailbox-back-pressure-room.txt",
        &["trace", "scenarios/communication/mailbox-back-pressure.ron", "--format", "text", "--from", "12.5", "--to", "17"],
    ),
    ("mailbox-priority-run.txt", &["run", "scenarios/communication/mailbox-priority.ron"]),
    ("work-queue-run.txt", &["run", "scenarios/communication/work-queue.ron"]),
    ("broken-work-queue-visibility-run.txt", &["run", "scenarios/communication/broken-work-queue-visibility.ron"]),
    (
        "broken-work-queue-visibility-a3.txt",
        &[
            "trace",
            "scenarios/communication/broken-work-queue-visibility.ron",
            "--format",
            "text",
            "--from",
            "1.2",
            "--to",
            "6.3",
            "--node",
            "w2",
        ],
    ),
    ("fragmentation-run.txt", &["run", "scenarios/network/fragmentation.ron"]),
    ("explore-at-least-once.txt", &["explore", "scenarios/explore/at-least-once.ron", "--max-faults", "4"]),
    ("explore-broken-sweep.txt", &["sweep", "scenarios/explore/broken-at-least-once.ron", "--seeds", "0..200"]),
    ("explore-broken-cex.ron", &["explore", "scenarios/explore/broken-at-least-once.ron", "--max-faults", "4", "-o", "OUT"]),
    ("explore-broken-cex-run.txt", &["run", "book/src/generated/explore-broken-cex.ron"]),
    ("explore-broken-cex.svg", &["trace", "book/src/generated/explore-broken-cex.ron", "--format", "svg", "-o", "OUT"]),
    ("explore-fifo.txt", &["explore", "scenarios/explore/broken-fifo.ron"]),
    // The ordering violations, drawn: commands and deliveries only, around the first violation.
    (
        "broken-fifo-violation.svg",
        &[
            "trace",
            "scenarios/ordering/broken-fifo.ron",
            "--format",
            "svg",
            "--kind",
            "cmd,deliver",
            "--node",
            "n0,n3",
            "--to",
            "30",
            "-o",
            "OUT",
        ],
    ),
    (
        "broken-causal-violation.svg",
        &[
            "trace",
            "scenarios/ordering/broken-causal.ron",
            "--format",
            "svg",
            "--kind",
            "cmd,deliver",
            "--node",
            "n1,n2,n3",
            "--to",
            "15",
            "-o",
            "OUT",
        ],
    ),
    (
        "broken-sequencer-violation.svg",
        &[
            "trace",
            "scenarios/ordering/broken-sequencer.ron",
            "--format",
            "svg",
            "--kind",
            "cmd,deliver",
            "--node",
            "n0,n1",
            "--to",
            "7",
            "-o",
            "OUT",
        ],
    ),
    (
        "broken-views-no-flush-change.svg",
        &[
            "trace",
            "scenarios/ordering/broken-views-no-flush.ron",
            "--format",
            "svg",
            "--kind",
            "cmd,deliver,view,suspect",
            "--node",
            "n0,n1,n4",
            "--from",
            "88",
            "--to",
            "104",
            "-o",
            "OUT",
        ],
    ),
    // The system models chapter.
    ("models-synchronous-run.txt", &["run", "book/examples/models/synchronous.ron"]),
    ("models-asynchronous-run.txt", &["run", "book/examples/models/asynchronous.ron"]),
    ("models-partially-synchronous-run.txt", &["run", "book/examples/models/partially-synchronous.ron"]),
    (
        "models-partially-synchronous-suspicions.txt",
        &["trace", "book/examples/models/partially-synchronous.ron", "--format", "text", "--kind", "suspect,fault"],
    ),
    ("models-crash-recovery-run.txt", &["run", "book/examples/models/crash-recovery.ron"]),
    (
        "models-crash-recovery-a97.txt",
        &[
            "trace",
            "book/examples/models/crash-recovery.ron",
            "--format",
            "text",
            "--kind",
            "recv,deliver,fault",
            "--node",
            "n1",
            "--from",
            "994",
            "--to",
            "1037",
        ],
    ),
    ("models-sequencer-partition-run.txt", &["run", "book/examples/models/sequencer-partition.ron"]),
    (
        "models-sequencer-partition-n1.txt",
        &[
            "trace",
            "book/examples/models/sequencer-partition.ron",
            "--format",
            "text",
            "--kind",
            "deliver",
            "--node",
            "n1",
            "--from",
            "95",
            "--to",
            "300",
        ],
    ),
    (
        "models-sequencer-partition-n3.txt",
        &[
            "trace",
            "book/examples/models/sequencer-partition.ron",
            "--format",
            "text",
            "--kind",
            "deliver",
            "--node",
            "n3",
            "--from",
            "95",
            "--to",
            "1190",
        ],
    ),
    ("explore-async-sweep.txt", &["sweep", "scenarios/explore/async-broken-duplicates.ron", "--seeds", "0..100"]),
    ("explore-async-cex.ron", &["explore", "scenarios/explore/async-broken-duplicates.ron", "--model", "async", "-o", "OUT"]),
    ("explore-async-cex-run.txt", &["run", "book/src/generated/explore-async-cex.ron"]),
    ("explore-async-cex.svg", &["trace", "book/src/generated/explore-async-cex.ron", "--format", "svg", "-o", "OUT"]),
    ("explore-async-exactly-once.txt", &["explore", "scenarios/explore/async-exactly-once.ron", "--model", "async", "--max-faults", "4"]),
    ("explore-async-fifo.txt", &["explore", "scenarios/explore/broken-fifo.ron", "--model", "async", "--max-runs", "2000"]),
    // Run viewers: the trace tour whole, and each chapter's broken scenario around its first
    // violation (a window keeps each page near 50 KB, most of it the viewer's script).
    ("trace-tour.html", &["trace", "scenarios/trace-tour.ron", "--format", "html", "-o", "OUT"]),
    ("broken-no-checksum.html", &["trace", "scenarios/network/broken-no-checksum.ron", "--format", "html", "--to", "45", "-o", "OUT"]),
    (
        "broken-at-least-once.html",
        &["trace", "scenarios/delivery/broken-at-least-once.ron", "--format", "html", "--from", "735", "--to", "800", "-o", "OUT"],
    ),
    (
        "broken-reliable-no-relay.html",
        &["trace", "scenarios/ordering/broken-reliable-no-relay.ron", "--format", "html", "--to", "40", "-o", "OUT"],
    ),
    ("broken-fifo.html", &["trace", "scenarios/ordering/broken-fifo.ron", "--format", "html", "--to", "40", "-o", "OUT"]),
    (
        "broken-never-half-open.html",
        &["trace", "scenarios/failure/broken-never-half-open.ron", "--format", "html", "--from", "4300", "--to", "4420", "-o", "OUT"],
    ),
    ("broken-sync-deadlock.html", &["trace", "scenarios/communication/broken-sync-deadlock.ron", "--format", "html", "-o", "OUT"]),
    (
        "broken-work-queue-visibility.html",
        &["trace", "scenarios/communication/broken-work-queue-visibility.ron", "--format", "html", "--to", "8", "-o", "OUT"],
    ),
    (
        "broken-unauthenticated.html",
        &["trace", "scenarios/security/broken-unauthenticated.ron", "--format", "html", "--to", "15", "-o", "OUT"],
    ),
    // The Maelstrom broadcast workload (book/src/maelstrom.md).
    ("broadcast-one-value-run.txt", &["run", "book/examples/broadcast-one-value.ron", "--trace", "TRACE"]),
    ("broadcast-one-value.svg", &["trace", "book/examples/broadcast-one-value.ron", "--format", "svg", "-o", "OUT"]),
    ("broadcast-efficiency-1-run.txt", &["run", "scenarios/maelstrom/broadcast-efficiency-1.ron"]),
    ("broadcast-efficiency-2-run.txt", &["run", "scenarios/maelstrom/broadcast-efficiency-2.ron"]),
    ("broken-broadcast-no-retry-run.txt", &["run", "scenarios/maelstrom/broken-broadcast-no-retry.ron"]),
    ("broken-broadcast-no-retry-sweep.txt", &["sweep", "scenarios/maelstrom/broken-broadcast-no-retry.ron", "--seeds", "0..25"]),
    ("broken-broadcast-gossip-ack-only-new-run.txt", &["run", "scenarios/maelstrom/broken-broadcast-gossip-ack-only-new.ron"]),
];

/// Every exercise's answer, checked by running msgsim: (chapter, answer id, msgsim arguments,
/// facts). The transcript is `generated/answer-{id}.txt`, which the chapter's answer (a
/// `<details>` block under its "Exercises") includes; every fact must appear both in that
/// transcript and in the answer's own words, so an answer cannot state a figure the tool no
/// longer gives. The scenarios an exercise asks the reader to write are in `book/examples/exercises/`.
const ANSWERS: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "quickstart.md",
        "quickstart-partition",
        &["run", "book/examples/exercises/quickstart-longer-partition.ron", "--seed", "3"],
        &["partitioned 560"],
    ),
    (
        "scenario-reference.md",
        "reference-fixed",
        &["check", "book/examples/exercises/several-mistakes-fixed.ron"],
        &["ok: \"several mistakes, fixed\", 3 nodes"],
    ),
    ("network.md", "network-bandwidth", &["run", "book/examples/exercises/bandwidth-500.ron"], &["delivered 246"]),
    (
        "network.md",
        "network-loss",
        &["sweep", "scenarios/network/best-effort-loses.ron", "--seeds", "0..100"],
        &["median 90", "9028 deliveries"],
    ),
    ("reading-a-trace.md", "trace-seed-4", &["run", "scenarios/trace-tour.ron", "--seed", "4"], &["dropped 4", "lost 2, partitioned 2"]),
    (
        "reading-a-trace.md",
        "trace-seed-4-drops",
        &["trace", "scenarios/trace-tour.ron", "--seed", "4", "--format", "text", "--kind", "drop"],
        &["m1 -> n1 Lost", "m14 -> n2 Lost"],
    ),
    (
        "delivery.md",
        "delivery-dead",
        &["run", "scenarios/delivery/at-least-once.ron", "--seed", "2"],
        &["19 dead-lettered", "3 dead-lettered undelivered"],
    ),
    ("communication.md", "communication-timeout", &["run", "book/examples/exercises/sync-deadlock-timeout-20.ron"], &["at 61.000ms"]),
    ("buffers.md", "buffers-drop-new", &["run", "scenarios/communication/mailbox-drop-new.ron", "--seed", "2"], &["delivered 116"]),
    (
        "multicast.md",
        "multicast-owed",
        &["run", "book/examples/exercises/best-effort-multicast-lossier.ron"],
        &["37 of 96 owed deliveries never happened", "lost 13"],
    ),
    (
        "ordering.md",
        "ordering-fifo-links",
        &["sweep", "book/examples/exercises/no-hold-back-fifo-links.ron", "--seeds", "0..100"],
        &["100 passed"],
    ),
    (
        "ordering.md",
        "ordering-partition",
        &["sweep", "book/examples/exercises/no-hold-back-partition.ron", "--seeds", "0..100"],
        &["1 of 100 seeds failed", "seed 83"],
    ),
    (
        "failure-handling.md",
        "failure-detector",
        &["run", "book/examples/exercises/detector-steady.ron"],
        &["mean 53.861ms", "0 false suspicions"],
    ),
    (
        "security.md",
        "security-adversary",
        &["run", "scenarios/security/broken-plaintext.ron", "--seed", "6"],
        &["41 tampered, 45 replayed, 37 forged", "none accepted"],
    ),
    ("canon.md", "canon-generals", &["run", "book/examples/exercises/two-generals-4.ron"], &["102 of 1000 plans decided differently"]),
    (
        "diagrams.md",
        "diagrams-partition",
        &["trace", "scenarios/quickstart.ron", "--format", "mermaid", "--from", "1000", "--to", "1010", "--node", "n0,n2"],
        &["p0-xp2: m1201 Partitioned"],
    ),
    ("debugging.md", "debugging-seed", &["sweep", "book/examples/rare-duplicate.ron", "--seeds", "100..200"], &["17 failed", "seed 101"]),
    ("explore.md", "explore-count", &["explore", "scenarios/explore/fifo.ron", "--latencies", "3"], &["6561 behaviours"]),
    (
        "system-models.md",
        "models-tight-timeout",
        &["run", "book/examples/exercises/models-tight-timeout.ron"],
        &["0 false suspicions", "mean 16.825ms"],
    ),
    (
        "system-models.md",
        "models-crash-stop",
        &["run", "book/examples/exercises/models-crash-stop.ron"],
        &["101 dead-lettered undelivered"],
    ),
    ("performance.md", "performance-pingpong", &["run", "book/examples/exercises/pingpong-1000.ron"], &["at 2000.000ms"]),
    (
        "maelstrom.md",
        "maelstrom-fanout-4",
        &["run", "book/examples/exercises/broadcast-fanout-4.ron"],
        &["24.00 server messages per operation", "median stable latency 400.000ms not below 400.000ms"],
    ),
];

/// Chapters without an `ANSWERS` entry, and why.
const WITHOUT_ANSWERS: &[(&str, &str)] = &[
    ("introduction.md", "it sets no exercise"),
    ("glossary.md", "an appendix"),
    ("further-reading.md", "an appendix"),
    ("real-systems.md", "an appendix"),
    ("own-protocol.md", "its exercises ask for protocols; examples/custom-protocol/tests/book.rs checks what they start from"),
    (
        "challenges.md",
        "its exercises are the challenges, judged by the reader's sweeps; examples/custom-protocol/tests/ladder.rs proves every rung",
    ),
];

/// What a reader would see in a terminal: the command, its output, its exit code.
fn transcript(args: &[&str], trace_file: &Path) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|a| match *a {
            "TRACE" => trace_file.display().to_string(),
            "TRACE.jsonl" => trace_file.with_extension("jsonl").display().to_string(),
            "OUT" => trace_file.with_extension("out").display().to_string(),
            _ => a.to_string(),
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(&args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs");
    let shown: Vec<String> = args
        .iter()
        .map(|a| match Path::new(a) {
            p if p == trace_file => "trace.txt".to_string(),
            p if p == trace_file.with_extension("jsonl") => "trace.jsonl".to_string(),
            p if p == trace_file.with_extension("out") => out_name(trace_file),
            _ => a.clone(),
        })
        .collect();
    let mut text = format!("$ msgsim {}\n", shown.join(" "));
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let code = out.status.code().expect("exited");
    if code != 0 {
        text.push_str(&format!("[exit code {code}]\n"));
    }
    text.replace(&trace_file.with_extension("out").display().to_string(), &out_name(trace_file))
}

/// An `OUT` argument (`-o OUT`) is a file the command writes: the entry's file is that
/// output, shown under the entry's name, and the transcript goes beside it with `.txt` added.
fn out_name(trace_file: &Path) -> String {
    trace_file.file_stem().expect("named after the entry").to_string_lossy().into_owned()
}

#[test]
fn generated_book_files_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("book/src/generated");
    let update = std::env::var_os("UPDATE_BOOK").is_some();
    let tmp = std::env::temp_dir().join(format!("msgsim-book-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut stale = Vec::new();
    let mut write = |name: String, text: String| {
        let path = dir.join(&name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, text).unwrap();
            } else {
                stale.push(name);
            }
        }
    };
    for (name, args) in OUTPUTS {
        let trace_file = tmp.join(format!("{name}.trace"));
        if args.contains(&"OUT") {
            let text = transcript(args, &trace_file);
            write(name.to_string(), std::fs::read_to_string(trace_file.with_extension("out")).expect("the command wrote its output"));
            write(format!("{name}.txt"), text);
        } else {
            write(name.to_string(), transcript(args, &trace_file));
        }
        if args.contains(&"TRACE") {
            let trace = std::fs::read_to_string(&trace_file).expect("the run wrote its trace");
            write(name.replace("-run.txt", "-trace.txt"), trace);
        }
        if args.contains(&"TRACE.jsonl") {
            let trace = std::fs::read_to_string(trace_file.with_extension("jsonl")).expect("the run wrote its trace");
            // The first lines are enough to show the format.
            let head: String = trace.lines().take(8).map(|l| format!("{l}\n")).collect();
            write(name.replace("-run.txt", "-trace-head.jsonl"), head);
        }
    }
    for (_, id, args, _) in ANSWERS {
        write(format!("answer-{id}.txt"), transcript(args, &tmp.join(format!("answer-{id}.trace"))));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(stale.is_empty(), "stale book files {stale:?}: run `UPDATE_BOOK=1 cargo test --test book`, read the diff, commit");
}

/// Postmortem: the introduction listed 4 of 14 chapters for a year; now every chapter in
/// SUMMARY.md must be linked from it.
#[test]
fn the_introduction_lists_every_chapter() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let summary = std::fs::read_to_string(book.join("SUMMARY.md")).expect("SUMMARY.md");
    let intro = std::fs::read_to_string(book.join("introduction.md")).expect("introduction.md");
    let chapters: Vec<&str> =
        summary.lines().filter_map(|l| l.split("](").nth(1)?.split(')').next()).filter(|c| *c != "introduction.md").collect();
    assert!(chapters.len() > 10, "SUMMARY.md lists the chapters");
    let missing: Vec<&&str> = chapters.iter().filter(|c| !intro.contains(&format!("]({c})"))).collect();
    assert!(missing.is_empty(), "chapters the introduction does not link: {missing:?}");
}

/// Every protocol and check the bundled registry knows is documented in the scenario reference
/// (by its name in backticks, alone or with its configuration), so a new one cannot ship undocumented.
#[test]
fn the_scenario_reference_names_every_bundled_protocol_and_check() {
    use msgsim::scenario::Catalog;
    let reference =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/scenario-reference.md")).expect("reference");
    let registry = msgsim::Registry::builtin();
    let names: Vec<&str> = registry.protocol_names().into_iter().chain(registry.check_names()).collect();
    let documented = |n: &str| reference.contains(&format!("`{n}`")) || reference.contains(&format!("`{n}("));
    let missing: Vec<&&str> = names.iter().filter(|n| !documented(n)).collect();
    assert!(missing.is_empty(), "names the scenario reference does not document: {missing:?}");
}

/// The chapters of SUMMARY.md, in order (file names under book/src).
fn chapters() -> Vec<String> {
    let summary = std::fs::read_to_string(book_dir().join("SUMMARY.md")).expect("SUMMARY.md");
    summary.lines().filter_map(|l| Some(l.split("](").nth(1)?.split(')').next()?.to_string())).collect()
}

fn book_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

/// The `<details>` block around `needle` in `text`: an exercise's answer.
fn answer_block<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    let at = text.find(needle)?;
    let start = text[..at].rfind("<details>")?;
    let end = at + text[at..].find("</details>")?;
    Some(&text[start..end])
}

/// Every exercise's answer says what the tool prints: each fact is in the generated transcript
/// and in the answer's prose. (`generated_book_files_are_current` keeps the transcripts current.)
#[test]
fn every_answer_states_what_the_tool_prints() {
    for (chapter, id, _, facts) in ANSWERS {
        let text = std::fs::read_to_string(book_dir().join(chapter)).expect("the chapter exists");
        let include = format!("{{{{#include generated/answer-{id}.txt}}}}");
        let block = answer_block(&text, &include).unwrap_or_else(|| panic!("{chapter}: no <details> answer includes answer-{id}.txt"));
        let transcript = std::fs::read_to_string(book_dir().join(format!("generated/answer-{id}.txt"))).expect("generated");
        let prose = block.replace(&include, "");
        for fact in *facts {
            assert!(transcript.contains(fact), "answer-{id}: msgsim no longer prints {fact:?}; rewrite the answer in {chapter}");
            assert!(prose.contains(fact), "{chapter}: the answer to answer-{id} does not state {fact:?}, which msgsim prints");
        }
    }
}

/// Postmortem: the book taught by showing and never asked; now every chapter ends with exercises
/// whose answers `every_answer_states_what_the_tool_prints` checks, and no answer goes unchecked.
#[test]
fn every_chapter_ends_with_checked_exercises() {
    for chapter in chapters() {
        let text = std::fs::read_to_string(book_dir().join(&chapter)).expect("the chapter exists");
        let answers: Vec<&str> =
            text.match_indices("generated/answer-").map(|(i, _)| &text[i + 17..]).filter_map(|t| t.split(".txt").next()).collect();
        for id in &answers {
            assert!(
                ANSWERS.iter().any(|(c, a, _, _)| *c == chapter && a == id),
                "{chapter} includes answer-{id}.txt, which ANSWERS does not check"
            );
        }
        if WITHOUT_ANSWERS.iter().any(|(c, _)| *c == chapter) {
            continue;
        }
        assert!(!answers.is_empty(), "{chapter}: no exercise with a checked answer (add one to ANSWERS, or to WITHOUT_ANSWERS with why)");
        let last_section = text.rfind("\n## ").map(|i| &text[i + 4..]).unwrap_or("");
        assert!(last_section.starts_with("Exercises"), "{chapter}: the exercises are not its last section");
    }
}

/// The title an entry of a reading list names: its first `"quoted"` or `*italic*` text.
fn title_of(entry: &str) -> Option<&str> {
    let quoted = entry.split('"').nth(1).filter(|_| entry.matches('"').count() >= 2);
    quoted.or_else(|| entry.split('*').nth(1).filter(|_| entry.matches('*').count() >= 2))
}

/// Postmortem: the further reading was one appendix by topic, so a reader finishing a chapter
/// had to search it; now every chapter with exercises lists its own reading just before them,
/// and every work it names is in the appendix, so the two cannot drift apart.
#[test]
fn every_chapter_with_exercises_has_further_reading_from_the_appendix() {
    let book = book_dir();
    let squash = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let appendix = squash(&std::fs::read_to_string(book.join("further-reading.md")).expect("further-reading.md"));
    let mut with_reading = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(book.join(&chapter)).expect("the chapter exists");
        let Some(exercises) = text.rfind("\n## Exercises") else { continue };
        let before = &text[..exercises];
        let section = &before[before.rfind("\n## ").unwrap_or(0)..];
        assert!(section.starts_with("\n## Further reading\n"), "{chapter}: the section before the exercises is not its further reading");
        let entries: Vec<String> = section.split("\n- ").skip(1).map(squash).collect();
        assert!(!entries.is_empty(), "{chapter}: its further reading lists nothing");
        for entry in &entries {
            let title = title_of(entry).unwrap_or_else(|| panic!("{chapter}: no \"title\" or *title* in {entry:?}"));
            assert!(appendix.contains(title), "{chapter}: {title:?} is not in further-reading.md; add it there too");
        }
        with_reading += 1;
    }
    assert!(with_reading > 15, "only {with_reading} chapters have exercises and reading");
}

/// The anchor mdBook gives a heading: its text without markup, lower-cased, spaces as hyphens,
/// punctuation other than `-` and `_` dropped.
fn anchor_of(heading: &str) -> String {
    let text = heading.trim_start_matches('#').trim().replace('`', "");
    text.chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// Every heading's anchor in a chapter, numbered as mdBook numbers repeats (`name`, `name-1`, ...).
fn anchors(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let base = anchor_of(line);
        let repeats =
            seen.iter().filter(|a| **a == base || a.strip_prefix(&format!("{base}-")).is_some_and(|n| n.parse::<u32>().is_ok())).count();
        seen.push(if repeats == 0 { base } else { format!("{base}-{repeats}") });
    }
    seen
}

/// The targets of a chapter's links and images (`](target)`, `src="target"`, `href="target"`),
/// outside code blocks and inline code, with the line each is on.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Inline code holds examples, not links.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        for opener in ["](", "src=\"", "href=\""] {
            for (at, _) in prose.match_indices(opener) {
                let rest = &prose[at + opener.len()..];
                let end = rest.find([')', '"', ' ']).unwrap_or(rest.len());
                targets.push((n + 1, rest[..end].to_string()));
            }
        }
    }
    targets
}

/// Postmortem: nothing checked the book's internal links, and `mdbook build` accepts a link to
/// a missing chapter or anchor; now every link and image between chapters, and every anchor,
/// must resolve, and every `{{#include}}` must name a file, without building the book or
/// touching the network.
#[test]
fn every_internal_link_and_anchor_resolves() {
    let book = book_dir();
    let mut broken = Vec::new();
    let mut files: Vec<String> = chapters();
    files.push("SUMMARY.md".to_string());
    for chapter in &files {
        let text =
            std::fs::read_to_string(book.join(chapter)).unwrap_or_else(|_| panic!("SUMMARY.md lists {chapter}, which does not exist"));
        for (line, target) in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').map_or((target.as_str(), None), |(f, a)| (f, Some(a)));
            let path = if file.is_empty() { book.join(chapter) } else { book.join(file) };
            let Ok(linked) = std::fs::read_to_string(&path).or_else(|e| if path.is_file() { Ok(String::new()) } else { Err(e) }) else {
                broken.push(format!("{chapter}:{line}: {target}: no such file"));
                continue;
            };
            if let Some(anchor) = anchor
                && !anchors(&linked).iter().any(|a| a == anchor)
            {
                broken.push(format!("{chapter}:{line}: {target}: no heading has that anchor"));
            }
        }
        for (at, _) in text.match_indices("{{#include ") {
            let rest = &text[at + 11..];
            let file = rest[..rest.find("}}").expect("closed")].split(':').next().unwrap_or_default();
            if !book.join(file).is_file() {
                broken.push(format!("{chapter}: {{{{#include {file}}}}}: no such file"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links in the book:\n{}", broken.join("\n"));
}

/// The link check's anchors are mdBook's: a heading with code, punctuation and a repeat.
#[test]
fn anchors_are_made_as_mdbook_makes_them() {
    let text = "# Top\n## `name` and `description`\n```\n# not a heading\n```\n## Lamport's total order\n## Top\n## Top\n";
    assert_eq!(anchors(text), ["top", "name-and-description", "lamports-total-order", "top-1", "top-2"]);
}

/// Examples of every kind of trace event, several forms of some (both kinds of `Deadlock` line).
/// `variant_number` is exhaustive: a new kind of event fails to compile here, and then
/// `examples_cover_every_kind_of_event` fails until it has an example, so every table below
/// learns of it.
fn example_events() -> Vec<EventKind> {
    use msgsim::id::{AppId, GroupId, MsgId, NodeId, TimerId};
    use msgsim::process::Dest;
    use msgsim::trace::*;
    let (n0, n1) = (NodeId(0), NodeId(1));
    let (app, msg) = (AppId(7), MsgId(3));
    vec![
        EventKind::Command { node: n0, app, dest: Dest::Node(n1) },
        EventKind::Command { node: n0, app, dest: Dest::Group(GroupId(0)) },
        EventKind::CommandRefused { node: n0, app },
        EventKind::Send { from: n0, to: n1, msg, size: 88 },
        EventKind::Drop { from: n0, to: n1, msg, reason: DropReason::Lost },
        EventKind::Duplicate { from: n0, to: n1, msg },
        EventKind::Corrupt { from: n0, to: n1, msg },
        EventKind::Receive { from: n0, to: n1, msg, corrupted: false },
        EventKind::Timer { node: n0, timer: TimerId(4) },
        EventKind::Deliver { node: n1, app, origin: n0, damaged: false },
        EventKind::DeadLetter { node: n0, to: n1, app },
        EventKind::Call { node: n0, app, outcome: CallOutcome::Timeout, latency_ns: 200_000_000 },
        EventKind::Breaker { node: n0, from: BreakerState::Closed, to: BreakerState::Open },
        EventKind::Suspicion { node: n0, of: n1, suspected: true },
        EventKind::View { node: n0, view: 2, members: 0b11 },
        EventKind::Adversary { action: AdversaryAction::Tamper, from: n0, to: n1, msg },
        EventKind::Block { node: n0, on: n1, reason: BlockReason::SyncSend, timeout: false },
        EventKind::Unblock { node: n0, reason: UnblockReason::Taken },
        EventKind::CallTimeout { node: n0, callee: n1, msg },
        EventKind::Deadlock { node: n0, len: 2, permanent: true },
        EventKind::Deadlock { node: n0, len: 2, permanent: false },
        EventKind::Queued { from: n0, to: n1, msg, depth: 3 },
        EventKind::Served { node: n1, msg },
        EventKind::Op { node: n0, op: 3, server: n1, outcome: OpOutcome::Invoke },
        EventKind::Fault { action: FaultAction::Crash, node: Some(n1), index: 2 },
        EventKind::Attempt { node: n0, to: n1, series: 7, attempt: 2 },
        EventKind::Answer { node: n1, to: n0, series: 7, attempt: 2 },
        EventKind::AttemptFailed { node: n0, to: n1, series: 7, attempt: 2 },
        EventKind::Ack { node: n1, to: n0, series: 7 },
    ]
}

/// How many kinds of event there are: one more than the highest `variant_number`.
const EVENT_KINDS: usize = 27;

fn variant_number(kind: &EventKind) -> usize {
    match kind {
        EventKind::Command { .. } => 0,
        EventKind::CommandRefused { .. } => 1,
        EventKind::Send { .. } => 2,
        EventKind::Drop { .. } => 3,
        EventKind::Duplicate { .. } => 4,
        EventKind::Corrupt { .. } => 5,
        EventKind::Receive { .. } => 6,
        EventKind::Timer { .. } => 7,
        EventKind::Deliver { .. } => 8,
        EventKind::DeadLetter { .. } => 9,
        EventKind::Call { .. } => 10,
        EventKind::Breaker { .. } => 11,
        EventKind::Suspicion { .. } => 12,
        EventKind::View { .. } => 13,
        EventKind::Adversary { .. } => 14,
        EventKind::Block { .. } => 15,
        EventKind::Unblock { .. } => 16,
        EventKind::CallTimeout { .. } => 17,
        EventKind::Deadlock { .. } => 18,
        EventKind::Queued { .. } => 19,
        EventKind::Served { .. } => 20,
        EventKind::Op { .. } => 21,
        EventKind::Fault { .. } => 22,
        EventKind::Attempt { .. } => 23,
        EventKind::Answer { .. } => 24,
        EventKind::AttemptFailed { .. } => 25,
        EventKind::Ack { .. } => 26,
    }
}

#[test]
fn examples_cover_every_kind_of_event() {
    let mut covered: Vec<usize> = example_events().iter().map(variant_number).collect();
    covered.dedup();
    assert_eq!(covered, (0..EVENT_KINDS).collect::<Vec<_>>(), "example_events has one kind of event or more, in variant_number's order");
}

/// An example's JSON object, as the JSON lines form writes it (without `time` and `vc`).
fn json_of(kind: &EventKind) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(kind).expect("serialisable") {
        serde_json::Value::Object(map) => map,
        other => panic!("an event serialises to an object, not {other}"),
    }
}

/// An example's text line without its time and node columns: `cmd a7 -> n1`.
fn text_of(kind: &EventKind) -> String {
    let cluster = msgsim::process::Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![("g".into(), vec![])] };
    let line = msgsim::trace::render_line(&msgsim::trace::TraceEvent { time: msgsim::time::SimTime(0), kind: *kind }, &cluster);
    let rest = line[15..].split_once(' ').map_or("", |(_, r)| r).trim_start();
    match rest.split_once(' ') {
        Some((word, details)) if !rest.starts_with("wait cycle") => format!("{word} {}", details.trim_start()),
        _ => rest.to_string(),
    }
}

/// The word a text line starts with, as the legend names it: `cmd`, `DEADLOCK`, `wait cycle`.
fn legend_word(line: &str) -> &str {
    if line.starts_with("wait cycle") { "wait cycle" } else { line.split([' ', ':']).next().unwrap_or_default() }
}

/// The JSON lines table and the `--kind` table of the book are generated from the examples:
/// what the code writes, not what someone remembered it writes.
#[test]
fn the_trace_tables_are_generated_from_the_code() {
    let examples = example_events();
    let mut fields = String::from("| `type` | Other fields | `vc` |\n|--------|--------------|------|\n");
    let mut done = Vec::new();
    for kind in &examples {
        let json = json_of(kind);
        let name = json["type"].as_str().expect("tagged").to_string();
        if !done.contains(&name) {
            // In the order the JSON lines form writes them, which the map does not keep.
            let written = serde_json::to_string(kind).expect("serialisable");
            let mut keys: Vec<&String> = json.keys().filter(|k| *k != "type").collect();
            keys.sort_by_key(|k| written.find(&format!("\"{k}\":")));
            let rest: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            let clock = if msgsim::causality::process_of(kind).is_some() { "yes" } else { "" };
            fields.push_str(&format!("| `{name}` | {} | {clock} |\n", rest.join(", ")));
            done.push(name);
        }
    }
    common::book_file_is_current("trace-json-fields.md", &fields);

    let mut kinds = String::from("| `--kind` | Text lines | JSON `type` |\n|----------|------------|-------------|\n");
    for word in Kind::ALL {
        let chosen: Vec<&EventKind> = examples.iter().filter(|k| Kind::of(k) == word).collect();
        let mut lines: Vec<String> = Vec::new();
        let mut types: Vec<String> = Vec::new();
        for kind in &chosen {
            let line = format!("`{}`", legend_word(&text_of(kind)));
            if !lines.contains(&line) {
                lines.push(line);
            }
            let ty = format!("`{}`", json_of(kind)["type"].as_str().expect("tagged"));
            if !types.contains(&ty) {
                types.push(ty);
            }
        }
        assert!(!chosen.is_empty(), "--kind {} selects no kind of event", word.name());
        kinds.push_str(&format!("| `{}` | {} | {} |\n", word.name(), lines.join(", "), types.join(", ")));
    }
    common::book_file_is_current("trace-kinds.md", &kinds);
}

/// The rows of the first table after `heading` in a chapter: cells without their backticks, `\|`
/// read as `|`.
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let at = text.find(heading).unwrap_or_else(|| panic!("no {heading:?}"));
    text[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.replace("\\|", "\u{1}")
                .split('|')
                .map(|c| c.trim().replace('`', "").replace('\u{1}', "|"))
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect()
}

/// Postmortem: the legend had no row for `adv` lines; every word a trace line can start with
/// now has a legend row, and no row names a line the code does not write.
#[test]
fn the_legend_has_a_row_for_every_line_the_code_writes() {
    let text = std::fs::read_to_string(book_dir().join("reading-a-trace.md")).expect("chapter");
    let legend: Vec<String> = table_after(&text, "### Legend").into_iter().map(|row| row[0].clone()).collect();
    let mut written: Vec<&str> = Vec::new();
    let lines: Vec<String> = example_events().iter().map(text_of).collect();
    for line in &lines {
        if !written.contains(&legend_word(line)) {
            written.push(legend_word(line));
        }
    }
    assert_eq!(legend, written, "the legend's kinds, in the order of example_events");
}

fn json_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value).expect("serialisable").as_str().expect("a name").to_string()
}

/// Every value of a field-less enum of the trace, by its number (from 0), as JSON names it.
/// The match is exhaustive: a new value fails to compile here until it is listed.
macro_rules! values {
    ($ty:ident: $($v:ident),+) => {{
        use msgsim::trace::$ty;
        let all = [$($ty::$v),+];
        for v in all {
            match v {
                $($ty::$v)|+ => {}
            }
        }
        let names: Vec<String> = all
            .iter()
            .enumerate()
            .map(|(i, v)| {
                assert_eq!(*v as usize, i, "{} listed in the order of its numbers", stringify!($ty));
                json_name(v)
            })
            .collect();
        names
    }};
}

/// The named values of each (event, field), as the code numbers them.
fn named_values() -> Vec<(&'static str, &'static str, Vec<String>)> {
    let states = values!(BreakerState: Closed, Open, HalfOpen);
    vec![
        ("Drop", "reason", values!(DropReason: Lost, Partitioned, NoLink, QueueFull, NodeDown, MailboxFull, Evicted, Late, FragmentLost)),
        ("Fault", "action", values!(FaultAction: Crash, Restart, Pause, Resume, Partition, Heal)),
        ("Call", "outcome", values!(CallOutcome: Admitted, Ok, Error, Timeout, Rejected)),
        ("Breaker", "from", states.clone()),
        ("Breaker", "to", states),
        ("Adversary", "action", values!(AdversaryAction: Eavesdrop, Leak, Drop, Tamper, Replay, Forge, Admin)),
        ("Block", "reason", values!(BlockReason: SyncSend, Call, BackPressure)),
        ("Unblock", "reason", values!(UnblockReason: Taken, Answered, TimedOut, Room)),
        ("Op", "outcome", values!(OpOutcome: Invoke, Ok, Timeout)),
    ]
}

/// The book's table of values, as (event, field, values): a row naming two fields is two.
fn book_values(text: &str) -> Vec<(String, String, Vec<String>)> {
    let mut rows = Vec::new();
    for row in table_after(text, "### Values") {
        for field in row[1].split(", ") {
            rows.push((row[0].clone(), field.to_string(), row[2].split(", ").map(str::to_string).collect()));
        }
    }
    rows
}

/// Postmortem: the JSON form's list of values, and the hash specification's, lagged the code
/// (5 drop reasons of 9); the book's table of values is now the code's, and every string field
/// the JSON form writes has a row.
#[test]
fn the_table_of_values_is_the_code_s() {
    let text = std::fs::read_to_string(book_dir().join("reading-a-trace.md")).expect("chapter");
    let book = book_values(&text);
    let code: Vec<(String, String, Vec<String>)> = named_values().into_iter().map(|(e, f, v)| (e.to_string(), f.to_string(), v)).collect();
    assert_eq!(book, code, "the table under \"### Values\" in reading-a-trace.md");
    for kind in example_events() {
        let json = json_of(&kind);
        for (field, value) in &json {
            if field != "type" && value.is_string() {
                assert!(code.iter().any(|(e, f, _)| e == &json["type"] && f == field), "no row of values for {}'s {field}", json["type"]);
            }
        }
    }
    let reasons: Vec<String> = table_after(&text, "Drop reasons:").into_iter().map(|row| row[0].clone()).collect();
    assert_eq!(reasons, code[0].2, "the drop reasons table");
}

/// Scenarios whose traces between them hold every kind of event (the hash test asserts it).
const HASHED: &[&str] = &[
    "scenarios/trace-tour.ron",
    "scenarios/network/crash-and-partition.ron",
    "scenarios/network/bandwidth.ron",
    "scenarios/delivery/at-least-once.ron",
    "scenarios/failure/breaker-on-call.ron",
    "scenarios/failure/detector-fixed.ron",
    "scenarios/security/insider.ron",
    "scenarios/communication/broken-call-deadlock.ron",
    "scenarios/communication/calls-hybrid.ron",
    "scenarios/communication/mailbox-back-pressure.ron",
    "scenarios/ordering/views.ron",
    "scenarios/workloads/closed-loop.ron",
    "book/examples/mailbox-served.ron",
];

/// A word of the hash, from a formula of the book's table (`from | to << 32`) and an event's
/// JSON object.
fn evaluate(formula: &str, event: &serde_json::Map<String, serde_json::Value>, values: &[(String, String, Vec<String>)]) -> u64 {
    let ty = event["type"].as_str().expect("tagged");
    let field = |name: &str| -> u64 {
        if let Ok(n) = name.parse::<u64>() {
            return n;
        }
        let dest = || event["dest"].as_object().and_then(|d| d.iter().next());
        match (name, &event.get(name)) {
            ("dest_kind", _) => dest().map_or(2, |(k, _)| if k == "Node" { 0 } else { 1 }),
            ("dest_id", _) => dest().map_or(0, |(_, v)| v.as_u64().expect("a number")),
            (_, Some(serde_json::Value::Null)) => u64::from(u32::MAX),
            (_, Some(serde_json::Value::Bool(b))) => u64::from(*b),
            (_, Some(serde_json::Value::Number(n))) => n.as_u64().expect("whole"),
            (_, Some(serde_json::Value::String(s))) => {
                let (_, _, names) =
                    values.iter().find(|(e, f, _)| e == ty && f == name).unwrap_or_else(|| panic!("no values for {ty}'s {name}"));
                names.iter().position(|n| n == s).unwrap_or_else(|| panic!("{ty}'s {name} has no value {s} in the book")) as u64
            }
            _ => panic!("{ty} has no field {name} (formula {formula})"),
        }
    };
    formula
        .split('|')
        .map(|term| match term.split_once("<<") {
            Some((name, shift)) => field(name.trim()) << shift.trim().parse::<u32>().expect("a shift"),
            None => field(term.trim()),
        })
        .fold(0, |acc, w| acc | w)
}

/// Postmortem: the book's hash specification covered 11 of the 23 kinds of event, so the hash
/// could not be recomputed from it. Now this test recomputes it from the book alone (the steps'
/// constants, the table of words, the table of values) over traces that hold every kind of
/// event, and compares it with the hash msgsim prints.
#[test]
fn the_trace_hash_can_be_computed_from_the_book() {
    let text = std::fs::read_to_string(book_dir().join("reading-a-trace.md")).expect("chapter");
    let (start, multiplier, mix1, mix2) =
        (0x6d73_6773_696d_2d31_u64, 0x517c_c1b7_2722_0a95_u64, 0xbf58_476d_1ce4_e5b9_u64, 0x94d0_49bb_1331_11eb_u64);
    for constant in [start, multiplier, mix1, mix2] {
        assert!(text.contains(&format!("0x{constant:016x}")), "the book states the constant 0x{constant:016x}");
    }
    let words: Vec<Vec<String>> = table_after(&text, "| Event | Tag | Word 3 | Word 4 |");
    let values = book_values(&text);
    let mut seen: Vec<String> = Vec::new();
    for scenario in HASHED {
        let run = Command::new(env!("CARGO_BIN_EXE_msgsim"))
            .args(["run", scenario])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("msgsim runs");
        let summary = String::from_utf8_lossy(&run.stdout);
        let printed = summary
            .lines()
            .find_map(|l| l.strip_prefix("trace hash "))
            .unwrap_or_else(|| panic!("{scenario}: no trace hash"))
            .trim()
            .to_string();
        let trace = Command::new(env!("CARGO_BIN_EXE_msgsim"))
            .args(["trace", scenario, "--format", "jsonl"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("msgsim runs");
        let mut h = start;
        let mut events = 0u64;
        for line in String::from_utf8_lossy(&trace.stdout).lines() {
            let event: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).expect("a JSON object per line");
            let ty = event["type"].as_str().expect("tagged").to_string();
            let row = words.iter().find(|r| r[0] == ty).unwrap_or_else(|| panic!("the hash table has no row for {ty}"));
            let time = event["time"].as_u64().expect("whole nanoseconds");
            for w in [time, evaluate(&row[1], &event, &values), evaluate(&row[2], &event, &values), evaluate(&row[3], &event, &values)] {
                h = (h.rotate_left(5) ^ w).wrapping_mul(multiplier);
            }
            events += 1;
            if !seen.contains(&ty) {
                seen.push(ty);
            }
        }
        let mut z = h ^ events;
        z = (z ^ (z >> 30)).wrapping_mul(mix1);
        z = (z ^ (z >> 27)).wrapping_mul(mix2);
        z ^= z >> 31;
        assert_eq!(format!("{z:016x}"), printed, "{scenario}: the hash computed as the book says differs from msgsim's");
    }
    let every: Vec<String> = example_events().iter().map(|k| json_of(k)["type"].as_str().expect("tagged").to_string()).collect();
    let missing: Vec<&String> = every.iter().filter(|t| !seen.contains(t)).collect();
    assert!(missing.is_empty(), "no scenario of HASHED writes {missing:?}: the book's formulas for them go untested");
}

/// Postmortem: the book said no bundled protocol set timers while six did, and later listed
/// the timer-setting ones without the six protocols added since; the list in "Reading a trace"
/// now names every bundled protocol, on one side or the other, and a timer-free one never
/// writes a `timer` line in the scenarios that run it.
#[test]
fn the_timer_list_names_every_bundled_protocol() {
    let text = std::fs::read_to_string(book_dir().join("reading-a-trace.md")).expect("chapter");
    let start = text.find("- **`t` ids are timers.**").expect("the timers bullet");
    let bullet = &text[start..start + text[start..].find("\n\n").expect("ends")];
    let (setting, free) = bullet.split_once("set timers;").expect("two sides");
    use msgsim::scenario::Catalog;
    let registry = msgsim::Registry::builtin();
    for name in registry.protocol_names() {
        let named = |side: &str| side.contains(&format!("`{name}`"));
        assert!(named(setting) != named(free), "the timers bullet names {name} on exactly one side");
    }
    for name in ["BestEffort", "AtMostOnce", "PingPong", "Gossip", "Exchange", "SecureChannel"] {
        assert!(free.contains(&format!("`{name}`")), "{name} is listed as setting no timer");
    }
    for scenario in [
        "scenarios/quickstart.ron",
        "scenarios/delivery/at-most-once.ron",
        "scenarios/communication/calls-hybrid.ron",
        "scenarios/security/secure.ron",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_msgsim"))
            .args(["trace", scenario, "--format", "text", "--kind", "timer"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("msgsim runs");
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{scenario} runs a protocol listed as setting no timer, yet writes timer lines"
        );
    }
}

/// The listing of "Debugging a failing seed", section "From Rust": the book includes it from here,
/// so it compiles and passes as shown.
#[test]
fn a_sweep_from_rust() {
    // ANCHOR: sweep_from_rust
    use msgsim::Scenario;
    use msgsim::sweep::Sweep;

    let path = "scenarios/quickstart.ron";
    let scenario = Scenario::load(path.as_ref()).unwrap();
    let report = Sweep::new(&scenario).file(path).seeds(0..100).jobs(2).run();
    report.assert_no_failures(); // no seed failed a check or panicked
    report.assert_each_seed("sends 3000 messages", |s| s.sent == Some(3000));
    assert!(report.latency.p99_ns.unwrap() <= 120_000_000);
    // ANCHOR_END: sweep_from_rust
}

/// Postmortem: renaming an output left its old file behind in `book/src/generated/`, current
/// for no one; every file there is now included by a chapter, or is the transcript of a file
/// that is (`name.svg.txt` beside `name.svg`).
#[test]
fn every_generated_file_is_used_by_the_book() {
    let book = book_dir();
    let text: String = chapters().iter().map(|c| std::fs::read_to_string(book.join(c)).expect("chapter")).collect();
    let mut unused = Vec::new();
    for entry in std::fs::read_dir(book.join("generated")).expect("generated/") {
        let name = entry.expect("listed").file_name().to_string_lossy().into_owned();
        let used = |n: &str| text.contains(&format!("generated/{n}"));
        if !used(&name) && !name.strip_suffix(".txt").is_some_and(used) {
            unused.push(name);
        }
    }
    unused.sort();
    assert!(
        unused.is_empty(),
        "files in book/src/generated that no chapter includes (delete them, or the entry that writes them): {unused:?}"
    );
}

/// The fields a part of the scenario accepts, as the parser lists them when it meets one it
/// does not know: what the reference must document.
fn accepted_fields(fragment: &str) -> Vec<String> {
    let src = format!("Scenario(name: \"x\", horizon_ms: 10, nodes: 2, protocol: BestEffort(), {fragment})");
    let error = msgsim::Scenario::parse(&src, "fields.ron").expect_err("an unknown field is refused").to_string();
    let list = error.split("expected one of: ").nth(1).unwrap_or_else(|| panic!("no list of fields in {error:?}"));
    list.split(')').next().expect("closed").split(", ").map(str::to_string).collect()
}

/// The text of a chapter from `heading` to the next heading of the same level or above.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text.find(heading).unwrap_or_else(|| panic!("no heading {heading:?}"));
    let level = heading.chars().take_while(|c| *c == '#').count();
    let rest = &text[start + heading.len()..];
    let end = rest
        .match_indices("\n#")
        .find(|(i, _)| rest[i + 1..].chars().take_while(|c| *c == '#').count() <= level)
        .map_or(rest.len(), |(i, _)| i);
    &text[start..start + heading.len() + end]
}

/// Postmortem: the reference's table of top-level fields had no row for `expect_failures`; every
/// field the parser accepts, in each part of a scenario, is now named in the section that
/// documents that part.
#[test]
fn the_reference_documents_every_field_the_parser_accepts() {
    let reference = std::fs::read_to_string(book_dir().join("scenario-reference.md")).expect("reference");
    let security = std::fs::read_to_string(book_dir().join("security.md")).expect("security");
    let parts: &[(&str, &str, &str)] = &[
        ("bogus: 1", "reference", "## Top-level fields"),
        ("network: (bogus: 1)", "reference", "## `network`"),
        ("links: [(from: \"n0\", to: \"n1\", bogus: 1)]", "reference", "## `links`"),
        ("clocks: [(bogus: 1)]", "reference", "## `clocks`"),
        ("faults: [(at_ms: 1, do: Heal, bogus: 1)]", "reference", "## `faults`"),
        ("swarm: Some((bogus: 1))", "reference", "## `swarm`"),
        ("mailboxes: [(nodes: [\"n0\"], bogus: 1)]", "reference", "## `mailboxes`"),
        ("workload: [(from: \"n0\", to: \"n1\", bogus: 1)]", "reference", "## `workload`"),
        ("limits: (bogus: 1)", "reference", "## `limits`"),
        ("replay: [(bogus: 1)]", "reference", "## `replay`"),
        ("adversary: Some((bogus: 1))", "security", "# Security"),
    ];
    let mut missing = Vec::new();
    for (fragment, chapter, heading) in parts {
        let text = if *chapter == "security" { &security } else { &reference };
        let documented = section(text, heading);
        for field in accepted_fields(fragment) {
            let named = [format!("`{field}`"), format!("`{field}:"), format!("**{field}**")];
            if !named.iter().any(|n| documented.contains(n.as_str())) {
                missing.push(format!("{heading}: `{field}`"));
            }
        }
    }
    assert!(missing.is_empty(), "fields the parser accepts and the book does not document where it should: {missing:?}");
}

/// Every option of every bundled protocol and check is named in the reference's `protocol` or
/// `checks` section, so neither can grow an option the reader never hears of.
#[test]
fn the_reference_documents_every_protocol_and_check_option() {
    use msgsim::scenario::Catalog;
    let reference = std::fs::read_to_string(book_dir().join("scenario-reference.md")).expect("reference");
    let documented = section(&reference, "## `protocol`");
    let mut missing = Vec::new();
    for protocol in msgsim::Registry::builtin().protocol_names() {
        let src = format!("Scenario(name: \"x\", horizon_ms: 10, nodes: 2, protocol: {protocol}(bogus: 1))");
        let error = msgsim::Scenario::parse(&src, "options.ron").expect_err("an unknown option is refused").to_string();
        let Some(list) = error.split("expected one of: ").nth(1) else { continue };
        for option in list.split(')').next().expect("closed").split(", ") {
            let named = [format!("`{option}`"), format!("`{option}:"), format!("{option}: ")];
            if !named.iter().any(|n| documented.contains(n.as_str())) {
                missing.push(format!("{protocol}: {option}"));
            }
        }
    }
    assert!(missing.is_empty(), "protocol options the reference's protocol section does not name: {missing:?}");
    let documented = section(&reference, "## `checks`");
    for check in msgsim::Registry::builtin().check_names() {
        let src = format!("Scenario(name: \"x\", horizon_ms: 10, nodes: 2, protocol: BestEffort(), checks: [{check}(bogus: 1)])");
        let error = msgsim::Scenario::parse(&src, "options.ron").expect_err("an unknown option is refused").to_string();
        let Some(list) = error.split("expected one of: ").nth(1) else { continue };
        for option in list.split(')').next().expect("closed").split(", ") {
            let named = [format!("`{option}`"), format!("`{option}:"), format!("{option}: ")];
            if !named.iter().any(|n| documented.contains(n.as_str())) {
                missing.push(format!("{check}: {option}"));
            }
        }
    }
    assert!(missing.is_empty(), "check options the reference's checks section does not name: {missing:?}");
}
