//! The validated model of one `#[base_image]` declaration: parsed arguments
//! and the annotated function checked against the version policy. Anything
//! wrong is recorded as a spanned error; what could still be understood is
//! kept so the expansion can emit the function and its static anyway.

use proc_macro2::{Ident, Span};
use syn::{LitStr, Path};

use crate::args::Args;
use crate::errors::Errors;
use crate::policy::{self, PolicyVersion};
use crate::signature::{self, Function};

/// Whether a version starts a family or derives from a parent.
pub(crate) enum Kind {
    /// `family = "..."`, no parent.
    Root {
        /// The family literal.
        family: LitStr,
        /// The platforms, when given.
        platforms: Option<Vec<LitStr>>,
        /// The family's finishing function, when given.
        finish: Option<Path>,
        /// Where the family's images are published (none, one or several).
        repositories: Vec<LitStr>,
    },
    /// `parent = V1_0_0`.
    Child {
        /// The parent's static.
        parent: Path,
        /// A family written on the child too, which must equal the parent's.
        family: Option<LitStr>,
    },
}

/// A declaration that passed every check the macro can make.
pub(crate) struct Model {
    /// Root or child.
    pub(crate) kind: Kind,
    /// The version.
    pub(crate) version: PolicyVersion,
    /// The changelog line.
    pub(crate) changelog: LitStr,
    /// The annotated function.
    pub(crate) func: Function,
    /// The static to emit.
    pub(crate) static_ident: Ident,
}

/// What is known about a declaration that failed, to emit its static anyway.
pub(crate) struct Poisoned {
    /// The name of the static to emit.
    pub(crate) static_ident: Option<Ident>,
    /// The family, if it was given as a literal.
    pub(crate) family: Option<LitStr>,
    /// Every problem.
    pub(crate) error: syn::Error,
}

/// Validates `args` against the policy and `func`'s shape.
pub(crate) fn validate(args: Args, func: Function, mut errors: Errors) -> Result<Model, Box<Poisoned>> {
    let version = version(&args, &func, &mut errors);
    check_signature(&args, &func, &mut errors);
    check_changelog(&args, &mut errors);
    if let Some(lit) = &args.family {
        if let Err(message) = policy::family(&lit.value()) {
            errors.push(syn::Error::new(lit.span(), message));
        }
    }
    let kind = kind(&args, &mut errors);
    let static_ident = version
        .as_ref()
        .map(|v| Ident::new(&v.static_name(), func.sig.ident.span()));
    match (errors.finish(), kind, version, args.changelog, static_ident) {
        (None, Some(kind), Some(version), Some(changelog), Some(static_ident)) => Ok(Model {
            kind,
            version,
            changelog,
            func,
            static_ident,
        }),
        (error, _, _, _, static_ident) => Err(Box::new(Poisoned {
            static_ident: static_ident.or_else(|| fallback_static(&func)),
            family: args.family,
            error: error.unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid #[base_image] declaration")),
        })),
    }
}

/// The version `args` give, if it is one the policy accepts, and that the
/// function's name spells it.
fn version(args: &Args, func: &Function, errors: &mut Errors) -> Option<PolicyVersion> {
    let version = args
        .version
        .as_ref()
        .and_then(|lit| match policy::version(&lit.value()) {
            Ok(v) => Some(v),
            Err(message) => {
                errors.push(syn::Error::new(lit.span(), message));
                None
            }
        });
    if args.version.is_none() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "`version` is missing: add e.g. version = \"1.0.1\" (the function name spells it: v1_0_1)",
        ));
    }
    if let Some(v) = &version {
        let expected = v.fn_name();
        if func.sig.ident != expected {
            errors.push(syn::Error::new(
                func.sig.ident.span(),
                format!("function `{}` must be named `{expected}` to match version \"{}\"; rename it (its static will be `{}`)", func.sig.ident, v.text(), v.static_name()),
            ));
        }
    }
    version
}

/// That the function takes the parent's recipe exactly when `args` name a
/// parent, and returns a recipe.
fn check_signature(args: &Args, func: &Function, errors: &mut Errors) {
    let name = func.sig.ident.to_string();
    let arity = usize::from(args.parent.is_some());
    let expected = if args.parent.is_some() {
        format!("fn {name}(parent: Recipe) -> Recipe")
    } else {
        format!("fn {name}() -> Recipe")
    };
    signature::check(&func.sig, arity, &expected, errors);
}

/// That `args` give a changelog line the policy accepts.
fn check_changelog(args: &Args, errors: &mut Errors) {
    match &args.changelog {
        Some(lit) => {
            if let Err(message) = policy::changelog(&lit.value()) {
                errors.push(syn::Error::new(lit.span(), message));
            }
        }
        None => errors.push(syn::Error::new(
            Span::call_site(),
            "`changelog` is missing: add one line saying what this version changes, e.g. changelog = \"Add ffmpeg to the base image.\"",
        )),
    }
}

/// Root or child, as `args` say: a child sets none of a root's own
/// arguments, a root names its family.
fn kind(args: &Args, errors: &mut Errors) -> Option<Kind> {
    match (&args.parent, &args.family) {
        (Some(parent), family) => {
            if let Some((key, _)) = &args.platforms {
                errors.push(syn::Error::new(*key, "`platforms` can only be set on a family's root version; this version builds for its parent's platforms"));
            }
            if let Some((key, _)) = &args.finish {
                errors.push(syn::Error::new(
                    *key,
                    "`finish` can only be set on a family's root version; this version is finished like its parent",
                ));
            }
            if let Some((key, _)) = &args.repository {
                errors.push(syn::Error::new(
                    *key,
                    "`repository` can only be set on a family's root version; this version is published where its parent is",
                ));
            }
            Some(Kind::Child {
                parent: parent.clone(),
                family: family.clone(),
            })
        }
        (None, Some(family)) => Some(Kind::Root {
            family: family.clone(),
            platforms: args.platforms.as_ref().map(|(_, list)| list.clone()),
            finish: args.finish.as_ref().map(|(_, path)| path.clone()),
            repositories: args
                .repository
                .as_ref()
                .map(|(_, list)| list.clone())
                .unwrap_or_default(),
        }),
        (None, None) => {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`family` is missing: a root version (one without `parent`) names its family, e.g. family = \"my-images\"; a later version names `parent = V1_0_0` instead",
            ));
            None
        }
    }
}

/// The static a malformed declaration still gets: its function's name in
/// upper case, when that is a plausible version name.
fn fallback_static(func: &Function) -> Option<Ident> {
    let name = func.sig.ident.to_string();
    name.starts_with('v')
        .then(|| Ident::new(&name.to_uppercase(), func.sig.ident.span()))
}
