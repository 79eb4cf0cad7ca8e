//! Parsing of `#[base_image(...)]` arguments: a comma-separated list of
//! `name = value`, each known name at most once. Every problem is collected
//! (unknown name, repeated name, wrong kind of value) and spanned on the
//! token at fault.

use proc_macro2::Span;
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Lit, LitStr, MetaNameValue, Path, Token};

use crate::errors::Errors;

/// The arguments as written, each with its span.
#[derive(Default)]
pub(crate) struct Args {
    /// `family = "..."`.
    pub(crate) family: Option<LitStr>,
    /// `version = "..."`.
    pub(crate) version: Option<LitStr>,
    /// `parent = V1_0_0`.
    pub(crate) parent: Option<Path>,
    /// `changelog = "..."`.
    pub(crate) changelog: Option<LitStr>,
    /// `platforms = ["linux/amd64", ...]`, with the span of the key.
    pub(crate) platforms: Option<(Span, Vec<LitStr>)>,
    /// `finish = path::to::function`, with the span of the key.
    pub(crate) finish: Option<(Span, Path)>,
    /// `repository = "org/name"` or a list of them, with the span of the key.
    pub(crate) repository: Option<(Span, Vec<LitStr>)>,
}

const KNOWN: &str = "family, version, parent, changelog, platforms, repository and finish";

/// Parses the attribute's tokens, recording every problem in `errors`.
pub(crate) fn parse(tokens: proc_macro2::TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let list = match Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(list) => list,
        Err(e) => {
            errors.push(syn::Error::new(
                e.span(),
                format!("{e}: #[base_image] takes `name = value` arguments ({KNOWN}), e.g. #[base_image(version = \"1.0.1\", parent = V1_0_0, changelog = \"...\")]"),
            ));
            return args;
        }
    };
    for arg in list {
        let Some(name) = arg.path.get_ident().map(ToString::to_string) else {
            errors.push(syn::Error::new_spanned(
                &arg.path,
                format!("unknown argument; #[base_image] takes {KNOWN}"),
            ));
            continue;
        };
        store(&mut args, &name, arg.path.span(), &arg.value, errors);
    }
    args
}

/// Stores the value of the argument `name` (its key at `key`), recording
/// a value of the wrong kind, a repeated argument or an unknown name.
fn store(args: &mut Args, name: &str, key: Span, value: &Expr, errors: &mut Errors) {
    match name {
        "family" => set(
            &mut args.family,
            string(value, "a family name such as \"my-images\"", errors),
            key,
            name,
            errors,
        ),
        "version" => set(
            &mut args.version,
            string(value, "a version such as \"1.0.1\"", errors),
            key,
            name,
            errors,
        ),
        "changelog" => set(
            &mut args.changelog,
            string(value, "one line such as \"Add ffmpeg.\"", errors),
            key,
            name,
            errors,
        ),
        "parent" => {
            let parent = path(
                value,
                "`parent` takes the static of the parent version, e.g. parent = V1_0_0",
                errors,
            );
            set(&mut args.parent, parent, key, name, errors);
        }
        "repository" => {
            let repositories = repository_list(value, errors);
            set(&mut args.repository, repositories.map(|r| (key, r)), key, name, errors);
        }
        "finish" => {
            let finish = path(
                value,
                "`finish` takes a function `fn(Recipe, &BaseImage) -> Recipe`, e.g. finish = metadata",
                errors,
            );
            set(&mut args.finish, finish.map(|f| (key, f)), key, name, errors);
        }
        "platforms" => {
            let platforms = platform_list(value, errors).map(|list| (key, list));
            set(&mut args.platforms, platforms, key, name, errors);
        }
        _ => errors.push(syn::Error::new(
            key,
            format!("unknown argument `{name}`; #[base_image] takes {KNOWN}"),
        )),
    }
}

/// Stores a value, or records that the argument is repeated.
fn set<T>(slot: &mut Option<T>, value: Option<T>, key: Span, name: &str, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(syn::Error::new(key, format!("`{name}` is given twice; keep one")));
    } else if value.is_some() {
        *slot = value;
    }
}

fn path(value: &Expr, what: &str, errors: &mut Errors) -> Option<Path> {
    match value {
        Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
        other => {
            errors.push(syn::Error::new_spanned(other, what));
            None
        }
    }
}

fn string(value: &Expr, what: &str, errors: &mut Errors) -> Option<LitStr> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("expected a string literal: {what}"),
            ));
            None
        }
    }
}

/// `"org/name"`, or a non-empty list of distinct ones (a family published
/// to several registries).
fn repository_list(value: &Expr, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let what = "the repository images are published to, e.g. \"airbyte/python-connector-base\"";
    let list: Vec<LitStr> = match value {
        Expr::Array(array) if !array.elems.is_empty() => array
            .elems
            .iter()
            .map(|e| string(e, what, errors))
            .collect::<Option<_>>()?,
        Expr::Array(array) => {
            errors.push(syn::Error::new_spanned(
                array,
                "`repository` takes a repository or a non-empty list of them, e.g. repository = [\"org/name\", \"ghcr.io/org/name\"]",
            ));
            return None;
        }
        other => vec![string(other, what, errors)?],
    };
    for (n, lit) in list.iter().enumerate() {
        if list[..n].iter().any(|earlier| earlier.value() == lit.value()) {
            errors.push(syn::Error::new(
                lit.span(),
                format!("repository \"{}\" is listed twice; keep one", lit.value()),
            ));
            return None;
        }
    }
    Some(list)
}

fn platform_list(value: &Expr, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let what = "a platform such as \"linux/amd64\"";
    match value {
        Expr::Array(array) if !array.elems.is_empty() => array.elems.iter().map(|e| string(e, what, errors)).collect(),
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                "`platforms` takes a non-empty list, e.g. platforms = [\"linux/amd64\", \"linux/arm64\"]",
            ));
            None
        }
    }
}
