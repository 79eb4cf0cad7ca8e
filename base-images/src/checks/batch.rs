//! Many one-command checks in one exec: starting a process in a container
//! costs the engine far more than the command itself, so the commands of a
//! check set that run as the same user go to one `/bin/sh` script that runs
//! them concurrently, each under `timeout`, and prints each result framed by
//! a random boundary. An image without `sh`, `mktemp` or `timeout` answers
//! exit code 125 without frames; the caller then runs the checks one by one.

use std::time::Duration;

use super::ExecOutput;

/// The exit code `timeout` gives a command it stopped.
pub(crate) const TIMED_OUT: i64 = 124;

/// One command of a batch.
pub(crate) struct BatchCommand<'a> {
    /// The command.
    pub(crate) argv: &'a [String],
    /// Its time limit.
    pub(crate) limit: Duration,
}

/// A boundary that no command's output will contain by chance.
pub(crate) fn boundary() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let seed = format!(
        "{nanos}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let digest = <sha2::Sha256 as sha2::Digest>::digest(seed.as_bytes());
    format!("@@{:x}", digest)[..26].to_owned()
}

/// The script running `commands` concurrently. For each, in order, it
/// prints `<boundary>:<index>:<exit code>` and a newline, the stdout,
/// `<boundary>:` and a newline, and the stderr. Shell built-ins do the
/// bookkeeping, so each check costs the process it runs plus `timeout`.
pub(crate) fn script(commands: &[BatchCommand<'_>], boundary: &str) -> String {
    let mut s = format!(
        "command -v mktemp >/dev/null && command -v timeout >/dev/null || exit 125\n\
         d=$(mktemp -d) || exit 125\n\
         b='{boundary}'\n\
         run() {{ i=$1; t=$2; shift 2; timeout -k 1 \"$t\" \"$@\" >\"$d/$i.o\" 2>\"$d/$i.e\" </dev/null; \
         printf '%s:%s:%s\\n' \"$b\" \"$i\" \"$?\" >\"$d/$i.h\"; printf '%s:\\n' \"$b\" >\"$d/$i.m\"; }}\n"
    );
    let mut files = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        s.push_str(&format!(
            "run {i} {:.3} {} &\n",
            command.limit.as_secs_f64(),
            super::shell_words(command.argv)
        ));
        files.extend([
            format!("\"$d/{i}.h\""),
            format!("\"$d/{i}.o\""),
            format!("\"$d/{i}.m\""),
            format!("\"$d/{i}.e\""),
        ]);
    }
    s.push_str(&format!("wait\ncat {}\nrm -rf \"$d\"\n", files.join(" ")));
    s
}

/// Splits the script's stdout into one output per command; `None` if it is
/// not what the script prints (then run the commands one by one).
pub(crate) fn parse(stdout: &str, boundary: &str, count: usize) -> Option<Vec<ExecOutput>> {
    let mut rest = stdout.strip_prefix(boundary)?;
    let mut outputs = Vec::with_capacity(count);
    for index in 0..count {
        let (header, body) = rest.split_once('\n')?;
        let mut fields = header.strip_prefix(':')?.split(':');
        if fields.next()?.parse::<usize>().ok()? != index {
            return None;
        }
        let exit_code = fields.next()?.parse().ok()?;
        let (out, after) = body.split_once(&format!("{boundary}:\n"))?;
        let (err, next) = match after.find(boundary) {
            Some(at) => (&after[..at], &after[at + boundary.len()..]),
            None => (after, ""),
        };
        outputs.push(ExecOutput {
            exit_code,
            stdout: out.to_owned(),
            stderr: err.to_owned(),
        });
        rest = next;
    }
    rest.is_empty().then_some(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "@@0123456789abcdef01234567";

    #[test]
    fn quotes_every_word_for_sh() {
        assert_eq!(
            super::super::shell_words(&["it's", "a b", "plain-1.0", ""]),
            r"'it'\''s' 'a b' plain-1.0 ''"
        );
        let argv = vec!["echo".to_owned(), "a b".to_owned(), "$HOME".to_owned()];
        let text = script(
            &[BatchCommand {
                argv: &argv,
                limit: Duration::from_millis(1500),
            }],
            B,
        );
        assert!(text.contains("run 0 1.500 echo 'a b' '$HOME' &"), "{text}");
        assert_ne!(boundary(), boundary());
        assert_eq!(boundary().len(), B.len());
    }

    #[test]
    fn parses_framed_outputs_and_refuses_anything_else() {
        let text = format!("{B}:0:0\nhi\n{B}:\n{B}:1:124\nno newline{B}:\nerr\n");
        let outputs = parse(&text, B, 2).unwrap();
        assert_eq!(
            outputs[0],
            ExecOutput {
                exit_code: 0,
                stdout: "hi\n".into(),
                stderr: String::new()
            }
        );
        assert_eq!(
            outputs[1],
            ExecOutput {
                exit_code: TIMED_OUT,
                stdout: "no newline".into(),
                stderr: "err\n".into()
            }
        );
        assert!(parse(&text, B, 3).is_none(), "a missing frame");
        assert!(parse("sh: timeout: not found\n", B, 1).is_none());
        assert!(parse(&format!("{text}{B}:9:0\n"), B, 2).is_none(), "trailing frames");
    }

    #[test]
    fn the_script_runs_under_sh() {
        let argv_a = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "printf out; echo err >&2; exit 3".to_owned(),
        ];
        let argv_b = vec!["sleep".to_owned(), "5".to_owned()];
        let text = script(
            &[
                BatchCommand {
                    argv: &argv_a,
                    limit: Duration::from_secs(5),
                },
                BatchCommand {
                    argv: &argv_b,
                    limit: Duration::from_millis(300),
                },
            ],
            B,
        );
        let Ok(out) = std::process::Command::new("sh").args(["-c", &text]).output() else {
            return;
        };
        let outputs = parse(&String::from_utf8_lossy(&out.stdout), B, 2).unwrap();
        assert_eq!(
            outputs[0],
            ExecOutput {
                exit_code: 3,
                stdout: "out".into(),
                stderr: "err\n".into()
            }
        );
        assert_eq!(outputs[1].exit_code, TIMED_OUT);
    }
}
