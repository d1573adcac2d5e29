//! The alternating-bit protocol and a check of its guarantee, written against msgsim's public
//! API exactly as a user's own crate would be: `AlternatingBit` is named in scenarios as
//! `protocol: AlternatingBit(timeout_ms: 30)`, `InOrderOnce` as `checks: [InOrderOnce]`. The
//! [`ladder`] module holds the reference solutions of the book's challenges.

mod check;
pub mod ladder;
mod protocol;

pub use check::InOrderOnce;
pub use protocol::{AlternatingBit, Bug, Config, Frame, Node};

use msgsim::Registry;

// ANCHOR: registry
/// msgsim's bundled protocols and checks, plus this crate's.
pub fn registry() -> Registry {
    Registry::builtin().with_protocol::<AlternatingBit>().with_check::<InOrderOnce>()
}
// ANCHOR_END: registry
