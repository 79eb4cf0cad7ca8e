//! The version policy as plain functions over strings, so unit tests can
//! call them without a proc-macro context: what a version may be, what its
//! function and static must be called, what a family name and a changelog
//! line may be. Each failure is a sentence that says what to write instead.

/// A version accepted by the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PolicyVersion {
    /// The major number.
    pub(crate) major: u64,
    /// The minor number.
    pub(crate) minor: u64,
    /// The patch number.
    pub(crate) patch: u64,
    /// The pre-release identifiers, empty for a release.
    pub(crate) pre: String,
}

impl PolicyVersion {
    /// The name the annotated function must have: `v2_0_0_rc_1`.
    pub(crate) fn fn_name(&self) -> String {
        let mut name = format!("v{}_{}_{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            name.push('_');
            name.push_str(&self.pre.replace('.', "_"));
        }
        name
    }

    /// The name of the emitted static: `V2_0_0_RC_1`.
    pub(crate) fn static_name(&self) -> String {
        self.fn_name().to_uppercase()
    }

    /// The version as written: `2.0.0-rc.1`.
    pub(crate) fn text(&self) -> String {
        if self.pre.is_empty() {
            format!("{}.{}.{}", self.major, self.minor, self.patch)
        } else {
            format!("{}.{}.{}-{}", self.major, self.minor, self.patch, self.pre)
        }
    }
}

/// Parses a version: semver, no build metadata, and pre-release identifiers
/// of lowercase letters and digits (they become part of a function name).
pub(crate) fn version(text: &str) -> Result<PolicyVersion, String> {
    let parsed = semver::Version::parse(text).map_err(|e| {
        format!("`{text}` is not a valid semantic version ({e}); write MAJOR.MINOR.PATCH such as \"1.0.1\", or a pre-release such as \"2.0.0-rc.1\"")
    })?;
    if !parsed.build.is_empty() {
        return Err(format!(
            "`{text}` has build metadata `+{}`, which an image tag cannot carry; drop it, or use a pre-release such as \"{}-rc.1\"",
            parsed.build, core(&parsed)
        ));
    }
    let pre = parsed.pre.as_str();
    if let Some(bad) = pre
        .split('.')
        .find(|id| !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
    {
        return Err(format!(
            "the pre-release identifier `{bad}` of `{text}` may only hold lowercase letters and digits (it becomes part of the function name); write e.g. \"{}-rc.1\"",
            core(&parsed)
        ));
    }
    Ok(PolicyVersion {
        major: parsed.major,
        minor: parsed.minor,
        patch: parsed.patch,
        pre: pre.to_owned(),
    })
}

fn core(v: &semver::Version) -> String {
    format!("{}.{}.{}", v.major, v.minor, v.patch)
}

/// Checks a family name: it becomes the image repository, so lowercase
/// letters and digits separated by `.`, `_`, `-` or `/`.
pub(crate) fn family(name: &str) -> Result<(), String> {
    let fix =
        "use lowercase letters and digits separated by '-', '.', '_' or '/', e.g. \"airbyte-python-connector-base\"";
    if name.trim().is_empty() {
        return Err(format!("the family name is empty; {fix}"));
    }
    let separator = |b: u8| matches!(b, b'-' | b'.' | b'_' | b'/');
    let bytes = name.as_bytes();
    let allowed = bytes
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || separator(b));
    let ends_ok = !separator(bytes[0]) && !separator(bytes[bytes.len() - 1]);
    if !allowed || !ends_ok || name.contains("//") || name.len() > 200 {
        return Err(format!("`{name}` cannot be an image name; {fix}"));
    }
    Ok(())
}

/// Checks a changelog entry: one non-blank line.
pub(crate) fn changelog(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("the changelog is empty; say in one line what this version changes, e.g. changelog = \"Add ffmpeg to the base image.\"".into());
    }
    if text.trim().is_empty() {
        return Err("the changelog holds only whitespace; say in one line what this version changes, e.g. changelog = \"Add ffmpeg to the base image.\"".into());
    }
    if text.contains(['\n', '\r']) {
        return Err(
            "the changelog spans several lines; CHANGELOG.md holds one line per version: write a single line".into(),
        );
    }
    if text.trim() != text {
        return Err("the changelog starts or ends with whitespace; remove it".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_spell_function_and_static_names() {
        let v = version("2.0.0-rc.1").unwrap();
        assert_eq!(
            (v.fn_name(), v.static_name(), v.text()),
            ("v2_0_0_rc_1".into(), "V2_0_0_RC_1".into(), "2.0.0-rc.1".into())
        );
        let v = version("10.2.33").unwrap();
        assert_eq!((v.fn_name(), v.static_name()), ("v10_2_33".into(), "V10_2_33".into()));
    }

    #[test]
    fn refuses_bad_versions_with_a_fix() {
        for (text, expected) in [
            ("1.0", "not a valid semantic version"),
            ("01.0.0", "not a valid semantic version"),
            ("v1.0.0", "not a valid semantic version"),
            ("1.0.0+build.5", "build metadata `+build.5`"),
            ("1.0.0-RC.1", "pre-release identifier `RC`"),
            ("1.0.0-rc-1", "pre-release identifier `rc-1`"),
        ] {
            let err = version(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn family_names() {
        for good in ["airbyte-python-connector-base", "a", "team/images.x_1"] {
            assert_eq!(family(good), Ok(()), "{good}");
        }
        for bad in ["", "  ", "Airbyte", "has space", "-x", "x/", "a//b", "a:b"] {
            assert!(family(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn changelog_lines() {
        assert_eq!(changelog("Add ffmpeg."), Ok(()));
        assert!(changelog("").unwrap_err().contains("empty"));
        assert!(changelog(" \t").unwrap_err().contains("only whitespace"));
        assert!(changelog("one\ntwo").unwrap_err().contains("several lines"));
        assert!(changelog(" padded").unwrap_err().contains("whitespace"));
    }
}
