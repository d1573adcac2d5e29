//! Named random streams derived from one seed, and the sampling primitives built on raw `u64` draws.
//!
//! Every subsystem draws from its own ChaCha8 stream (same key, a different
//! stream number), so a draw added in one subsystem never shifts another's
//! sequence. Sampling is our own integer code: `rand`'s `gen_range` and friends
//! may change output between versions, ours may not (see the golden-vector test).

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The subsystems that own a random stream. The numbers are part of the trace
/// format: changing one changes every trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Link decisions: loss, latency, duplication, corruption.
    Network,
    /// Fault decisions taken at run time.
    Faults,
    /// Workload choices (random destinations).
    Workload,
    /// Swarm mode: fault parameters drawn once, before the run.
    Swarm,
    /// A node's own stream, handed to its process through `Ctx::rng`.
    Node(u32),
    /// The adversary's choices: what to drop, tamper with, replay and forge.
    Adversary,
    /// The secret from which a secure channel derives its per-pair keys.
    Keys,
    /// How long each process takes to serve a message from its mailbox.
    Service,
    /// How long a link with a service distribution takes over each message.
    LinkService,
}

impl Stream {
    fn number(self) -> u64 {
        match self {
            Stream::Network => 1,
            Stream::Faults => 2,
            Stream::Workload => 3,
            Stream::Swarm => 4,
            Stream::Adversary => 5,
            Stream::Keys => 6,
            Stream::Service => 7,
            Stream::LinkService => 8,
            Stream::Node(i) => (1 << 32) | u64::from(i),
        }
    }
}

/// A deterministic random stream.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

/// `rand`'s view of a stream, so protocols can use `rand::RngExt` (`random_range`, `shuffle`, ...).
/// The bundled protocols keep to `below`, `between` and `chance`, whose outputs this crate pins;
/// `rand`'s samplers may change between its versions.
impl rand_core::TryRng for SimRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.inner.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.inner.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.inner.fill_bytes(dst);
        Ok(())
    }
}

/// Fixed-point scale for probabilities: parts per billion.
pub const PPB: u64 = 1_000_000_000;

impl SimRng {
    /// The stream `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: Stream) -> SimRng {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream.number());
        SimRng { inner }
    }

    /// How far the stream has been drawn, in 32-bit words: two streams of one seed and number
    /// at the same position draw the same from here on (`msgsim explore` fingerprints by it).
    pub(crate) fn position(&self) -> u128 {
        self.inner.get_word_pos()
    }

    /// The next raw 64-bit draw of the stream.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-64 * n,
    /// which we accept to keep one draw per call and the sequence stable).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `ppb / 1e9`. Draws nothing when the outcome is
    /// certain, so a fault-free link costs no randomness.
    #[inline]
    pub fn chance(&mut self, ppb: u32) -> bool {
        match u64::from(ppb) {
            0 => false,
            PPB.. => true,
            p => self.below(PPB) < p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins what `rand`'s samplers give on a node's stream, so a protocol written with
    /// `rand::RngExt` replays identically: if this fails, `rand` changed its sampling and such
    /// protocols' traces change with it (say so in the release notes).
    #[test]
    fn rand_samplers_on_a_stream_are_pinned() {
        use rand::RngExt;
        use rand::seq::SliceRandom;
        let mut rng = SimRng::new(7, Stream::Node(0));
        let draws: Vec<u32> = (0..4).map(|_| rng.random_range(1..10)).collect();
        let mut deck = [1, 2, 3, 4, 5];
        deck.shuffle(&mut rng);
        let coin = rng.random_bool(0.5);
        assert_eq!((draws, deck, coin), (vec![9, 4, 1, 4], [3, 5, 1, 4, 2], true));
    }

    /// Pins the first outputs of each stream. If this fails, every trace hash of
    /// every scenario changes: a dependency changed its generator, or someone
    /// renumbered a stream. Do not update the numbers without saying so loudly.
    #[test]
    fn golden_vectors() {
        let mut net = SimRng::new(7, Stream::Network);
        let firsts: Vec<u64> = (0..3).map(|_| net.next_u64()).collect();
        let mut node = SimRng::new(7, Stream::Node(3));
        let node_first = node.next_u64();
        let mut w = SimRng::new(7, Stream::Workload);
        let picks: Vec<u64> = (0..5).map(|_| w.below(10)).collect();
        assert_eq!(firsts, [18301176669829311175, 166969048821288533, 13311386896195443538]);
        assert_eq!(node_first, 5693560982930056147);
        assert_eq!(picks, [1, 0, 9, 3, 3]);
    }

    #[test]
    fn streams_are_independent() {
        let mut a = SimRng::new(1, Stream::Network);
        let mut b = SimRng::new(1, Stream::Faults);
        assert_ne!(a.next_u64(), b.next_u64());
        let mut c = SimRng::new(2, Stream::Network);
        assert_ne!(SimRng::new(1, Stream::Network).next_u64(), c.next_u64());
    }

    #[test]
    fn chance_extremes_draw_nothing() {
        let mut r = SimRng::new(1, Stream::Network);
        let before = r.clone().next_u64();
        assert!(!r.chance(0));
        assert!(r.chance(1_000_000_000));
        assert_eq!(r.next_u64(), before);
    }

    #[test]
    fn between_covers_both_ends() {
        let mut r = SimRng::new(3, Stream::Workload);
        let mut seen = [false; 4];
        for _ in 0..1000 {
            seen[(r.between(5, 8) - 5) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(r.between(9, 9), 9);
    }
}
