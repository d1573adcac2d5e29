//! msgsim: a deterministic simulator for message-passing distributed systems.
//!
//! A run is a pure function of a [`Scenario`] and a seed: [`run`]
//! builds a [`sim::Sim`] for the scenario's protocol, runs it, and returns a
//! [`RunResult`] with the trace hash, totals and every check's [`Verdict`].
//!
//! The principal types:
//! - [`Scenario`] (validated) from [`scenario::file::ScenarioFile`] (RON as written);
//! - [`Process`], [`Ctx`] and [`Message`]: the sans-IO protocol author's view;
//!   [`stable::StableStorage`]: what a protocol keeps across a node's crash and restart;
//! - [`sim::Sim`]: the event loop; [`net::Network`]: links, faults, partitions;
//! - [`trace::TraceEvent`] and [`trace::TraceHasher`]: ground truth and its fingerprint;
//! - [`causality::CausalTracker`]: vector clocks derived from the trace;
//! - [`check::Checker`]: verdicts judged on the trace alone;
//! - [`report::Report`]: what `msgsim run` prints, as text or JSON;
//! - [`sweep::Sweep`]: many seeds in parallel, summarised in a [`sweep::SweepReport`]; the testing API.
//!
//! ```
//! use msgsim::{RunOptions, Scenario};
//! let scenario = Scenario::parse(r#"Scenario(
//!     name: "two nodes", horizon_ms: 100, nodes: 2,
//!     protocol: BestEffort(),
//!     workload: [(from: "n0", to: "n1", every_ms: 10, count: 5)],
//!     checks: [NoLoss],
//! )"#, "inline").unwrap();
//! let result = msgsim::run(&scenario, 1, &RunOptions::default()).unwrap();
//! assert_eq!(result.app.delivered, 5);
//! assert_eq!(result.verdicts[0].1.outcome, msgsim::check::Outcome::Pass);
//! ```

// Every public item is documented; CI's `clippy -D warnings` fails on a new one that is not.
#![warn(missing_docs)]

pub mod adversary;
pub mod budget;
pub mod builder;
pub mod causality;
pub mod check;
// Standard output goes through `cmd::emit`, which ends quietly when the reader has gone.
#[cfg(feature = "cli")]
#[deny(clippy::print_stdout, clippy::print_stderr)]
pub mod cli;
pub mod clock;
// Standard error goes through `cmd::say!`, which does not panic when it cannot be written.
#[cfg(feature = "cli")]
#[deny(clippy::print_stdout, clippy::print_stderr)]
mod cmd;
pub mod dist;
mod event;
pub mod explore;
pub mod export;
pub mod id;
pub mod mailbox;
pub mod net;
pub mod ops;
pub mod plugin;
pub mod prelude;
pub mod process;
pub mod protocols;
pub mod registry;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod stable;
pub mod stats;
mod swarm;
pub mod sweep;
pub mod testing;
pub mod time;
pub mod trace;
pub mod verdict;
pub mod waits;

/// The README's Rust snippets, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use builder::ScenarioBuilder;
pub use check::Verdict;
pub use process::{Ctx, Message, Process};
/// The `rand` crate msgsim's random streams implement (`use msgsim::rand::RngExt` for `random_range`).
pub use rand;
pub use registry::Registry;
pub use scenario::Scenario;
pub use sim::{RunOptions, RunResult, run, run_streaming};
