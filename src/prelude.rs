//! What a protocol author and a test need, in one import: `use msgsim::prelude::*;`.

pub use crate::builder::ScenarioBuilder;
pub use crate::check::{Checker, Outcome, RunEnd, Verdict};
pub use crate::id::{AppId, GroupId, NodeId, TimerId};
pub use crate::plugin::{Check, NoConfig, Protocol};
pub use crate::process::{Cluster, Command, Completion, Ctx, Dest, Incoming, Message, Payload, Process, StateHasher};
pub use crate::registry::Registry;
pub use crate::scenario::file::{Number, Whole};
pub use crate::scenario::{ConfigCx, Scenario, ScenarioErrors, Seg};
pub use crate::sim::{ProtocolPanic, RunOptions, RunResult, run};
pub use crate::sweep::{Sweep, SweepReport};
pub use crate::testing::seeds;
pub use crate::trace::{EventKind, TraceEvent};
pub use rand::RngExt as _;
