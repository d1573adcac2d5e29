//! Statistics over runs: the application delivery latency histogram a run can
//! collect, and nearest-rank percentiles, for sweep summaries.
//!
//! The histogram is log-linear (the scheme HdrHistogram uses): values below 128
//! have a bucket each, larger ones share a bucket with the values that agree in
//! their top 8 significant bits, so a bucket is at most 1/128 (0.8%) of its
//! value wide. Merging two histograms adds integer counts, so a sweep's total
//! does not depend on which thread ran which seed, nor on the order of merging.

use crate::id::AppId;
use crate::time::SimTime;
use crate::trace::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Sub-buckets per power of two: the histogram's resolution.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;

/// Application delivery latencies: command to each delivery, in nanoseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "HistogramFile", try_from = "HistogramFile")]
pub struct LatencyHistogram {
    /// Counts by bucket index, dense up to the largest bucket seen.
    counts: Vec<u64>,
    total: u64,
    /// The exact largest value.
    max: u64,
}

/// The JSON form: `{"max_ns": .., "buckets": {"<lowest value of the bucket>": count, ..}}`,
/// listing only non-empty buckets, by value: one line each when pretty-printed.
#[derive(Serialize, Deserialize)]
struct HistogramFile {
    max_ns: u64,
    buckets: BTreeMap<u64, u64>,
}

impl From<LatencyHistogram> for HistogramFile {
    fn from(h: LatencyHistogram) -> HistogramFile {
        let buckets = h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| (bucket_low(i), *c)).collect();
        HistogramFile { max_ns: h.max, buckets }
    }
}

impl TryFrom<HistogramFile> for LatencyHistogram {
    type Error = String;
    fn try_from(file: HistogramFile) -> Result<LatencyHistogram, String> {
        let mut h = LatencyHistogram::default();
        for (low, count) in file.buckets {
            let index = bucket_of(low);
            if bucket_low(index) != low {
                return Err(format!("{low} is not the lowest value of a latency bucket"));
            }
            h.add_counted(index, count).ok_or("the latency bucket counts add up to more than 2^64")?;
        }
        if h.total > 0 && bucket_of(file.max_ns) + 1 != h.counts.len() {
            return Err(format!("max_ns {} is not in the last latency bucket", file.max_ns));
        }
        h.max = file.max_ns;
        Ok(h)
    }
}

/// The bucket holding `v`.
fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let mantissa = (v >> shift) & (SUB - 1);
    (SUB + u64::from(shift) * SUB + mantissa) as usize
}

/// The smallest value in bucket `index`.
fn bucket_low(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB {
        return index;
    }
    let shift = (index - SUB) / SUB;
    let mantissa = (index - SUB) % SUB;
    (SUB + mantissa) << shift
}

/// The largest value in bucket `index`.
fn bucket_high(index: usize) -> u64 {
    let low = bucket_low(index);
    if (index as u64) < SUB {
        return low;
    }
    let shift = (index as u64 - SUB) / SUB;
    low + ((1u64 << shift) - 1)
}

/// The rank (1-based) of the `p`-th percentile among `n` sorted values, nearest-rank method.
fn nearest_rank(n: u64, p: u64) -> u64 {
    ((u128::from(n) * u128::from(p)).div_ceil(100) as u64).max(1)
}

impl LatencyHistogram {
    /// Count one latency of `ns` nanoseconds (its bucket, and the exact maximum).
    pub fn record(&mut self, ns: u64) {
        self.add_to(bucket_of(ns), 1);
        self.max = self.max.max(ns);
    }

    fn add_to(&mut self, index: usize, count: u64) {
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += count;
        self.total += count;
    }

    /// Add `count` to bucket `index`, or `None` (and no change) if a count would overflow:
    /// counts read back from a file may be anything.
    fn add_counted(&mut self, index: usize, count: u64) -> Option<()> {
        let total = self.total.checked_add(count)?;
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] = self.counts[index].checked_add(count)?;
        self.total = total;
        Some(())
    }

    /// [`merge`](Self::merge) for histograms read back from files: `None`, and `self`
    /// unusable, if a count would overflow.
    pub fn checked_merge(&mut self, other: &LatencyHistogram) -> Option<()> {
        for (i, &c) in other.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            self.add_counted(i, c)?;
        }
        self.max = self.max.max(other.max);
        Some(())
    }

    /// Add `other`'s values to this histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The exact largest value, if any.
    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    /// The `p`-th percentile (nearest rank), as the upper end of its bucket
    /// (never above the exact maximum): at most 0.8% above the true value.
    pub fn percentile(&self, p: u64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = nearest_rank(self.total, p);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_high(i).min(self.max));
            }
        }
        unreachable!("the ranks add up to the total")
    }
}

/// The `p`-th percentile (nearest rank) of values already sorted ascending.
pub fn percentile_of_sorted(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[nearest_rank(sorted.len() as u64, p) as usize - 1])
}

/// Collects one run's latencies from its trace events: the time each
/// application message was commanded, then one latency per delivery of it.
#[derive(Default)]
pub(crate) struct LatencyCollector {
    /// Command time by application id (ids are dense, from 0); `u64::MAX` until commanded.
    commanded: Vec<u64>,
    histogram: LatencyHistogram,
}

impl LatencyCollector {
    #[inline]
    pub(crate) fn observe(&mut self, time: SimTime, kind: &EventKind) {
        match *kind {
            EventKind::Command { app, .. } => {
                let i = slot(app);
                if self.commanded.len() <= i {
                    self.commanded.resize(i + 1, u64::MAX);
                }
                self.commanded[i] = time.0;
            }
            EventKind::Deliver { app, .. } => {
                // A delivery always follows its command; `get` guards against a protocol inventing ids.
                if let Some(&at) = self.commanded.get(slot(app)).filter(|&&at| at != u64::MAX) {
                    self.histogram.record(time.0.saturating_sub(at));
                }
            }
            _ => {}
        }
    }

    pub(crate) fn finish(self) -> LatencyHistogram {
        self.histogram
    }
}

fn slot(app: AppId) -> usize {
    app.0 as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_once_and_are_narrow() {
        for v in (0..5000).chain([u64::MAX, u64::MAX - 1, 1 << 40, (1 << 40) - 1, 123_456_789]) {
            let i = bucket_of(v);
            assert!(bucket_low(i) <= v && v <= bucket_high(i), "{v} in bucket {i}");
            assert_eq!(bucket_of(bucket_low(i)), i);
            assert_eq!(bucket_of(bucket_high(i)), i);
            assert!((bucket_high(i) - bucket_low(i)) as f64 <= v as f64 / 128.0, "{v}");
        }
        // Consecutive buckets leave no gaps.
        for i in 0..2000 {
            assert_eq!(bucket_high(i) + 1, bucket_low(i + 1));
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_of_sorted(&sorted, 50), Some(50));
        assert_eq!(percentile_of_sorted(&sorted, 99), Some(99));
        assert_eq!(percentile_of_sorted(&sorted, 100), Some(100));
        assert_eq!(percentile_of_sorted(&[7], 50), Some(7));
        assert_eq!(percentile_of_sorted(&[], 50), None);
        let mut h = LatencyHistogram::default();
        sorted.iter().for_each(|&v| h.record(v));
        assert_eq!((h.percentile(50), h.percentile(90), h.percentile(99), h.max()), (Some(50), Some(90), Some(99), Some(100)));
    }

    #[test]
    fn merging_is_order_independent_and_survives_json() {
        let (mut a, mut b) = (LatencyHistogram::default(), LatencyHistogram::default());
        [5, 1_000_000, 37_123_456].iter().for_each(|&v| a.record(v));
        [120_000_000, 12].iter().for_each(|&v| b.record(v));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!((ab.count(), ab.max()), (5, Some(120_000_000)));
        let json = serde_json::to_string(&ab).unwrap();
        assert_eq!(serde_json::from_str::<LatencyHistogram>(&json).unwrap(), ab);
        assert!(serde_json::from_str::<LatencyHistogram>(r#"{"max_ns": 5, "buckets": {"1000001": 1}}"#).is_err());
    }
}
