//! How bad a vulnerability is: the CVSS base score of the record's
//! `severity` vectors (v2, v3.x or v4, scored by RustSec's `cvss` crate),
//! else the record's own rating (`database_specific.severity`, as the
//! GitHub Advisory Database writes it, or an Ubuntu priority), else
//! unknown.

use std::fmt;
use std::str::FromStr as _;

/// A qualitative severity, ordered from unknown to critical.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Neither a score nor a rating was given.
    #[default]
    Unknown,
    /// CVSS 0.1-3.9.
    Low,
    /// CVSS 4.0-6.9.
    Medium,
    /// CVSS 7.0-8.9.
    High,
    /// CVSS 9.0-10.0.
    Critical,
}

impl Severity {
    /// Its lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A rating as advisory databases write it (`HIGH`, `MODERATE`,
    /// `negligible` …), if it is one.
    pub fn from_rating(rating: &str) -> Option<Severity> {
        match rating.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" | "important" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" | "negligible" | "none" => Some(Severity::Low),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity and, when it came from a CVSS vector, its base score.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rating {
    /// The qualitative severity.
    pub severity: Severity,
    /// The CVSS base score, when a vector gave it.
    pub score: Option<f64>,
}

impl Rating {
    /// The higher of two ratings (a score outranks no score at the same
    /// severity).
    pub fn max(self, other: Rating) -> Rating {
        let key = |r: &Rating| (r.severity, r.score.map(|s| (s * 10.0) as i64));
        if key(&other) > key(&self) {
            other
        } else {
            self
        }
    }

    /// `high (7.5)` or `medium`.
    pub fn describe(&self) -> String {
        match self.score {
            Some(score) => format!("{} ({score:.1})", self.severity),
            None => self.severity.to_string(),
        }
    }
}

/// The rating of `severities` (an OSV `severity` list) and, when none of
/// them is a CVSS vector that scores, of `database_specific`.
pub fn rate(severities: &[osv::schema::Severity], database_specific: Option<&serde_json::Value>) -> Rating {
    let scored = severities
        .iter()
        .filter_map(|s| cvss::Cvss::from_str(s.score.trim()).ok())
        .map(|vector| {
            let score = vector.score();
            Rating {
                severity: of_score(score),
                score: Some(score),
            }
        })
        .fold(None, |best: Option<Rating>, r| Some(best.map_or(r, |b| b.max(r))));
    if let Some(rating) = scored {
        return rating;
    }
    let named = severities
        .iter()
        .filter_map(|s| Severity::from_rating(&s.score))
        .chain(
            database_specific
                .and_then(|d| d.get("severity"))
                .and_then(|s| s.as_str())
                .and_then(Severity::from_rating),
        )
        .max()
        .unwrap_or_default();
    Rating {
        severity: named,
        score: None,
    }
}

/// CVSS's qualitative scale (v3.1 section 5; the same in v4).
fn of_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severity(kind: &str, score: &str) -> osv::schema::Severity {
        serde_json::from_value(serde_json::json!({"type": kind, "score": score})).expect("a severity")
    }

    #[test]
    fn a_cvss_vector_gives_its_base_score() {
        let rating = rate(
            &[severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")],
            None,
        );
        assert_eq!(rating.severity, Severity::Critical);
        assert_eq!(rating.describe(), "critical (9.8)");
        let v2 = rate(&[severity("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:N/A:N")], None);
        assert_eq!(v2.describe(), "medium (5.0)");
    }

    #[test]
    fn the_highest_vector_wins() {
        let rating = rate(
            &[
                severity("CVSS_V3", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
                severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            ],
            None,
        );
        assert_eq!(rating.describe(), "high (7.5)");
    }

    #[test]
    fn without_a_vector_the_records_own_rating_counts_else_unknown() {
        let ghsa = serde_json::json!({"severity": "MODERATE"});
        assert_eq!(rate(&[], Some(&ghsa)).describe(), "medium");
        assert_eq!(rate(&[severity("Ubuntu", "high")], None).describe(), "high");
        assert_eq!(rate(&[severity("CVSS_V3", "not a vector")], None).describe(), "unknown");
        assert_eq!(rate(&[], None).severity, Severity::Unknown);
    }

    #[test]
    fn severities_order_from_unknown_to_critical() {
        assert!(Severity::Unknown < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!(Severity::from_rating("Important"), Some(Severity::High));
        assert_eq!(Severity::from_rating("urgent"), None);
    }
}
