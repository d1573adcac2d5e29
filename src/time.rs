//! Virtual time: integer nanoseconds, advanced only by the scheduler.

use serde::Serialize;
use std::fmt;

/// A point in simulated time, in nanoseconds since the start of the run.
///
/// Invariant: nothing in the simulation reads a wall clock; only the scheduler
/// moves time forward, by jumping to the next event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// Nanoseconds in a millisecond, the unit scenarios are written in.
pub const NANOS_PER_MS: u64 = 1_000_000;

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// Later than anything that happens.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// `ms` milliseconds after the start (saturating).
    pub const fn from_ms(ms: u64) -> SimTime {
        SimTime(ms.saturating_mul(NANOS_PER_MS))
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `nanos` later, stopping at `MAX`.
    pub const fn saturating_add(self, nanos: u64) -> SimTime {
        SimTime(self.0.saturating_add(nanos))
    }
}

impl fmt::Display for SimTime {
    /// Milliseconds with three decimals (microsecond resolution), e.g. `12.345ms`.
    /// The trace legend documents this format; it must stay stable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0 / 1_000;
        write!(f, "{}.{:03}ms", micros / 1_000, micros % 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_milliseconds_with_microseconds() {
        assert_eq!(SimTime(0).to_string(), "0.000ms");
        assert_eq!(SimTime(1_234_567).to_string(), "1.234ms");
        assert_eq!(SimTime::from_ms(2_000).to_string(), "2000.000ms");
    }
}
