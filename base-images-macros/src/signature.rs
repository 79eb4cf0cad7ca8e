//! Checks of the annotated item's shape shared by both macros: it must be a
//! plain synchronous, non-generic `fn` with the expected number of
//! arguments. Types are left to the compiler, which reports them on the
//! function name.

use syn::spanned::Spanned as _;
use syn::{FnArg, Item, ItemFn};

use crate::errors::Errors;

/// The annotated item as a function, or an error spanned on what it is.
pub(crate) fn as_fn(item: &Item, attribute: &str, example: &str) -> Result<ItemFn, syn::Error> {
    match item {
        Item::Fn(f) => Ok(f.clone()),
        other => {
            let span = item_ident(other).map_or_else(|| other.span(), |i| i.span());
            Err(syn::Error::new(
                span,
                format!("#[{attribute}] goes on a function, e.g. {example}"),
            ))
        }
    }
}

fn item_ident(item: &Item) -> Option<&syn::Ident> {
    match item {
        Item::Struct(i) => Some(&i.ident),
        Item::Enum(i) => Some(&i.ident),
        Item::Const(i) => Some(&i.ident),
        Item::Static(i) => Some(&i.ident),
        Item::Mod(i) => Some(&i.ident),
        Item::Trait(i) => Some(&i.ident),
        Item::Type(i) => Some(&i.ident),
        Item::Union(i) => Some(&i.ident),
        _ => None,
    }
}

/// Records every way `f` differs from `fn name(<arity arguments>) -> _`.
pub(crate) fn check(f: &ItemFn, arity: usize, expected: &str, errors: &mut Errors) {
    let sig = &f.sig;
    if let Some(token) = &sig.asyncness {
        errors.push(syn::Error::new(
            token.span,
            format!("this function cannot be async: the recipe is plain data built synchronously; write `{expected}`"),
        ));
    }
    if let Some(token) = &sig.unsafety {
        errors.push(syn::Error::new(
            token.span,
            format!("this function cannot be unsafe; write `{expected}`"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!(
                "this function cannot be generic: the registry calls it with no type arguments; write `{expected}`"
            ),
        ));
    }
    if let Some(receiver) = sig.inputs.iter().find(|a| matches!(a, FnArg::Receiver(_))) {
        errors.push(syn::Error::new_spanned(
            receiver,
            format!("this must be a free function, not a method; write `{expected}`"),
        ));
    } else if sig.inputs.len() != arity {
        let (span, what) = match sig.inputs.iter().nth(arity) {
            Some(extra) => (extra.span(), "too many arguments"),
            None => (sig.paren_token.span.join(), "an argument is missing"),
        };
        errors.push(syn::Error::new(span, format!("{what}: write `{expected}`")));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(variadic, format!("write `{expected}`")));
    }
}
