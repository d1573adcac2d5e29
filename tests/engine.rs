//! Engine behaviour: partitions, crashes and restarts, pauses, clock drift and run limits,
//! each checked against the exact trace events the simulator records.

use msgsim::check::EndReason;
use msgsim::id::NodeId;
use msgsim::process::{Command, Ctx, Dest, Incoming, Message, Process};
use msgsim::sim::{RunResult, run_catching};
use msgsim::time::SimTime;
use msgsim::trace::{DropReason, EventKind, FaultAction, TraceEvent};
use msgsim::{RunOptions, Scenario};

/// A message whose wire size carries a number, so tests can read process state from `Send` events.
#[derive(Clone, Debug)]
struct Probe(u32);

impl Message for Probe {
    fn wire_size(&self) -> u32 {
        self.0
    }
    fn corrupt(&mut self) {}
}

/// Test process: at start, sets a timer `timer_ms` (local time) away; when it fires,
/// sends `Probe(received)` to the next node and re-arms. Counts what it receives.
struct Ticker {
    timer_ms: u64,
    received: u32,
    periodic: bool,
}

impl Process for Ticker {
    type Msg = Probe;
    type Timer = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Probe, ()>) {
        if self.timer_ms > 0 {
            ctx.set_timer(self.timer_ms * 1_000_000, ());
        }
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Probe, ()>, cmd: Command) {
        let Command::Send { dest, .. } = cmd;
        match dest {
            Dest::Node(to) => ctx.send(to, Probe(1)),
            Dest::Group(g) => ctx.multicast(g, Probe(1)),
            Dest::All => ctx.broadcast(Probe(1)),
        }
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, Probe, ()>, _incoming: Incoming<Probe>) {
        self.received += 1;
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Probe, ()>, _timer: ()) {
        let next = NodeId((ctx.me().0 + 1) % ctx.cluster().len() as u32);
        ctx.send(next, Probe(self.received));
        if self.periodic {
            ctx.set_timer(self.timer_ms * 1_000_000, ());
        }
    }
}

fn scenario(body: &str) -> Scenario {
    let src = format!("Scenario(name: \"test\", protocol: BestEffort(), {body})");
    Scenario::parse(&src, "test").unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario, ticker: impl Fn(NodeId) -> Ticker) -> RunResult {
    run_catching(s, s.seed, &RunOptions { record_trace: true, ..RunOptions::default() }, ticker).expect("no panic")
}

fn trace(r: &RunResult) -> &[TraceEvent] {
    r.trace.as_deref().expect("recorded")
}

fn ms(t: SimTime) -> f64 {
    t.0 as f64 / 1e6
}

#[test]
fn one_way_partition_blocks_only_the_named_direction_and_heals_on_time() {
    let s = scenario(
        r#"horizon_ms: 100, nodes: 2,
        faults: [(at_ms: 10, do: OneWay(from: ["n0"], to: ["n1"])), (at_ms: 50, do: Heal)],
        workload: [
            (from: "n0", to: "n1", every_ms: 5, count: 20),
            (from: "n1", to: "n0", every_ms: 5, count: 20),
        ]"#,
    );
    let r = run(&s, |_| Ticker { timer_ms: 0, received: 0, periodic: false });
    for e in trace(&r) {
        let t = ms(e.time);
        match e.kind {
            EventKind::Drop { from, reason: DropReason::Partitioned, .. } => {
                assert_eq!(from, NodeId(0), "only n0 -> n1 is cut: {e:?}");
                assert!((10.0..50.0).contains(&t), "dropped outside the partition: {e:?}");
            }
            EventKind::Send { from: NodeId(0), .. } if (10.0..50.0).contains(&t) => {}
            _ => {}
        }
    }
    // n0 sends at 10, 15, ..., 45 during the cut: 8 messages, all dropped; nothing else is.
    assert_eq!(r.messages.drops.partitioned, 8);
    assert_eq!(r.messages.dropped, 8);
}

#[test]
fn symmetric_partition_separates_sides_and_unnamed_nodes_form_their_own_side() {
    let s = scenario(
        r#"horizon_ms: 100, nodes: 3,
        faults: [(at_ms: 0, do: Partition([["n0"]]))],
        workload: [
            (from: "n1", to: "n2", every_ms: 1, count: 5),
            (from: "n1", to: "n0", every_ms: 1, count: 5),
            (from: "n0", to: "n2", every_ms: 1, count: 5),
        ]"#,
    );
    let r = run(&s, |_| Ticker { timer_ms: 0, received: 0, periodic: false });
    assert_eq!(r.messages.drops.partitioned, 10, "n1<->n0 and n0<->n2 are cut");
    assert_eq!(r.messages.delivered, 5, "n1 and n2 are on the same (unnamed) side");
}

#[test]
fn crash_drops_state_and_timers_and_restart_boots_fresh() {
    // n0 ticks every 10 ms and reports how many messages it has received.
    // n1 sends it a message every ms. n0 crashes at 25 ms and restarts at 32 ms.
    let s = scenario(
        r#"horizon_ms: 60, nodes: 2,
        faults: [(at_ms: 25, do: Crash("n0")), (at_ms: 32, do: Restart("n0"))],
        workload: [(from: "n1", to: "n0", every_ms: 1, count: 60, start_ms: 0.5)]"#,
    );
    let r = run(&s, |n| Ticker { timer_ms: if n.0 == 0 { 10 } else { 0 }, received: 0, periodic: true });
    let timers: Vec<f64> =
        trace(&r).iter().filter(|e| matches!(e.kind, EventKind::Timer { node: NodeId(0), .. })).map(|e| ms(e.time)).collect();
    // Before the crash: 10, 20. The timer due at 30 died with the process.
    // After the restart at 32 the new process ticks at 42, 52.
    assert_eq!(timers, [10.0, 20.0, 42.0, 52.0]);
    let reports: Vec<u32> = trace(&r)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Send { from: NodeId(0), size, .. } => Some(size),
            _ => None,
        })
        .collect();
    // Sent every ms from 0.5, arriving 1 ms later. At 10 it has received the arrivals at
    // 1.5..9.5 = 9; at 20: 19. After the restart the count starts from zero: at 42 it
    // has seen 32.5..41.5 = 10, at 52: 20.
    assert_eq!(reports, [9, 19, 10, 20]);
    let down_drops = trace(&r).iter().filter(|e| matches!(e.kind, EventKind::Drop { reason: DropReason::NodeDown, .. })).count();
    // Messages arriving 1 ms after their send at 25.5 .. 31.5 find n0 down; those sent
    // 24.5 arrive at 25.5 (down too). Arrivals in [25, 32): 25.5, ..., 31.5 = 7.
    assert_eq!(down_drops, 7);
}

#[test]
fn pause_holds_messages_and_timers_until_resume() {
    let s = scenario(
        r#"horizon_ms: 100, nodes: 2,
        faults: [(at_ms: 5, do: Pause("n0")), (at_ms: 40, do: Resume("n0"))],
        workload: [(from: "n1", to: "n0", every_ms: 10, count: 3, start_ms: 1)]"#,
    );
    let r = run(&s, |n| Ticker { timer_ms: if n.0 == 0 { 20 } else { 0 }, received: 0, periodic: false });
    let at_n0: Vec<(f64, &str)> = trace(&r)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Receive { to: NodeId(0), .. } => Some((ms(e.time), "recv")),
            EventKind::Timer { node: NodeId(0), .. } => Some((ms(e.time), "timer")),
            _ => None,
        })
        .collect();
    // Sent at 1 (arrives 2, before the pause), 11 and 21 (arrive 12, 22: held);
    // the timer due at 20 is held too. At resume all held events run in arrival order.
    assert_eq!(at_n0, [(2.0, "recv"), (40.0, "recv"), (40.0, "timer"), (40.0, "recv")]);
    // The report sent on the timer counts the held message received before it.
    let report = trace(&r).iter().find_map(|e| match e.kind {
        EventKind::Send { from: NodeId(0), size, .. } => Some(size),
        _ => None,
    });
    assert_eq!(report, Some(2));
}

#[test]
fn clock_drift_shifts_timers_by_the_configured_amount() {
    // +10% drift: 100 ms of local time pass in 100/1.1 = 90.909... ms of simulated time.
    // -5% drift: 100 ms local take 100/0.95 = 105.263... ms.
    let s = scenario(
        r#"horizon_ms: 1000, nodes: 3,
        clocks: [(node: "n1", drift_ppm: 100000), (node: "n2", drift_ppm: -50000, offset_ms: 7)]"#,
    );
    let r = run(&s, |_| Ticker { timer_ms: 100, received: 0, periodic: false });
    let fired: Vec<(u32, u64)> = trace(&r)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Timer { node, .. } => Some((node.0, e.time.0)),
            _ => None,
        })
        .collect();
    assert_eq!(fired, [(1, 90_909_091), (0, 100_000_000), (2, 105_263_158)]);
}

#[test]
fn max_events_stops_at_the_same_event_every_time() {
    let s = scenario(
        r#"horizon_ms: 10000, nodes: 5, limits: (max_events: 777),
        network: (latency: Uniform(min_ms: 1, max_ms: 9), loss: 0.1),
        workload: [(from: "*", to: "*", every_ms: 1, count: 1000)]"#,
    );
    let runs: Vec<RunResult> = (0..2).map(|_| run(&s, |_| Ticker { timer_ms: 0, received: 0, periodic: false })).collect();
    for r in &runs {
        assert_eq!(r.end.reason, EndReason::MaxEvents);
        assert_eq!(r.steps, 777);
    }
    assert_eq!(runs[0].trace_hash, runs[1].trace_hash);
    assert_eq!(runs[0].trace, runs[1].trace);
}

#[test]
fn max_in_flight_stops_a_flood() {
    let s = scenario(
        r#"horizon_ms: 10000, nodes: 50, limits: (max_in_flight: 1000),
        network: (latency: Constant(ms: 100)),
        workload: [(from: "*", send: Broadcast, every_ms: 1, count: 100)]"#,
    );
    let r = run(&s, |_| Ticker { timer_ms: 0, received: 0, periodic: false });
    assert_eq!(r.end.reason, EndReason::MaxInFlight);
    // Each broadcast puts 49 messages in flight; the 21st crosses 1000, and the budget is
    // checked at each transmission, so its 1,001st message is the last one sent.
    assert_eq!(r.messages.sent, 1_001);
}

/// Postmortem: `max_in_flight` was checked only between events, so one event could send
/// without bound (a 5,000-node heartbeat sent 25 million messages at boot under
/// `max_in_flight: 1`). The budget now stops the boot, and any fan-out, at the message over it.
#[test]
fn regression_max_in_flight_stops_a_boot_that_floods() {
    let src = r#"Scenario(name: "flood", horizon_ms: 10000, nodes: 2000, limits: (max_events: 1, max_in_flight: 1),
        protocol: Heartbeat(every_ms: 100, detector: Fixed(timeout_ms: 250)), network: (latency: Constant(ms: 1)))"#;
    let s = Scenario::parse(src, "flood").unwrap_or_else(|e| panic!("{e}"));
    let r = msgsim::run(&s, 1, &RunOptions::default()).expect("no panic");
    assert_eq!(r.end.reason, EndReason::MaxInFlight);
    assert_eq!(r.messages.sent, 2);
    assert_eq!(r.steps, 0);
}

/// Postmortem: one 1 GiB message over a 64-byte MTU cost 2^24 fragments of three draws each
/// inside one event, whatever `max_events` said. A message over `max_fragments` now ends the run.
#[test]
fn regression_a_fragment_bomb_ends_the_run_at_once() {
    let best_effort = |body: &str| {
        let src = format!("Scenario(name: \"bomb\", horizon_ms: 10000, protocol: BestEffort(), {body})");
        let s = Scenario::parse(&src, "bomb").unwrap_or_else(|e| panic!("{e}"));
        msgsim::run(&s, 1, &RunOptions::default()).expect("no panic")
    };
    let r = best_effort(
        r#"nodes: 1000, limits: (max_events: 2), network: (latency: Constant(ms: 1), mtu_bytes: 64),
        workload: [(from: "n0", send: Broadcast, every_ms: 1, count: 5, size_bytes: 1073741824)]"#,
    );
    assert_eq!(r.end.reason, EndReason::MaxFragments);
    assert_eq!(r.messages.sent, 1);
    // Under the budget, the same message travels as its fragments.
    let r = best_effort(
        r#"nodes: 2, network: (latency: Constant(ms: 1), mtu_bytes: 1048576),
        workload: [(from: "n0", to: "n1", every_ms: 1, count: 1, size_bytes: 1073741824)]"#,
    );
    assert_eq!(r.end.reason, EndReason::Quiescent);
    assert_eq!(r.app.delivered, 1);
}

/// Postmortem: a recorded trace had no bound but the event count, and one event adds many
/// trace events. `max_trace_events` ends the run once the trace passes it.
#[test]
fn regression_max_trace_events_ends_the_run() {
    let s = scenario(
        r#"horizon_ms: 10000, nodes: 5, limits: (max_trace_events: 100),
        network: (latency: Constant(ms: 1)),
        workload: [(from: "*", to: "*", every_ms: 1, count: 1000)]"#,
    );
    let r = run(&s, |_| Ticker { timer_ms: 0, received: 0, periodic: false });
    assert_eq!(r.end.reason, EndReason::MaxTraceEvents);
    assert!(r.trace_events > 100 && r.trace_events < 110, "{}", r.trace_events);
}

#[test]
fn horizon_ends_the_run_at_the_horizon() {
    let s = scenario(r#"horizon_ms: 50, nodes: 2, workload: [(from: "n0", to: "n1", every_ms: 10, count: 100)]"#);
    let r = run(&s, |_| Ticker { timer_ms: 0, received: 0, periodic: false });
    assert_eq!(r.end.reason, EndReason::Horizon);
    assert_eq!(r.end.at, SimTime::from_ms(50));
    assert_eq!(r.messages.sent, 6, "sends at 0, 10, .., 50");
}

#[test]
fn commands_to_a_crashed_node_are_refused_not_lost() {
    let s = scenario(
        r#"horizon_ms: 100, nodes: 2,
        faults: [(at_ms: 15, do: Crash("n0"))],
        workload: [(from: "n0", to: "n1", every_ms: 10, count: 5)]"#,
    );
    let r = run(&s, |_| Ticker { timer_ms: 0, received: 0, periodic: false });
    assert_eq!(r.app.commands, 2);
    assert_eq!(r.app.refused, 3);
    let crash = trace(&r).iter().find(|e| matches!(e.kind, EventKind::Fault { action: FaultAction::Crash, .. })).expect("crash recorded");
    assert_eq!(crash.time, SimTime::from_ms(15));
}

/// Postmortem: a panic in a handler must come back as an error with its place, not abort the run.
#[test]
fn a_panicking_protocol_is_reported_with_its_event() {
    struct Bomb;
    impl Process for Bomb {
        type Msg = Probe;
        type Timer = ();
        fn on_command(&mut self, ctx: &mut Ctx<'_, Probe, ()>, _cmd: Command) {
            ctx.send(NodeId(1), Probe(0));
        }
        fn on_message(&mut self, _ctx: &mut Ctx<'_, Probe, ()>, _incoming: Incoming<Probe>) {
            panic!("boom");
        }
    }
    let s = scenario(r#"horizon_ms: 100, nodes: 2, workload: [(from: "n0", to: "n1", every_ms: 10, count: 5)]"#);
    let err = run_catching(&s, 3, &RunOptions::default(), |_| Bomb).expect_err("the panic is caught");
    assert_eq!(err.message, "boom");
    assert_eq!(err.at, SimTime::from_ms(1));
    assert_eq!(err.event, 2, "event 1 is the command, event 2 the delivery");
    assert_eq!(err.seed, 3);
}

/// With `partitions_drop_in_flight`, a partition also drops, on arrival, a message sent before
/// it came into force; without, the message arrives (the partition is judged at send only).
/// A partition healed before the message arrives drops nothing.
#[test]
fn a_partition_drops_messages_in_flight_across_it_only_when_the_scenario_asks() {
    // n0 sends at 0, 1, 2, 3 ms over a 10 ms link; the cut is in force from 5 to 12 ms, so the
    // copies sent at 0 and 1 arrive (at 10 and 11) inside it, those sent at 2 and 3 after it.
    let body = |flag: &str| {
        format!(
            r#"horizon_ms: 100, nodes: 2, {flag}
            network: (latency: Constant(ms: 10)),
            faults: [(at_ms: 5, do: Partition([["n0"], ["n1"]])), (at_ms: 12, do: Heal)],
            workload: [(from: "n0", to: "n1", every_ms: 1, count: 4)]"#
        )
    };
    let ticker = |_| Ticker { timer_ms: 0, received: 0, periodic: false };
    let judged_at_send = run(&scenario(&body("")), ticker);
    assert_eq!((judged_at_send.messages.delivered, judged_at_send.messages.dropped), (4, 0));
    let r = run(&scenario(&body("partitions_drop_in_flight: true,")), ticker);
    let drops: Vec<(f64, u64)> = trace(&r)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Drop { reason: DropReason::Partitioned, msg, .. } => Some((ms(e.time), msg.0)),
            _ => None,
        })
        .collect();
    assert_eq!(drops, [(10.0, 0), (11.0, 1)]);
    assert_eq!(r.messages.delivered, 2);
}
