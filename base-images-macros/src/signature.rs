//! Checks of the annotated item's shape shared by both macros: it must be a
//! plain synchronous, non-generic `fn` with the expected number of
//! arguments. Types are left to the compiler, which reports them on the
//! function name.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{ParseStream, Parser as _};
use syn::spanned::Spanned as _;
use syn::{braced, Attribute, FnArg, Item, Signature, Visibility};

use crate::errors::Errors;

/// The annotated function: its signature, parsed, and its tokens, emitted
/// unchanged (the body is never parsed: it is the compiler's business).
pub(crate) struct Function {
    /// The signature, checked against the expected one.
    pub(crate) sig: Signature,
    /// The item as written.
    pub(crate) tokens: TokenStream,
}

impl ToTokens for Function {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.tokens.clone());
    }
}

/// The annotated item as a function, or an error spanned on what it is.
pub(crate) fn as_fn(item: TokenStream, attribute: &str, example: &str) -> Result<Function, syn::Error> {
    let signature = |input: ParseStream<'_>| {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let sig: Signature = input.parse()?;
        let body;
        braced!(body in input);
        body.parse::<TokenStream>()?;
        Ok(sig)
    };
    if let Ok(sig) = signature.parse2(item.clone()) {
        return Ok(Function { sig, tokens: item });
    }
    match syn::parse2::<Item>(item.clone())? {
        Item::Fn(f) => Ok(Function {
            sig: f.sig,
            tokens: item,
        }),
        other => {
            let span = item_ident(&other).map_or_else(|| other.span(), |i| i.span());
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

/// Records every way `sig` differs from `fn name(<arity arguments>) -> _`.
pub(crate) fn check(sig: &Signature, arity: usize, expected: &str, errors: &mut Errors) {
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
