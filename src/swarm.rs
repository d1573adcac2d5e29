//! Swarm mode: the seed draws a run's fault parameters from the ranges a scenario gives.
//!
//! Draws come from the swarm stream only and happen before the run starts, so
//! the same seed always draws the same network and the same faults.

use crate::id::NodeId;
use crate::net::LinkModel;
use crate::rng::{PPB, SimRng};
use crate::scenario::{Fault, Scenario, ScheduledFault, SwarmSpec};
use crate::time::SimTime;

/// Apply `spec`'s draws to the default link and the fault list; describe each
/// draw in `drawn`. Drawn faults go after scripted ones at the same instant.
pub fn draw(
    spec: &SwarmSpec,
    scenario: &Scenario,
    rng: &mut SimRng,
    link: &mut LinkModel,
    faults: &mut Vec<ScheduledFault>,
    drawn: &mut Vec<String>,
) {
    let mut prob = |name: &str, range: Option<(u32, u32)>, slot: &mut u32| {
        if let Some((lo, hi)) = range {
            *slot = rng.between(u64::from(lo), u64::from(hi)) as u32;
            drawn.push(format!("{name} = {:.6}", f64::from(*slot) / PPB as f64));
        }
    };
    prob("loss", spec.loss, &mut link.loss_ppb);
    prob("duplicate", spec.duplicate, &mut link.duplicate_ppb);
    prob("corrupt", spec.corrupt, &mut link.corrupt_ppb);

    let n = scenario.node_count() as u64;
    let horizon = scenario.horizon;
    let mut extra = Vec::new();
    let window = |rng: &mut SimRng| SimTime(rng.between(spec.window.0.0, spec.window.1.0));

    // Crashes. A node's drawn crashes never overlap: one that would start while the
    // node is still down from an earlier one is discarded, so what is printed is what happens.
    let count = rng.between(spec.crashes.0, spec.crashes.1);
    let mut crashes: Vec<(NodeId, SimTime, SimTime)> = (0..count)
        .map(|_| {
            let node = NodeId(rng.below(n) as u32);
            let at = window(rng);
            (node, at, at.saturating_add(rng.between(spec.downtime_ns.0, spec.downtime_ns.1)))
        })
        .collect();
    crashes.sort_by_key(|&(node, at, _)| (node, at));
    let mut up_again: Option<(NodeId, SimTime)> = None;
    for (node, at, back) in crashes {
        if up_again.is_some_and(|(m, t)| m == node && at <= t) {
            continue;
        }
        up_again = Some((node, back));
        let name = scenario.cluster.name(node);
        extra.push(ScheduledFault { at, fault: Fault::Crash(node) });
        if back <= horizon {
            extra.push(ScheduledFault { at: back, fault: Fault::Restart(node) });
            drawn.push(format!("crash {name} at {at}, restart at {back}"));
        } else {
            drawn.push(format!("crash {name} at {at}, no restart before the horizon"));
        }
    }

    // Partitions, one at a time: each heals before the next begins, because a heal
    // removes every cut in force.
    let count = if n >= 2 { rng.between(spec.partitions.0, spec.partitions.1) } else { 0 };
    let mut cuts: Vec<(SimTime, u64, Vec<NodeId>)> = (0..count)
        .map(|_| {
            let at = window(rng);
            let lasts = rng.between(spec.downtime_ns.0, spec.downtime_ns.1);
            // A random side of 1..n-1 nodes (partial Fisher-Yates); the rest form the other side.
            let size = rng.between(1, n - 1) as usize;
            let mut order: Vec<u32> = (0..n as u32).collect();
            for i in 0..size {
                let j = i + rng.below((order.len() - i) as u64) as usize;
                order.swap(i, j);
            }
            let mut side: Vec<NodeId> = order[..size].iter().map(|&i| NodeId(i)).collect();
            side.sort();
            (at, lasts, side)
        })
        .collect();
    cuts.sort_by_key(|c| c.0);
    for i in 0..cuts.len() {
        let (at, lasts, side) = &cuts[i];
        let next = cuts.get(i + 1).map_or(SimTime::MAX, |c| c.0);
        let heal = at.saturating_add(*lasts).min(next);
        let names: Vec<&str> = side.iter().map(|&s| scenario.cluster.name(s)).collect();
        extra.push(ScheduledFault { at: *at, fault: Fault::Partition(vec![side.clone()]) });
        if heal <= horizon {
            extra.push(ScheduledFault { at: heal, fault: Fault::Heal });
            drawn.push(format!("partition [{}] from the rest at {at}, heal at {heal}", names.join(", ")));
        } else {
            drawn.push(format!("partition [{}] from the rest at {at}, no heal before the horizon", names.join(", ")));
        }
    }
    faults.extend(extra);
    // Stable: scripted faults keep their place before drawn ones at equal times (and a
    // drawn heal before a drawn partition that starts at the same instant).
    faults.sort_by_key(|f| f.at);
}

/// The faults a run of `scenario` with `seed` goes through: the script plus what swarm
/// mode draws, in the order the run applies them (the same draws `Sim::new` makes).
pub fn effective_faults(scenario: &Scenario, seed: u64) -> Vec<ScheduledFault> {
    let mut faults = scenario.faults.clone();
    if let Some(spec) = &scenario.swarm {
        let mut link = scenario.network.clone();
        draw(spec, scenario, &mut SimRng::new(seed, crate::rng::Stream::Swarm), &mut link, &mut faults, &mut Vec::new());
    }
    faults
}
