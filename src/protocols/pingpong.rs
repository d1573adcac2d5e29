//! Ping-pong: two nodes bounce one message back and forth; the engine's minimal workload.
//!
//! Node 0 sends a ping to node 1 at start; node 1 answers every ping with a
//! pong; node 0 answers every pong with the next ping until `round_trips`
//! pongs have come back. Exactly one message is in flight at any time (on a
//! lossless link), which makes it the benchmark of the event loop's fixed cost.

use super::field;
use crate::id::NodeId;
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Message, Process};
use crate::scenario::file::Whole;
use crate::scenario::{ConfigCx, Scenario, Seg, limits};
use serde::Deserialize;

/// The one message in flight, numbered by its round trip (from 0).
#[derive(Clone, Debug)]
pub enum Ball {
    /// Node 0 to node 1: round trip `n` begins.
    Ping(u64),
    /// Node 1's answer to ping `n`.
    Pong(u64),
}

impl Message for Ball {
    fn wire_size(&self) -> u32 {
        16
    }
    /// Carries no application payload: nothing to damage that a checker could see.
    fn corrupt(&mut self) {}
}

/// One of the two players (any node beyond the first two only idles).
pub struct PingPong {
    round_trips: u64,
}

impl PingPong {
    /// A player; node 0 stops after `round_trips` pongs have come back (0: it sends no ping).
    pub fn new(round_trips: u64) -> PingPong {
        PingPong { round_trips }
    }
}

impl Process for PingPong {
    type Msg = Ball;
    type Timer = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Ball, ()>) {
        if ctx.me() == NodeId(0) && self.round_trips > 0 && ctx.cluster().len() > 1 {
            ctx.send(NodeId(1), Ball::Ping(0));
        }
    }

    fn on_command(&mut self, _ctx: &mut Ctx<'_, Ball, ()>, _cmd: Command) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, Ball, ()>, incoming: Incoming<Ball>) {
        match incoming.msg {
            Ball::Ping(n) => ctx.send(incoming.from, Ball::Pong(n)),
            Ball::Pong(n) if n + 1 < self.round_trips => ctx.send(incoming.from, Ball::Ping(n + 1)),
            Ball::Pong(_) => {}
        }
    }
}

/// `PingPong(round_trips: N)`: two nodes bounce one message N times (the engine benchmark).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "PingPong", deny_unknown_fields)]
pub struct Config {
    /// Round trips before the pair stops.
    pub round_trips: Whole,
}

/// The ping-pong protocol, as scenarios name it.
pub struct PingPongProtocol;

impl Protocol for PingPongProtocol {
    const NAME: &'static str = "PingPong";
    type Config = Config;
    type Process = PingPong;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.within(&[field("round_trips")], config.round_trips.0, 1..=limits::MAX_MESSAGES_PER_WORKLOAD, |n| format!("{n} round trips"));
        if cx.cluster().len() < 2 {
            cx.error_in_scenario(&[Seg::Field("nodes")], "ping-pong needs two nodes", None);
        }
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> PingPong {
        let round_trips = config.round_trips.0;
        move |_| PingPong::new(round_trips)
    }
}
