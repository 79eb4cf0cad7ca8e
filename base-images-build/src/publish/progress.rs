//! What a publish shows while it pushes: a progress bar per version and a
//! line per blob, manifest, SBOM and signature, and the counts the summary
//! table reports.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use base_images::publish::{Event, Observer, Target};
use base_images::BaseImage;

use crate::Ui;

/// Counts of one version's push, fed by its observer.
pub(super) struct Counts {
    attached: AtomicUsize,
    uploaded: AtomicUsize,
    mounted: AtomicUsize,
    present: AtomicUsize,
    bytes: AtomicU64,
    bar: indicatif::ProgressBar,
}

impl Counts {
    pub(super) fn blobs(&self) -> (usize, usize, usize) {
        (
            self.uploaded.load(Ordering::Relaxed),
            self.mounted.load(Ordering::Relaxed),
            self.present.load(Ordering::Relaxed),
        )
    }

    pub(super) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(super) fn sboms(&self) -> usize {
        self.attached.load(Ordering::Relaxed)
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// An observer that moves a bar per version and prints a line per blob.
/// (`total`: the bytes of its layers, when known.)
pub(super) fn observe(image: &BaseImage, target: &Target, total: u64, ui: &Ui) -> (Observer, Arc<Counts>) {
    let counts = Arc::new(Counts {
        attached: AtomicUsize::new(0),
        uploaded: AtomicUsize::new(0),
        mounted: AtomicUsize::new(0),
        present: AtomicUsize::new(0),
        bytes: AtomicU64::new(0),
        bar: ui.bytes(total, format!("{image} -> {}", target.address())),
    });
    let ui = *ui;
    let shared = Arc::clone(&counts);
    let observer: Observer = Arc::new(move |event| {
        let short = |digest: &str| digest.chars().take(19).collect::<String>();
        let mb = |size: u64| format!("{:.1} MB", size as f64 / 1e6);
        let line = match &event {
            Event::Present { digest, size } => {
                shared.present.fetch_add(1, Ordering::Relaxed);
                shared.bar.inc(*size);
                format!("  blob {} ({}): already there", short(digest), mb(*size))
            }
            Event::Mounted { digest, size, from } => {
                shared.mounted.fetch_add(1, Ordering::Relaxed);
                shared.bar.inc(*size);
                format!("  blob {} ({}): mounted from {from}", short(digest), mb(*size))
            }
            Event::Uploading { digest, size } => {
                shared.uploaded.fetch_add(1, Ordering::Relaxed);
                format!("  blob {} ({}): uploading", short(digest), mb(*size))
            }
            Event::Sent(n) => {
                shared.bytes.fetch_add(*n, Ordering::Relaxed);
                shared.bar.inc(*n);
                return;
            }
            Event::Manifest { reference } => format!("  manifest {}: pushed", short(reference)),
            Event::Signed { digest } => format!("  index {}: signed", short(digest)),
            Event::Copied { platform, digest } => {
                shared.attached.fetch_add(1, Ordering::Relaxed);
                format!("  sbom [{platform}] {}: copied", short(digest))
            }
            Event::Attached {
                platform,
                digest,
                packages,
            } => {
                shared.attached.fetch_add(1, Ordering::Relaxed);
                format!("  sbom [{platform}] {}: attached ({packages} packages)", short(digest))
            }
        };
        shared.bar.suspend(|| ui.note(&line));
    });
    (observer, counts)
}
