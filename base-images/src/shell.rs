//! Commands as a person types them in `sh`: the quoting failure reports
//! show a command with, and the batched check script runs commands with.
//! Its own module so errors and checks both use it without depending on
//! each other.

/// A command as a person would type it in `sh`: words quoted only when
/// they need it (also used to build scripts, so the quoting is complete).
pub fn shell_words<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|word| {
            let word = word.as_ref();
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./=:,+@%-".contains(c));
            if plain {
                word.to_owned()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
