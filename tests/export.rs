//! Trace exports: a snapshot of every format on the trace tour, structural checks that
//! each is what its readers parse (XML, trace-event JSON with paired flows, ShiViz logs
//! with valid vector clocks, JSON lines), and `msgsim trace`'s handling of bad arguments.

use msgsim::export::{self, ExportError, Fate, Kind, Selection, TraceFormat, TraceView, message_copies};
use msgsim::id::NodeId;
use msgsim::time::SimTime;
use msgsim::trace::TraceEvent;
use msgsim::{RunOptions, Scenario};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

struct Run {
    scenario: Scenario,
    events: Vec<TraceEvent>,
    seed: u64,
    end: SimTime,
}

impl Run {
    fn of(path: &str) -> Run {
        let scenario = Scenario::load(Path::new(env!("CARGO_MANIFEST_DIR")).join(path).as_ref()).expect("valid scenario");
        Run::with(scenario)
    }

    fn with(scenario: Scenario) -> Run {
        let seed = scenario.seed;
        let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("runs");
        Run { events: result.trace.expect("recorded"), seed, end: result.end.at, scenario }
    }

    fn view(&self) -> TraceView<'_> {
        TraceView { events: &self.events, cluster: &self.scenario.cluster, name: &self.scenario.name, seed: self.seed, end: self.end }
    }

    fn export(&self, selection: &Selection, format: TraceFormat) -> Result<String, ExportError> {
        let mut out = Vec::new();
        export::write_trace(&mut out, &self.view(), selection, format)?;
        Ok(String::from_utf8(out).expect("exports are UTF-8"))
    }

    fn all(&self, format: TraceFormat) -> String {
        self.export(&Selection::default(), format).expect("exports")
    }
}

/// A window with a node and a kind filter, over the tour's partition and crash.
fn narrowed() -> Selection {
    Selection {
        from: Some(SimTime::from_ms(20)),
        to: Some(SimTime::from_ms(60)),
        nodes: vec![NodeId(1)],
        kinds: vec![Kind::Send, Kind::Recv, Kind::Drop, Kind::Deliver, Kind::Fault],
    }
}

#[test]
fn every_format_of_the_trace_tour() {
    let run = Run::of("scenarios/trace-tour.ron");
    for format in TraceFormat::ALL {
        insta::assert_snapshot!(format!("tour-{}", format.name()), run.all(format));
    }
    insta::assert_snapshot!("tour-narrowed-text", run.export(&narrowed(), TraceFormat::Text).unwrap());
    insta::assert_snapshot!("tour-narrowed-svg", run.export(&narrowed(), TraceFormat::Svg).unwrap());
}

#[test]
fn svg_is_xml_with_an_arrow_per_received_copy_and_a_cross_per_drop() {
    let run = Run::of("scenarios/trace-tour.ron");
    let copies = message_copies(&run.events);
    let received = copies.iter().filter(|c| matches!(c.fate, Fate::Received { .. })).count();
    let dropped = copies.iter().filter(|c| matches!(c.fate, Fate::Dropped(_))).count();
    assert!(received > 0 && dropped > 0);
    let svg = run.all(TraceFormat::Svg);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let class = |n: &roxmltree::Node, c: &str| n.attribute("class") == Some(c);
    let arrows = doc
        .descendants()
        .filter(|n| n.has_tag_name("line") && n.attribute("marker-end").is_some() && !n.ancestors().any(|a| class(&a, "legend")));
    assert_eq!(arrows.count(), received);
    let crosses = doc.descendants().filter(|n| class(n, "cross") && !n.ancestors().any(|a| class(&a, "legend")));
    assert_eq!(crosses.count(), dropped);
    // Every dropped copy says why in its tooltip.
    let titles: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("title")).filter_map(|n| n.text()).collect();
    assert!(titles.iter().any(|t| t.contains("m6 ") && t.contains("partitioned")), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("m14 ") && t.contains("node down")));
    assert!(titles.iter().any(|t| t.contains("CORRUPTED")));
    assert!(titles.iter().any(|t| t.contains("down (crashed)")));
    // Partition band and the down period are drawn.
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("rect") && class(n, "partition")).count(), 2, "one band and its legend entry");
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("rect") && class(n, "down")).count(), 2, "one period and its legend entry");
}

#[test]
fn svg_escapes_text_and_stays_xml_for_thousands_of_messages() {
    let scenario = Scenario::parse(
        r#"Scenario(name: "a <b> & \"c\" 'd'", horizon_ms: 50, nodes: 2, protocol: BestEffort(),
            workload: [(from: "n0", to: "n1", every_ms: 10, count: 3)], checks: [NoLoss])"#,
        "inline",
    )
    .unwrap();
    let svg = Run::with(scenario).all(TraceFormat::Svg);
    let doc = roxmltree::Document::parse(&svg).expect("escaped");
    let title = doc.descendants().find(|n| n.attribute("class") == Some("title")).and_then(|n| n.text());
    assert_eq!(title, Some("a <b> & \"c\" 'd' (seed 0)"));

    let big = Run::of("scenarios/quickstart.ron");
    let svg = big.all(TraceFormat::Svg);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    let height: f64 = doc.root_element().attribute("height").unwrap().parse().unwrap();
    assert!(height < 3000.0, "the plot's height is capped: {height}");
    assert_eq!(doc.root_element().attribute("class"), Some("dense"));
    // Too many arrows to label: the labels would be a smear.
    assert!(!doc.descendants().any(|n| n.attribute("class") == Some("label")));
}

#[test]
fn chrome_json_parses_and_every_flow_start_has_its_finish() {
    let run = Run::of("scenarios/trace-tour.ron");
    for selection in [Selection::default(), narrowed()] {
        let json: serde_json::Value = serde_json::from_str(&run.export(&selection, TraceFormat::Chrome).unwrap()).expect("JSON");
        let events = json["traceEvents"].as_array().expect("traceEvents");
        let mut starts = BTreeMap::new();
        let mut finishes = BTreeMap::new();
        for e in events {
            let ph = e["ph"].as_str().unwrap();
            assert!(["M", "X", "i", "s", "f"].contains(&ph), "{e}");
            if ph != "M" {
                assert!(e["ts"].as_f64().is_some() && e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
            }
            let at = || (e["id"].as_u64().unwrap(), e["ts"].as_f64().unwrap(), e["tid"].as_u64().unwrap());
            match ph {
                "s" => assert!(starts.insert(at().0, (at().1, at().2)).is_none(), "flow ids are unique"),
                "f" => assert!(finishes.insert(at().0, (at().1, at().2)).is_none(), "flow ids are unique"),
                _ => {}
            }
        }
        assert_eq!(starts.keys().collect::<Vec<_>>(), finishes.keys().collect::<Vec<_>>());
        // Each end of a flow is on a slice of its thread, at its time and in its category:
        // Perfetto binds a flow to the slice enclosing it, Chrome to the event matching it.
        let slices: Vec<(u64, String, &str)> = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["dur"].as_f64() < Some(1.0))
            .map(|e| (e["tid"].as_u64().unwrap(), e["ts"].to_string(), e["cat"].as_str().unwrap()))
            .collect();
        for e in events.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f") {
            let key = (e["tid"].as_u64().unwrap(), e["ts"].to_string(), e["cat"].as_str().unwrap());
            assert!(slices.contains(&key), "{e} has no slice to bind to");
        }
        for (id, (ts, tid)) in &starts {
            let (fts, ftid) = finishes[id];
            assert!(fts >= *ts && ftid != *tid, "flow {id} goes forward in time, to another node");
        }
        if selection == Selection::default() {
            let received = message_copies(&run.events).iter().filter(|c| matches!(c.fate, Fate::Received { .. })).count();
            assert_eq!(starts.len(), received);
        } else {
            assert!(!starts.is_empty());
        }
    }
}

/// Parse a ShiViz log and check its clocks as ShiViz does, plus causality.
fn check_shiviz(log: &str, hosts: &[String]) -> usize {
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some(export::shiviz::REGEX));
    assert_eq!(lines.next(), Some(""), "no delimiter between executions");
    let rest: Vec<&str> = lines.collect();
    assert_eq!(rest.len() % 2, 0);
    let mut last: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut sends: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let dominates = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>| b.iter().all(|(h, n)| a.get(h).copied().unwrap_or(0) >= *n);
    for pair in rest.chunks(2) {
        let (event, clock_line) = (pair[0], pair[1]);
        let (host, clock) = clock_line.split_once(' ').expect("host and clock");
        assert!(hosts.iter().any(|h| h == host), "{host}");
        let clock: BTreeMap<String, u64> = serde_json::from_str(clock).expect("clock JSON");
        assert!(clock.keys().all(|k| hosts.contains(k)));
        let previous = last.get(host).cloned().unwrap_or_default();
        assert_eq!(clock[host], previous.get(host).copied().unwrap_or(0) + 1, "{host}'s own entry counts its events: {event}");
        assert!(dominates(&clock, &previous), "{event}: the clock never goes back");
        let words: Vec<&str> = event.split_whitespace().collect();
        match words[1] {
            "send" => {
                sends.insert(words[2].to_string(), clock.clone());
            }
            "recv" => {
                if let Some(sent) = sends.get(words[2]) {
                    assert!(dominates(&clock, sent), "{event}: a receive follows its send");
                }
            }
            _ => {}
        }
        last.insert(host.to_string(), clock);
    }
    rest.len() / 2
}

#[test]
fn shiviz_clocks_are_valid_for_the_whole_trace_and_a_selection() {
    let run = Run::of("scenarios/trace-tour.ron");
    let hosts = &run.scenario.cluster.names;
    let process_events = run.events.iter().filter(|e| msgsim::causality::process_of(&e.kind).is_some()).count();
    assert_eq!(check_shiviz(&run.all(TraceFormat::ShiViz), hosts), process_events);
    assert!(check_shiviz(&run.export(&narrowed(), TraceFormat::ShiViz).unwrap(), hosts) > 0);
    let big = Run::of("scenarios/quickstart.ron");
    let window = Selection { from: Some(SimTime::from_ms(990)), to: Some(SimTime::from_ms(1100)), ..Selection::default() };
    assert!(check_shiviz(&big.export(&window, TraceFormat::ShiViz).unwrap(), &big.scenario.cluster.names) > 100);
}

#[test]
fn jsonl_lines_each_parse_and_the_selection_applies() {
    let run = Run::of("scenarios/trace-tour.ron");
    let all = run.all(TraceFormat::JsonLines);
    assert_eq!(all.lines().count(), run.events.len());
    let narrowed_text = run.export(&narrowed(), TraceFormat::JsonLines).unwrap();
    let mut shown = 0;
    for line in narrowed_text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        let t = v["time"].as_u64().unwrap();
        assert!((20_000_000..=60_000_000).contains(&t), "{line}");
        assert!(["Send", "Receive", "Drop", "Deliver", "Fault"].contains(&v["type"].as_str().unwrap()), "{line}");
        shown += 1;
    }
    assert_eq!(shown, run.events.iter().filter(|e| narrowed().shows(e)).count());
    assert!(shown > 0);
}

#[test]
fn mermaid_refuses_a_large_selection_and_draws_a_small_one() {
    let big = Run::of("scenarios/quickstart.ron");
    match big.export(&Selection::default(), TraceFormat::Mermaid) {
        Err(e @ ExportError::TooLarge { .. }) => assert!(e.to_string().contains("--from/--to")),
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.len())),
    }
    let window = Selection { from: Some(SimTime::from_ms(1000)), to: Some(SimTime::from_ms(1010)), ..Selection::default() };
    let small = big.export(&window, TraceFormat::Mermaid).unwrap();
    assert!(small.starts_with("sequenceDiagram\n"));
    assert!(small.contains("->>") && small.contains("-x"));
}

fn msgsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_msgsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs")
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let tour = "scenarios/trace-tour.ron";
    let cases: &[(&[&str], &str)] = &[
        (&["trace", tour, "--format", "png"], "unknown format `png`"),
        (&["trace", tour], "--format"),
        (&["trace", tour, "--format", "svg", "--kind", "sends"], "unknown event kind `sends`"),
        (&["trace", tour, "--format", "svg", "--from", "ten"], "not a time in milliseconds"),
        (&["trace", tour, "--format", "svg", "--from", "50", "--to", "20"], "--from 50 ms is after --to 20 ms"),
        (&["trace", tour, "--format", "svg", "--node", "n9"], "its nodes are n0, n1, n2"),
        (&["trace", tour, "--format", "svg", "-o", "/nonexistent-dir/x.svg"], "cannot write the trace"),
        (&["trace", "scenarios/quickstart.ron", "--format", "mermaid"], "too large for --format mermaid: 5485 diagram rows, more than 200"),
        (&["trace", "tests/bad/crash-twice.ron", "--format", "text"], "crash"),
    ];
    for (args, expected) in cases {
        let out = msgsim(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn output_goes_to_the_file_and_a_refused_one_is_not_left_behind() {
    let dir = std::env::temp_dir().join(format!("msgsim-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("tour.svg");
    let out = msgsim(&["trace", "scenarios/trace-tour.ron", "--format", "svg", "-o", svg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let stdout = msgsim(&["trace", "scenarios/trace-tour.ron", "--format", "svg"]);
    assert_eq!(std::fs::read(&svg).unwrap(), stdout.stdout, "file and standard output agree");
    let mermaid = dir.join("big.mmd");
    let out = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "mermaid", "-o", mermaid.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!mermaid.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timers_and_dead_letters_are_marked_and_their_clocks_valid() {
    let run = Run::of("scenarios/delivery/retry-tour.ron");
    let count = |kind: Kind| run.events.iter().filter(|e| Kind::of(&e.kind) == kind).count();
    let (timers, dead) = (count(Kind::Timer), count(Kind::Dead));
    assert!(timers > 0 && dead > 0, "the retry tour retransmits and gives up");
    let svg = run.all(TraceFormat::Svg);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    let marks = |class: &str| doc.descendants().filter(|n| n.attribute("class") == Some(class)).count();
    // One mark per event, plus the legend's sample.
    assert_eq!(marks("timer"), timers + 1);
    assert_eq!(marks("dead"), dead + 1);
    check_shiviz(&run.all(TraceFormat::ShiViz), &run.scenario.cluster.names);
    let json: serde_json::Value = serde_json::from_str(&run.all(TraceFormat::Chrome)).expect("JSON");
    let named =
        |prefix: &str| json["traceEvents"].as_array().unwrap().iter().filter(|e| e["name"].as_str().unwrap().starts_with(prefix)).count();
    assert_eq!((named("timer"), named("dead")), (timers, dead));
}

#[test]
fn a_large_cluster_is_refused_where_it_would_be_unreadable_or_too_costly() {
    let scenario = Scenario::parse(
        r#"Scenario(name: "wide", horizon_ms: 50, nodes: 300, protocol: BestEffort(),
            workload: [(from: "n0", send: Broadcast, every_ms: 10, count: 1)], checks: [NoLoss])"#,
        "inline",
    )
    .unwrap();
    let run = Run::with(scenario);
    let refused = |selection: &Selection, format| match run.export(selection, format) {
        Err(ExportError::TooLarge { what, count, limit, .. }) => Some((what, count, limit)),
        _ => None,
    };
    assert_eq!(refused(&Selection::default(), TraceFormat::Svg), Some(("lifelines", 300, 64)));
    assert_eq!(refused(&Selection::default(), TraceFormat::ShiViz), Some(("nodes", 300, 256)));
    // One receiver and its sender: two lifelines, two participants.
    let one = Selection { nodes: vec![NodeId(7)], ..Selection::default() };
    let svg = run.export(&one, TraceFormat::Svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.descendants().filter(|n| n.attribute("class") == Some("life")).count(), 2);
    let mermaid = run.export(&one, TraceFormat::Mermaid).unwrap();
    assert_eq!(mermaid.lines().filter(|l| l.trim_start().starts_with("participant")).count(), 2, "{mermaid}");
    for format in [TraceFormat::Text, TraceFormat::JsonLines, TraceFormat::Chrome] {
        assert!(run.export(&Selection::default(), format).is_ok());
    }
}
