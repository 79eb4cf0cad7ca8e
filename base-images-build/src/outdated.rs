//! `outdated [SELECTOR...] [--exit-code]`: for each family's latest
//! released version (or the versions named) and each root it pins, whether
//! the tag the root was pinned from still points at the pinned digest.
//! Exit 0 whether roots moved or not (`--exit-code`: 1 when one moved, for
//! scheduled CI); a root whose registry cannot be asked is named, the
//! others are still checked, and the run exits 1.

use base_images::outdated::{self, RootCheck, State};
use base_images::BaseImage;

use crate::cli::OutdatedArgs;
use crate::{Error, Ui, Workspace};

/// Runs `outdated`; returns the closing message.
pub(crate) async fn outdated(workspace: &Workspace, args: &OutdatedArgs, ui: &Ui) -> Result<String, Error> {
    let lock = workspace.lock()?;
    let images = if args.selectors.is_empty() {
        crate::select::latest_released(&lock)?
    } else {
        crate::select::select(&args.selectors)?
    };
    let mut checked: Vec<(&BaseImage, RootCheck)> = Vec::new();
    for image in images {
        for check in outdated::check(image).await? {
            checked.push((image, check));
        }
    }
    ui.summary(&table(&checked));
    let moved: Vec<String> = checked
        .iter()
        .filter(|(_, c)| matches!(c.state, State::Moved { .. } | State::TagGone))
        .map(|(image, c)| line(image, c))
        .collect();
    let unresolved: Vec<String> = checked
        .iter()
        .filter(|(_, c)| matches!(c.state, State::Unresolved(_)))
        .map(|(image, c)| line(image, c))
        .collect();
    if !unresolved.is_empty() {
        return Err(Error::Roots {
            what: "could not be resolved".into(),
            roots: unresolved,
        });
    }
    if args.exit_code && !moved.is_empty() {
        return Err(Error::Roots {
            what: "moved (new FAMILY patch --refresh scaffolds the release that rebases on them)".into(),
            roots: moved,
        });
    }
    let current = checked.iter().filter(|(_, c)| c.state == State::Current).count();
    Ok(format!(
        "{} root(s) checked: {current} current, {} moved or gone{}",
        checked.len(),
        moved.len(),
        if moved.is_empty() {
            String::new()
        } else {
            "; `new FAMILY patch --refresh` rebases a family on them".into()
        }
    ))
}

fn line(image: &BaseImage, check: &RootCheck) -> String {
    format!(
        "{} [{}] {}: {}",
        image.key(),
        check.platform.as_deref().unwrap_or("all platforms"),
        check.tag_address,
        check.state.describe(check.pinned.as_deref())
    )
}

fn table(checked: &[(&BaseImage, RootCheck)]) -> String {
    let mut rows = vec![["VERSION".to_owned(), "PLATFORM".into(), "ROOT".into(), "STATE".into()]];
    for (image, check) in checked {
        rows.push([
            image.key().to_string(),
            check.platform.clone().unwrap_or_else(|| "all".into()),
            check.tag_address.clone(),
            check.state.describe(check.pinned.as_deref()),
        ]);
    }
    crate::report::aligned(&rows)
}
