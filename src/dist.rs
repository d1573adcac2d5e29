//! Latency distributions: described with floats at validation, sampled with integers in the loop.
//!
//! Constant and uniform latencies are sampled exactly. The continuous shapes
//! (truncated normal, shifted exponential, Pareto) are turned, once, into a
//! *dyadic quantile table*: inverse-CDF points that are dense where the
//! distribution's tail is, so that a sample is one `u64` draw, a few shifts and
//! one linear interpolation. The tables are computed with `libm` (pure Rust,
//! identical results on every platform), never with the host's libm.

/// Validated parameters of a latency distribution, in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum LatencySpec {
    /// Always `ns`.
    Constant {
        /// The latency, in nanoseconds.
        ns: u64,
    },
    /// Uniform over whole nanoseconds, both ends included.
    Uniform {
        /// The smallest latency, in nanoseconds.
        min_ns: u64,
        /// The largest latency, in nanoseconds; at least `min_ns`.
        max_ns: u64,
    },
    /// Normal, truncated to `[min_ns, max_ns]` (max `None`: about six sigma).
    Normal {
        /// The untruncated mean, in nanoseconds.
        mean_ns: f64,
        /// The standard deviation, in nanoseconds; more than 0.
        std_ns: f64,
        /// The lower truncation bound, in nanoseconds.
        min_ns: f64,
        /// The upper truncation bound, in nanoseconds; above `min_ns`.
        max_ns: Option<f64>,
    },
    /// `offset + Exp(mean)`; unbounded above (the table reaches about 21 means).
    Exponential {
        /// The mean of the random part, in nanoseconds; more than 0.
        mean_ns: f64,
        /// The minimum latency, in nanoseconds.
        offset_ns: f64,
    },
    /// Pareto with minimum `scale_ns` and tail index `shape`, optionally capped at `max_ns`.
    Pareto {
        /// The minimum latency, in nanoseconds; more than 0.
        scale_ns: f64,
        /// The tail index: `P(latency > x) = (scale / x)^shape`; more than 0, at most 100.
        shape: f64,
        /// The cap, in nanoseconds, above `scale_ns`; `None`: where 2^-31 of the probability is left.
        max_ns: Option<f64>,
    },
}

/// A latency distribution ready for the event loop.
#[derive(Clone, Debug)]
pub enum Latency {
    /// Always this many nanoseconds; sampling takes no draw, so a constant link draws nothing.
    Constant(u64),
    /// Uniform over whole nanoseconds, both ends included; one draw per sample.
    Uniform {
        /// The smallest latency, in nanoseconds.
        min: u64,
        /// The largest latency, in nanoseconds; at least `min`.
        max: u64,
    },
    /// A continuous shape, sampled from its quantile table with one `u64` draw. The table
    /// (25 KB) is shared by every copy: a scenario's generators and links clone their
    /// distributions, and copying the table for each of 100,000 senders took gigabytes.
    Table(std::sync::Arc<QuantileTable>),
}

impl Latency {
    /// Ready a validated distribution for sampling; a continuous shape's table is built here,
    /// once, with `libm`, so every platform samples the same values.
    pub fn new(spec: &LatencySpec) -> Latency {
        match *spec {
            LatencySpec::Constant { ns } => Latency::Constant(ns),
            LatencySpec::Uniform { min_ns, max_ns } => Latency::Uniform { min: min_ns, max: max_ns },
            LatencySpec::Normal { mean_ns, std_ns, min_ns, max_ns } => {
                let shape = Shape::Normal { mean: mean_ns, std: std_ns };
                Latency::Table(std::sync::Arc::new(QuantileTable::build(&shape, min_ns, max_ns)))
            }
            LatencySpec::Exponential { mean_ns, offset_ns } => {
                let shape = Shape::Exponential { mean: mean_ns, offset: offset_ns };
                Latency::Table(std::sync::Arc::new(QuantileTable::build(&shape, offset_ns, None)))
            }
            LatencySpec::Pareto { scale_ns, shape, max_ns } => {
                let shape = Shape::Pareto { scale: scale_ns, shape };
                Latency::Table(std::sync::Arc::new(QuantileTable::build(&shape, scale_ns, max_ns)))
            }
        }
    }

    /// One latency in nanoseconds: no draw for a constant, one for the others.
    #[inline]
    pub fn sample(&self, rng: &mut crate::rng::SimRng) -> u64 {
        match self {
            Latency::Constant(ns) => *ns,
            Latency::Uniform { min, max } => rng.between(*min, *max),
            Latency::Table(t) => t.sample(rng.next_u64()),
        }
    }

    /// The smallest value this distribution can return.
    pub fn min_ns(&self) -> u64 {
        match self {
            Latency::Constant(ns) => *ns,
            Latency::Uniform { min, .. } => *min,
            // The lower half ends (its last point) at the distribution's minimum.
            Latency::Table(t) => t.points[HALF - 1],
        }
    }

    /// The largest value this distribution can return.
    pub fn max_ns(&self) -> u64 {
        match self {
            Latency::Constant(ns) => *ns,
            Latency::Uniform { max, .. } => *max,
            Latency::Table(t) => *t.points.last().expect("tables are never empty"),
        }
    }

    /// The exact mean of what `sample` returns (not of the ideal distribution:
    /// the table's truncation and interpolation are included).
    pub fn mean_ns(&self) -> f64 {
        match self {
            Latency::Constant(ns) => *ns as f64,
            Latency::Uniform { min, max } => (*min as f64 + *max as f64) / 2.0,
            Latency::Table(t) => t.mean(),
        }
    }
}

/// Each half of the distribution (below and above the median) is cut into
/// dyadic levels towards its tail: level k < LAST holds probability 2^-(k+2),
/// level LAST the rest of that half's tail, 2^-(LAST+1).
const LAST: u32 = 23;
const LEVELS: usize = LAST as usize + 1;
const CELLS: usize = 64;
const HALF: usize = LEVELS * (CELLS + 1);
/// Where an unbounded upper tail stops: survival 2^-31.
const UNBOUNDED_TAIL: f64 = 1.0 / (1u64 << 31) as f64;

/// Inverse-CDF points: the lower half first, then the upper half; within a
/// half, levels from the median outwards, cells from the level's inner edge outwards.
#[derive(Clone, Debug)]
pub struct QuantileTable {
    points: Vec<u64>,
}

enum Shape {
    Normal { mean: f64, std: f64 },
    Exponential { mean: f64, offset: f64 },
    Pareto { scale: f64, shape: f64 },
}

impl Shape {
    /// P(X > x).
    fn survival(&self, x: f64) -> f64 {
        match *self {
            Shape::Normal { mean, std } => 0.5 * libm::erfc((x - mean) / (std * core::f64::consts::SQRT_2)),
            Shape::Exponential { mean, offset } => libm::exp(-(x - offset).max(0.0) / mean),
            Shape::Pareto { scale, shape } => libm::pow(scale / x.max(scale), shape),
        }
    }

    /// The x with P(X > x) = s, for s in (0, 1].
    fn inverse_survival(&self, s: f64) -> f64 {
        match *self {
            Shape::Normal { mean, std } => mean - std * standard_normal_quantile(s),
            Shape::Exponential { mean, offset } => offset - mean * libm::log(s),
            Shape::Pareto { scale, shape } => scale * libm::pow(s, -1.0 / shape),
        }
    }
}

impl QuantileTable {
    fn build(shape: &Shape, lo: f64, hi: Option<f64>) -> QuantileTable {
        let s_lo = shape.survival(lo);
        let (s_hi, upper_end) = match hi {
            Some(h) => (shape.survival(h), 0.0),
            None => (0.0, UNBOUNDED_TAIL),
        };
        let upper = hi.unwrap_or(f64::MAX);
        // Survival `s` in the truncated distribution is survival s_hi + s (s_lo - s_hi) in the shape.
        let point = |s: f64| -> u64 {
            let x = shape.inverse_survival(s_hi + s * (s_lo - s_hi));
            let x = if x.is_nan() { lo } else { x.clamp(lo, upper) };
            x.round().clamp(0.0, u64::MAX as f64) as u64
        };
        // `tail` is the probability beyond a point, on that half's side.
        let mut points = Vec::with_capacity(2 * HALF);
        for lower in [true, false] {
            for level in 0..=LAST {
                let inner = libm::exp2(-f64::from(level + 1));
                let outer = match (level == LAST, lower) {
                    (false, _) => inner / 2.0,
                    (true, true) => 0.0,
                    (true, false) => upper_end,
                };
                for cell in 0..=CELLS {
                    let tail = inner - (inner - outer) * cell as f64 / CELLS as f64;
                    points.push(point(if lower { 1.0 - tail } else { tail }));
                }
            }
        }
        // Rounding may leave neighbours out of order by a nanosecond; the
        // interpolation needs each half monotone (falling below, rising above).
        let (below, above) = points.split_at_mut(HALF);
        for i in 1..HALF {
            below[i] = below[i].min(below[i - 1]);
            above[i] = above[i].max(above[i - 1]);
        }
        QuantileTable { points }
    }

    #[inline]
    fn sample(&self, u: u64) -> u64 {
        let half = (u >> 63) as usize;
        let rest = u << 1;
        let level = rest.leading_ones().min(LAST);
        // Drop the level's leading ones (and the zero that ended them).
        let rest = if level == LAST { rest << LAST } else { rest << (level + 1) };
        let cell = (rest >> 58) as usize;
        let frac = u128::from((rest >> 26) & 0xFFFF_FFFF);
        let i = half * HALF + level as usize * (CELLS + 1) + cell;
        let (a, b) = (self.points[i], self.points[i + 1]);
        if b >= a { a + ((u128::from(b - a) * frac) >> 32) as u64 } else { a - ((u128::from(a - b) * frac) >> 32) as u64 }
    }

    fn mean(&self) -> f64 {
        let mut mean = 0.0;
        for half in 0..2 {
            for level in 0..=LAST {
                let level_prob = libm::exp2(-f64::from((level + 2).min(LAST + 1)));
                for cell in 0..CELLS {
                    let i = half * HALF + level as usize * (CELLS + 1) + cell;
                    mean += level_prob / CELLS as f64 * (self.points[i] as f64 + self.points[i + 1] as f64) / 2.0;
                }
            }
        }
        mean
    }
}

/// z with P(Z <= z) = p for a standard normal Z: Acklam's rational
/// approximation, polished by one Halley step on `erfc` to full precision.
fn standard_normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] =
        [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] =
        [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail(libm::sqrt(-2.0 * libm::log(p)))
    } else if p > 1.0 - 0.02425 {
        -tail(libm::sqrt(-2.0 * libm::log(1.0 - p)))
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let e = 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2) - p;
    let u = e * libm::sqrt(2.0 * core::f64::consts::PI) * libm::exp(x * x / 2.0);
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};

    #[test]
    fn normal_quantile_is_accurate() {
        assert!(standard_normal_quantile(0.5).abs() < 1e-12);
        assert!((standard_normal_quantile(0.975) - 1.959963984540054).abs() < 1e-9);
        assert!((standard_normal_quantile(1e-9) + 5.997807015).abs() < 1e-6);
    }

    #[test]
    fn tables_are_monotone_and_bounded() {
        let spec = LatencySpec::Pareto { scale_ns: 1e6, shape: 1.5, max_ns: Some(1e9) };
        let Latency::Table(t) = Latency::new(&spec) else { panic!("pareto is a table") };
        let (below, above) = t.points.split_at(HALF);
        assert!(below.windows(2).all(|w| w[0] >= w[1]));
        assert!(above.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*below.last().unwrap(), 1_000_000);
        assert_eq!(*above.last().unwrap(), 1_000_000_000);
    }

    #[test]
    fn extreme_draws_hit_the_table_ends() {
        let spec = LatencySpec::Exponential { mean_ns: 1e6, offset_ns: 0.0 };
        let Latency::Table(t) = Latency::new(&spec) else { panic!() };
        // 0 is the lower half's innermost point (the median); u64::MAX the far upper tail.
        assert_eq!(t.sample(0), (1e6 * std::f64::consts::LN_2).round() as u64);
        assert_eq!(t.sample(u64::MAX >> 1), 0);
        let top = t.sample(u64::MAX);
        // survival 2^-31 of Exp(1ms) is 31 ln 2 ms, about 21.5 ms.
        assert!((21_000_000..22_000_000).contains(&top), "{top}");
    }

    #[test]
    fn sample_mean_matches_table_mean() {
        let spec = LatencySpec::Normal { mean_ns: 5e6, std_ns: 1e6, min_ns: 0.0, max_ns: None };
        let lat = Latency::new(&spec);
        let mut rng = SimRng::new(9, Stream::Network);
        let n = 200_000;
        let sum: u64 = (0..n).map(|_| lat.sample(&mut rng)).sum();
        let mean = sum as f64 / n as f64;
        // standard error of the mean: 1e6 / sqrt(2e5) ~ 2_236 ns.
        assert!((mean - lat.mean_ns()).abs() < 5.0 * 2_236.0, "{mean} vs {}", lat.mean_ns());
        assert!((lat.mean_ns() - 5e6).abs() < 1e3, "table mean {}", lat.mean_ns());
    }
}
