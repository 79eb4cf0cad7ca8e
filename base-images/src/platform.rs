//! Platforms (`linux/amd64`, `linux/arm/v7`): the [`Platform`] type every
//! part of the tool parses once and compares, and the `const fn` check the
//! `#[base_image(platforms = [...])]` compile-time assertion shares with
//! recipe validation at run time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The platform every family builds for unless its root says otherwise.
pub const DEFAULT_PLATFORMS: &[&str] = &["linux/amd64"];

/// Checks that `platform` is `os/arch` or `os/arch/variant` in lowercase
/// letters, digits and '_', spelled as the OCI spec does (not `aarch64`,
/// `x86_64` or `arm64/v8`); on failure says what is wrong.
pub const fn check(platform: &str) -> Result<(), &'static str> {
    match shape(platform) {
        Ok(()) => canonical(platform.as_bytes()),
        Err(reason) => Err(reason),
    }
}

/// Checks that `platform` is `os/arch` or `os/arch/variant` in lowercase
/// letters, digits and '_'.
const fn shape(platform: &str) -> Result<(), &'static str> {
    let bytes = platform.as_bytes();
    let mut parts = 1;
    let mut part_len = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'/' {
            if part_len == 0 {
                return Err("has an empty part; write os/arch[/variant], e.g. linux/arm64");
            }
            parts += 1;
            part_len = 0;
        } else if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' {
            part_len += 1;
        } else {
            return Err("may only hold lowercase letters, digits, '_' and '/', e.g. linux/arm64");
        }
        i += 1;
    }
    if part_len == 0 || parts < 2 || parts > 3 {
        return Err("is not os/arch[/variant]; write e.g. linux/amd64 or linux/arm/v7");
    }
    Ok(())
}

/// Refuses the spellings [`Platform`] normalises (`aarch64`, `x86_64`,
/// `arm64/v8`), so a declared platform is always written as the OCI spec
/// and the engines name it and compares equal to what they report.
const fn canonical(bytes: &[u8]) -> Result<(), &'static str> {
    // The architecture runs from after the first '/' to the next '/' or the end.
    let mut start = 0;
    while bytes[start] != b'/' {
        start += 1;
    }
    start += 1;
    let mut end = start;
    while end < bytes.len() && bytes[end] != b'/' {
        end += 1;
    }
    if part_is(bytes, start, end, b"aarch64") {
        return Err("names arm64 as aarch64; write it as the OCI spec does, e.g. linux/arm64");
    }
    if part_is(bytes, start, end, b"x86_64") {
        return Err("names amd64 as x86_64; write it as the OCI spec does, e.g. linux/amd64");
    }
    if part_is(bytes, start, end, b"arm64") && end < bytes.len() && part_is(bytes, end + 1, bytes.len(), b"v8") {
        return Err("names arm64's only variant (v8); write linux/arm64");
    }
    Ok(())
}

/// Whether `bytes[start..end]` is `word`.
const fn part_is(bytes: &[u8], start: usize, end: usize, word: &[u8]) -> bool {
    if end - start != word.len() {
        return false;
    }
    let mut i = 0;
    while i < word.len() {
        if bytes[start + i] != word[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A platform an image is built for, as an OCI image index names it:
/// operating system, architecture and an optional variant. Parsed once
/// from `os/arch[/variant]` and normalised as the OCI image-index spec and
/// the engines read it: `aarch64` is `arm64`, `x86_64` is `amd64`, and
/// `arm64/v8` is plain `arm64` (v8 is arm64's only variant).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

/// Text that is not `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("platform `{text}` {reason}")]
pub struct InvalidPlatform {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Platform {
    /// The platform an image index, a registry or an engine describes by its
    /// parts (an empty variant is none), normalised.
    pub fn from_parts(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let architecture = match architecture {
            "aarch64" => "arm64",
            "x86_64" | "x86-64" => "amd64",
            other => other,
        };
        let implied = |v: &&str| architecture == "arm64" && *v == "v8";
        let variant = variant.filter(|v| !v.is_empty() && !implied(v));
        Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: variant.map(str::to_owned),
        }
    }

    /// The operating system (`linux`).
    pub fn os(&self) -> &str {
        &self.os
    }

    /// The architecture (`amd64`, `arm64`, `arm`).
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// The variant (`v7`), if any.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// Whether an image of platform `held` serves this platform: the same
    /// platform, or any variant of it when this one names none.
    pub fn is_served_by(&self, held: &Platform) -> bool {
        self == held || (self.variant.is_none() && self.os == held.os && self.architecture == held.architecture)
    }
}

impl FromStr for Platform {
    type Err = InvalidPlatform;

    /// Accepts the spellings a declaration may not use (`linux/arm64/v8`)
    /// and normalises them: text from users and registries is read as the
    /// OCI spec allows.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        shape(text).map_err(|reason| InvalidPlatform {
            text: text.to_owned(),
            reason,
        })?;
        let mut parts = text.split('/');
        let (os, architecture) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        Ok(Platform::from_parts(os, architecture, parts.next()))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::{check, Platform};

    fn platform(text: &str) -> Platform {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_once_and_prints_what_it_parsed() {
        let arm = platform("linux/arm/v7");
        assert_eq!(
            (arm.os(), arm.architecture(), arm.variant()),
            ("linux", "arm", Some("v7"))
        );
        assert_eq!(arm.to_string(), "linux/arm/v7");
        assert_eq!(platform("linux/amd64").to_string(), "linux/amd64");
        assert_eq!(serde_json::to_string(&arm).ok().as_deref(), Some("\"linux/arm/v7\""));
        let back: Platform = serde_json::from_str("\"linux/arm64\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, platform("linux/arm64"));
    }

    #[test]
    fn normalises_as_the_oci_spec_and_the_engines_name_platforms() {
        assert_eq!(platform("linux/arm64/v8"), platform("linux/arm64"));
        assert_eq!(platform("linux/arm64/v8").to_string(), "linux/arm64");
        assert_eq!(
            Platform::from_parts("linux", "aarch64", Some("v8")).to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::from_parts("linux", "x86_64", Some("")).to_string(),
            "linux/amd64"
        );
        assert_ne!(platform("linux/arm/v7"), platform("linux/arm/v6"));
    }

    #[test]
    fn a_platform_without_a_variant_is_served_by_any_of_its_variants() {
        assert!(platform("linux/arm").is_served_by(&platform("linux/arm/v7")));
        assert!(!platform("linux/arm/v6").is_served_by(&platform("linux/arm/v7")));
        assert!(!platform("linux/amd64").is_served_by(&platform("linux/arm64")));
    }

    #[test]
    fn refuses_text_that_is_not_a_platform_and_says_why() {
        let error = "linux".parse::<Platform>().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("platform `linux` is not os/arch[/variant]; write e.g. linux/amd64 or linux/arm/v7")
        );
        assert!(serde_json::from_str::<Platform>("\"Linux/amd64\"").is_err());
    }

    #[test]
    fn accepts_os_arch_variant() {
        for ok in ["linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_the_spellings_a_platform_is_normalised_from() {
        assert_eq!(
            check("linux/arm64/v8"),
            Err("names arm64's only variant (v8); write linux/arm64")
        );
        assert!(check("linux/aarch64").is_err_and(|e| e.contains("linux/arm64")));
        assert!(check("linux/x86_64").is_err_and(|e| e.contains("linux/amd64")));
        assert_eq!(check("linux/arm64/v9"), Ok(()));
        assert_eq!(check("linux/arm/v8"), Ok(()));
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "Linux/amd64",
            "linux/amd64/v1/x",
            "linux amd64",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
    }
}
