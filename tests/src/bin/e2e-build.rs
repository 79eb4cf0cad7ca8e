//! The build tool over the test families: what a team that declares its own
//! families in its own crate writes to get `base-images-build` for them.

use base_images_tests as _;

fn main() -> std::process::ExitCode {
    base_images_build::main()
}
