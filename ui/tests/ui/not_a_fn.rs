use base_images::base_image;

#[base_image(family = "ui", version = "1.0.0", changelog = "Initial release.")]
struct V100;

fn main() {}
