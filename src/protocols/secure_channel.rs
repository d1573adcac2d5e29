//! A unicast channel that puts real bytes on the wire, with optional MAC, AEAD, replay window
//! and access policy, and the compromised member (the insider) a scenario may plant in it.
//!
//! Each message is `seq (8 bytes, little-endian) | body`, or `seq | kind (1 byte) | body`
//! when the scenario gives an access policy. The body is the payload's
//! clear encoding ([`Payload::encode`]); with `mac` an HMAC-SHA256 tag over header and
//! body follows it; with `encrypt` the body is instead sealed by ChaCha20-Poly1305
//! with the seq as nonce and the header as associated data, which authenticates as well. Keys
//! are per directed pair, derived from a secret the scenario's seed determines, so
//! the receiver checks a message against the key of the sender it claims to be
//! from (`shared_key` is the broken variant: one key for the whole group, so a
//! member can seal under another's name). With `replay_window` the receiver keeps, per sender, the highest seq it
//! accepted and a 64-bit bitmap of those just below it (as IPsec does), and refuses
//! a seq it has accepted or one too old to tell. With an access policy, a message is
//! `Data` or `Admin`, and the receiver delivers an authentic `Admin` message only if the
//! sender it authenticated (the claimed sender whose key opened it) may send `Admin`.
//! Every layer off is a deliberately broken variant the security checks catch.
//!
//! Sequence numbers restart with the process, so a node that restarts would reuse
//! nonces and be refused as a replayer: the channel assumes nodes do not restart.

use super::field;
use super::group::refuse_restarts;
use crate::adversary::{AdversarySpec, Captures, flip_bit};
use crate::id::NodeId;
use crate::plugin::Protocol;
use crate::process::{Cluster, Command, Ctx, Incoming, Message, Payload, Process};
use crate::rng::{SimRng, Stream};
use crate::scenario::file::AccessFile;
use crate::scenario::{ConfigCx, Scenario, Seg};
use crate::trace::AdversaryAction;
use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadInput};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use serde::Deserialize;
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
    /// An HMAC-SHA256 tag over header and clear body: a receiver refuses what the claimed
    /// sender's key did not seal.
    pub mac: bool,
    /// The body sealed by ChaCha20-Poly1305 (the seq as nonce, the header as associated data):
    /// secret and authenticated.
    pub encrypt: bool,
    /// The receiver refuses a seq it accepted before, or one 64 or more below the highest it
    /// accepted from that sender.
    pub replay_window: bool,
    /// One key for the whole group instead of one per directed pair: the broken variant, in
    /// which a member can seal under another's name.
    pub shared_key: bool,
}

/// The kinds of message a channel with an access policy tells apart (the kind byte's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Open to every member; what the workload sends.
    Data = 0,
    /// Only from the nodes the policy names.
    Admin = 1,
}

/// The access policy as a scenario writes it (node names; resolved against the cluster at the run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessSpec {
    /// The nodes that may send `Admin` messages, by name.
    pub admins: Vec<String>,
    /// `false`: the broken receiver that never checks.
    pub enforce: bool,
}

impl AccessSpec {
    /// The nodes the policy names, by id (validation has checked every name).
    pub fn admin_ids(&self, cluster: &Cluster) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> =
            self.admins.iter().map(|a| cluster.nodes().find(|&n| cluster.name(n) == a).expect("validated node name")).collect();
        ids.sort();
        ids
    }
}

/// The access policy of a run.
#[derive(Debug)]
pub struct Access {
    /// Sorted.
    admins: Vec<NodeId>,
    enforce: bool,
}

impl Access {
    /// The policy `spec` with its names resolved in `cluster`.
    pub fn new(spec: &AccessSpec, cluster: &Cluster) -> Access {
        Access { admins: spec.admin_ids(cluster), enforce: spec.enforce }
    }

    fn permits(&self, sender: NodeId, kind: Kind) -> bool {
        kind == Kind::Data || self.admins.binary_search(&sender).is_ok()
    }
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

    fn heap_bytes(&self) -> u64 {
        crate::process::vec_bytes(&self.bytes)
    }
}

/// The pre-shared secret every pair's key derives from; the adversary never has it.
#[derive(Debug)]
pub struct Keys {
    master: [u8; 32],
    /// One key for every pair: the broken variant.
    shared: bool,
}

impl Keys {
    /// The secret of the run seeded with `seed`, from its own stream so that it shifts no other draw.
    pub fn new(seed: u64, shared: bool) -> Keys {
        let mut rng = SimRng::new(seed, crate::rng::Stream::Keys);
        let mut master = [0; 32];
        for chunk in master.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        Keys { master, shared }
    }

    /// The key for messages `from -> to`: HMAC-SHA256 of the pair under the secret, so no
    /// two directed pairs share one and a key learnt on one link opens no other.
    /// With a shared key, every pair's is the group's: any member holds every pair's key.
    fn pair(&self, from: NodeId, to: NodeId) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.master).expect("HMAC takes a key of any length");
        if self.shared {
            mac.update(b"group");
        } else {
            mac.update(&from.0.to_le_bytes());
            mac.update(&to.0.to_le_bytes());
        }
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

/// One node's end of every channel: the seq it sends next to each peer, the replay window it
/// keeps for each, and (on the compromised member only) the insider.
pub struct SecureChannel {
    layers: Layers,
    keys: Arc<Keys>,
    access: Option<Arc<Access>>,
    /// The next seq to each destination, by node.
    next_seq: Vec<u64>,
    windows: Vec<Window>,
    /// Set on the node the scenario made a compromised member.
    insider: Option<Insider>,
}

impl SecureChannel {
    /// A node of a cluster of `nodes`, running `layers` with the run's `keys`, enforcing
    /// `access` if given, and acting as `insider` as well if given. Seqs start at 1.
    pub fn new(layers: Layers, keys: Arc<Keys>, nodes: usize, access: Option<Arc<Access>>, insider: Option<Insider>) -> SecureChannel {
        SecureChannel { layers, keys, access, next_seq: vec![1; nodes], windows: vec![Window::default(); nodes], insider }
    }

    fn seal(&self, from: NodeId, to: NodeId, seq: u64, kind: Kind, payload: &Payload) -> Vec<u8> {
        self.seal_under(&self.keys.pair(from, to), seq, kind, payload)
    }

    fn seal_under(&self, key: &[u8; 32], seq: u64, kind: Kind, payload: &Payload) -> Vec<u8> {
        let mut header = seq.to_le_bytes().to_vec();
        // Without a policy there are no kinds, and the bytes are what they always were.
        if self.access.is_some() {
            header.push(kind as u8);
        }
        let mut bytes = header.clone();
        if self.layers.encrypt {
            let cipher = ChaCha20Poly1305::new_from_slice(key).expect("a 32-byte key");
            let sealed =
                cipher.encrypt(&nonce(seq), AeadInput { msg: &payload.encode(), aad: &header }).expect("in-memory encryption cannot fail");
            bytes.extend_from_slice(&sealed);
        } else {
            bytes.extend_from_slice(&payload.encode());
        }
        if self.layers.mac {
            let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
            mac.update(&bytes);
            bytes.extend_from_slice(&mac.finalize().into_bytes());
        }
        bytes
    }

    /// The payload in `bytes` claimed to come `from`, and its kind, if every layer the channel runs accepts it.
    fn open(&mut self, from: NodeId, to: NodeId, bytes: &[u8]) -> Option<(Payload, Kind)> {
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
        let header_len = SEQ_BYTES + usize::from(self.access.is_some());
        if rest.len() < header_len {
            return None;
        }
        let (header, body) = rest.split_at(header_len);
        let seq = u64::from_le_bytes(header[..SEQ_BYTES].try_into().expect("eight bytes"));
        let kind = match header.get(SEQ_BYTES) {
            None | Some(0) => Kind::Data,
            Some(1) => Kind::Admin,
            Some(_) => return None,
        };
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
        Some((payload, kind))
    }

    /// The insider's turn, if this is the insider: one message sent or received, one chance at each attack.
    fn attack(&mut self, ctx: &mut Ctx<'_, Sealed, ()>) {
        let Some(mut insider) = self.insider.take() else { return };
        insider.turn(self, ctx);
        self.insider = Some(insider);
    }
}

/// A compromised member: the node's process run by the adversary. It holds that node's
/// keys (its own pairs' under per-pair keys, the group's under a shared one) and does
/// the node's work, so it looks like any member; and at every message it sends or
/// receives it may, each with its own probability, drawn in this order from
/// [`Stream::Adversary`]:
///
/// - **forge**: seal a fresh message (carrying the payload it received last) to another member,
///   claiming to come from a third (`adv Forge`, and `adv Admin` as well when the claimed
///   sender may send `Admin`: it borrows that privilege). It has two keys worth trying, and
///   the seq's parity picks one: its own pair's with that receiver (which opens there if keys
///   do not depend on the sender), or the claimed sender's pair's with itself, which it holds
///   as that sender's receiver (which opens there if keys do not depend on the receiver).
///   Under per-pair keys neither does. The seq is drawn below 2^32: it cannot know the real
///   sender's.
/// - **replay**: send one of its own earlier messages again, unchanged, to its receiver (`adv Replay`).
/// - **tamper**: flip a bit of a message it received and pass it on to a third member as if
///   from its sender (`adv Tamper`, and `adv Admin` if the bit flipped made the kind `Admin`).
/// - **forbidden**: send, under its own name and keys, an `Admin` message (carrying the
///   payload it received last) the policy does not permit it (`adv Admin`).
///
/// Forge and forbidden wait for a first received payload, replay for a first message sent,
/// tamper for a first one received. Fabrications carry a payload sent *to the insider*, never
/// one it sends itself: a receiver that got one of its own payloads from a fabrication and
/// then from a replay of the honest message would seem to deliver a replay twice.
///
/// Everything it injects arrives at once, as the link adversary's does. It keeps the latest
/// 256 messages it sent and received. Its stream restarts with its process.
#[derive(Debug)]
pub struct Insider {
    rng: SimRng,
    forge_ppb: u32,
    replay_ppb: u32,
    tamper_ppb: u32,
    forbidden_ppb: u32,
    /// Its own messages as sent: `(receiver, message)`.
    sent: Captures<(NodeId, Sealed)>,
    /// Authentic messages it received: `(sender, message)`.
    received: Captures<(NodeId, Sealed)>,
    /// The payload of the latest of them, which its fabrications carry.
    latest: Option<Payload>,
}

impl Insider {
    /// An insider acting with the probabilities of the scenario's adversary `spec` (each in
    /// parts per billion), drawing from the adversary stream of `seed`.
    pub fn new(spec: &AdversarySpec, seed: u64) -> Insider {
        Insider {
            rng: SimRng::new(seed, Stream::Adversary),
            forge_ppb: spec.forge_ppb,
            replay_ppb: spec.replay_ppb,
            tamper_ppb: spec.tamper_ppb,
            forbidden_ppb: spec.forbidden_ppb,
            sent: Captures::default(),
            received: Captures::default(),
            latest: None,
        }
    }

    fn turn(&mut self, channel: &mut SecureChannel, ctx: &mut Ctx<'_, Sealed, ()>) {
        use AdversaryAction::{Admin, Forge, Replay, Tamper};
        let me = ctx.me();
        let n = ctx.cluster().len() as u32;
        // The four decisions first, in a fixed order, then what each needs, in the same order.
        let forge = self.rng.chance(self.forge_ppb);
        let replay = self.rng.chance(self.replay_ppb);
        let tamper = self.rng.chance(self.tamper_ppb);
        let forbidden = self.rng.chance(self.forbidden_ppb);
        if let (true, Some(payload)) = (forge, self.latest) {
            let to = self.other(n, &[me]);
            let claimed = self.other(n, &[me, to]);
            let seq = self.rng.between(1, u64::from(u32::MAX));
            let admin = channel.access.as_ref().is_some_and(|a| a.permits(claimed, Kind::Admin));
            let kind = if admin { Kind::Admin } else { Kind::Data };
            // No draw of its own for the key: a new draw would move every later decision.
            let key = if seq.is_multiple_of(2) { channel.keys.pair(me, to) } else { channel.keys.pair(claimed, me) };
            let bytes = channel.seal_under(&key, seq, kind, &payload);
            ctx.inject(if admin { &[Forge, Admin] } else { &[Forge] }, claimed, to, Sealed { bytes });
        }
        if replay && !self.sent.is_empty() {
            let (to, msg) = self.sent.pick(&mut self.rng);
            ctx.inject(&[Replay], me, to, msg);
        }
        if tamper && !self.received.is_empty() {
            let (from, mut msg) = self.received.pick(&mut self.rng);
            flip_bit(&mut self.rng, &mut msg.bytes);
            let to = self.other(n, &[me, from]);
            // The flip may have turned the kind byte to Admin: the insider knows the format, so
            // the trace says so, for the access check's ground truth.
            let admin = channel.access.is_some() && msg.bytes[SEQ_BYTES] == Kind::Admin as u8;
            ctx.inject(if admin { &[Tamper, Admin] } else { &[Tamper] }, from, to, msg);
        }
        if let (true, Some(payload)) = (forbidden, self.latest) {
            let to = self.other(n, &[me]);
            let seq = channel.next_seq[to.index()];
            channel.next_seq[to.index()] += 1;
            let bytes = channel.seal(me, to, seq, Kind::Admin, &payload);
            ctx.inject(&[Admin], me, to, Sealed { bytes });
        }
    }

    /// A node not in `exclude` (distinct nodes, fewer than `n`), uniformly: one draw.
    fn other(&mut self, n: u32, exclude: &[NodeId]) -> NodeId {
        let pick = self.rng.below(u64::from(n) - exclude.len() as u64) as usize;
        (0..n).map(NodeId).filter(|x| !exclude.contains(x)).nth(pick).expect("validation leaves a node to pick")
    }
}

/// The AEAD nonce for `seq`: unique per key because seq never repeats on a directed pair
/// (except in the insider's forgeries, whose seq is drawn at random).
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
        let mut sent = Vec::new();
        for to in ctx.cluster().recipients(me, dest) {
            let seq = self.next_seq[to.index()];
            self.next_seq[to.index()] += 1;
            let msg = Sealed { bytes: self.seal(me, to, seq, Kind::Data, &payload) };
            if self.insider.is_some() {
                sent.push((to, msg.clone()));
            }
            ctx.send(to, msg);
        }
        // The attack picks from what came before; this message is kept for later ones.
        self.attack(ctx);
        if let Some(insider) = &mut self.insider {
            sent.into_iter().for_each(|s| insider.sent.push(s));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Sealed, ()>, incoming: Incoming<Sealed>) {
        let Some((payload, kind)) = self.open(incoming.from, ctx.me(), &incoming.msg.bytes) else { return };
        // The policy is checked against the sender whose key opened the message, never a claim inside it.
        if self.access.as_ref().is_none_or(|a| !a.enforce || a.permits(incoming.from, kind)) {
            ctx.deliver(payload);
        }
        if let Some(insider) = &mut self.insider {
            insider.latest = Some(payload);
        }
        self.attack(ctx);
        if let Some(insider) = &mut self.insider {
            insider.received.push((incoming.from, incoming.msg));
        }
    }
}

/// `SecureChannel(mac: .., encrypt: .., replay_window: .., shared_key: .., access: (admin: [..], enforce: ..))`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "SecureChannel", deny_unknown_fields)]
pub struct Config {
    /// Append an HMAC-SHA256 tag under a key of the sending pair's own.
    #[serde(default)]
    pub mac: bool,
    /// Seal the payload with ChaCha20-Poly1305 under the pair's key (authenticates too).
    #[serde(default)]
    pub encrypt: bool,
    /// Refuse a sequence number already accepted from the same sender.
    #[serde(default)]
    pub replay_window: bool,
    /// One key for the whole group instead of one per pair (the broken variant: any member can
    /// then seal a message under any other member's name).
    #[serde(default)]
    pub shared_key: bool,
    /// Message kinds and who may send them; without it every message is `Data`.
    #[serde(default)]
    pub access: Option<AccessFile>,
}

/// The secure channel, as scenarios name it.
pub struct SecureChannelProtocol;

impl Protocol for SecureChannelProtocol {
    const NAME: &'static str = "SecureChannel";
    const WIRE_BYTES: bool = true;
    type Config = Config;
    type Process = SecureChannel;

    /// A sequence counter and a replay window per peer.
    fn state_bytes(_: &Config, cluster: &Cluster) -> u64 {
        (cluster.len() as u64).saturating_mul(8 + std::mem::size_of::<Window>() as u64)
    }

    /// Admins that are nodes; a sender of forbidden kinds that the policy forbids something; and
    /// no restart: sequence numbers and replay windows live in memory, so a restarted sender
    /// would count from one again and its honest messages look like replays.
    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        if let Some(access) = &config.access {
            for (i, name) in access.admin.iter().enumerate() {
                cx.node(&[field("access"), field("admin"), Seg::Index(i)], name);
            }
        }
        refuse_restarts(
            cx,
            "SecureChannel",
            "its sequence numbers and replay windows live in memory, so a restarted sender's honest messages would look replayed",
        );
        let forbidden = cx.file().adversary.as_ref().and_then(|a| Some((a.forbidden?, a.node.clone()?)));
        if let Some((rate, insider)) = forbidden
            && rate.0 > 0.0
        {
            let path = [Seg::Field("adversary"), Seg::Field("forbidden")];
            match &config.access {
                None => cx.error_in_scenario(
                    &path,
                    "forbidden kinds without an access policy: every kind is allowed",
                    "`access: (admin: [..])` in the protocol".to_string(),
                ),
                Some(access) if access.admin.contains(&insider) => cx.error_in_scenario(
                    &path,
                    format!("forbidden kinds from {insider}, whom the policy lets send every kind"),
                    "an insider the policy does not name in `admin`".to_string(),
                ),
                Some(_) => {}
            }
        }
    }

    fn factory(config: &Config, scenario: &Scenario, seed: u64) -> impl FnMut(NodeId) -> SecureChannel {
        let layers =
            Layers { mac: config.mac, encrypt: config.encrypt, replay_window: config.replay_window, shared_key: config.shared_key };
        let keys = Arc::new(Keys::new(seed, layers.shared_key));
        let nodes = scenario.cluster.len();
        let access = config.access.as_ref().map(|a| Arc::new(Access::new(&SecureChannelProtocol::policy(a), &scenario.cluster)));
        let insider = scenario.adversary.as_ref().and_then(|a| a.node.map(|node| (node, a)));
        move |me| {
            let role = insider.filter(|&(node, _)| node == me).map(|(_, spec)| Insider::new(spec, seed));
            SecureChannel::new(layers, keys.clone(), nodes, access.clone(), role)
        }
    }
}

impl SecureChannelProtocol {
    fn policy(access: &AccessFile) -> AccessSpec {
        AccessSpec { admins: access.admin.clone(), enforce: access.enforce }
    }

    /// The nodes the configuration's policy lets send `Admin` (none without a policy).
    pub fn admins(config: &Config, cluster: &Cluster) -> Vec<NodeId> {
        config.access.as_ref().map_or_else(Vec::new, |a| SecureChannelProtocol::policy(a).admin_ids(cluster))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::AppId;
    use crate::process::PLAINTEXT_MARKER;

    fn channel(mac: bool, encrypt: bool, replay_window: bool) -> SecureChannel {
        SecureChannel::new(Layers { mac, encrypt, replay_window, shared_key: false }, Arc::new(Keys::new(1, false)), 3, None, None)
    }

    #[test]
    fn every_bit_flip_is_refused_by_the_mac_and_by_the_aead() {
        let payload = Payload::new(AppId(9), NodeId(0), 64);
        for (mac, encrypt) in [(true, false), (false, true)] {
            let mut rx = channel(mac, encrypt, false);
            let bytes = channel(mac, encrypt, false).seal(NodeId(0), NodeId(1), 1, Kind::Data, &payload);
            assert_eq!(rx.open(NodeId(0), NodeId(1), &bytes), Some((payload, Kind::Data)));
            for bit in 0..bytes.len() * 8 {
                let mut bad = bytes.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(rx.open(NodeId(0), NodeId(1), &bad), None, "mac {mac}, encrypt {encrypt}, bit {bit}");
            }
            // The same bytes claimed to come from another node fail under that pair's key.
            assert_eq!(rx.open(NodeId(2), NodeId(1), &bytes), None);
        }
    }

    fn with_policy(shared_key: bool, enforce: bool) -> SecureChannel {
        let cluster = Cluster { names: vec!["a".into(), "b".into(), "c".into()], groups: vec![] };
        let access = Access::new(&AccessSpec { admins: vec!["a".into()], enforce }, &cluster);
        let layers = Layers { mac: true, encrypt: false, replay_window: false, shared_key };
        SecureChannel::new(layers, Arc::new(Keys::new(1, shared_key)), 3, Some(Arc::new(access)), None)
    }

    #[test]
    fn the_kind_byte_is_authenticated_and_only_admins_may_send_admin() {
        let payload = Payload::new(AppId(9), NodeId(0), 64);
        let mut rx = with_policy(false, true);
        let bytes = rx.seal(NodeId(2), NodeId(1), 1, Kind::Data, &payload);
        let mut promoted = bytes.clone();
        promoted[SEQ_BYTES] = Kind::Admin as u8;
        assert_eq!(rx.open(NodeId(2), NodeId(1), &promoted), None, "the MAC covers the kind");
        assert_eq!(rx.open(NodeId(2), NodeId(1), &bytes), Some((payload, Kind::Data)));
        let access = rx.access.as_ref().expect("a policy");
        assert!(access.permits(NodeId(0), Kind::Admin) && !access.permits(NodeId(2), Kind::Admin));
        assert!(access.permits(NodeId(2), Kind::Data));
    }

    #[test]
    fn a_group_key_opens_a_message_sealed_by_any_member_under_any_name() {
        let payload = Payload::new(AppId(9), NodeId(2), 64);
        // c seals with the key it holds for c -> b and claims the message comes from a.
        for (shared, opens) in [(false, false), (true, true)] {
            let c = with_policy(shared, true);
            let forged = c.seal_under(&c.keys.pair(NodeId(2), NodeId(1)), 7, Kind::Admin, &payload);
            let mut b = with_policy(shared, true);
            assert_eq!(b.open(NodeId(0), NodeId(1), &forged).is_some(), opens, "shared key: {shared}");
        }
    }

    // Postmortem: keys derived from the sender alone went unnoticed, as the insider only ever
    // sealed its forgeries under its own pair's key, which such keys do not give away.
    #[test]
    fn regression_the_insider_forges_under_each_key_it_holds() {
        use crate::process::Effect;
        use crate::time::SimTime;
        let (a, c) = (NodeId(0), NodeId(2));
        let spec = AdversarySpec {
            links: vec![],
            node: Some(c),
            drop_ppb: 0,
            tamper_ppb: 0,
            replay_ppb: 0,
            forge_ppb: 1_000_000_000,
            forbidden_ppb: 0,
        };
        let keys = Arc::new(Keys::new(1, false));
        let layers = Layers { mac: true, encrypt: true, replay_window: true, shared_key: false };
        let mut insider = SecureChannel::new(layers, Arc::clone(&keys), 3, None, Some(Insider::new(&spec, 7)));
        let honest = SecureChannel::new(layers, Arc::clone(&keys), 3, None, None);
        let cluster = Cluster { names: vec!["a".into(), "b".into(), "c".into()], groups: vec![] };
        let (mut rng, mut effects, mut next_timer, mut next_call) = (SimRng::new(1, Stream::Node(2)), Vec::new(), 0, 0);
        for seq in 1..=64 {
            let payload = Payload::new(AppId(seq), a, 16);
            let msg = Sealed { bytes: honest.seal(a, c, seq, Kind::Data, &payload) };
            let mut ctx = Ctx {
                now_local: SimTime::ZERO,
                me: c,
                cluster: &cluster,
                rng: &mut rng,
                effects: &mut effects,
                next_timer: &mut next_timer,
                next_call: &mut next_call,
            };
            insider.on_message(&mut ctx, Incoming { from: a, msg, checksum_ok: true, call: None });
        }
        let (mut own_pair, mut claimed_pair) = (0, 0);
        for effect in &effects {
            let Effect::Inject { from: claimed, to, msg, .. } = effect else { continue };
            let mut receiver = SecureChannel::new(layers, Arc::clone(&keys), 3, None, None);
            assert_eq!(receiver.open(*claimed, *to, &msg.bytes), None, "per-pair keys refuse every forgery");
            // Which key sealed it: the one that opens it, as from the pair it belongs to.
            own_pair += usize::from(receiver.open(c, *to, &msg.bytes).is_some());
            claimed_pair += usize::from(receiver.open(*claimed, c, &msg.bytes).is_some());
        }
        assert_eq!(own_pair + claimed_pair, 64, "one forgery a turn, each under a key the insider holds");
        assert!(own_pair > 10 && claimed_pair > 10, "both keys are tried: {own_pair} and {claimed_pair}");
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
        assert!(marked(&channel(true, false, true).seal(NodeId(0), NodeId(1), 1, Kind::Data, &payload)));
        assert!(!marked(&channel(false, true, true).seal(NodeId(0), NodeId(1), 1, Kind::Data, &payload)));
    }
}
