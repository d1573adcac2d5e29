//! How a retry's wait is drawn from its backoff: the proportional jitter the retransmitting protocols use, and the full, equal and decorrelated schemes a client may pick instead.
//!
//! Write b for the exponential backoff before a retry, `min(cap, base * factor^(n-1))` for
//! the n-th retry. Jitter exists because clients that failed together would otherwise retry
//! together, in waves that hit a recovering service as hard as the failure did. The schemes
//! differ in how much of the backoff they keep and how much they spread:
//!
//! - `Proportional`: b plus up to a fraction of b (the policy's `jitter`): the backoff is a
//!   floor, the spread modest, and with no fraction there is no jitter at all.
//! - `Full`: anywhere in `[0, b]`. The widest spread and, on average, half the wait.
//! - `Equal`: half of b kept, the other half spread: `b/2 + [0, b/2]`.
//! - `Decorrelated`: each wait drawn from `[base, factor * previous wait]`, capped: no
//!   exponent, a random walk that grows on average and never drops below `base`. With a factor
//!   of 3 it is the scheme Marc Brooker's analysis of backoff on the AWS Architecture Blog
//!   names decorrelated jitter.
//!
//! Every draw comes from the client node's own stream, one per wait (none when the wait is
//! certain), so a run stays a function of its scenario and seed.

use super::at_least_once::Retry;
use crate::process::Ctx;
use serde::Deserialize;

/// A retry's wait, given its backoff: see the module's documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum Jitter {
    /// The backoff plus up to the policy's `jitter` fraction of it.
    #[default]
    Proportional,
    /// Uniform in `[0, backoff]`.
    Full,
    /// Half the backoff plus uniform in `[0, backoff / 2]`.
    Equal,
    /// Uniform in `[base, factor * previous wait]`, capped.
    Decorrelated,
}

impl Jitter {
    /// The wait before the next retry under `policy`. `state` carries what a scheme needs from
    /// one retry to the next (the backoff, or for `Decorrelated` the previous wait); `first`
    /// says this is the first retry, whose state is not yet set.
    pub fn next_wait<M, T>(self, policy: &Retry, state: &mut u64, first: bool, ctx: &mut Ctx<'_, M, T>) -> u64 {
        let mut backoff = || {
            *state = if first { policy.base_ns } else { policy.next_backoff(*state) };
            *state
        };
        match self {
            Jitter::Proportional => {
                let b = backoff();
                policy.with_jitter(b, ctx)
            }
            Jitter::Full => {
                let b = backoff();
                ctx.rng().between(0, b)
            }
            Jitter::Equal => {
                let b = backoff();
                b / 2 + ctx.rng().between(0, b - b / 2)
            }
            Jitter::Decorrelated => {
                let previous = if first { policy.base_ns } else { *state };
                let high = policy.next_backoff(previous).max(policy.base_ns);
                *state = ctx.rng().between(policy.base_ns, high);
                *state
            }
        }
    }
}
