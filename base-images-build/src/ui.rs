//! Terminal output: notes on stderr (silenced by `--quiet`), the summary on
//! stdout, a progress bar only when stderr is a terminal. Colours follow
//! anstream: only on a terminal, never with `NO_COLOR`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;

/// How the tool talks to its user.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    quiet: bool,
}

impl Ui {
    /// `--quiet` silences notes and progress.
    pub fn new(quiet: bool) -> Self {
        Ui { quiet }
    }

    /// A note on stderr.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            anstream::eprintln!("{text}");
        }
    }

    /// Output that is the point of the command, on stdout.
    pub fn summary(&self, text: &str) {
        anstream::print!("{text}");
        if !text.ends_with('\n') {
            anstream::println!();
        }
    }

    /// Progress over `len` items.
    pub fn progress(&self, len: u64) -> Progress {
        let visible = !self.quiet && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        if visible {
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        Progress {
            bar,
            visible,
            quiet: self.quiet,
        }
    }
}

/// A progress bar that also prints lines above itself.
pub struct Progress {
    bar: ProgressBar,
    visible: bool,
    quiet: bool,
}

impl Progress {
    /// Names what is being worked on.
    pub fn set_message(&self, text: String) {
        self.bar.set_message(text);
    }

    /// One more item done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Prints a line above the bar (or plainly when there is no bar).
    pub fn println(&self, text: String) {
        if self.quiet {
            return;
        }
        if self.visible {
            let plain = anstream::AutoStream::choice(&std::io::stderr()) == anstream::ColorChoice::Never;
            self.bar.println(if plain {
                anstream::adapter::strip_str(&text).to_string()
            } else {
                text
            });
        } else {
            anstream::println!("{text}");
        }
    }

    /// Removes the bar.
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Ui {
    /// A byte-counting bar for one version's push (hidden unless stderr is
    /// a terminal and not `--quiet`).
    pub fn bytes(&self, len: u64, message: String) -> ProgressBar {
        let visible = !self.quiet && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target).with_message(message);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
        {
            bar.set_style(style);
        }
        bar
    }
}
