//! Scenarios built in Rust, without a file: each part is given as the scenario format writes
//! it, and [`ScenarioBuilder::build`] reads the result exactly as a file is read, so a built
//! scenario is validated by the same code, with the same messages, as a loaded one.
//!
//! ```
//! use msgsim::{Registry, RunOptions, ScenarioBuilder};
//! let scenario = ScenarioBuilder::new("two nodes")
//!     .horizon_ms(100)
//!     .nodes(["a", "b"])
//!     .protocol("BestEffort()")
//!     .network("(loss: 0.1)")
//!     .workload("(from: \"a\", to: \"b\", every_ms: 10, count: 5)")
//!     .check("NoDuplicates")
//!     .build(&Registry::builtin())
//!     .unwrap();
//! let result = msgsim::run(&scenario, 1, &RunOptions::default()).unwrap();
//! assert!(result.app.delivered <= 5);
//! ```

use crate::registry::Registry;
use crate::scenario::{Scenario, ScenarioErrors};

/// A scenario under construction: a name and the fields set so far, in the order they were set.
#[derive(Clone, Debug)]
pub struct ScenarioBuilder {
    name: String,
    fields: Vec<(String, String)>,
    workload: Vec<String>,
    checks: Vec<String>,
    faults: Vec<String>,
}

/// A string as a RON string literal (quotes and escapes), so no name can break the text.
fn quoted(s: &str) -> String {
    ron::to_string(s).expect("a string always serialises")
}

impl ScenarioBuilder {
    /// A scenario called `name`, with nothing else set yet.
    pub fn new(name: &str) -> ScenarioBuilder {
        ScenarioBuilder { name: name.to_string(), fields: Vec::new(), workload: Vec::new(), checks: Vec::new(), faults: Vec::new() }
    }

    /// Set top-level field `name` to `ron`, RON text as a scenario file would hold it (a later
    /// call for the same field replaces the earlier one).
    pub fn field(mut self, name: &str, ron: impl Into<String>) -> ScenarioBuilder {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_string(), ron.into()));
        self
    }

    /// The scenario's own seed (`run` and `sweep` may use others).
    pub fn seed(self, seed: u64) -> ScenarioBuilder {
        self.field("seed", seed.to_string())
    }

    /// How long the run lasts, in milliseconds.
    pub fn horizon_ms(self, ms: u64) -> ScenarioBuilder {
        self.field("horizon_ms", ms.to_string())
    }

    /// `n` nodes named `n0`..`n{n-1}`.
    pub fn node_count(self, n: u64) -> ScenarioBuilder {
        self.field("nodes", n.to_string())
    }

    /// Nodes with these names.
    pub fn nodes<S: AsRef<str>>(self, names: impl IntoIterator<Item = S>) -> ScenarioBuilder {
        let names: Vec<String> = names.into_iter().map(|n| quoted(n.as_ref())).collect();
        self.field("nodes", format!("[{}]", names.join(", ")))
    }

    /// The protocol, as written in a file: `"BestEffort()"`, `"ExactlyOnce(retry: (...), window: 100)"`.
    pub fn protocol(self, ron: &str) -> ScenarioBuilder {
        self.field("protocol", ron)
    }

    /// The default link model, as written in a file: `"(latency: Constant(ms: 1), loss: 0.1)"`.
    pub fn network(self, ron: &str) -> ScenarioBuilder {
        self.field("network", ron)
    }

    /// One more workload entry: `"(from: \"a\", to: \"b\", every_ms: 10, count: 5)"`.
    pub fn workload(mut self, ron: &str) -> ScenarioBuilder {
        self.workload.push(ron.to_string());
        self
    }

    /// One more scripted fault: `"(at_ms: 100, do: Crash(\"a\"))"`.
    pub fn fault(mut self, ron: &str) -> ScenarioBuilder {
        self.faults.push(ron.to_string());
        self
    }

    /// One more check: `"NoLoss"`, `"Validity(settle_ms: 500)"`.
    pub fn check(mut self, ron: &str) -> ScenarioBuilder {
        self.checks.push(ron.to_string());
        self
    }

    /// The scenario as a file would hold it.
    pub fn text(&self) -> String {
        let mut out = format!("Scenario(\n    name: {},\n", quoted(&self.name));
        for (name, value) in &self.fields {
            out.push_str(&format!("    {name}: {value},\n"));
        }
        for (name, list) in [("faults", &self.faults), ("workload", &self.workload), ("checks", &self.checks)] {
            if !list.is_empty() {
                out.push_str(&format!("    {name}: [\n        {},\n    ],\n", list.join(",\n        ")));
            }
        }
        out.push_str(")\n");
        out
    }

    /// Read and validate the scenario with `registry`, as `Registry::parse` reads a file. Errors
    /// name `<builder>` and a line and column of [`ScenarioBuilder::text`].
    pub fn build(&self, registry: &Registry) -> Result<Scenario, ScenarioErrors> {
        registry.parse(&self.text(), "<builder>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_scenario_is_validated_as_a_file_is() {
        let built = ScenarioBuilder::new("bad").horizon_ms(100).node_count(2).protocol("Gossip(fanout: 5)").build(&Registry::builtin());
        let errors = built.expect_err("a fanout of 5 with 2 nodes is refused").to_string();
        assert!(errors.starts_with("<builder>:5:"), "{errors}");
        assert!(errors.contains("a fanout of 5 with 2 nodes"), "{errors}");
    }

    #[test]
    fn names_are_quoted_so_they_cannot_break_the_text() {
        let text = ScenarioBuilder::new("a \"quoted\" name)").horizon_ms(1).nodes(["x", "y\"z"]).protocol("BestEffort()").text();
        let scenario = Registry::builtin().parse(&text, "t");
        // `y"z` is not a usable node name, and validation says so rather than the text breaking.
        let errors = scenario.expect_err("the node name is refused").to_string();
        assert!(errors.contains("is not a usable node name"), "{errors}");
    }
}
