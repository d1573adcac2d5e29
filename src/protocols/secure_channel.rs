//! A unicast channel that puts real bytes on the wire, with optional MAC, AEAD and replay window.
//!
//! Each message is `seq (8 bytes, little-endian) | body`. The body is the payload's
//! clear encoding ([`Payload::encode`]); with `mac` an HMAC-SHA256 tag over seq and
//! body follows it; with `encrypt` the body is instead sealed by ChaCha20-Poly1305
//! with the seq as nonce and as associated data, which authenticates as well. Keys
//! are per directed pair, derived from a secret the scenario's seed determines, so
//! the receiver checks a message against the key of the sender it claims to be
//! from. With `replay_window` the receiver keeps, per sender, the highest seq it
//! accepted and a 64-bit bitmap of those just below it (as IPsec does), and refuses
//! a seq it has accepted or one too old to tell. Every layer off is the deliberately
//! broken variant the security checks catch.
//!
//! Sequence numbers restart with the process, so a node that restarts would reuse
//! nonces and be refused as a replayer: the channel assumes nodes do not restart.

use crate::id::NodeId;
use crate::process::{Command, Ctx, Incoming, Message, Payload, Process};
use crate::rng::SimRng;
use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadInput};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;

type HmacSha256 = Hmac<Sha256>;

const SEQ_BYTES: usize = 8;
const TAG_BYTES: usize = 32;
/// How far below the highest accepted seq the replay window still remembers.
const WINDOW: u64 = 64;

/// Which layers the channel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layers {
    pub mac: bool,
    pub encrypt: bool,
    pub replay_window: bool,
}

/// The bytes on the wire.
#[derive(Clone, Debug)]
pub struct Sealed {
    bytes: Vec<u8>,
}

impl Message for Sealed {
    fn wire_size(&self) -> u32 {
        self.bytes.len() as u32
    }

    /// A corrupting link damages the bytes, as the adversary does: only a MAC notices.
    fn corrupt(&mut self) {
        if let Some(last) = self.bytes.last_mut() {
            *last ^= 1;
        }
    }

    fn wire_bytes(&mut self) -> Option<&mut Vec<u8>> {
        Some(&mut self.bytes)
    }
}

/// The pre-shared secret every pair's key derives from; the adversary never has it.
#[derive(Debug)]
pub struct Keys {
    master: [u8; 32],
}

impl Keys {
    /// The secret of the run seeded with `seed`, from its own stream so that it shifts no other draw.
    pub fn new(seed: u64) -> Keys {
        let mut rng = SimRng::new(seed, crate::rng::Stream::Keys);
        let mut master = [0; 32];
        for chunk in master.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        Keys { master }
    }

    /// The key for messages `from -> to`: HMAC-SHA256 of the pair under the secret, so no
    /// two directed pairs share one and a key learnt on one link opens no other.
    fn pair(&self, from: NodeId, to: NodeId) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.master).expect("HMAC takes a key of any length");
        mac.update(&from.0.to_le_bytes());
        mac.update(&to.0.to_le_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// What the receiver remembers of one sender's sequence numbers.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    highest: u64,
    /// Bit `i` set: `highest - i` was accepted.
    seen: u64,
}

impl Window {
    /// Accept `seq` and remember it, or refuse it as already accepted or too old to tell.
    fn accept(&mut self, seq: u64) -> bool {
        if seq > self.highest {
            let shift = seq - self.highest;
            self.seen = if shift >= WINDOW { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.highest = seq;
            return true;
        }
        let age = self.highest - seq;
        if age >= WINDOW || self.seen & (1 << age) != 0 {
            return false;
        }
        self.seen |= 1 << age;
        true
    }
}

pub struct SecureChannel {
    layers: Layers,
    keys: Arc<Keys>,
    /// The next seq to each destination, by node.
    next_seq: Vec<u64>,
    windows: Vec<Window>,
}

impl SecureChannel {
    pub fn new(layers: Layers, keys: Arc<Keys>, nodes: usize) -> SecureChannel {
        SecureChannel { layers, keys, next_seq: vec![1; nodes], windows: vec![Window::default(); nodes] }
    }

    fn seal(&self, from: NodeId, to: NodeId, seq: u64, payload: &Payload) -> Vec<u8> {
        let key = self.keys.pair(from, to);
        let header = seq.to_le_bytes();
        let mut bytes = header.to_vec();
        if self.layers.encrypt {
            let cipher = ChaCha20Poly1305::new_from_slice(&key).expect("a 32-byte key");
            let sealed =
                cipher.encrypt(&nonce(seq), AeadInput { msg: &payload.encode(), aad: &header }).expect("in-memory encryption cannot fail");
            bytes.extend_from_slice(&sealed);
        } else {
            bytes.extend_from_slice(&payload.encode());
        }
        if self.layers.mac {
            let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes a key of any length");
            mac.update(&bytes);
            bytes.extend_from_slice(&mac.finalize().into_bytes());
        }
        bytes
    }

    /// The payload in `bytes` claimed to come `from`, if every layer the channel runs accepts it.
    fn open(&mut self, from: NodeId, to: NodeId, bytes: &[u8]) -> Option<Payload> {
        let key = self.keys.pair(from, to);
        let mut rest = bytes;
        if self.layers.mac {
            let split = rest.len().checked_sub(TAG_BYTES)?;
            let (signed, tag) = rest.split_at(split);
            let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes a key of any length");
            mac.update(signed);
            // `verify_slice` compares in constant time, as a real receiver must.
            mac.verify_slice(tag).ok()?;
            rest = signed;
        }
        if rest.len() < SEQ_BYTES {
            return None;
        }
        let (header, body) = rest.split_at(SEQ_BYTES);
        let seq = u64::from_le_bytes(header.try_into().expect("eight bytes"));
        let payload = if self.layers.encrypt {
            let cipher = ChaCha20Poly1305::new_from_slice(&key).expect("a 32-byte key");
            let plain = cipher.decrypt(&nonce(seq), AeadInput { msg: body, aad: header }).ok()?;
            Payload::decode(&plain)?
        } else {
            Payload::decode(body)?
        };
        // Only an authentic message may move the window, or a forger could push it past
        // the real sender's next seq and have its messages refused.
        if self.layers.replay_window && !self.windows[from.index()].accept(seq) {
            return None;
        }
        Some(payload)
    }
}

/// The AEAD nonce for `seq`: unique per key because seq never repeats on a directed pair.
fn nonce(seq: u64) -> Nonce {
    let mut n = [0; 12];
    n[..8].copy_from_slice(&seq.to_le_bytes());
    Nonce::from(n)
}

impl Process for SecureChannel {
    type Msg = Sealed;
    type Timer = ();

    fn on_command(&mut self, ctx: &mut Ctx<'_, Sealed, ()>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        let me = ctx.me();
        // Multicast and broadcast go as one unicast to each recipient: each pair has its own key.
        for to in ctx.cluster().recipients(me, dest) {
            let seq = self.next_seq[to.index()];
            self.next_seq[to.index()] += 1;
            let bytes = self.seal(me, to, seq, &payload);
            ctx.send(to, Sealed { bytes });
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Sealed, ()>, incoming: Incoming<Sealed>) {
        if let Some(payload) = self.open(incoming.from, ctx.me(), &incoming.msg.bytes) {
            ctx.deliver(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::AppId;
    use crate::process::PLAINTEXT_MARKER;

    fn channel(mac: bool, encrypt: bool, replay_window: bool) -> SecureChannel {
        SecureChannel::new(Layers { mac, encrypt, replay_window }, Arc::new(Keys::new(1)), 3)
    }

    #[test]
    fn every_bit_flip_is_refused_by_the_mac_and_by_the_aead() {
        let payload = Payload::new(AppId(9), NodeId(0), 64);
        for (mac, encrypt) in [(true, false), (false, true)] {
            let mut rx = channel(mac, encrypt, false);
            let bytes = channel(mac, encrypt, false).seal(NodeId(0), NodeId(1), 1, &payload);
            assert_eq!(rx.open(NodeId(0), NodeId(1), &bytes), Some(payload));
            for bit in 0..bytes.len() * 8 {
                let mut bad = bytes.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(rx.open(NodeId(0), NodeId(1), &bad), None, "mac {mac}, encrypt {encrypt}, bit {bit}");
            }
            // The same bytes claimed to come from another node fail under that pair's key.
            assert_eq!(rx.open(NodeId(2), NodeId(1), &bytes), None);
        }
    }

    #[test]
    fn the_window_refuses_repeats_and_the_too_old_but_takes_late_arrivals() {
        let mut w = Window::default();
        assert!(w.accept(2));
        assert!(w.accept(1), "a late arrival within the window");
        assert!(!w.accept(1) && !w.accept(2), "repeats");
        assert!(w.accept(100));
        assert!(!w.accept(36), "64 or more below the highest: too old to tell");
        assert!(w.accept(37));
    }

    #[test]
    fn only_encryption_hides_the_payload_marker() {
        let payload = Payload::new(AppId(1), NodeId(0), 8);
        let marked = |b: &[u8]| b.windows(PLAINTEXT_MARKER.len()).any(|w| w == PLAINTEXT_MARKER);
        assert!(marked(&channel(true, false, true).seal(NodeId(0), NodeId(1), 1, &payload)));
        assert!(!marked(&channel(false, true, true).seal(NodeId(0), NodeId(1), 1, &payload)));
    }
}
