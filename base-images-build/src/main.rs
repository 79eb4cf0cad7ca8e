//! `cargo run -p base-images-build`: the build tool over the catalog this
//! crate links (the `base-images` library's families).

use std::process::ExitCode;

fn main() -> ExitCode {
    base_images_build::main()
}
