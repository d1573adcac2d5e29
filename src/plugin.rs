//! What a protocol or a check declares so that scenarios can name it: its name, its
//! configuration (a serde type read from the scenario), its validation and its factory.
//!
//! Bundled protocols and checks implement these traits in their own modules, exactly as a
//! user's do in their own crate; a [`Registry`](crate::registry::Registry) collects them.

use crate::explore::{AsyncExplorer, Bounds, Exploration};
use crate::id::NodeId;
use crate::process::{Cluster, Process};
use crate::scenario::{CheckChoice, ConfigCx, ProtocolChoice, Scenario};
pub use crate::scenario::{JitterShape, RetryBudget, RetryPolicy, RoundExchange, Rounds, WaitFrom};
use crate::sim::{ProtocolPanic, RunOptions, RunResult, Runner, TraceSink, run_catching_into};
use crate::verdict::Checker;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::any::TypeId;
use std::sync::Arc;

/// A protocol a scenario can name: `protocol: NAME(...)`.
///
/// ```
/// use msgsim::prelude::*;
/// use serde::Deserialize;
///
/// /// Echo every message back to its sender, once.
/// struct Echo;
///
/// #[derive(Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct EchoConfig {
///     #[serde(default)]
///     loud: bool,
/// }
///
/// #[derive(Clone, Debug)]
/// struct Ping(Payload);
/// impl Message for Ping {
///     fn wire_size(&self) -> u32 {
///         16 + self.0.size_bytes
///     }
///     fn corrupt(&mut self) {
///         self.0.corrupt();
///     }
/// }
///
/// struct EchoNode;
/// impl Process for EchoNode {
///     type Msg = Ping;
///     type Timer = ();
///     fn on_command(&mut self, ctx: &mut Ctx<'_, Ping, ()>, cmd: Command) {
///         let Command::Send { payload, dest: Dest::Node(to) } = cmd else { return };
///         ctx.send(to, Ping(payload));
///     }
///     fn on_message(&mut self, ctx: &mut Ctx<'_, Ping, ()>, incoming: Incoming<Ping>) {
///         ctx.deliver(incoming.msg.0);
///     }
/// }
///
/// impl Protocol for Echo {
///     const NAME: &'static str = "Echo";
///     type Config = EchoConfig;
///     type Process = EchoNode;
///     fn factory(_: &EchoConfig, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> EchoNode {
///         |_| EchoNode
///     }
/// }
///
/// let registry = Registry::builtin().with_protocol::<Echo>();
/// let scenario = registry.parse(r#"Scenario(name: "echo", horizon_ms: 10, nodes: 2,
///     protocol: Echo(loud: true), workload: [(from: "n0", to: "n1", every_ms: 1, count: 3)],
///     checks: [NoLoss])"#, "inline").unwrap();
/// let result = msgsim::run(&scenario, 1, &RunOptions::default()).unwrap();
/// assert_eq!(result.app.delivered, 3);
/// ```
pub trait Protocol: 'static {
    /// The name scenarios write (`StopAndWait`): letters, digits and `_`, starting with a letter.
    const NAME: &'static str;
    /// Whether the protocol's messages carry their bytes on the wire (`Message::wire_bytes`), so
    /// that a scenario may place an adversary on its links.
    const WIRE_BYTES: bool = false;
    /// The configuration, read from the parentheses after the name (`()` when there are none).
    type Config: DeserializeOwned + Send + Sync + 'static;
    /// The process every node runs.
    type Process: Process;

    /// Check the configuration against the scenario, reporting every problem through `cx`
    /// (at paths relative to the configuration). The default accepts every configuration.
    fn validate(config: &Self::Config, cx: &mut ConfigCx<'_, '_>) {
        let _ = (config, cx);
    }

    /// The retransmission policy the process follows, if it retransmits with `send_attempt`:
    /// what the `RetryBackoff` check judges its attempts against. The default declares none.
    /// A policy's `acks_every_arrival` is true unless set: a protocol that answers
    /// (`send_answer`) instead of acknowledging (`send_ack`), or whose receiver may rightly
    /// leave an arrival unacknowledged, sets it to false, or fails for the acks it never sent.
    fn retry_policy(config: &Self::Config) -> Option<RetryPolicy> {
        let _ = config;
        None
    }

    /// The periodic rounds the process runs, if it runs in rounds: what the `RoundPace` check
    /// judges its round timers and round messages against. The default declares none.
    fn rounds(config: &Self::Config, cluster: &Cluster) -> Option<Rounds> {
        let _ = (config, cluster);
        None
    }

    /// An upper estimate of the bytes one node's process holds that grow with the cluster
    /// (vectors indexed by node, a record per peer), for the memory budget: a scenario whose
    /// nodes together would hold more than `limits.max_memory_mb` is refused before it runs,
    /// rather than exhausting the machine's memory. The default declares none.
    fn state_bytes(config: &Self::Config, cluster: &Cluster) -> u64 {
        let _ = (config, cluster);
        0
    }

    /// The maker of each node's process for one run (called at boot and at every restart).
    fn factory(config: &Self::Config, scenario: &Scenario, seed: u64) -> impl FnMut(NodeId) -> Self::Process;
}

/// A check a scenario can name: `checks: [NAME, NAME(...)]`.
pub trait Check: 'static {
    /// The name scenarios write.
    const NAME: &'static str;
    /// The configuration; [`NoConfig`] for a check that takes none.
    type Config: DeserializeOwned + Send + Sync + 'static;

    /// Check the configuration against the scenario; the default accepts every configuration.
    fn validate(config: &Self::Config, cx: &mut ConfigCx<'_, '_>) {
        let _ = (config, cx);
    }

    /// An upper estimate of the bytes the checker holds that grow with the cluster (a vector
    /// clock per node, say), for the memory budget, as `Protocol::state_bytes`. The default
    /// declares none.
    fn state_bytes(config: &Self::Config, cluster: &Cluster) -> u64 {
        let _ = (config, cluster);
        0
    }

    /// A fresh checker for one run of `scenario`.
    fn build(config: &Self::Config, scenario: &Scenario) -> Box<dyn Checker>;
}

/// The configuration of a check that takes none: written as the bare name (`NoLoss`) or `NoLoss()`.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// Read and validate `P`'s configuration; the scenario then carries it with `P`'s runner.
pub(crate) fn decode_protocol<P: Protocol>(cx: &mut ConfigCx<'_, '_>) -> Option<ProtocolChoice> {
    let config: P::Config = cx.parse()?;
    P::validate(&config, cx);
    let (nodes, per_node) = (cx.cluster().len() as u64, P::state_bytes(&config, cx.cluster()));
    // With the engine's own place per node, which a run holds from the start.
    let engine = crate::sim::engine_bytes::<P::Process>(cx.cluster());
    cx.state_fits(
        || {
            format!(
                "{nodes} nodes running {} ({} KiB each, and the simulator's {} bytes per node)",
                P::NAME,
                per_node >> 10,
                engine / nodes.max(1)
            )
        },
        nodes.saturating_mul(per_node).saturating_add(engine),
    );
    let runner = Runner(run_protocol::<P>, AsyncExplorer(explore_protocol::<P>));
    let (retry, rounds) = (P::retry_policy(&config), P::rounds(&config, cx.cluster()));
    Some(ProtocolChoice::new(P::NAME, Arc::new(config), P::WIRE_BYTES, retry, rounds, Arc::new(runner)))
}

/// Read and validate `C`'s configuration.
pub(crate) fn decode_check<C: Check>(cx: &mut ConfigCx<'_, '_>) -> Option<CheckChoice> {
    if TypeId::of::<C::Config>() == TypeId::of::<NoConfig>() && !cx.is_empty() {
        let message = format!("`{}` takes no configuration", C::NAME);
        cx.error(&[], message, format!("`{}` alone", C::NAME));
        return None;
    }
    let config: C::Config = cx.parse()?;
    C::validate(&config, cx);
    let nodes = cx.cluster().len();
    cx.state_fits(|| format!("the check {} over {nodes} nodes", C::NAME), C::state_bytes(&config, cx.cluster()));
    Some(CheckChoice::new(C::NAME, Arc::new(config), |config, scenario| {
        C::build(config.downcast_ref().expect("a check's configuration has the type its decoder read"), scenario)
    }))
}

fn run_protocol<P: Protocol>(
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
    sink: Option<&mut TraceSink<'_>>,
) -> Result<RunResult, ProtocolPanic> {
    let config = scenario.protocol.config::<P::Config>().expect("a protocol's configuration has the type its decoder read");
    run_catching_into(scenario, seed, options, P::factory(config, scenario, seed), sink)
}

fn explore_protocol<P: Protocol>(scenario: &Scenario, seed: u64, bounds: Bounds) -> Result<Exploration, String> {
    let config = scenario.protocol.config::<P::Config>().expect("a protocol's configuration has the type its decoder read");
    crate::explore::asynchronous::explore(scenario, seed, bounds, || P::factory(config, scenario, seed))
}
