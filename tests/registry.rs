//! The registry: a user's protocol and check are named, configured, validated and run exactly
//! as bundled ones are, and their configuration errors come out at the file's line and column.

use msgsim::prelude::*;
use serde::Deserialize;

/// A protocol that forwards every command as one message and delivers what arrives intact.
struct Relay;

#[derive(Deserialize)]
#[serde(rename = "Relay", deny_unknown_fields)]
struct RelayConfig {
    copies: Whole,
}

#[derive(Clone, Debug)]
struct Hop(Payload);

impl Message for Hop {
    fn wire_size(&self) -> u32 {
        8 + self.0.size_bytes
    }
    fn corrupt(&mut self) {
        self.0.corrupt();
    }
}

struct RelayNode {
    copies: u64,
}

impl Process for RelayNode {
    type Msg = Hop;
    type Timer = ();
    fn on_command(&mut self, ctx: &mut Ctx<'_, Hop, ()>, cmd: Command) {
        let Command::Send { payload, dest: Dest::Node(to) } = cmd else { return };
        for _ in 0..self.copies {
            ctx.send(to, Hop(payload));
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Hop, ()>, incoming: Incoming<Hop>) {
        if incoming.checksum_ok {
            ctx.deliver(incoming.msg.0);
        }
    }
}

impl Protocol for Relay {
    const NAME: &'static str = "Relay";
    type Config = RelayConfig;
    type Process = RelayNode;

    fn validate(config: &RelayConfig, cx: &mut ConfigCx<'_, '_>) {
        cx.within(&[Seg::Field("copies")], config.copies.0, 1..=3, |n| format!("{n} copies"));
    }

    fn factory(config: &RelayConfig, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> RelayNode {
        let copies = config.copies.0;
        move |_| RelayNode { copies }
    }
}

/// A check with a configuration: at most `most` deliveries in the run.
struct AtMost {
    most: u64,
    seen: u64,
}

#[derive(Deserialize)]
#[serde(rename = "AtMostDeliveries", deny_unknown_fields)]
struct AtMostConfig {
    most: Whole,
}

impl Checker for AtMost {
    fn observe(&mut self, event: &TraceEvent) {
        if let EventKind::Deliver { .. } = event.kind {
            self.seen += 1;
        }
    }
    fn verdict(&self, _: &RunEnd) -> Verdict {
        if self.seen > self.most {
            Verdict::fail(format!("{} deliveries, more than {}", self.seen, self.most))
        } else {
            Verdict::pass(format!("{} deliveries", self.seen))
        }
    }
}

impl Check for AtMost {
    const NAME: &'static str = "AtMostDeliveries";
    type Config = AtMostConfig;
    fn build(config: &AtMostConfig, _: &Scenario) -> Box<dyn Checker> {
        Box::new(AtMost { most: config.most.0, seen: 0 })
    }
}

fn registry() -> Registry {
    Registry::builtin().with_protocol::<Relay>().with_check::<AtMost>()
}

fn scenario(protocol: &str, checks: &str) -> String {
    format!(
        "Scenario(name: \"r\", horizon_ms: 100, nodes: 2,\n    protocol: {protocol},\n    \
         workload: [(from: \"n0\", to: \"n1\", every_ms: 10, count: 4)],\n    checks: [{checks}],\n)\n"
    )
}

#[test]
fn a_users_protocol_and_check_run_like_bundled_ones() {
    let s = registry().parse(&scenario("Relay(copies: 2)", "AtMostDeliveries(most: 8), NoLoss"), "r.ron").expect("valid");
    assert_eq!(s.protocol.name(), "Relay");
    let result = msgsim::run(&s, 1, &RunOptions::default()).expect("no panic");
    assert_eq!(result.app.delivered, 8, "two copies of each of four messages");
    assert_eq!(result.verdicts[0], ("AtMostDeliveries", Verdict::pass("8 deliveries")));
    let strict = registry().parse(&scenario("Relay(copies: 2)", "AtMostDeliveries(most: 4)"), "r.ron").expect("valid");
    let verdict = &msgsim::run(&strict, 1, &RunOptions::default()).expect("no panic").verdicts[0].1;
    assert_eq!(verdict.outcome, Outcome::Fail);
    // Sweeps run the scenario's own protocol, whichever registry read it.
    Sweep::new(&s).seeds(0..10).run().assert_all_pass();
}

#[test]
fn a_users_configuration_errors_name_the_files_line_and_column() {
    let err = |protocol: &str, checks: &str| registry().parse(&scenario(protocol, checks), "r.ron").expect_err("invalid").to_string();
    assert_eq!(err("Relay(copies: 9)", "NoLoss"), "r.ron:2:29: 9 copies (expected from 1 to 3)");
    assert_eq!(err("Relay(copy: 1)", "NoLoss"), "r.ron:2:21: unknown field `copy` in `Relay` (expected one of: copies)");
    assert_eq!(err("Relay()", "NoLoss"), "r.ron:2:21: missing field `copies` in `Relay`");
    assert_eq!(
        err("Relay(copies: 1)", "AtMostDeliveries(most: -1)"),
        "r.ron:4:37: found the signed integer `-1` (expected a whole number from 0 to 18446744073709551615)"
    );
    // The bundled registry knows neither, and says which names it does know.
    let bundled = Scenario::parse(&scenario("Relay(copies: 1)", "NoLoss"), "r.ron").expect_err("unknown").to_string();
    assert!(bundled.starts_with("r.ron:2:15: unknown protocol `Relay` (expected one of: AntiEntropy, AtLeastOnce, "), "{bundled}");
    let named = registry().parse(&scenario("Paxos()", "NoLoss"), "r.ron").expect_err("unknown").to_string();
    assert!(named.contains("Relay"), "the user's protocol is among the names offered: {named}");
}

#[test]
fn a_check_without_configuration_refuses_one() {
    let err = registry().parse(&scenario("BestEffort()", "NoLoss(strict: true)"), "r.ron").expect_err("refused").to_string();
    assert_eq!(err, "r.ron:4:14: `NoLoss` takes no configuration (expected `NoLoss` alone)");
    assert!(registry().parse(&scenario("BestEffort()", "NoLoss()"), "r.ron").is_ok(), "empty parentheses are no configuration");
}

/// Postmortem: a comment between `protocol:` and the name made the name unreadable ("no protocol name here").
#[test]
fn a_comment_before_a_protocols_name_is_not_part_of_it() {
    let s = registry().parse(&scenario("/* the relay */ Relay(copies: 1)", "// all of it\n NoLoss"), "r.ron").expect("valid");
    assert_eq!((s.protocol.name(), s.checks[0].name()), ("Relay", "NoLoss"));
}

#[test]
fn a_registered_protocol_replaces_a_bundled_one_of_the_same_name() {
    struct MyBestEffort;
    impl Protocol for MyBestEffort {
        const NAME: &'static str = "BestEffort";
        type Config = RelayConfig;
        type Process = RelayNode;
        fn factory(config: &RelayConfig, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> RelayNode {
            let copies = config.copies.0;
            move |_| RelayNode { copies }
        }
    }
    let r = Registry::builtin().with_protocol::<MyBestEffort>();
    let s = r.parse(&scenario("BestEffort(copies: 3)", "NoLoss"), "r.ron").expect("the user's configuration is read");
    assert_eq!(msgsim::run(&s, 1, &RunOptions::default()).expect("no panic").app.delivered, 12);
}

/// Postmortem: `msgsim shrink` called a seed whose protocol code panics bad input ("panics in
/// protocol code", exit 2), where `run` reports the same panic as the run's failure (exit 3).
/// Shrink now returns the panic itself, which the command reports as `run` does, with its code.
#[test]
fn regression_shrink_reports_a_protocol_panic_as_run_does() {
    struct Bomb;
    struct BombNode;
    impl Process for BombNode {
        type Msg = Hop;
        type Timer = ();
        fn on_command(&mut self, ctx: &mut Ctx<'_, Hop, ()>, cmd: Command) {
            if let Command::Send { payload, dest: Dest::Node(to) } = cmd {
                ctx.send(to, Hop(payload));
            }
        }
        fn on_message(&mut self, _: &mut Ctx<'_, Hop, ()>, _: Incoming<Hop>) {
            panic!("boom");
        }
    }
    impl Protocol for Bomb {
        const NAME: &'static str = "Bomb";
        type Config = RelayConfig;
        type Process = BombNode;
        fn factory(_: &RelayConfig, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> BombNode {
            |_| BombNode
        }
    }
    let r = Registry::builtin().with_protocol::<Bomb>();
    let src = scenario("Bomb(copies: 1)", "NoLoss");
    let s = r.parse(&src, "r.ron").expect("valid");
    let panic = msgsim::run(&s, 1, &RunOptions::default()).expect_err("the protocol panics");
    match msgsim::shrink::shrink_with(&r, &s, &src, 1, None) {
        Err(msgsim::shrink::ShrinkError::Panicked(p)) => assert_eq!(p, panic),
        Err(other) => panic!("shrink answered the panic with `{other}`"),
        Ok(_) => panic!("a run that panics was shrunk"),
    }
}
