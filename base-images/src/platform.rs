//! Platform names (`linux/amd64`, `linux/arm/v7`): one `const fn` check
//! shared by the `#[base_image(platforms = [...])]` compile-time assertion
//! and by recipe validation at run time.

/// The platform every family builds for unless its root says otherwise.
pub const DEFAULT_PLATFORMS: &[&str] = &["linux/amd64"];

/// Checks that `platform` is `os/arch` or `os/arch/variant` in lowercase
/// letters, digits and '_'; on failure says what is wrong.
pub const fn check(platform: &str) -> Result<(), &'static str> {
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

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_os_arch_variant() {
        for ok in ["linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
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
