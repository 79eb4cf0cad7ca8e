//! The catalog the project ships: the Airbyte connector base-image families,
//! declared with `#[base_image]`. Empty until the Airbyte families land;
//! test families live in the workspace's `tests` crate meanwhile.
