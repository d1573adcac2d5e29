//! Trace exports: a snapshot of every format on the trace tour, structural checks that
//! each is what its readers parse (XML, trace-event JSON with paired flows, ShiViz logs
//! with valid vector clocks, JSON lines), and `msgsim trace`'s handling of bad arguments.

use msgsim::check::Verdict;
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
    verdicts: Vec<(&'static str, Verdict)>,
}

impl Run {
    fn of(path: &str) -> Run {
        let scenario = Scenario::load(Path::new(env!("CARGO_MANIFEST_DIR")).join(path).as_ref()).expect("valid scenario");
        Run::with(scenario)
    }

    fn with(scenario: Scenario) -> Run {
        let seed = scenario.seed;
        let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("runs");
        Run { events: result.trace.expect("recorded"), seed, end: result.end.at, verdicts: result.verdicts, scenario }
    }

    fn view(&self) -> TraceView<'_> {
        TraceView {
            events: &self.events,
            cluster: &self.scenario.cluster,
            name: &self.scenario.name,
            seed: self.seed,
            end: self.end,
            verdicts: &self.verdicts,
        }
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
    // The viewer is mostly its script; `html_*` below test what it embeds.
    for format in TraceFormat::ALL.into_iter().filter(|&f| f != TraceFormat::Html) {
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

/// The JSON a viewer page embeds, parsed back.
fn viewer_data(page: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"msgsim-data\">";
    let start = page.find(open).expect("the page embeds its data") + open.len();
    let end = start + page[start..].find("</script>").expect("the data element ends");
    serde_json::from_str(&page[start..end]).expect("the embedded data is JSON")
}

#[test]
fn html_embeds_every_event_copy_period_and_verdict_of_the_run() {
    let run = Run::of("scenarios/trace-tour.ron");
    let page = run.all(TraceFormat::Html);
    let data = viewer_data(&page);
    let events = data["events"].as_array().unwrap();
    assert_eq!(events.len(), run.events.len());
    // [g, time, kind, a, b, mark node, mark, shown, line, vc]: in trace order, each with its text line.
    let text = run.all(TraceFormat::Text);
    for ((g, row), line) in events.iter().enumerate().zip(text.lines()) {
        assert_eq!(row[0], g);
        assert_eq!(row[1], run.events[g].time.as_nanos());
        assert_eq!(row[2], Kind::of(&run.events[g].kind).name());
        assert_eq!(row[7], 1, "every event is shown without a selection");
        assert!(line.trim_start().starts_with(row[8].as_str().unwrap()), "{line} / {}", row[8]);
        // Process events carry the text form's vector clock; others none.
        let vc = line.find(" [").map(|i| line[i + 1..].to_string());
        assert_eq!(row[9].as_array().map(|v| serde_json::to_string(v).unwrap().replace(',', ", ")), vc, "{line}");
    }
    let copies = message_copies(&run.events);
    assert_eq!(data["copies"].as_array().unwrap().len(), copies.len());
    let fates: Vec<&str> = data["copies"].as_array().unwrap().iter().map(|c| c[5].as_str().unwrap()).collect();
    assert!(["recv", "drop"].iter().all(|f| fates.contains(f)), "{fates:?}");
    // A copy exists from its send; a duplicate's second copy from its `dup` line (see the
    // browser test's postmortem on what is in flight).
    let mut seconds = 0;
    for c in data["copies"].as_array().unwrap() {
        let start = &run.events[c[12].as_u64().unwrap() as usize].kind;
        match c[8] == 1 {
            true => assert!(matches!(start, msgsim::trace::EventKind::Duplicate { msg, .. } if msg.0 == c[0]), "{c}"),
            false => assert!(matches!(start, msgsim::trace::EventKind::Send { msg, .. } if msg.0 == c[0]), "{c}"),
        }
        seconds += usize::from(c[8] == 1);
    }
    assert!(seconds > 0, "the tour duplicates a message");
    let periods: Vec<&str> = data["periods"].as_array().unwrap().iter().map(|p| p[1].as_str().unwrap()).collect();
    assert!(periods.contains(&"partition") && periods.contains(&"crash"), "the tour's faults: {periods:?}");
    assert_eq!(data["nodes"], serde_json::json!(["n0", "n1", "n2"]));
    let checks = data["checks"].as_array().unwrap();
    assert_eq!(checks.len(), run.verdicts.len());
    assert!(checks.iter().all(|c| c[1] == "pass" || c[1] == "fail" || c[1] == "inconclusive"));
    // Self-contained: one style, the data and the script, nothing to fetch.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("<style").count(), 1);
    for fetch in ["://", " src=", "<link", "@import", "url("] {
        assert!(!page.contains(fetch), "the page refers to {fetch}");
    }
}

#[test]
fn html_embeds_only_the_selection_and_the_ends_of_its_copies() {
    let run = Run::of("scenarios/trace-tour.ron");
    // Sends only: the receives and drops that end the copies are not shown.
    let selection = Selection { kinds: vec![Kind::Send, Kind::Fault], ..narrowed() };
    let data = viewer_data(&run.export(&selection, TraceFormat::Html).unwrap());
    let events = data["events"].as_array().unwrap();
    let shown: Vec<u64> = events.iter().filter(|e| e[7] == 1).map(|e| e[0].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (0..run.events.len()).filter(|&g| selection.shows(&run.events[g])).map(|g| g as u64).collect();
    assert_eq!(shown, expected);
    let copies: Vec<_> = message_copies(&run.events).into_iter().filter(|c| selection.shows_copy(c)).collect();
    assert_eq!(data["copies"].as_array().unwrap().len(), copies.len());
    // A copy's send and end are embedded for its details even where the selection hides them.
    let embedded: Vec<u64> = events.iter().map(|e| e[0].as_u64().unwrap()).collect();
    for c in &copies {
        assert!(embedded.contains(&(c.send_index as u64)));
        assert!(c.end_index.is_none_or(|e| embedded.contains(&(e as u64))));
    }
    assert!(events.len() > shown.len(), "the ends are embedded, not shown");
    assert_eq!((data["from"].as_u64(), data["to"].as_u64()), (Some(20_000_000), Some(60_000_000)));
    assert_eq!(data["selected_nodes"], serde_json::json!([1]));
}

#[test]
fn html_is_the_same_bytes_for_the_same_run() {
    let first = Run::of("scenarios/quickstart.ron").all(TraceFormat::Html);
    let second = Run::of("scenarios/quickstart.ron").all(TraceFormat::Html);
    assert!(first == second, "two runs of one scenario and seed give different pages");
    let cli = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "html"]);
    assert_eq!(cli.status.code(), Some(0));
    assert!(cli.stdout == first.as_bytes(), "the command writes the same page");
}

#[test]
fn html_escapes_a_hostile_node_and_scenario_name() {
    let run = Run::of("scenarios/trace-tour.ron");
    let mut cluster = run.scenario.cluster.clone();
    let hostile = "</script><script>alert(1)</script><!--&amp;\u{2028}\u{2029}";
    cluster.names[0] = hostile.to_string();
    let name = format!("{hostile} <b>tour</b>");
    let view = TraceView { events: &run.events, cluster: &cluster, name: &name, seed: run.seed, end: run.end, verdicts: &run.verdicts };
    let mut out = Vec::new();
    export::write_trace(&mut out, &view, &Selection::default(), TraceFormat::Html).unwrap();
    let page = String::from_utf8(out).unwrap();
    let open = "<script type=\"application/json\" id=\"msgsim-data\">";
    let start = page.find(open).unwrap() + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    let embedded = &page[start..end];
    for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
        assert!(!embedded.contains(bad), "{bad:?} in the embedded data");
    }
    // Two scripts, each closed once: the name opened none and closed none.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(page.contains("<title>&lt;/script&gt;&lt;script&gt;alert(1)"), "the title is escaped");
    let data = viewer_data(&page);
    assert_eq!(data["nodes"][0], hostile);
    assert_eq!(data["name"], name.as_str());
    assert!(data["events"].as_array().unwrap().iter().any(|e| e[8].as_str().unwrap().contains(hostile)));
}

#[test]
fn html_links_a_failed_check_to_the_event_its_verdict_names() {
    let run = Run::of("scenarios/ordering/broken-fifo.ron");
    let data = viewer_data(&run.all(TraceFormat::Html));
    let fifo = data["checks"].as_array().unwrap().iter().find(|c| c[0] == "FifoOrder").expect("the scenario checks FIFO order").clone();
    assert_eq!(fifo[1], "fail");
    // "first: n0 delivered a11 at 28.471ms before a3": the delivery of a11 at n0.
    let g = fifo[3].as_u64().expect("linked") as usize;
    let line = msgsim::trace::render_line(&run.events[g], &run.scenario.cluster);
    assert!(line.contains("28.471ms") && line.contains("n0") && line.contains("deliver a11"), "{line}");
    // A passing check links nowhere.
    assert!(data["checks"].as_array().unwrap().iter().filter(|c| c[1] == "pass").all(|c| c[3].is_null()));
}

#[test]
fn a_verdict_without_a_time_or_a_known_name_links_nowhere() {
    let run = Run::of("scenarios/ordering/broken-fifo.ron");
    let view = run.view();
    assert_eq!(export::html::violation_event(&view, "deliveries out of order: 10"), None);
    // A time at which nothing the verdict names happened.
    assert_eq!(export::html::violation_event(&view, "zz did something at 28.471ms"), None);
    assert_eq!(export::html::violation_event(&view, "n0 delivered a11 at 99999999999999999999.000ms"), None);
    assert!(export::html::violation_event(&view, "n0 delivered a11 at 28.471ms").is_some());
}
