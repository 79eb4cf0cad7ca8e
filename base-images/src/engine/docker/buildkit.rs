//! Running a stretch of recipe operations on the engine's own BuildKit:
//! one `POST /build?version=2` per stretch, whose Dockerfile starts `FROM`
//! the image of the step before and whose context holds the new files, so
//! the engine runs the commands as `docker build` does (no container,
//! start and commit through the API per step, and BuildKit's own cache
//! under ours). The instructions are the Dockerfile renderer's
//! (`dockerfile::Renderer`), except that a file comes from the context
//! (`COPY`, root-owned, with its mode) instead of a URL, so the bytes are
//! the ones fetched and verified on the host.
//!
//! BuildKit's progress stream (`moby.buildkit.trace`, decoded by
//! bollard's stubs) names each vertex `[k/n] RUN …`, where only `FROM`,
//! `RUN`, `WORKDIR`, `COPY` and `ADD` count; the failing vertex's `k` is
//! mapped back to the step that wrote that instruction, and its log lines
//! are the output a failure shows.

use std::collections::HashMap;

use bollard::models::BuildInfoAux;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use futures_util::StreamExt as _;

use super::client::{DockerEngine, RECIPE_LABEL};
use crate::dockerfile::{chown, Renderer};
use crate::fetch::entry::{append_entries, append_file, Entry, EntryKind};
use crate::fetch::Pins;
use crate::lower::{json, Op};

/// The instructions that make a BuildKit vertex of their own.
const VERTEX_INSTRUCTIONS: [&str; 5] = ["FROM ", "RUN ", "WORKDIR ", "COPY ", "ADD "];

/// How many lines of a failed step's output an error keeps.
const OUTPUT_LINES: usize = 30;

/// Content an operation places.
pub(super) struct Placed<'o> {
    /// Where.
    pub(super) path: &'o str,
    /// Its owner (root when `None`).
    pub(super) owner: Option<&'o str>,
    /// The entries; the one with an empty path is `path` itself.
    pub(super) entries: Vec<Entry>,
}

/// A Dockerfile and its context for a stretch of operations.
pub(super) struct Stretch<'p> {
    dockerfile: Renderer<'p>,
    context: tar::Builder<Vec<u8>>,
    /// The operation (index into the recipe) of each vertex after `FROM`.
    vertices: Vec<usize>,
}

impl<'p> Stretch<'p> {
    /// A stretch for `platform` starting from image `from` (a name the
    /// engine holds), after the operations `before` (whose cache mounts
    /// are in place for its runs). The platform is the stage's (`FROM
    /// --platform`), as in the rendered Dockerfile, so the image is built
    /// for it.
    pub(super) fn new(pins: &'p Pins, platform: &str, from: &str, before: &[Op<'_>]) -> Result<Self, String> {
        let mut dockerfile = Renderer::new(pins);
        for op in before.iter().filter(|op| matches!(op, Op::Cache { .. })) {
            dockerfile.op(0, op)?;
        }
        dockerfile.line(format!("FROM --platform={platform} {from}"));
        Ok(Stretch {
            dockerfile,
            context: tar::Builder::new(Vec::new()),
            vertices: Vec::new(),
        })
    }

    /// Appends operation `index` (0-based); `placed` is the content it
    /// places, if any (from the context, with `--chown` for an owner: the
    /// owner's ids are the image's at this step, and new parent
    /// directories are the owner's too, as with the rendered Dockerfile's
    /// `ADD --chown` and Dagger's `withFile`).
    pub(super) fn push(&mut self, index: usize, op: &Op<'_>, placed: Option<&Placed<'_>>) -> Result<(), String> {
        let before = self.dockerfile.text.len();
        match placed {
            Some(placed) => {
                let name = index.to_string();
                append_entries(&mut self.context, &name, &placed.entries, (0, 0))
                    .map_err(|e| format!("cannot pack its content: {e}"))?;
                // A directory's contents go into the target directory.
                let (source, target) = match placed.entries.first().map(|e| &e.kind) {
                    Some(EntryKind::Directory) => (format!("{name}/"), format!("{}/", placed.path)),
                    _ => (name, placed.path.to_owned()),
                };
                let chown = chown(placed.owner)?;
                self.dockerfile.line(format!("COPY {chown}{}", json(&[source, target])));
            }
            None => self.dockerfile.op(index + 1, op)?,
        }
        let added = &self.dockerfile.text[before..];
        for line in added.lines() {
            if VERTEX_INSTRUCTIONS.iter().any(|i| line.starts_with(i)) {
                self.vertices.push(index);
            }
        }
        Ok(())
    }

    /// The Dockerfile written so far (for tests and tracing).
    pub(super) fn dockerfile(&self) -> &str {
        &self.dockerfile.text
    }

    /// Builds the stretch, tags the result `tag` (`repository:tag`) with
    /// the recipe label `recipe`, and returns the image id.
    pub(super) async fn build(self, engine: &DockerEngine, tag: &str, recipe: &str) -> Result<String, Failure> {
        let Stretch {
            dockerfile,
            mut context,
            vertices,
        } = self;
        let packed = (|| {
            append_file(&mut context, "Dockerfile", 0o644, dockerfile.text.as_bytes())?;
            context.into_inner()
        })();
        let context = packed.map_err(|e| Failure::Engine(e.to_string()))?;
        let options = BuildImageOptions {
            t: Some(tag.to_owned()),
            networkmode: engine.network.mode(),
            labels: Some(HashMap::from([(RECIPE_LABEL.to_owned(), recipe.to_owned())])),
            version: BuilderVersion::BuilderBuildKit,
            nocache: engine.rebuild,
            ..Default::default()
        };
        let mut progress = Progress::default();
        let mut stream = engine
            .docker
            .build_image(options, None, Some(bollard::body_full(context.into())));
        let mut id = None;
        let mut refused = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => match info.aux {
                    Some(BuildInfoAux::BuildKit(status)) => progress.follow(status),
                    Some(BuildInfoAux::Default(image)) => id = image.id,
                    None => {}
                },
                Err(bollard::errors::Error::DockerStreamError { error }) => refused = Some(error),
                Err(e) => return Err(Failure::Engine(e.to_string())),
            }
        }
        match (refused, id) {
            (None, Some(id)) => Ok(id),
            (None, None) => Err(Failure::Engine("the build ended without an image".into())),
            (Some(message), _) => Err(progress.failure(&vertices, message)),
        }
    }
}

/// Why a stretch did not build.
#[derive(Debug)]
pub(super) enum Failure {
    /// Operation `op` (0-based) failed.
    Step {
        /// The operation.
        op: usize,
        /// The command's exit code, when a command failed.
        exit_code: Option<i64>,
        /// The engine's message.
        message: String,
        /// The last lines the step printed.
        output: String,
    },
    /// The engine failed (or failed somewhere no step owns).
    Engine(String),
}

/// What the progress stream said so far: each vertex's name, log and error.
#[derive(Default)]
struct Progress {
    names: HashMap<String, String>,
    logs: HashMap<String, Vec<u8>>,
    failed: Option<String>,
}

impl Progress {
    fn follow(&mut self, status: bollard_stubs::moby::buildkit::v1::StatusResponse) {
        for vertex in status.vertexes {
            if !vertex.error.is_empty() && self.failed.is_none() {
                self.failed = Some(vertex.digest.clone());
            }
            self.names.insert(vertex.digest, vertex.name);
        }
        for log in status.logs {
            let kept = self.logs.entry(log.vertex).or_default();
            kept.extend_from_slice(&log.msg);
            // Only the tail is ever shown.
            if kept.len() > 64 * 1024 {
                kept.drain(..kept.len() - 32 * 1024);
            }
        }
    }

    /// The failure the engine reported as `message`, tied to the step
    /// whose vertex failed.
    fn failure(&self, vertices: &[usize], message: String) -> Failure {
        let failed = self.failed.as_ref();
        let op = failed
            .and_then(|digest| self.names.get(digest))
            .and_then(|name| vertex_number(name))
            // Vertex 1 is `FROM`; the stretch's own start from 2 on.
            .and_then(|k| k.checked_sub(2))
            .and_then(|k| vertices.get(k).copied());
        let Some(op) = op else {
            return Failure::Engine(message);
        };
        let output = failed
            .and_then(|digest| self.logs.get(digest))
            .map(|log| tail(&String::from_utf8_lossy(log), OUTPUT_LINES))
            .unwrap_or_default();
        Failure::Step {
            op,
            exit_code: exit_code(&message),
            message,
            output,
        }
    }
}

/// `k` of a vertex named `[k/n] …` (or `[stage k/n] …`).
fn vertex_number(name: &str) -> Option<usize> {
    let inside = name.trim_start().strip_prefix('[')?.split(']').next()?;
    let (k, _) = inside.split_whitespace().last()?.split_once('/')?;
    k.parse().ok()
}

/// The exit code in an engine message ending `…: exit code: 3`.
fn exit_code(message: &str) -> Option<i64> {
    let (_, after) = message.rsplit_once("exit code: ")?;
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
    digits.parse().ok()
}

/// The last `lines` lines of `text`, without trailing blank space.
fn tail(text: &str, lines: usize) -> String {
    let text = text.trim_end();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::{Config, Run};

    #[test]
    fn vertices_are_numbered_as_buildkit_prints_them() {
        assert_eq!(vertex_number("[2/4] RUN [\"sh\"]"), Some(2));
        assert_eq!(vertex_number("[ 3/12] WORKDIR /tmp"), Some(3));
        assert_eq!(vertex_number("[stage-1 5/6] COPY a b"), Some(5));
        assert_eq!(vertex_number("[internal] load metadata"), None);
        assert_eq!(
            exit_code("executor failed running [sh -c exit 3]: exit code: 3"),
            Some(3)
        );
        assert_eq!(
            exit_code("process \"/bin/sh -c false\" did not complete successfully: exit code: 1"),
            Some(1)
        );
        assert_eq!(exit_code("failed to compute cache key"), None);
        assert_eq!(tail("a\nb\nc\n\n", 2), "b\nc");
    }

    #[test]
    fn each_vertex_is_tied_to_the_operation_that_wrote_it() {
        let pins = Pins::new();
        let before = [Op::Cache {
            path: "/root/.cache/pip",
            cache: "pip",
        }];
        let mut stretch = Stretch::new(&pins, "linux/amd64", "base-images-cache:abc", &before).unwrap();
        let run = |argv: &[&str], workdir: Option<&'static str>| {
            Op::Run(Run {
                argv: argv.iter().map(|s| (*s).to_owned()).collect(),
                user: None,
                workdir,
                image_user: "root".into(),
                image_workdir: "/".into(),
            })
        };
        stretch.push(3, &Op::Config(Config::Env("A", "1")), None).unwrap();
        stretch.push(4, &run(&["true"], Some("/tmp")), None).unwrap();
        let file = Placed {
            path: "/a b/run.sh",
            owner: None,
            entries: vec![Entry {
                path: String::new(),
                mode: 0o755,
                kind: EntryKind::File(b"#!/bin/sh\n".to_vec()),
            }],
        };
        let tree = Placed {
            path: "/opt/data",
            owner: Some("app:staff"),
            entries: vec![Entry {
                path: String::new(),
                mode: 0o755,
                kind: EntryKind::Directory,
            }],
        };
        stretch.push(5, &Op::Config(Config::Workdir("/w")), None).unwrap();
        let unused = Op::Config(Config::Env("unused", ""));
        stretch.push(6, &unused, Some(&file)).unwrap();
        stretch.push(7, &unused, Some(&tree)).unwrap();
        assert_eq!(
            stretch.dockerfile(),
            "FROM --platform=linux/amd64 base-images-cache:abc\n\
             ENV A=\"1\"\n\
             WORKDIR /tmp\n\
             RUN --mount=type=cache,id=pip,target=/root/.cache/pip [\"true\"]\n\
             WORKDIR /\n\
             WORKDIR /w\n\
             COPY [\"6\",\"/a b/run.sh\"]\n\
             COPY --chown=app:staff [\"7/\",\"/opt/data/\"]\n"
        );
        // WORKDIR, RUN and WORKDIR of step 5 (index 4), then 6, 7 and 8.
        assert_eq!(stretch.vertices, [4, 4, 4, 5, 6, 7]);
        let mut progress = Progress::default();
        progress
            .names
            .insert("d".into(), "[ 3/6] RUN --mount=… [\"true\"]".into());
        progress.logs.insert("d".into(), b"out\nerr\n".to_vec());
        progress.failed = Some("d".into());
        match progress.failure(&stretch.vertices, "x: exit code: 7".into()) {
            Failure::Step {
                op, exit_code, output, ..
            } => assert_eq!((op, exit_code, output.as_str()), (4, Some(7), "out\nerr")),
            Failure::Engine(e) => panic!("{e}"),
        }
        let context = stretch.context.into_inner().unwrap();
        let mut archive = tar::Archive::new(&context[..]);
        let entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("6"));
        assert_eq!(
            (entry.header().mode().unwrap(), entry.header().uid().unwrap()),
            (0o755, 0)
        );
    }
}
