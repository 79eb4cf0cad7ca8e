//! Code generation: the user's function unchanged, its `pub static` and its
//! `linkme` registration. The checks the macro cannot make itself (the
//! parent exists, is a `BaseImage`, is of the same family and is lower) are
//! emitted as `const`-evaluated code in the static's initializer, spanned on
//! the parent token, so the compiler reports them there with a message that
//! names both versions.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens as _};
use syn::spanned::Spanned as _;
use syn::{Ident, LitStr, Path};

use crate::model::{Kind, Model, Poisoned};
use crate::policy::PolicyVersion;

/// The expansion of a valid declaration.
pub(crate) fn image(model: &Model) -> TokenStream {
    let Model {
        kind,
        version,
        changelog,
        func,
        static_ident,
    } = model;
    let fn_ident = &func.sig.ident;
    let version_const = version_tokens(version);
    let text = version.text();
    let location = location();
    let (prelude, family, parent, platforms, finish, repository, build) = match kind {
        Kind::Root {
            family,
            platforms,
            finish,
            repository,
        } => {
            let checks = platforms.iter().flatten().map(platform_check);
            let list = match platforms {
                Some(list) => quote!(&[#(#list),*]),
                None => quote!(::base_images::__private::DEFAULT_PLATFORMS),
            };
            (
                quote!(#(#checks)*),
                family.to_token_stream(),
                quote!(::core::option::Option::None),
                list,
                match finish {
                    Some(path) => {
                        quote_spanned!(path.span()=> ::core::option::Option::Some::<::base_images::Finish>(#path))
                    }
                    None => quote!(::core::option::Option::None),
                },
                match repository {
                    Some(lit) => quote!(::core::option::Option::Some(#lit)),
                    None => quote!(::core::option::Option::None),
                },
                quote_spanned!(fn_ident.span()=> ::base_images::Build::Root(#fn_ident)),
            )
        }
        Kind::Child { parent, family } => (
            child_checks(parent, family.as_ref()),
            quote!(parent.family()),
            quote!(::core::option::Option::Some(parent)),
            quote!(parent.platforms()),
            quote!(parent.finish()),
            quote!(parent.repository()),
            quote_spanned!(fn_ident.span()=> ::base_images::Build::Child(#fn_ident)),
        ),
    };
    let doc = format!("Base image version {text}: {}", changelog.value());
    let registration = registration(static_ident);
    quote! {
        #func

        #[doc = #doc]
        pub static #static_ident: ::base_images::BaseImage = {
            const VERSION: ::base_images::Version = #version_const;
            #prelude
            ::base_images::BaseImage::__declare(::base_images::__private::Declaration {
                family: #family,
                version: VERSION,
                version_text: #text,
                parent: #parent,
                changelog: #changelog,
                platforms: #platforms,
                finish: #finish,
                repository: #repository,
                build: #build,
                location: #location,
                poisoned: false,
            })
        };

        #registration
    }
}

/// The expansion of a declaration with errors: the function unchanged, a
/// placeholder static (so uses of it raise no further errors) and the errors.
pub(crate) fn poisoned(item: TokenStream, poisoned: &Poisoned) -> TokenStream {
    let error = poisoned.error.to_compile_error();
    let Some(static_ident) = &poisoned.static_ident else {
        return quote!(#item #error);
    };
    let family = poisoned
        .family
        .as_ref()
        .map_or_else(|| quote!(""), |f| f.to_token_stream());
    let location = location();
    quote! {
        #[allow(dead_code)]
        #item

        #[doc(hidden)]
        pub static #static_ident: ::base_images::BaseImage =
            ::base_images::BaseImage::__declare(::base_images::__private::Declaration {
                family: #family,
                version: ::base_images::Version { major: 0, minor: 0, patch: 0, pre: "" },
                version_text: "",
                parent: ::core::option::Option::None,
                changelog: "",
                platforms: &[],
                finish: ::core::option::Option::None,
                repository: ::core::option::Option::None,
                build: ::base_images::Build::Root(::base_images::__private::poisoned_recipe),
                location: #location,
                poisoned: true,
            });

        #error
    }
}

/// The `linkme` entry that puts `static_ident` in a registry slice.
pub(crate) fn registration(static_ident: &Ident) -> TokenStream {
    let entry = format_ident!("__BASE_IMAGE_REGISTRATION_{}", static_ident);
    quote! {
        #[::base_images::__private::linkme::distributed_slice(::base_images::__private::BASE_IMAGES)]
        #[linkme(crate = ::base_images::__private::linkme)]
        #[doc(hidden)]
        static #entry: &::base_images::BaseImage = &#static_ident;
    }
}

/// `::base_images::Location` of the macro call.
pub(crate) fn location() -> TokenStream {
    quote! {
        ::base_images::Location { file: ::core::file!(), line: ::core::line!(), module: ::core::module_path!() }
    }
}

fn version_tokens(v: &PolicyVersion) -> TokenStream {
    let PolicyVersion {
        major,
        minor,
        patch,
        pre,
    } = v;
    quote!(::base_images::Version { major: #major, minor: #minor, patch: #patch, pre: #pre })
}

/// `const`-evaluated refusal of a malformed platform, on its literal.
fn platform_check(platform: &LitStr) -> TokenStream {
    quote_spanned! {platform.span()=>
        if let ::core::result::Result::Err(reason) = ::base_images::__private::check_platform(#platform) {
            ::core::panic!("{}", ::base_images::__private::ConstMessage::new()
                .push("platform `").push(#platform).push("` ").push(reason).as_str());
        }
    }
}

/// Binds `parent` and refuses, at compile time, a parent of another family
/// or not lower than this version: one `const fn` call each (the message
/// is built in the library, so a version costs the compiler little),
/// spanned on the parent token (on the `family` literal for the family).
fn child_checks(parent: &Path, family: Option<&LitStr>) -> TokenStream {
    let span = parent_span(parent);
    let name = path_text(parent);
    let lower = quote_spanned! {span=>
        let parent: &'static ::base_images::BaseImage = &#parent;
        ::base_images::__private::check_parent(parent, &VERSION, #name);
    };
    let same_family = family.map(|family| {
        quote_spanned! {family.span()=>
            ::base_images::__private::check_family(parent, #family, #name);
        }
    });
    quote!(#lower #same_family)
}

fn parent_span(parent: &Path) -> Span {
    parent.segments.last().map_or_else(Span::call_site, |s| s.ident.span())
}

fn path_text(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if path.leading_colon.is_some() { "::" } else { "" };
    format!("{lead}{}", segments.join("::"))
}
