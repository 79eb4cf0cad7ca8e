//! Code generation: the user's function unchanged, its `pub static` and its
//! `linkme` registration. The checks the macro cannot make itself (the
//! parent exists, is a `BaseImage`, is of the same family and is lower) are
//! emitted as `const`-evaluated code in the static's initializer, spanned on
//! the parent token, so the compiler reports them there with a message that
//! names both versions.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens as _};
use syn::spanned::Spanned as _;
use syn::{LitStr, Path};

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
    let init = match kind {
        Kind::Root {
            family,
            platforms,
            finish,
            repositories,
        } => root(model, family, platforms.as_deref(), finish.as_ref(), repositories),
        Kind::Child { parent, family } => {
            let fn_ident = &func.sig.ident;
            let version_const = version_tokens(version);
            let text = version.text();
            let location = location();
            let build = quote_spanned!(fn_ident.span()=> ::base_images::Build::Child(#fn_ident));
            child(
                parent,
                family.as_ref(),
                quote!(#version_const, #text, #changelog, #build, #location),
            )
        }
    };
    let doc = format!("Base image version {}: {}", version.text(), changelog.value());
    let registered = element(
        "BASE_IMAGES",
        quote! {
            #[doc = #doc]
            pub static #static_ident: ::base_images::BaseImage = #init;
        },
    );
    quote! {
        #func

        #registered
    }
}

/// A root version's initialiser: each platform given checked at compile
/// time, then its declaration.
fn root(
    model: &Model,
    family: &LitStr,
    platforms: Option<&[LitStr]>,
    finish: Option<&Path>,
    repositories: &[LitStr],
) -> TokenStream {
    let fn_ident = &model.func.sig.ident;
    let version_const = version_tokens(&model.version);
    let text = model.version.text();
    let changelog = &model.changelog;
    let location = location();
    let checks = platforms.into_iter().flatten().map(platform_check);
    let list = match platforms {
        Some(list) => quote!(&[#(#list),*]),
        None => quote!(::base_images::__private::DEFAULT_PLATFORMS),
    };
    let finish = match finish {
        Some(path) => quote_spanned!(path.span()=> ::core::option::Option::Some::<::base_images::Finish>(#path)),
        None => quote!(::core::option::Option::None),
    };
    let build = quote_spanned!(fn_ident.span()=> ::base_images::Build::Root(#fn_ident));
    quote! {{
        #(#checks)*
        ::base_images::BaseImage::__declare(::base_images::__private::Declaration {
            family: #family,
            version: #version_const,
            version_text: #text,
            parent: ::core::option::Option::None,
            changelog: #changelog,
            platforms: #list,
            finish: #finish,
            repositories: &[#(#repositories),*],
            build: #build,
            location: #location,
            poisoned: false,
        })
    }}
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
                repositories: &[],
                build: ::base_images::Build::Root(::base_images::__private::poisoned_recipe),
                location: #location,
                poisoned: true,
            });

        #error
    }
}

/// `item`, a `static`, as an element of the `linkme` slice `slice`
/// (`BASE_IMAGES` or `CHECK_SETS`). It goes through the slice's own
/// `macro_rules!`, which is what `#[distributed_slice]` expands to, without
/// the attribute's per-element type-check function: that function (two
/// closures) cost the compiler ~3 ms per version, and the element's type
/// is the slice's because this crate writes both (the registry tests hold
/// that every element is found).
pub(crate) fn element(slice: &str, item: TokenStream) -> TokenStream {
    let slice = format_ident!("{slice}");
    quote! {
        ::base_images::__private::#slice! {
            #![linkme_macro = ::base_images::__private::#slice]
            #item
        }
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

/// A child's initialiser: `parent` bound as a `BaseImage` (a parent of
/// another type is refused on its token), then one `const fn` call that
/// refuses, at compile time, a parent not lower than this version (the
/// message is built in the library, so a version costs the compiler
/// little), spanned on the parent token; with `family` given, a check that
/// it is the parent's, spanned on the `family` literal. `args` follow the
/// parent and its name.
fn child(parent: &Path, family: Option<&LitStr>, args: TokenStream) -> TokenStream {
    let span = parent_span(parent);
    let name = path_text(parent);
    let mut call_args = proc_macro2::Group::new(
        proc_macro2::Delimiter::Parenthesis,
        quote_spanned!(span=> parent, #name, #args),
    );
    call_args.set_span(span);
    let same_family = family.map(|family| {
        quote_spanned! {family.span()=>
            ::base_images::__private::check_family(parent, #family, #name);
        }
    });
    quote_spanned! {span=> {
        let parent: &'static ::base_images::BaseImage = &#parent;
        #same_family
        ::base_images::BaseImage::__child #call_args
    }}
}

fn parent_span(parent: &Path) -> Span {
    parent.segments.last().map_or_else(Span::call_site, |s| s.ident.span())
}

fn path_text(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if path.leading_colon.is_some() { "::" } else { "" };
    format!("{lead}{}", segments.join("::"))
}
