//! Compile-time version data: the `Version` every `#[base_image]` static
//! carries, and the `const fn` comparisons the macro's generated assertions
//! use, so the compiler itself refuses a parent that is not lower than its
//! child. Ordering follows semver precedence (pre-releases included; build
//! metadata is refused by the macro because image tags cannot carry it).

use std::cmp::Ordering;
use std::fmt;

/// A semantic version as plain `const` data: `major.minor.patch[-pre]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    /// The major number.
    pub major: u64,
    /// The minor number.
    pub minor: u64,
    /// The patch number.
    pub patch: u64,
    /// The pre-release identifiers (`rc.1`), empty for a release.
    pub pre: &'static str,
}

impl Version {
    /// Whether this is a pre-release (`2.0.0-rc.1`).
    pub const fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// Semver precedence, usable in `const` context.
    pub const fn const_cmp(&self, other: &Version) -> Ordering {
        // Plain comparisons, and a call only when the cores are equal: the
        // compiler evaluates this once per child version's static, and
        // each call there costs it a frame.
        let (a, b) = (self, other);
        let less = if a.major != b.major {
            a.major < b.major
        } else if a.minor != b.minor {
            a.minor < b.minor
        } else if a.patch != b.patch {
            a.patch < b.patch
        } else {
            return cmp_pre(a.pre.as_bytes(), b.pre.as_bytes());
        };
        if less {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    }

    /// The name of the function declaring it (`v2_0_0_rc_1`), as
    /// `#[base_image]` requires; its static is the same in upper case.
    pub fn fn_name(&self) -> String {
        Self::fn_name_for(&self.to_semver())
    }

    /// The function name `#[base_image]` requires for `version`.
    pub fn fn_name_for(version: &semver::Version) -> String {
        let mut name = format!("v{}_{}_{}", version.major, version.minor, version.patch);
        if !version.pre.is_empty() {
            name.push('_');
            name.push_str(&version.pre.as_str().replace('.', "_"));
        }
        name
    }

    /// The same version as a `semver::Version`.
    pub fn to_semver(&self) -> semver::Version {
        let mut version = semver::Version::new(self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            // The macro only emits identifiers it validated with `semver`.
            version.pre = semver::Prerelease::new(self.pre).unwrap_or(semver::Prerelease::EMPTY);
        }
        version
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.const_cmp(other)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

const fn cmp_u64(a: u64, b: u64) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// Pre-release precedence: a release is higher than any pre-release;
/// identifiers compare left to right, numeric ones numerically and below
/// alphanumeric ones, alphanumeric ones by ASCII; a prefix is lower.
const fn cmp_pre(a: &[u8], b: &[u8]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let (mut i, mut j) = (0, 0);
    loop {
        let a_done = i >= a.len();
        let b_done = j >= b.len();
        if a_done || b_done {
            return match (a_done, b_done) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                _ => Ordering::Greater,
            };
        }
        let a_end = ident_end(a, i);
        let b_end = ident_end(b, j);
        let ord = cmp_ident(a, i, a_end, b, j, b_end);
        if !ord.is_eq() {
            return ord;
        }
        i = a_end + 1;
        j = b_end + 1;
    }
}

const fn ident_end(s: &[u8], start: usize) -> usize {
    let mut k = start;
    while k < s.len() && s[k] != b'.' {
        k += 1;
    }
    k
}

const fn is_numeric(s: &[u8], start: usize, end: usize) -> bool {
    let mut k = start;
    while k < end {
        if !s[k].is_ascii_digit() {
            return false;
        }
        k += 1;
    }
    end > start
}

const fn cmp_ident(a: &[u8], ai: usize, ae: usize, b: &[u8], bi: usize, be: usize) -> Ordering {
    let a_num = is_numeric(a, ai, ae);
    let b_num = is_numeric(b, bi, be);
    match (a_num, b_num) {
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (true, true) => {
            // Semver forbids leading zeros, so a longer number is larger.
            let len = cmp_u64((ae - ai) as u64, (be - bi) as u64);
            if !len.is_eq() {
                return len;
            }
        }
        (false, false) => {}
    }
    let (mut i, mut j) = (ai, bi);
    while i < ae && j < be {
        if a[i] != b[j] {
            return cmp_u64(a[i] as u64, b[j] as u64);
        }
        i += 1;
        j += 1;
    }
    cmp_u64((ae - ai) as u64, (be - bi) as u64)
}

/// Byte-wise string equality, usable in `const` context.
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A fixed-size text buffer that builds compile-error messages in `const`
/// context, so a failed assertion can name both versions and families.
#[derive(Clone, Copy, Debug)]
pub struct ConstMessage {
    buf: [u8; 512],
    len: usize,
}

impl Default for ConstMessage {
    fn default() -> Self {
        Self::new()
    }
}

impl ConstMessage {
    /// An empty message.
    pub const fn new() -> Self {
        ConstMessage { buf: [0; 512], len: 0 }
    }

    /// Appends `s`, stopping before the first character that does not fit.
    pub const fn push(mut self, s: &str) -> Self {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let width = match bytes[i] {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            if self.len + width > self.buf.len() {
                break;
            }
            let mut k = 0;
            while k < width {
                self.buf[self.len] = bytes[i + k];
                self.len += 1;
                k += 1;
            }
            i += width;
        }
        self
    }

    /// Appends a version as `major.minor.patch[-pre]`.
    pub const fn push_version(self, v: &Version) -> Self {
        let mut msg = self
            .push_u64(v.major)
            .push(".")
            .push_u64(v.minor)
            .push(".")
            .push_u64(v.patch);
        if !v.pre.is_empty() {
            msg = msg.push("-").push(v.pre);
        }
        msg
    }

    /// Appends a number in decimal.
    pub const fn push_u64(mut self, mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 && self.len < self.buf.len() {
            count -= 1;
            self.buf[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// The text built so far.
    pub const fn as_str(&self) -> &str {
        let (head, _) = self.buf.split_at(self.len);
        match std::str::from_utf8(head) {
            Ok(s) => s,
            Err(_) => "base_image: invalid declaration",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u64, minor: u64, patch: u64, pre: &'static str) -> Version {
        Version {
            major,
            minor,
            patch,
            pre,
        }
    }

    #[test]
    fn precedence_matches_semver_crate() {
        let list = [
            v(1, 0, 0, "alpha"),
            v(1, 0, 0, "alpha.1"),
            v(1, 0, 0, "alpha.beta"),
            v(1, 0, 0, "beta"),
            v(1, 0, 0, "beta.2"),
            v(1, 0, 0, "beta.11"),
            v(1, 0, 0, "rc.1"),
            v(1, 0, 0, ""),
            v(1, 0, 1, "rc.1"),
            v(1, 0, 1, ""),
            v(1, 2, 0, ""),
            v(1, 10, 0, ""),
            v(2, 0, 0, "rc.1"),
            v(2, 0, 0, "rc.2"),
            v(2, 0, 0, "rc.10"),
            v(2, 0, 0, ""),
        ];
        for a in &list {
            for b in &list {
                assert_eq!(a.cmp(b), a.to_semver().cmp(&b.to_semver()), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn const_message_builds_text() {
        const M: ConstMessage = ConstMessage::new()
            .push("parent ")
            .push_version(&Version {
                major: 1,
                minor: 20,
                patch: 3,
                pre: "rc.1",
            })
            .push(" / ")
            .push_u64(0);
        assert_eq!(M.as_str(), "parent 1.20.3-rc.1 / 0");
    }

    #[test]
    fn const_message_truncates_on_char_boundary() {
        let long = "é".repeat(400);
        let msg = ConstMessage::new().push(&long);
        assert!(msg.as_str().chars().all(|c| c == 'é'));
        assert!(msg.as_str().len() <= 512);
    }

    #[test]
    fn str_eq_compares_bytes() {
        assert!(str_eq("abc", "abc"));
        assert!(!str_eq("abc", "abd"));
        assert!(!str_eq("abc", "ab"));
    }
}
