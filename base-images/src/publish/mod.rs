//! Publishing released versions to an OCI registry: each platform's image
//! is read from the engine (`ImageFacts`, then its step layers rewritten
//! reproducibly by `reproducible` and every layer compressed
//! deterministically by `layers`), turned into OCI documents (`oci`) with
//! an SBOM per platform (`crate::sbom`), and pushed (`remote`): blobs first
//! (present, mounted from another repository of the registry, or
//! uploaded), then each platform's manifest by digest, then the image index
//! by digest, the SBOM artifacts, the index's signature (`sign`) and — last
//! — the tag. A tag that already points at other content is never
//! overwritten: it is resolved with every manifest media type first.
//! `verify` checks a published version against its declaration.
//! Credentials come from the Docker config (`auth`).
//!
//! The phases have a file each: `error` (what stops a publish), `target`
//! (where a version goes), `annotations` (what its documents say of it),
//! `facts` (what the engine says of an image), `prepare` (its documents,
//! made without the registry), `push` (pushing, attaching the SBOMs,
//! signing) and `event` (what an observer hears meanwhile).

mod annotations;
pub mod attached;
pub mod auth;
pub mod compress;
pub mod copy;
mod error;
mod event;
mod facts;
#[cfg(test)]
mod fake_registry;
pub mod layers;
pub mod oci;
mod prepare;
mod push;
pub mod remote;
pub mod reproducible;
pub mod sign;
mod target;
pub mod verify;

pub use annotations::{annotations, public_source, Provenance};
pub use error::PublishError;
pub use event::{Event, Observer};
pub use facts::ImageFacts;
pub use oci_client::secrets::RegistryAuth;
pub use prepare::{add_sboms, fill_store, prepare, PlatformImage, Prepared, Publication, SbomArtifact, Version};
pub use push::{attach_sboms, push, sign_index, PushOptions};
pub use target::Target;
