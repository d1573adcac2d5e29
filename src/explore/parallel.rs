//! The copying search of the asynchronous model on several threads (`--jobs N`), finding the
//! same states in the same order as on one.
//!
//! The queue is taken a batch at a time. Each batch's states are shared out among worker
//! threads, which make each state's world, try every step from it and judge the successors
//! that the seen table did not hold when the batch began; the main thread then merges the
//! results in queue order through the same [`Search`] as the one-thread search, so the states,
//! counts, verdicts and counterexample cannot depend on the number of threads or on which
//! thread did what. Only where a world is made can: a process never leaves the thread that
//! made it (no `Send` bound on processes), so a world kept for its queued successors lives on
//! its worker, and a successor handed to another worker replays its parent's path there, as a
//! successor does when no world was kept for it.

use super::asynchronous::{Arrival, Judged, MAX_KEPT, Saved, Search, Seen, Setup, World, key, path_to, replay};
use super::sleep::Actor;
use super::{Bounds, Exploration, Step};
use crate::id::NodeId;
use crate::process::Process;
use crate::scenario::Scenario;
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, RwLock};

/// Queued states handed out at a time: enough to keep every worker busy between merges, few
/// enough that a batch's worlds take little memory. (Tiny in unit tests, so that their
/// searches cross many batches.)
const BATCH: usize = if cfg!(test) { 3 } else { 2048 };

/// Worlds done with that each worker keeps for their buffers (counted against the memory
/// budget as the largest world made, by `SearchBudget::set_workers`).
const WORKER_SPARES: usize = 8;

/// A state queued to step from, as the main thread keeps it.
struct Queued {
    /// Its index in the tree (none: the boot state).
    me: Option<u32>,
    depth: usize,
    /// How many of the steps it enables to take (a prefix, as the budget allowed).
    steps: usize,
    /// Where its parent's world is kept (worker and key) and the step from it; none: replay.
    kept: Option<(usize, u32)>,
}

/// Where a worker makes a state's world from.
enum Home {
    /// The world it keeps under `key` (its parent's), with the state's step taken; `last`: no
    /// other state will need that world, so it is taken rather than copied.
    Kept { key: u32, step: Step, last: bool },
    /// The parent's path (`parent` names it, so that siblings in a row replay it once), then
    /// `step` (none: the boot state itself).
    Path { parent: u32, path: Arc<[Step]>, step: Option<Step> },
}

/// One state for a worker to step from.
struct Task {
    home: Home,
    depth: usize,
    steps: usize,
    /// Steps asleep at it, not to be taken (see [`super::sleep`]).
    asleep: Vec<Step>,
}

/// What the main thread asks a worker for one batch: keep the worlds of the previous batch's
/// states listed in `keep` (by their place in it) under the keys given, step from `tasks`, then
/// drop the kept worlds named in `release` (their last successors went to other workers).
struct Order {
    release: Vec<u32>,
    keep: Vec<(usize, u32)>,
    tasks: Vec<Task>,
}

/// Per step tried, task after task: the step and who it acts on, its arrival, and the
/// judgement if the state was not in the seen table when the batch began; and where each
/// task's steps end. (Flat, so that a batch's results are two allocations, made on the worker
/// and freed on the main thread.)
type Results = (Vec<(Step, Actor, Arrival, Option<Judged>)>, Vec<usize>, Vec<u64>);

/// Explore from `boot` (already merged as the first state, with `first` its steps) on `jobs`
/// worker threads; see the module's documentation.
pub(super) fn by_copying<'s, P, F>(
    scenario: &'s Scenario,
    setup: &'s Setup,
    bounds: Bounds,
    factory: impl Fn() -> F + Sync,
    mut search: Search,
    first: usize,
    jobs: usize,
) -> Result<Exploration, String>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    // The seen table (holding the boot state) is the workers' to read while a batch is stepped
    // from, and the merge's to write between.
    let seen = RwLock::new(std::mem::take(&mut search.seen));
    let factory = &factory;
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = channel::<(usize, Result<Results, String>)>();
        let mut orders = Vec::with_capacity(jobs);
        for w in 0..jobs {
            let (tx, rx) = channel::<Order>();
            orders.push(tx);
            let (done, seen) = (done_tx.clone(), &seen);
            scope.spawn(move || worker(w, scenario, setup, bounds, factory, seen, rx, done));
        }
        drop(done_tx);
        merge(&mut search, first, jobs, &seen, &orders, &done_rx)
    })?;
    search.seen = seen.into_inner().expect("no thread panicked holding the table");
    Ok(search.finish())
}

/// Which worker steps from each state of `batch`. A state whose parent's world is kept goes
/// to the worker keeping it; the states with none (they replay their parent's path wherever
/// they go) even out the load, a run of siblings together so that their parent is replayed
/// once; and a worker still over its share hands its last states to the least loaded, which
/// replays their parents. Only the speed depends on this, never the result.
fn share_out(batch: &[Queued], tree: &[(u32, Step)], jobs: usize) -> Vec<usize> {
    let least = |load: &[usize]| (0..jobs).min_by_key(|&w| load[w]).expect("at least one worker");
    let mut load = vec![0usize; jobs];
    let mut assigned: Vec<Option<usize>> = batch.iter().map(|q| q.kept.map(|(w, _)| w)).collect();
    for w in assigned.iter().flatten() {
        load[*w] += 1;
    }
    let parent = |q: &Queued| q.me.map_or(u32::MAX, |me| tree[me as usize].0);
    let mut run: Option<(u32, usize)> = None;
    for (q, at) in batch.iter().zip(assigned.iter_mut()) {
        if at.is_none() {
            let w = match run {
                Some((up, w)) if up == parent(q) && load[w] <= load[least(&load)] + 1 => w,
                _ => least(&load),
            };
            *at = Some(w);
            load[w] += 1;
            run = Some((parent(q), w));
        }
    }
    let share = batch.len().div_ceil(jobs);
    let mut assigned: Vec<usize> = assigned.into_iter().map(|w| w.expect("every state assigned")).collect();
    for at in assigned.iter_mut().rev() {
        if load[*at] > share {
            let to = least(&load);
            load[*at] -= 1;
            load[to] += 1;
            *at = to;
        }
    }
    assigned
}

/// The main thread's part: hand out batches, merge their results in queue order.
fn merge(
    search: &mut Search,
    first: usize,
    jobs: usize,
    seen: &RwLock<Seen>,
    orders: &[Sender<Order>],
    done: &Receiver<(usize, Result<Results, String>)>,
) -> Result<(), String> {
    let mut queue: VecDeque<Queued> = VecDeque::from([Queued { me: None, depth: 0, steps: first, kept: None }]);
    let mut pending = first as u64;
    // Per kept world, by its key (the parent's index in the tree, or u32::MAX for the boot
    // state; `slot` places the boot's count first): how many queued states still need it; and
    // how many worlds are kept.
    let mut needed: Vec<u32> = Vec::new();
    // Per kept world, by the same key, what it takes against the memory budget.
    let mut kept_bytes: Vec<u64> = Vec::new();
    let mut kept = 0;
    let slot = |key: u32| if key == u32::MAX { 0 } else { key as usize + 1 };
    let mut release: Vec<Vec<u32>> = vec![Vec::new(); jobs];
    let mut keep: Vec<Vec<(usize, u32)>> = vec![Vec::new(); jobs];
    while let Some(first) = queue.front() {
        // A batch is of one depth, so that the sleep sets of its states are settled (every
        // arrival at their depth was merged before) when they are handed out.
        let level = queue.iter().take(BATCH).take_while(|q| q.depth == first.depth).count();
        let batch: Vec<Queued> = queue.drain(..level).collect();
        let assigned = share_out(&batch, &search.tree, jobs);
        let mut tasks: Vec<Vec<Task>> = (0..jobs).map(|_| Vec::new()).collect();
        let mut place: Vec<(usize, usize)> = Vec::with_capacity(batch.len());
        let mut last_path: Option<(u32, Arc<[Step]>)> = None;
        for (q, &w) in batch.iter().zip(&assigned) {
            let (parent, step) = match q.me {
                Some(me) => {
                    let (up, step) = search.tree[me as usize];
                    (up, Some(step))
                }
                None => (u32::MAX, None),
            };
            let home = q.kept.map(|(w, key)| (w, key, step.expect("only the boot state has no step")));
            let task_home = match home {
                Some((hw, key, step)) => {
                    let count = &mut needed[slot(key)];
                    *count -= 1;
                    let last = *count == 0;
                    if last {
                        kept -= 1;
                        search.memory.release(kept_bytes[slot(key)]);
                    }
                    if hw == w {
                        Some(Home::Kept { key, step, last })
                    } else {
                        if last {
                            release[hw].push(key);
                        }
                        None
                    }
                }
                None => None,
            };
            let task_home = task_home.unwrap_or_else(|| {
                let path = match &last_path {
                    Some((up, path)) if *up == parent => Arc::clone(path),
                    _ => {
                        let up = (parent != u32::MAX).then_some(parent);
                        let path: Arc<[Step]> = if q.me.is_some() { path_to(&search.tree, up, None).into() } else { Arc::from([]) };
                        path
                    }
                };
                last_path = Some((parent, Arc::clone(&path)));
                Home::Path { parent, path, step }
            });
            if let Home::Kept { .. } = task_home {
                last_path = None;
            }
            place.push((w, tasks[w].len()));
            let asleep = search.sleeps.asleep_at(key(q.me));
            tasks[w].push(Task { home: task_home, depth: q.depth, steps: q.steps, asleep });
        }
        for (w, tasks) in tasks.into_iter().enumerate() {
            let order = Order { release: std::mem::take(&mut release[w]), keep: std::mem::take(&mut keep[w]), tasks };
            orders[w].send(order).map_err(|_| "a worker thread stopped".to_string())?;
        }
        let mut results: Vec<Option<Results>> = (0..jobs).map(|_| None).collect();
        for _ in 0..jobs {
            let (w, r) = done.recv().map_err(|_| "a worker thread stopped".to_string())?;
            results[w] = Some(r?);
        }
        let mut results: Vec<Results> = results.into_iter().map(|r| r.expect("every worker answered")).collect();
        // Every world of the batch stays on its worker until the next order (the ones kept are
        // counted once more, when kept), beside the spares each worker keeps.
        let batch_bytes = results.iter().flat_map(|(_, _, sizes)| sizes).fold(0u64, |sum, &b| sum.saturating_add(b));
        search.memory.set_workers(batch_bytes, (jobs * WORKER_SPARES) as u64);
        // Merge in queue order, as the one-thread search does.
        let mut table = seen.write().expect("no worker panicked holding the table");
        std::mem::swap(&mut search.seen, &mut table);
        let merged = (|| -> Result<bool, String> {
            for (q, &(w, at)) in batch.iter().zip(&place) {
                let mut born = 0;
                let (tried, ends, sizes) = &mut results[w];
                let from = if at == 0 { 0 } else { ends[at - 1] };
                // The steps asleep were not taken.
                search.sleeps.wake(key(q.me));
                pending -= (q.steps - (ends[at] - from)) as u64;
                for (step, actor, arrival, judged) in tried[from..ends[at]].iter_mut().map(|(s, a, r, j)| (*s, *a, *r, j.take())) {
                    if !search.budget_left() {
                        return Ok(false);
                    }
                    pending -= 1;
                    let depth = q.depth + 1;
                    let next =
                        search.arrive(q.me, Some((step, actor)), depth, arrival, pending, || judged.expect("a new state is judged"))?;
                    if let Some((me, steps, _)) = next {
                        pending += steps as u64;
                        born += 1;
                        queue.push_back(Queued { me, depth, steps, kept: None });
                        search.memory.set_queue(crate::budget::deque(&queue));
                    }
                }
                if born > 0 && kept < MAX_KEPT {
                    let key = q.me.unwrap_or(u32::MAX);
                    if needed.len() <= slot(key) {
                        needed.resize(search.tree.len() + 1, 0);
                    }
                    needed[slot(key)] = born as u32;
                    if kept_bytes.len() <= slot(key) {
                        kept_bytes.resize(search.tree.len() + 1, 0);
                    }
                    kept_bytes[slot(key)] = sizes[at];
                    search.memory.keep(sizes[at]);
                    search.memory.made(sizes[at]);
                    kept += 1;
                    search.found.kept_worlds = search.found.kept_worlds.max(kept as u64);
                    keep[w].push((at, key));
                    let new = queue.len() - born..queue.len();
                    for child in queue.range_mut(new) {
                        child.kept = Some((w, key));
                    }
                }
            }
            Ok(true)
        })();
        std::mem::swap(&mut search.seen, &mut table);
        drop(table);
        if !merged? {
            return Ok(());
        }
    }
    Ok(())
}

/// A worker thread: makes worlds, tries steps, judges what may be new; keeps the worlds the
/// main thread asks it to keep. Its processes never leave it.
#[allow(clippy::too_many_arguments)]
fn worker<'s, P, F>(
    w: usize,
    scenario: &'s Scenario,
    setup: &'s Setup,
    bounds: Bounds,
    factory: &(impl Fn() -> F + Sync),
    seen: &RwLock<Seen>,
    orders: Receiver<Order>,
    done: Sender<(usize, Result<Results, String>)>,
) where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    let mut kept: BTreeMap<u32, World<'s, P>> = BTreeMap::new();
    let mut last: Vec<Option<World<'s, P>>> = Vec::new();
    let mut spares: Vec<World<'s, P>> = Vec::new();
    let mut saved = Saved::new();
    let mut steps = Vec::new();
    let mut scratch = Vec::new();
    // The parent last replayed (its key) and its world.
    let mut replayed: Option<(u32, World<'s, P>)> = None;
    // What a path is replayed from: the boot state, fingerprinted, made once (a replay then
    // neither boots the processes again nor hashes the boot's messages again).
    let mut origin: Option<World<'s, P>> = None;
    let mixed = || {
        "the protocol uses a process that can be copied (`Process::snapshot`) in some states and not in others, which the asynchronous model does not explore".to_string()
    };
    while let Ok(order) = orders.recv() {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<Results, String> {
            for &(at, key) in &order.keep {
                let world = last[at].take().expect("a world of the last batch is kept once");
                kept.insert(key, world);
            }
            for world in last.drain(..).flatten() {
                if spares.len() < WORKER_SPARES {
                    spares.push(world);
                }
            }
            let table = seen.read().expect("the main thread does not panic holding the table");
            let mut results = Vec::with_capacity(order.tasks.len() * 8);
            let mut ends = Vec::with_capacity(order.tasks.len());
            // What each task's world takes, for the memory budget should the merge keep it.
            let mut sizes = Vec::with_capacity(order.tasks.len());
            for (t, task) in order.tasks.iter().enumerate() {
                let mut make = factory();
                let mut world = match &task.home {
                    Home::Kept { key, step, last } => {
                        let mut world = if *last {
                            kept.remove(key).expect("kept here")
                        } else {
                            kept[key].copy_into(spares.pop()).ok_or_else(mixed)?
                        };
                        world.apply(*step, &mut make);
                        world
                    }
                    Home::Path { parent, path, step } => {
                        if replayed.as_ref().is_none_or(|(at, _)| at != parent) {
                            // The state was reached once, so its path runs again without a panic.
                            let boot = origin.get_or_insert_with(|| {
                                let mut boot = replay(scenario, setup, factory(), &[]).expect("the boot ran before");
                                boot.fingerprint();
                                boot
                            });
                            let mut world = boot.copy_into(spares.pop()).ok_or_else(mixed)?;
                            for &step in path.iter() {
                                world.apply(step, &mut make);
                            }
                            replayed = Some((*parent, world));
                        }
                        let sibling_next =
                            order.tasks.get(t + 1).is_some_and(|next| matches!(&next.home, Home::Path { parent: p, .. } if p == parent));
                        let mut world = if sibling_next {
                            replayed.as_ref().expect("replayed").1.copy_into(spares.pop()).ok_or_else(mixed)?
                        } else {
                            replayed.take().expect("replayed").1
                        };
                        if let Some(step) = step {
                            world.apply(*step, &mut make);
                        }
                        world
                    }
                };
                world.fingerprint();
                world.enabled(bounds.max_faults, &mut steps);
                steps.truncate(task.steps);
                steps.retain(|step| !task.asleep.contains(step));
                let depth = task.depth + 1;
                let from = results.len();
                for &step in &steps {
                    let actor = world.actor(step);
                    let arrival = world.arrival(step, &mut make, &mut saved).map_err(|()| mixed())?;
                    results.push((step, actor, arrival, None));
                }
                // A state the table held when the batch began is not new, and the merge need not
                // look it up again. The table is read for all the steps together, so that their
                // cache misses overlap; a state that may be new has its step taken once more to
                // judge it (as on one thread).
                for (_, _, arrival, _) in &mut results[from..] {
                    if let Arrival::State(fp, _, load) = *arrival
                        && let Some(known) = table.get(fp)
                    {
                        *arrival = Arrival::Known(known, load);
                    }
                }
                for (step, _, arrival, judged) in &mut results[from..] {
                    if let Arrival::State(..) = arrival {
                        // Taken before from this state without a panic or a refusal, so again.
                        let _ = world.try_step(*step, &mut make, &mut saved);
                        *judged = Some(world.judge_into(depth, bounds, &mut scratch));
                        world.undo(&mut saved);
                    }
                }
                ends.push(results.len());
                sizes.push(world.kept_bytes());
                last.push(Some(world));
            }
            for key in &order.release {
                kept.remove(key);
            }
            Ok((results, ends, sizes))
        }));
        let result = outcome.unwrap_or_else(|_| Err("protocol code panicked outside a step".to_string()));
        let failed = result.is_err();
        if done.send((w, result)).is_err() || failed {
            return;
        }
    }
}
