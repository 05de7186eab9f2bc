//! The result of a chaos run: invariant checks as they are counted, and the table printed at the
//! end (requests by outcome, faults by kind, invariants pass or fail).

use super::client::Tally;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// How many violations of one invariant the table shows.
const SHOWN: usize = 5;

/// One invariant, checked over a number of items.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub name: String,
    pub checked: usize,
    pub violations: Vec<String>,
}

impl Check {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            checked: 0,
            violations: Vec::new(),
        }
    }

    /// Counts one item, a violation unless `holds`.
    pub(crate) fn expect(&mut self, holds: bool, violation: impl FnOnce() -> String) {
        self.checked += 1;
        if !holds {
            self.violations.push(violation());
        }
    }

    /// Whether it held for every item.
    pub(crate) fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// What a run did and found.
#[derive(Debug)]
pub(crate) struct Report {
    pub title: String,
    pub tally: Tally,
    pub faults: BTreeMap<&'static str, u64>,
    pub checks: Vec<Check>,
    pub quiet_after: Option<Duration>,
}

impl Report {
    /// Whether every invariant held.
    pub(crate) fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }

    /// The table.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.title);
        let _ = writeln!(
            out,
            "{:<56} {:>8}",
            "requests (attempts) by outcome", "count"
        );
        for (outcome, count) in &self.tally.outcomes {
            let _ = writeln!(out, "  {outcome:<54} {count:>8}");
        }
        let _ = writeln!(
            out,
            "  {:<54} {:>8}",
            "commands intended", self.tally.commands
        );
        let _ = writeln!(out, "  {:<54} {:>8}", "retries", self.tally.retries);
        let _ = writeln!(out, "  {:<54} {:>8}", "given up", self.tally.abandoned);
        let _ = writeln!(out, "{:<56} {:>8}", "faults by kind", "count");
        if self.faults.is_empty() {
            let _ = writeln!(out, "  {:<54} {:>8}", "none", 0);
        }
        for (kind, count) in &self.faults {
            let _ = writeln!(out, "  {kind:<54} {count:>8}");
        }
        if let Some(quiet) = self.quiet_after {
            let _ = writeln!(out, "quiet {:.1} s after the load", quiet.as_secs_f64());
        }
        let _ = writeln!(out, "{:<56} {:>8} {:>8}", "invariants", "result", "checked");
        for check in &self.checks {
            let result = if check.passed() { "pass" } else { "FAIL" };
            let _ = writeln!(out, "  {:<54} {result:>8} {:>8}", check.name, check.checked);
            for violation in check.violations.iter().take(SHOWN) {
                let _ = writeln!(out, "      {violation}");
            }
            if check.violations.len() > SHOWN {
                let _ = writeln!(out, "      … {} more", check.violations.len() - SHOWN);
            }
        }
        let verdict = if self.passed() {
            "every invariant held"
        } else {
            "INVARIANTS VIOLATED"
        };
        let _ = writeln!(out, "{verdict}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violated_invariant_fails_the_run_and_is_shown_in_the_table() {
        let mut held = Check::new("nothing lost");
        held.expect(true, String::new);
        let mut broken = Check::new("no seat oversold");
        broken.expect(false, || "VIP of p-1: 3 sold of 2".to_owned());
        let report = Report {
            title: "chaos booking".to_owned(),
            tally: Tally::default(),
            faults: BTreeMap::from([("kill -9", 2)]),
            checks: vec![held, broken],
            quiet_after: None,
        };
        assert!(!report.passed());
        let table = report.table();
        assert!(table.contains("no seat oversold"), "{table}");
        assert!(table.contains("FAIL"), "{table}");
        assert!(table.contains("VIP of p-1: 3 sold of 2"), "{table}");
        assert!(table.contains("kill -9"), "{table}");
    }
}
