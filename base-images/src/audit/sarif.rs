//! The audit as SARIF 2.1.0 (the `serde-sarif` crate's types), the format
//! CI code-scanning pages read: one rule per advisory (with its severity
//! score as `security-severity`, as GitHub ranks them), one result per
//! finding per image, located at the source line that declares the
//! version (or the SBOM file given), accepted findings carried as
//! suppressions with their reason.

use std::collections::BTreeMap;

use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag, Region,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};

use super::Finding;
use crate::advisory::Severity;

/// The findings of one audited image.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    /// `family:version [platform]`, or the SBOM file.
    pub name: String,
    /// The file to point at (the declaring source file, or the SBOM file).
    pub uri: String,
    /// Its line, when known.
    pub line: Option<u32>,
    /// Each finding and, when an exception accepts it, why.
    pub findings: Vec<(&'a Finding, Option<String>)>,
}

/// The SARIF log of `subjects`, failing at `threshold`.
pub fn report(subjects: &[Subject<'_>], threshold: Severity) -> Sarif {
    let mut rules: BTreeMap<&str, ReportingDescriptor> = BTreeMap::new();
    let mut results = Vec::new();
    for subject in subjects {
        for (finding, accepted) in &subject.findings {
            rules.entry(&finding.advisory).or_insert_with(|| rule(finding));
            results.push(result(subject, finding, accepted.as_deref(), threshold));
        }
    }
    let driver = ToolComponent::builder()
        .name("base-images")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://osv.dev")
        .rules(rules.into_values().collect::<Vec<_>>())
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .build();
    Sarif::builder()
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}

fn rule(finding: &Finding) -> ReportingDescriptor {
    let mut properties = BTreeMap::new();
    if let Some(score) = finding.rating.score {
        properties.insert(
            "security-severity".to_owned(),
            serde_json::Value::from(format!("{score:.1}")),
        );
    }
    let text = finding.summary.clone().unwrap_or_else(|| finding.advisory.clone());
    ReportingDescriptor::builder()
        .id(finding.advisory.clone())
        .short_description(MultiformatMessageString::builder().text(text).build())
        .help_uri(format!("https://osv.dev/vulnerability/{}", finding.advisory))
        .properties(
            PropertyBag::builder()
                .tags(vec!["security".to_owned(), finding.rating.severity.to_string()])
                .additional_properties(properties)
                .build(),
        )
        .build()
}

fn result(subject: &Subject<'_>, finding: &Finding, accepted: Option<&str>, threshold: Severity) -> SarifResult {
    let level = if finding.fails(threshold) {
        ResultLevel::Error
    } else if finding.fixed.is_some() {
        ResultLevel::Warning
    } else {
        ResultLevel::Note
    };
    let text = format!("{}: {}", subject.name, finding.describe());
    let region = Region::builder()
        .start_line(i64::from(subject.line.unwrap_or(1)))
        .build();
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(subject.uri.clone()).build())
                .region(region)
                .build(),
        )
        .build();
    let mut fingerprint = BTreeMap::new();
    fingerprint.insert(
        "base-images/v1".to_owned(),
        format!("{}|{}|{}", subject.name, finding.package, finding.advisory),
    );
    let builder = SarifResult::builder()
        .rule_id(finding.advisory.clone())
        .level(level)
        .message(Message::builder().text(text).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprint);
    match accepted {
        Some(reason) => builder
            .suppressions(vec![Suppression::builder()
                .kind(serde_json::Value::from("external"))
                .justification(reason.to_owned())
                .build()])
            .build(),
        None => builder.build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::Rating;

    fn finding(fixed: Option<&str>, severity: Severity, score: Option<f64>) -> Finding {
        super::super::finding::test_finding(fixed, Rating { severity, score })
    }

    #[test]
    fn findings_become_results_of_one_rule_with_levels_and_suppressions() -> serde_json::Result<()> {
        let high = finding(Some("2.36-10"), Severity::High, Some(7.5));
        let low = finding(None, Severity::Low, None);
        let subjects = [
            Subject {
                name: "e2e-python:1.2.0 [linux/amd64]".into(),
                uri: "tests/src/e2e.rs".into(),
                line: Some(85),
                findings: vec![(&high, None), (&low, Some("accepted until 2027".into()))],
            },
            Subject {
                name: "sbom.json".into(),
                uri: "sbom.json".into(),
                line: None,
                findings: vec![(&high, None)],
            },
        ];
        let log = serde_json::to_value(report(&subjects, Severity::High))?;
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "7.5"
        );
        let results = run["results"].as_array().cloned().unwrap_or_default();
        let levels: Vec<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
        assert_eq!(levels, ["error", "note", "error"]);
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            85
        );
        assert_eq!(results[1]["suppressions"][0]["justification"], "accepted until 2027");
        assert!(results[0]["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("CVE-2026-0001, DSA-5000-1 (high (7.5)), fixed in 2.36-10")));
        let back: Sarif = serde_json::from_value(log)?;
        assert_eq!(back.runs.len(), 1);
        Ok(())
    }
}
