//! No input may panic the simulator: every scenario, truncated at every point and
//! mutated many ways, must either validate or be rejected with positioned errors.

use msgsim::Scenario;
use std::path::Path;

fn scenario_sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "ron") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Parse, and if it is rejected, check every error names a real position.
fn parse_must_not_panic(src: &str, name: &str) {
    let lines = src.lines().count().max(1);
    if let Err(errors) = Scenario::parse(src, name) {
        assert!(!errors.0.is_empty(), "{name}: rejected without a reason");
        for e in &errors.0 {
            assert!(e.line >= 1 && e.line <= lines + 1, "{name}: error at line {} of {lines}: {e}", e.line);
            assert!(e.col >= 1, "{name}: column 0: {e}");
            assert!(!e.message.is_empty());
        }
    }
}

#[test]
fn truncated_scenarios_are_rejected_cleanly() {
    for (name, src) in scenario_sources() {
        for cut in (0..src.len()).filter(|&i| src.is_char_boundary(i)) {
            parse_must_not_panic(&src[..cut], &name);
        }
    }
}

#[test]
fn mutated_scenarios_never_panic() {
    // Replacement tokens that stress validation: signs, huge and odd numbers, names.
    const TOKENS: &[&str] =
        &["-1", "0", "1e300", "NaN", "inf", "-0.5", "18446744073709551615", "\"zz\"", "\"*\"", "[]", "()", "1.5", "99999999"];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, src) in scenario_sources() {
        // Where numbers and strings start: the places worth mutating.
        let starts: Vec<usize> = src.char_indices().filter(|(_, c)| c.is_ascii_digit() || *c == '"').map(|(i, _)| i).collect();
        for _ in 0..300 {
            let at = starts[(next() % starts.len() as u64) as usize];
            let end = src[at..].find([',', ')', ']', '\n']).map_or(src.len(), |e| at + e);
            let token = TOKENS[(next() % TOKENS.len() as u64) as usize];
            let mutated = format!("{}{}{}", &src[..at], token, &src[end..]);
            parse_must_not_panic(&mutated, &name);
            // Valid but odd input must not panic the engine either (briefly run).
            if let Ok(mut scenario) = Scenario::parse(&mutated, &name) {
                scenario.limits.max_events = 2_000;
                let run = msgsim::run(&scenario, 1, &msgsim::RunOptions::default());
                assert!(run.is_ok(), "{name} mutated to {token} at byte {at}: {:?}", run.err());
            }
        }
    }
}

/// Postmortem: `Gossip(fanout: 99999999)` validated, and one handler then sent 10^8
/// messages before any run limit could act. Protocol parameters are now bounded.
#[test]
fn regression_gossip_fanout_is_bounded_by_the_node_count() {
    let src = r#"Scenario(name: "x", horizon_ms: 10, nodes: 4, protocol: Gossip(fanout: 99999999))"#;
    let errors = Scenario::parse(src, "x").expect_err("the fanout exceeds the other nodes");
    assert!(errors.to_string().contains("from 1 to 3"), "{errors}");
}

/// Postmortem: duplicate node names made the name map shorter than the node list, and
/// the fault-order check indexed a table sized by the map: a panic instead of an error.
#[test]
fn regression_duplicate_node_names_with_faults_do_not_panic() {
    let src = r#"Scenario(name: "x", horizon_ms: 10, nodes: ["a", "a", "b"], protocol: BestEffort(),
        faults: [(at_ms: 1, do: Crash("b"))])"#;
    let errors = Scenario::parse(src, "x").expect_err("duplicate names are an error");
    assert!(errors.to_string().contains("named twice"), "{errors}");
}

/// Postmortem: a 100,000-node causal multicast validated, and every node then allocated a
/// vector timestamp per destination with an entry per node: tens of gigabytes, and an abort
/// instead of an error; a 200-byte best-effort scenario asking for CausalOrder did the same in
/// the checker. Protocols and checks declare the state that grows with the cluster, and a
/// scenario that would hold more than `max_memory_mb` is refused.
#[test]
fn regression_protocol_state_beyond_the_memory_budget_is_refused() {
    let retry = "retry: (base_ms: 50, factor: 2, cap_ms: 100, max_attempts: 3)";
    let causal = format!(r#"Scenario(name: "x", horizon_ms: 10, nodes: 20000, protocol: CausalMulticast({retry}))"#);
    let errors = Scenario::parse(&causal, "x").expect_err("20,000 vectors of 20,000 counters exceed 1 GiB");
    assert!(errors.to_string().contains("over max_memory_mb 1024"), "{errors}");
    // The same cluster fits once the budget allows it, and a smaller one fits the default.
    let allowed = causal.replace("nodes: 20000,", "nodes: 20000, limits: (max_memory_mb: 4096),");
    Scenario::parse(&allowed, "x").expect("3 GiB of state fits a 4 GiB budget");
    Scenario::parse(&causal.replace("20000", "2000"), "x").expect("2,000 nodes fit");
    // A checker's state counts too: CausalOrder keeps a vector clock per node.
    let checked = r#"Scenario(name: "x", horizon_ms: 10, nodes: 100000, protocol: BestEffort(), checks: [CausalOrder])"#;
    let errors = Scenario::parse(checked, "x").expect_err("10^10 counters");
    assert!(errors.to_string().contains("the check CausalOrder over 100000 nodes"), "{errors}");
    let heartbeat =
        r#"Scenario(name: "x", horizon_ms: 10, nodes: 100000, protocol: Heartbeat(every_ms: 100, detector: Fixed(timeout_ms: 300)))"#;
    let errors = Scenario::parse(heartbeat, "x").expect_err("a record per peer at 100,000 nodes");
    assert!(errors.to_string().contains("nodes running Heartbeat"), "{errors}");
}
