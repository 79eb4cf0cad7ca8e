//! One declared image version: the `BaseImage` static a `#[base_image]`
//! function becomes. It holds `const` data the compiler can reason about
//! (family, version, parent, platforms) and the function that builds its
//! recipe from its parent's; the recipe and check set of a version are the
//! whole chain applied from the root.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;

use crate::checks::Checks;
use crate::key::ImageKey;
use crate::recipe::Recipe;
use crate::version::{str_eq, ConstMessage, Version};
use crate::Error;

/// How a version builds its recipe.
#[derive(Clone, Copy)]
pub enum Build {
    /// A root version: `fn v1_0_0() -> Recipe`.
    Root(fn() -> Recipe),
    /// A child version: `fn v1_0_1(parent: Recipe) -> Recipe`.
    Child(fn(Recipe) -> Recipe),
}

/// Where a declaration is in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// The source file, as `file!()` gives it.
    pub file: &'static str,
    /// The line of the declaration.
    pub line: u32,
    /// The module path, as `module_path!()` gives it.
    pub module: &'static str,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} ({})", self.file, self.line, self.module)
    }
}

/// A family-wide last touch of every version's recipe (its image metadata,
/// say): `fn(recipe, version) -> recipe`, named by `finish = ...` on the
/// family's root. It is applied to each version's own recipe only, so its
/// steps are not inherited.
pub type Finish = fn(Recipe, &BaseImage) -> Recipe;

/// A declared base-image version. Made only by `#[base_image]`.
///
/// Plain constant data: what is derived from it is memoised beside the
/// registry (`resolved`, which also defines the methods answering from
/// it: `recipe`, `step_origins`, `checks`, ...), not in it, since a cell
/// inside would make every version's static cost the compiler a const
/// check of interior mutability and a drop analysis.
pub struct BaseImage {
    family: &'static str,
    version: Version,
    version_text: &'static str,
    parent: Option<&'static BaseImage>,
    changelog: &'static str,
    platforms: &'static [&'static str],
    finish: Option<Finish>,
    repositories: &'static [&'static str],
    build: Build,
    location: Location,
    poisoned: bool,
}

/// Everything `#[base_image]` knows about a declaration (macro use only).
#[doc(hidden)]
pub struct Declaration {
    /// The family name.
    pub family: &'static str,
    /// The version.
    pub version: Version,
    /// The version as written in the attribute.
    pub version_text: &'static str,
    /// The parent version, for a child.
    pub parent: Option<&'static BaseImage>,
    /// The changelog line.
    pub changelog: &'static str,
    /// The platforms the family builds for.
    pub platforms: &'static [&'static str],
    /// The family's finishing function, if any.
    pub finish: Option<Finish>,
    /// Where the family's images are published (none, one or several).
    pub repositories: &'static [&'static str],
    /// The annotated function.
    pub build: Build,
    /// Where the declaration is.
    pub location: Location,
    /// Whether the declaration had a compile error (never registered).
    pub poisoned: bool,
}

impl Declaration {
    /// A root version 1.0.0 of `family` for amd64 that never builds,
    /// declared in `file` and published to `repositories` (tests of what
    /// reads declarations).
    #[doc(hidden)]
    pub const fn example(family: &'static str, repositories: &'static [&'static str], file: &'static str) -> Self {
        Declaration {
            family,
            version: Version {
                major: 1,
                minor: 0,
                patch: 0,
                pre: "",
            },
            version_text: "1.0.0",
            parent: None,
            changelog: "First.",
            platforms: &["linux/amd64"],
            finish: None,
            repositories,
            build: Build::Root(poisoned_recipe),
            location: Location {
                file,
                line: 1,
                module: family,
            },
            poisoned: false,
        }
    }
}

/// The recipe of a declaration that failed to compile (never built).
pub fn poisoned_recipe() -> Recipe {
    Recipe::from("")
}

impl BaseImage {
    /// Makes the static from the macro's declaration (macro use only).
    #[doc(hidden)]
    pub const fn __declare(d: Declaration) -> Self {
        BaseImage {
            family: d.family,
            version: d.version,
            version_text: d.version_text,
            parent: d.parent,
            changelog: d.changelog,
            platforms: d.platforms,
            finish: d.finish,
            repositories: d.repositories,
            build: d.build,
            location: d.location,
            poisoned: d.poisoned,
        }
    }

    /// Makes a child version's static from its parent (macro use only):
    /// refuses, at compile time, a parent that is not strictly lower
    /// (`name` is the parent as written; the error points at the call,
    /// which the macro spans on the parent token), and inherits the
    /// family, platforms, finish and repository. One call per version
    /// keeps the expansion small: it is most of what a version costs the
    /// compiler.
    #[doc(hidden)]
    #[track_caller]
    pub const fn __child(
        parent: &'static BaseImage,
        name: &str,
        version: Version,
        version_text: &'static str,
        changelog: &'static str,
        build: Build,
        location: Location,
    ) -> Self {
        __check_parent(parent, &version, name);
        BaseImage {
            family: parent.family,
            version,
            version_text,
            parent: Some(parent),
            changelog,
            platforms: parent.platforms,
            finish: parent.finish,
            repositories: parent.repositories,
            build,
            location,
            poisoned: false,
        }
    }

    /// The family name (`airbyte-python-connector-base`).
    pub const fn family(&self) -> &'static str {
        self.family
    }

    /// The version.
    pub const fn version(&self) -> &Version {
        &self.version
    }

    /// The version as text (`1.0.1`, `2.0.0-rc.1`), also the image tag.
    pub const fn version_str(&self) -> &'static str {
        self.version_text
    }

    /// The platforms the family builds for (set on its root version).
    pub const fn platforms(&self) -> &'static [&'static str] {
        self.platforms
    }

    /// The family's finishing function (set on its root version).
    pub const fn finish(&self) -> Option<Finish> {
        self.finish
    }

    /// The family's first repository (set on its root version), e.g.
    /// `airbyte/python-connector-base`: where its images are read from.
    pub const fn repository(&self) -> Option<&'static str> {
        match self.repositories {
            [first, ..] => Some(first),
            [] => None,
        }
    }

    /// Every repository the family's images are published to, the first
    /// one first (`repository = [..]` on its root version).
    pub const fn repositories(&self) -> &'static [&'static str] {
        self.repositories
    }

    /// The published image address, `repository:version` in the first
    /// repository, if the family has one.
    pub fn image_address(&self) -> Option<String> {
        self.repository().map(|r| format!("{r}:{}", self.version_text))
    }

    /// Whether the declaration failed to compile (macro use only).
    #[doc(hidden)]
    pub const fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The version it derives from; `None` for a family's root.
    pub const fn parent(&self) -> Option<&'static BaseImage> {
        self.parent
    }

    /// The one-line changelog entry.
    pub const fn changelog(&self) -> &'static str {
        self.changelog
    }

    /// Where it is declared.
    pub const fn location(&self) -> Location {
        self.location
    }

    /// The lookup key, `family:version`.
    pub fn key(&self) -> ImageKey {
        ImageKey::new(self.family, self.version.to_semver())
    }

    /// This version and its ancestors, from the root down to this one.
    pub fn lineage(&self) -> Vec<&BaseImage> {
        let mut chain = vec![self];
        let mut seen = HashSet::from([self as *const BaseImage]);
        let mut current = self;
        // A cycle cannot be declared through the macro (a parent is a lower
        // version); registry::validate reports one made by hand.
        while let Some(parent) = current.parent.filter(|p| seen.insert(*p as *const BaseImage)) {
            chain.push(parent);
            current = parent;
        }
        chain.reverse();
        chain
    }

    /// How it builds its recipe.
    pub(crate) fn build(&self) -> Build {
        self.build
    }

    /// Wraps an error with this image's key and declaration site.
    pub(crate) fn in_image(&self, source: Error) -> Error {
        Error::InImage {
            image: self.key().to_string(),
            location: self.location.to_string(),
            source: Box::new(source),
        }
    }
}

/// Refuses, at compile time, a parent that is not a strictly lower version
/// (through [`BaseImage::__child`]; `name` is the parent as written). The
/// error points at the macro's call, spanned on the parent token.
#[track_caller]
const fn __check_parent(parent: &BaseImage, version: &Version, name: &str) {
    if !parent.poisoned && !matches!(parent.version.const_cmp(version), Ordering::Less) {
        panic!(
            "{}",
            ConstMessage::new()
                .push("version ")
                .push_version(version)
                .push(" cannot have parent ")
                .push(name)
                .push(" (")
                .push(parent.family)
                .push(":")
                .push_version(&parent.version)
                .push("): a parent must be a strictly lower version of the same family; name a lower parent or raise this version")
                .as_str()
        );
    }
}

/// Refuses, at compile time, a `family` that is not the parent's (macro
/// use only), as [`__check_parent`].
#[doc(hidden)]
#[track_caller]
pub const fn __check_family(parent: &BaseImage, family: &str, name: &str) {
    if !parent.poisoned && !str_eq(parent.family, family) {
        panic!(
            "{}",
            ConstMessage::new()
                .push("family `")
                .push(family)
                .push("` differs from the family of parent ")
                .push(name)
                .push(" (")
                .push(parent.family)
                .push(":")
                .push_version(&parent.version)
                .push("): a version belongs to its parent's family; remove `family` or name a parent of family `")
                .push(family)
                .push("`")
                .as_str()
        );
    }
}

impl fmt::Debug for BaseImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaseImage")
            .field("key", &self.key())
            .field("parent", &self.parent.map(BaseImage::key))
            .field("changelog", &self.changelog)
            .field("platforms", &self.platforms)
            .field("location", &self.location)
            .finish()
    }
}

impl fmt::Display for BaseImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.family, self.version_text)
    }
}

/// The checks a `#[sanity_checks(VERSION)]` function declares for one version.
pub struct CheckSet {
    /// The version the checks belong to.
    pub image: &'static BaseImage,
    /// The annotated function.
    pub build: fn(Checks) -> Checks,
    /// Where it is declared.
    pub location: Location,
}
