//! The lowering: a Recipe as a `dagger_sdk::Container`, step by step,
//! with the SDK call that does the same thing. The match over steps is
//! exhaustive, so a step Dagger cannot express is a compile error here, not
//! a surprise at run time. Step-scoped env runs through `env NAME=value`
//! (as on the Docker engine and in the Dockerfile), step-scoped user and
//! workdir are switched around the exec and back.

use dagger_sdk::{Container, ContainerWithNewFileOpts, Platform, Query, QueryContainerOpts};

use crate::recipe::{command_line, Scope};
use crate::{BaseImage, Error, Recipe, Step};

impl Recipe {
    /// This recipe as a Dagger container, for `platform` (the engine's own
    /// when `None`; required for a root pinned per platform).
    pub fn to_container(&self, client: &Query, platform: Option<&str>) -> Result<Container, Error> {
        self.validate()?;
        let root = match platform {
            Some(platform) => self.root_for(platform),
            None => match self.root_addresses().as_slice() {
                [(None, address)] => Some(*address),
                _ => None,
            },
        }
        .ok_or_else(|| Error::InvalidRoot {
            reason: format!(
                "has no address for {}; name a platform it pins ({})",
                platform.unwrap_or("the engine's platform"),
                self.root_addresses()
                    .iter()
                    .filter_map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        let container = match platform {
            Some(p) => client.container_opts(QueryContainerOpts {
                platform: Some(Platform(p.to_owned())),
            }),
            None => client.container(),
        };
        let mut lowering = Lowering {
            client,
            container: container.from(root),
            scope: Scope::default(),
        };
        for step in &self.steps {
            lowering.step(step);
        }
        Ok(lowering.container)
    }
}

impl BaseImage {
    /// This version as a Dagger container (the whole chain of steps from the
    /// root), on the engine's platform.
    pub fn container(&self, client: &Query) -> Result<Container, Error> {
        self.recipe()?.to_container(client, None).map_err(|e| self.in_image(e))
    }

    /// `container` for one platform of the family.
    pub fn container_for(&self, client: &Query, platform: &str) -> Result<Container, Error> {
        self.recipe()?
            .to_container(client, Some(platform))
            .map_err(|e| self.in_image(e))
    }
}

/// The container being built and the user/workdir the recipe set so far.
struct Lowering<'a> {
    client: &'a Query,
    container: Container,
    scope: Scope,
}

impl Lowering<'_> {
    fn step(&mut self, step: &Step) {
        let c = &self.container;
        self.scope.follow(step);
        self.container = match step {
            Step::Exec {
                args,
                env,
                user,
                workdir,
            } => {
                let mut c = c.clone();
                if let Some(user) = user {
                    c = c.with_user(user);
                }
                if let Some(dir) = workdir {
                    c = c.with_workdir(dir);
                }
                c = c.with_exec(command_line(args, env));
                if workdir.is_some() {
                    c = c.with_workdir(self.scope.workdir());
                }
                if user.is_some() {
                    c = c.with_user(self.scope.user());
                }
                c
            }
            Step::Env { name, value } => c.with_env_variable(name, value),
            Step::UnsetEnv { name } => c.without_env_variable(name),
            Step::Workdir { path } => c.with_workdir(path),
            Step::User { name } => c.with_user(name),
            Step::Label { name, value } => c.with_label(name, value),
            Step::Entrypoint { args } => c.with_entrypoint(args.clone()),
            Step::DefaultArgs { args } => c.with_default_args(args.clone()),
            Step::NewFile { path, contents, mode } => c.with_new_file_opts(
                path,
                contents,
                ContainerWithNewFileOpts {
                    permissions: Some(*mode as isize),
                    owner: None,
                    expand: None,
                },
            ),
            Step::MountedCache { path, cache } => c.with_mounted_cache(path, self.client.cache_volume(cache)),
        };
    }
}
