//! Attribute macros of `base-images`; use them through the `base_images`
//! crate, which re-exports them. Each is a pipeline: `args` parses the
//! attribute, `model` validates it against the version `policy` and the
//! function's `signature`, `expand` generates code. On error the user's item
//! is emitted unchanged with the errors, so one mistake gives one message.

mod args;
mod checks;
mod errors;
mod expand;
mod model;
mod policy;
mod signature;

use proc_macro::TokenStream;

const EXAMPLE: &str =
    "#[base_image(version = \"1.0.1\", parent = V1_0_0, changelog = \"...\")] fn v1_0_1(parent: Recipe) -> Recipe";

/// Declares one base-image version; see the `base_images` crate.
#[proc_macro_attribute]
pub fn base_image(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let mut errors = errors::Errors::default();
    let args = args::parse(attr.into(), &mut errors);
    let func = match signature::as_fn(item.clone(), "base_image", EXAMPLE) {
        Ok(func) => func,
        Err(e) => {
            errors.push(e);
            let error = errors.finish().map(|e| e.to_compile_error());
            return quote::quote!(#item #error).into();
        }
    };
    match model::validate(args, func, errors) {
        Ok(model) => expand::image(&model).into(),
        Err(poisoned) => expand::poisoned(item, &poisoned).into(),
    }
}

/// Registers the own sanity checks of one version; see the `base_images` crate.
#[proc_macro_attribute]
pub fn sanity_checks(attr: TokenStream, item: TokenStream) -> TokenStream {
    checks::sanity_checks(attr.into(), item.into()).into()
}
