//! The build tool over the synthetic family.

use base_images_scale as _;

fn main() -> std::process::ExitCode {
    base_images_build::main()
}
