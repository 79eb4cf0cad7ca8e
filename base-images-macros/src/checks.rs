//! `#[sanity_checks(VERSION)]`: registers a function that adds a version's
//! own checks. The argument is the version's static; that it is a
//! `BaseImage` and that the function is `fn(Checks) -> Checks` is checked
//! by the compiler on the respective tokens.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::Path;

use crate::errors::Errors;
use crate::{expand, signature};

const EXAMPLE: &str = "#[sanity_checks(V1_0_1)] fn v1_0_1_checks(checks: Checks) -> Checks";

/// Parses, validates and expands one `#[sanity_checks]`.
pub(crate) fn sanity_checks(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let image = match syn::parse2::<Path>(attr.clone()) {
        Ok(path) => Some(path),
        Err(_) => {
            let span = if attr.is_empty() {
                proc_macro2::Span::call_site()
            } else {
                attr.span()
            };
            errors.push(syn::Error::new(
                span,
                format!("#[sanity_checks] takes the static of one version, e.g. {EXAMPLE}"),
            ));
            None
        }
    };
    let func = match signature::as_fn(item.clone(), "sanity_checks", EXAMPLE) {
        Ok(func) => Some(func),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if let Some(func) = &func {
        let expected = format!("fn {}(checks: Checks) -> Checks", func.sig.ident);
        signature::check(&func.sig, 1, &expected, &mut errors);
    }
    match (errors.finish(), image, func) {
        (None, Some(image), Some(func)) => {
            let fn_ident = &func.sig.ident;
            let image_ref = quote_spanned!(image.span()=> &#image);
            let build = quote_spanned!(fn_ident.span()=> #fn_ident);
            let location = expand::location();
            let entry = format_ident!("__BASE_IMAGE_CHECKS_{}", fn_ident.to_string().to_uppercase());
            let registration = expand::element(
                "CHECK_SETS",
                quote! {
                    #[doc(hidden)]
                    static #entry: ::base_images::CheckSet = ::base_images::CheckSet {
                        image: #image_ref,
                        build: #build,
                        location: #location,
                    };
                },
            );
            quote! {
                #func

                #registration
            }
        }
        (error, _, _) => {
            let error = error.map(|e| e.to_compile_error());
            quote!(#[allow(dead_code)] #item #error)
        }
    }
}
