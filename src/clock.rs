//! Per-node clocks: a fixed offset and a drift rate, in integer arithmetic.

use crate::time::SimTime;

/// A node's clock. Its reading at simulated time `t` is
/// `t + offset + t * drift_ppb / 1e9`; a timer of `d` local nanoseconds lasts
/// `d * 1e9 / (1e9 + drift_ppb)` simulated nanoseconds (rounded up), so a fast
/// clock fires its timers early and a slow one late.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Added to the reading, in nanoseconds; may be negative. Moves the reading, not timers.
    pub offset_ns: i64,
    /// Parts per billion; validation keeps it within +-10% (+-1e8).
    pub drift_ppb: i64,
}

const BILLION: i128 = 1_000_000_000;

impl Clock {
    /// The clock's reading at true time `t`: `t + offset + t * drift`, never below zero.
    #[inline]
    pub fn local(&self, t: SimTime) -> SimTime {
        // Every handler call reads its node's clock; a clock without drift needs no 128-bit
        // division (which was a call into the runtime's `__divti3`).
        if self.drift_ppb == 0 {
            return SimTime(t.0.saturating_add_signed(self.offset_ns));
        }
        let t = i128::from(t.0);
        let reading = t + i128::from(self.offset_ns) + t * i128::from(self.drift_ppb) / BILLION;
        SimTime(reading.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// Simulated nanoseconds that `local_ns` of this clock's time take.
    pub fn real_duration(&self, local_ns: u64) -> u64 {
        if self.drift_ppb == 0 {
            return local_ns;
        }
        let rate = BILLION + i128::from(self.drift_ppb);
        let real = (i128::from(local_ns) * BILLION + rate - 1) / rate;
        real.clamp(0, i128::from(u64::MAX)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_clock_reads_ahead_and_fires_early() {
        let c = Clock { offset_ns: 0, drift_ppb: 100_000_000 }; // +10%
        assert_eq!(c.local(SimTime(1_000)), SimTime(1_100));
        assert_eq!(c.real_duration(1_100), 1_000);
    }

    /// The no-drift shortcut reads what the general formula reads, clamping included.
    #[test]
    fn clock_without_drift_reads_as_the_general_formula() {
        for offset_ns in [0, 7, -7, i64::MAX, i64::MIN] {
            for t in [0, 5, 1_000_000, u64::MAX - 3, u64::MAX] {
                let expected = (i128::from(t) + i128::from(offset_ns)).clamp(0, i128::from(u64::MAX)) as u64;
                assert_eq!(Clock { offset_ns, drift_ppb: 0 }.local(SimTime(t)), SimTime(expected), "{offset_ns} {t}");
            }
        }
    }

    #[test]
    fn slow_clock_fires_late() {
        let c = Clock { offset_ns: 5, drift_ppb: -50_000_000 }; // -5%
        assert_eq!(c.real_duration(950), 1_000);
        assert_eq!(c.local(SimTime(1_000)), SimTime(955));
    }
}
