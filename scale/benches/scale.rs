//! How the tool's costs grow with the number of versions: builds the build
//! tool over the synthetic family (`build.rs`) with 1,000 and 10,000
//! versions, in the debug build `cargo run` gives and in release, times each
//! offline command on both (rounds alternate between the sizes), and times
//! compiling the library with the annotated versions against the same
//! functions without the macros (rounds alternate too).
//!
//! ```sh
//! cargo bench -p base-images-scale --bench scale            # everything
//! cargo bench -p base-images-scale --bench scale -- compile # compile times only
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SIZES: [usize; 2] = [1_000, 10_000];
const ROUNDS: usize = 5;
const COMPILE_ROUNDS: usize = 5;
const COMPILE_VERSIONS: usize = 1_000;
const COMMANDS: [&str; 5] = [
    "list",
    "show scale:latest",
    "check",
    "changelog",
    "dockerfile scale:latest",
];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks.
    }
    if std::env::args().any(|a| a == "compile") {
        compile_times();
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scale-bench");
    let _ = std::fs::remove_dir_all(&work);
    must(std::fs::create_dir_all(&work), "create the bench directory");
    println!("offline commands: median of {ROUNDS} rounds, the sizes alternating\n");
    println!(
        "| command | profile | {} versions | {} versions | ratio | target |",
        SIZES[0], SIZES[1]
    );
    println!("|---|---|---|---|---|---|");
    for profile in ["debug", "release"] {
        let tools: Vec<(usize, PathBuf, PathBuf)> = SIZES
            .iter()
            .map(|&n| {
                let tool = build_tool(profile, n, &work);
                let root = workspace(&tool, n, &work.join(format!("ws-{profile}-{n}")));
                (n, tool, root)
            })
            .collect();
        for command in COMMANDS {
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
            for _ in 0..ROUNDS {
                for (slot, (_, tool, root)) in tools.iter().enumerate() {
                    times[slot].push(run(tool, root, command));
                }
            }
            let (small, large) = (median(&mut times[0]), median(&mut times[1]));
            let target = if profile == "debug" {
                "<= 0.3 s; 10x <= 10x"
            } else {
                "<= 0.05 s; 10x <= 10x"
            };
            println!(
                "| `{command}` | {profile} | {} | {} | {:.1}x | {target} |",
                seconds(small),
                seconds(large),
                large.as_secs_f64() / small.as_secs_f64()
            );
        }
    }
    compile_times();
}

/// Times `cargo build --lib` of the family with and without the macros,
/// alternating; each switch regenerates the source, so each round compiles.
fn compile_times() {
    let mut with_macros = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..COMPILE_ROUNDS {
        plain.push(compile(true));
        with_macros.push(compile(false));
    }
    let (macros, plain) = (median(&mut with_macros), median(&mut plain));
    let per_version = (macros.as_secs_f64() - plain.as_secs_f64()) / COMPILE_VERSIONS as f64 * 1000.0;
    println!("\ncompile, debug, {COMPILE_VERSIONS} versions (median of {COMPILE_ROUNDS}, alternating):\n");
    println!("| library | time | per annotated version over plain | target |");
    println!("|---|---|---|---|");
    println!("| plain functions | {} | | |", seconds(plain));
    println!(
        "| `#[base_image]` / `#[sanity_checks]` | {} | {per_version:.2} ms | <= 1.5 ms |",
        seconds(macros)
    );
}

fn compile(plain: bool) -> Duration {
    let start = Instant::now();
    let mut command = cargo(&["build", "-q", "-p", "base-images-scale", "--lib"], COMPILE_VERSIONS);
    command.env("BASE_IMAGES_SCALE_PLAIN", if plain { "1" } else { "0" });
    succeed(&mut command, "compile the family");
    start.elapsed()
}

/// Builds the tool over `versions` versions and copies it out of the
/// target directory (the next build replaces it).
fn build_tool(profile: &str, versions: usize, work: &Path) -> PathBuf {
    let mut args = vec![
        "build",
        "-p",
        "base-images-scale",
        "--bin",
        "base-images-scale",
        "--message-format=json",
    ];
    if profile == "release" {
        args.push("--release");
    }
    let mut command = cargo(&args, versions);
    command.env_remove("BASE_IMAGES_SCALE_PLAIN");
    let output = succeed(&mut command, "build the tool over the family");
    let built = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .next_back()
        .unwrap_or_else(|| panic!("cargo named no executable for base-images-scale"));
    let copy = work.join(format!("tool-{profile}-{versions}"));
    must(std::fs::copy(&built, &copy), "copy the tool");
    copy
}

/// A workspace in which every version but the newest is released (a lock
/// entry each, from `list --json`) and the generated files are current.
fn workspace(tool: &Path, versions: usize, root: &Path) -> PathBuf {
    must(std::fs::create_dir_all(root), "create a workspace");
    let listed = succeed(
        Command::new(tool).args(["--root", &root.display().to_string(), "list", "--json"]),
        "list the versions",
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap_or_default();
    let mut lock = String::from("format = 1\n");
    for row in rows.iter().filter(|r| r["family"] == "scale") {
        if row["version"].as_str() == Some(&format!("1.0.{}", versions - 1)) {
            continue;
        }
        lock.push_str(&format!(
            "\n[[image]]\nname = \"{}\"\nrecipe = \"{}\"\n",
            row["image"].as_str().unwrap_or_default(),
            row["recipe"].as_str().unwrap_or_default()
        ));
    }
    must(std::fs::write(root.join("versions.lock"), lock), "write versions.lock");
    run(tool, root, "changelog");
    root.to_owned()
}

/// One run of `command` (must succeed); its wall time.
fn run(tool: &Path, root: &Path, command: &str) -> Duration {
    let start = Instant::now();
    let mut process = Command::new(tool);
    process
        .args(["--root", &root.display().to_string()])
        .args(command.split(' '));
    succeed(&mut process, command);
    start.elapsed()
}

fn cargo(args: &[&str], versions: usize) -> Command {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .args(args)
        .arg("--manifest-path")
        .arg(manifest)
        .env("BASE_IMAGES_SCALE_VERSIONS", versions.to_string());
    command
}

fn succeed(command: &mut Command, what: &str) -> std::process::Output {
    let output = must(command.output(), what);
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

fn must<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("cannot {what}: {e}"))
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn seconds(time: Duration) -> String {
    format!("{:.3} s", time.as_secs_f64())
}
