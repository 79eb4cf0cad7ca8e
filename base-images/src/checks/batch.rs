//! Many one-command checks in one exec: starting a process in a container
//! costs the engine far more than the command itself, so the commands of a
//! check set that run as the same user go to one `/bin/sh` script that runs
//! them concurrently, each under `timeout`, and prints each result framed by
//! a random boundary, in order. An image without `sh`, `mktemp` or `timeout`
//! answers exit code 125 without frames; the caller then runs the checks one
//! by one. A script cut off (its exec failed or ran out of time) still gives
//! the frames it printed whole; only the rest is run again.

use std::time::Duration;

use super::target::ExecOutput;
use crate::shell::shell_words;

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

/// The script running `commands` concurrently. For each, in order, as soon
/// as it and the ones before it ended, it prints `<boundary>:<index>:<exit
/// code>` and a newline, the stdout, `<boundary>:` and a newline, the
/// stderr, and `<boundary>;` and a newline: so when the script is cut off,
/// the frames it printed are whole and the rest is known to be missing.
/// Shell built-ins do the bookkeeping, so each check costs the process it
/// runs plus `timeout`, which stops a command at its limit.
pub(crate) fn script(commands: &[BatchCommand<'_>], boundary: &str) -> String {
    let mut s = format!(
        "command -v mktemp >/dev/null && command -v timeout >/dev/null || exit 125\n\
         d=$(mktemp -d) || exit 125\n\
         b='{boundary}'\n\
         run() {{ i=$1; t=$2; shift 2; timeout -k 1 \"$t\" \"$@\" >\"$d/$i.o\" 2>\"$d/$i.e\" </dev/null; \
         printf '%s:%s:%s\\n' \"$b\" \"$i\" \"$?\" >\"$d/$i.h\"; }}\n"
    );
    for (i, command) in commands.iter().enumerate() {
        s.push_str(&format!(
            "run {i} {:.3} {} &\np{i}=$!\n",
            command.limit.as_secs_f64(),
            shell_words(command.argv)
        ));
    }
    for i in 0..commands.len() {
        s.push_str(&format!(
            "wait $p{i}; cat \"$d/{i}.h\" \"$d/{i}.o\"; printf '%s:\\n' \"$b\"; cat \"$d/{i}.e\"; printf '%s;\\n' \"$b\"\n"
        ));
    }
    s.push_str("rm -rf \"$d\"\n");
    s
}

/// The whole frames at the start of the script's stdout, in order (fewer
/// than the commands when the script was cut off; none when the image
/// could not run it).
pub(crate) fn parse_prefix(stdout: &str, boundary: &str, count: usize) -> Vec<ExecOutput> {
    frames(stdout, boundary, count)
}

/// Up to `count` whole frames.
fn frames(stdout: &str, boundary: &str, count: usize) -> Vec<ExecOutput> {
    let mut outputs = Vec::with_capacity(count);
    let mut rest = stdout;
    let middle = format!("{boundary}:\n");
    let end = format!("{boundary};\n");
    while outputs.len() < count {
        let frame = (|| {
            let (header, body) = rest.strip_prefix(boundary)?.split_once('\n')?;
            let mut fields = header.strip_prefix(':')?.split(':');
            if fields.next()?.parse::<usize>().ok()? != outputs.len() {
                return None;
            }
            let exit_code = fields.next()?.parse().ok()?;
            let (out, after) = body.split_once(&middle)?;
            let (err, next) = after.split_once(&end)?;
            Some((
                ExecOutput {
                    exit_code,
                    stdout: out.to_owned(),
                    stderr: err.to_owned(),
                },
                next,
            ))
        })();
        let Some((output, next)) = frame else { break };
        outputs.push(output);
        rest = next;
    }
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "@@0123456789abcdef01234567";

    #[test]
    fn quotes_every_word_for_sh() {
        assert_eq!(
            shell_words(&["it's", "a b", "plain-1.0", ""]),
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
        let text = format!("{B}:0:0\nhi\n{B}:\n{B};\n{B}:1:124\nno newline{B}:\nerr\n{B};\n");
        let outputs = parse_prefix(&text, B, 2);
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
        assert_eq!(parse_prefix(&text, B, 3).len(), 2, "a missing frame");
        assert_eq!(parse_prefix(&text, B, 1).len(), 1, "no more than asked for");
        assert!(parse_prefix("sh: timeout: not found\n", B, 1).is_empty());
    }

    #[test]
    fn a_cut_off_script_gives_its_whole_frames() {
        let text = format!("{B}:0:0\nhi\n{B}:\n{B};\n{B}:1:0\nhalf of it");
        let outputs = parse_prefix(&text, B, 3);
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].stdout, "hi\n");
        assert!(parse_prefix("sh: not found", B, 3).is_empty());
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
        let outputs = parse_prefix(&String::from_utf8_lossy(&out.stdout), B, 2);
        assert_eq!(outputs.len(), 2);
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
