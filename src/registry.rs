//! The registry: which protocols and checks scenarios may name, bundled and the user's own.
//!
//! `Registry::builtin()` holds everything msgsim ships; a user's crate adds its own with
//! [`Registry::with_protocol`] and [`Registry::with_check`], then parses scenarios, runs them,
//! sweeps and shrinks them, or hands the registry to `cli::main_with` for the whole command line.

use crate::check;
use crate::plugin::{Check, Protocol, decode_check, decode_protocol};
use crate::protocols::{
    at_least_once, at_most_once, best_effort, calls, exactly_once, exchange, gossip, group, heartbeat, pingpong, secure_channel, service,
    views, work_queue,
};
use crate::scenario::config::{DecodeCheck, DecodeProtocol};
use crate::scenario::{Catalog, Scenario, ScenarioErrors, read_source};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

/// Protocols and checks by name.
#[derive(Clone, Default)]
pub struct Registry {
    protocols: BTreeMap<&'static str, DecodeProtocol>,
    checks: BTreeMap<&'static str, DecodeCheck>,
}

impl Registry {
    /// A registry with nothing in it.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// Every protocol and check msgsim ships.
    pub fn builtin() -> Registry {
        Registry::empty()
            .with_protocol::<best_effort::BestEffortProtocol>()
            .with_protocol::<pingpong::PingPongProtocol>()
            .with_protocol::<gossip::GossipProtocol>()
            .with_protocol::<at_most_once::AtMostOnceProtocol>()
            .with_protocol::<at_least_once::AtLeastOnceProtocol>()
            .with_protocol::<exactly_once::ExactlyOnceProtocol>()
            .with_protocol::<group::ReliableMulticast>()
            .with_protocol::<group::FifoMulticast>()
            .with_protocol::<group::CausalMulticast>()
            .with_protocol::<group::SequencerMulticast>()
            .with_protocol::<group::IsisMulticast>()
            .with_protocol::<group::AtomicMulticast>()
            .with_protocol::<views::ViewSynchronousProtocol>()
            .with_protocol::<calls::CallsProtocol>()
            .with_protocol::<heartbeat::HeartbeatProtocol>()
            .with_protocol::<secure_channel::SecureChannelProtocol>()
            .with_protocol::<exchange::ExchangeProtocol>()
            .with_protocol::<work_queue::WorkQueueProtocol>()
            .with_protocol::<service::ServiceProtocol>()
            .with_protocol::<crate::protocols::two_generals::TwoGeneralsProtocol>()
            .with_protocol::<crate::protocols::lamport::LamportMulticast>()
            .with_protocol::<crate::protocols::pubsub::PubSubProtocol>()
            .with_protocol::<crate::protocols::rumour::RumourMongeringProtocol>()
            .with_protocol::<crate::protocols::gossip_rounds::GossipRoundsProtocol>()
            .with_protocol::<crate::protocols::broadcast_flood::BroadcastFloodProtocol>()
            .with_protocol::<crate::protocols::broadcast_gossip::BroadcastGossipProtocol>()
            .with_protocol::<crate::protocols::durable_queue::DurableQueueProtocol>()
            .with_protocol::<crate::protocols::rpc::RpcProtocol>()
            .with_protocol::<crate::protocols::durable_pubsub::DurablePubSubProtocol>()
            .with_protocol::<crate::protocols::anti_entropy::AntiEntropyProtocol>()
            .with_check::<check::NoLoss>()
            .with_check::<check::NoDuplicates>()
            .with_check::<check::NoCorruptionDelivered>()
            .with_check::<check::NoSilentLoss>()
            .with_check::<check::AtMostOnce>()
            .with_check::<check::ExactlyOnceEffect>()
            .with_check::<check::Validity>()
            .with_check::<check::Agreement>()
            .with_check::<check::Integrity>()
            .with_check::<check::FifoOrder>()
            .with_check::<check::CausalOrder>()
            .with_check::<check::TotalOrder>()
            .with_check::<check::CircuitBreaker>()
            .with_check::<check::FailureDetection>()
            .with_check::<check::NoForgeryAccepted>()
            .with_check::<check::NoPlaintextLeak>()
            .with_check::<check::AccessControlEnforced>()
            .with_check::<check::NoDeadlock>()
            .with_check::<check::ExactlyOnceTaken>()
            .with_check::<check::ViewAgreement>()
            .with_check::<check::decision::SameDecision>()
            .with_check::<check::pubsub::PubSubDelivery>()
            .with_check::<check::broadcast::BroadcastConsistency>()
            .with_check::<check::RetryBackoff>()
            .with_check::<check::OperationLifecycle>()
            .with_check::<check::Coverage>()
            .with_check::<check::durable::NoAckedLoss>()
            .with_check::<check::durable::DeadLetterBounded>()
            .with_check::<check::rpc::RpcEffect>()
            .with_check::<check::MailboxOrder>()
            .with_check::<check::decision::ActsOnLastRound>()
            .with_check::<check::NoSelfSend>()
            .with_check::<check::CallsServed>()
            .with_check::<check::kept::NoAckedPublicationLoss>()
            .with_check::<check::convergence::ConvergedAfterHeal>()
            .with_check::<check::answered::CallsAnswered>()
            .with_check::<check::DetectorTiming>()
            .with_check::<check::RoundPace>()
            .with_check::<check::HandoutVisibility>()
    }

    /// Add protocol `P` (a protocol of the same name is replaced: a user may override a bundled one).
    pub fn with_protocol<P: Protocol>(mut self) -> Registry {
        self.protocols.insert(P::NAME, decode_protocol::<P>);
        self
    }

    /// Add check `C` (a check of the same name is replaced).
    pub fn with_check<C: Check>(mut self) -> Registry {
        self.checks.insert(C::NAME, decode_check::<C>);
        self
    }

    /// Parse and validate scenario text; `file` names it in errors.
    pub fn parse(&self, src: &str, file: &str) -> Result<Scenario, ScenarioErrors> {
        Scenario::parse_with(src, file, self)
    }

    /// Read and validate a scenario file.
    pub fn load(&self, path: &Path) -> Result<Scenario, ScenarioErrors> {
        let src = read_source(path)?;
        self.parse(&src, &path.display().to_string())
    }
}

impl Catalog for Registry {
    fn protocol(&self, name: &str) -> Option<DecodeProtocol> {
        self.protocols.get(name).copied()
    }

    fn check(&self, name: &str) -> Option<DecodeCheck> {
        self.checks.get(name).copied()
    }

    fn protocol_names(&self) -> Vec<&'static str> {
        self.protocols.keys().copied().collect()
    }

    fn check_names(&self) -> Vec<&'static str> {
        self.checks.keys().copied().collect()
    }
}

/// The bundled registry, built once.
pub(crate) fn builtin() -> &'static Registry {
    static BUILTIN: OnceLock<Registry> = OnceLock::new();
    BUILTIN.get_or_init(Registry::builtin)
}

impl Scenario {
    /// Read and validate a scenario file that names bundled protocols and checks only.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
        builtin().load(path)
    }

    /// Parse and validate scenario text that names bundled protocols and checks only.
    pub fn parse(src: &str, file: &str) -> Result<Scenario, ScenarioErrors> {
        builtin().parse(src, file)
    }
}
