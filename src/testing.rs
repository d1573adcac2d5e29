//! Seeded tests: run a test body over seeds, chosen from the environment when it says so, and
//! print the exact command that replays a failing seed.
//!
//! `MSGSIM_SEED=7` runs seed 7 alone; `MSGSIM_SEEDS=100..200` runs that range; otherwise the
//! test's own range runs. A seed whose body panics is reported as
//! `MSGSIM_SEED=7 cargo test <test name>` on standard error before the panic goes on.

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// The seeds to run: `MSGSIM_SEED`, else `MSGSIM_SEEDS`, else `default`. A variable that does
/// not read as a seed (or `A..B`) is a mistake worth stopping for, not a reason to run the default.
pub fn seed_range(default: Range<u64>) -> Range<u64> {
    if let Ok(one) = std::env::var("MSGSIM_SEED") {
        let seed: u64 = one.trim().parse().unwrap_or_else(|_| panic!("MSGSIM_SEED={one:?} is not a seed (a whole number)"));
        return seed..seed.saturating_add(1);
    }
    if let Ok(range) = std::env::var("MSGSIM_SEEDS") {
        let parsed = range.trim().split_once("..").and_then(|(a, b)| Some(a.parse::<u64>().ok()?..b.parse::<u64>().ok()?));
        return parsed.unwrap_or_else(|| panic!("MSGSIM_SEEDS={range:?} is not a range of seeds (`A..B`, B excluded)"));
    }
    default
}

/// Run `body` for every seed of [`seed_range`]`(default)`, in order. When one panics, print the
/// line that replays it (naming the running test) and let the panic go on.
///
/// ```
/// msgsim::testing::seeds(0..20, |seed| {
///     let scenario = msgsim::Scenario::load("scenarios/quickstart.ron".as_ref()).unwrap();
///     let result = msgsim::run(&scenario, seed, &msgsim::RunOptions::default()).unwrap();
///     assert!(result.app.delivered > 0);
/// });
/// ```
pub fn seeds(default: Range<u64>, body: impl Fn(u64)) {
    let test = std::thread::current().name().unwrap_or("<test name>").to_string();
    for seed in seed_range(default) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(seed))) {
            eprintln!("seed {seed} failed; replay it with:\n    MSGSIM_SEED={seed} cargo test {test} -- --exact");
            resume_unwind(panic);
        }
    }
}
