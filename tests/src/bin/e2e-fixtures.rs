//! The loopback server the e2e family fetches its files from, on its own:
//! for scripts that run the build tool over the test families (the
//! reproducibility bench). Serves until it is stopped.

fn main() {
    base_images_tests::fixtures::serve_on_declared_port();
    println!(
        "serving the e2e fixtures on 127.0.0.1:{}",
        base_images_tests::fixtures::PORT
    );
    loop {
        std::thread::park();
    }
}
