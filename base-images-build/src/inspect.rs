//! Read-only commands: `list` (every version: parent, released or new,
//! recipe digest; in JSON also where it is published), `show` (one version's resolved recipe, each step with the
//! version that declared it, and its resolved checks with their origin) and
//! `dockerfile` (the equivalent Dockerfile).

use std::fmt::Write as _;

use base_images::checks::Origin;
use base_images::{BaseImage, Lock, Step};

use crate::Error;

/// `list`, as a table or JSON.
pub(crate) fn list(images: &[&BaseImage], lock: &Lock, json: bool) -> Result<String, Error> {
    let mut rows = Vec::new();
    for image in images {
        let digest = image.recipe()?.digest();
        rows.push((image, lock.get(&image.key()).is_some(), digest));
    }
    if json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|(image, released, digest)| {
                serde_json::json!({
                    "image": image.key(),
                    "family": image.family(),
                    "version": image.version_str(),
                    "parent": image.parent().map(BaseImage::key),
                    "released": released,
                    "recipe": digest.as_str(),
                    "platforms": image.platforms(),
                    "changelog": image.changelog(),
                    "published": lock.get(&image.key()).and_then(|e| e.published.as_ref()).map(|p| {
                        serde_json::json!({ "index": p.index, "repositories": p.repositories })
                    }),
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&value).unwrap_or_default());
    }
    let mut out = String::new();
    let width = rows
        .iter()
        .map(|(i, _, _)| i.key().to_string().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let parent_width = rows
        .iter()
        .map(|(i, _, _)| i.parent().map_or(1, |p| p.version_str().len()))
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<width$}  {:<parent_width$}  {:<8}  RECIPE",
        "IMAGE", "PARENT", "RELEASED"
    );
    for (image, released, digest) in rows {
        let parent = image.parent().map_or("-", BaseImage::version_str);
        let released = if released { "yes" } else { "new" };
        let _ = writeln!(
            out,
            "{:<width$}  {parent:<parent_width$}  {released:<8}  {}",
            image.key(),
            &digest.as_str()[..19]
        );
    }
    Ok(out)
}

/// One line describing a step.
fn describe(step: &Step) -> String {
    let mut value = serde_json::to_value(step).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("op");
    }
    format!("{:<14} {}", step.op(), value)
}

/// `show`.
pub(crate) fn show(image: &BaseImage) -> Result<String, Error> {
    let recipe = image.recipe()?;
    let origins = image.step_origins();
    let key = image.key().to_string();
    let mut out = String::new();
    let _ = writeln!(out, "{key}: {}", image.changelog());
    let lineage: Vec<String> = image.lineage().iter().map(|i| i.version_str().to_owned()).collect();
    let _ = writeln!(out, "  lineage:   {}", lineage.join(" -> "));
    let _ = writeln!(out, "  platforms: {}", image.platforms().join(", "));
    let _ = writeln!(out, "  declared:  {}", image.location());
    let _ = writeln!(out, "  recipe:    {}", recipe.digest());
    let _ = writeln!(out, "\nroot:");
    for (platform, address) in recipe.root_addresses() {
        let _ = writeln!(out, "  {:<12} {address}", platform.unwrap_or("all"));
    }
    let _ = writeln!(out, "\nsteps:");
    for (n, (step, origin)) in recipe.steps.iter().zip(&origins).enumerate() {
        let _ = writeln!(out, "  {:>2}. {}  [{origin}]", n + 1, describe(step));
    }
    let _ = writeln!(out, "\nchecks:");
    for check in image.checks()? {
        let origin = match check.origin(&key) {
            Origin::Own => "own".to_owned(),
            Origin::Overriding { replaces } => format!("own, overriding {replaces}"),
            Origin::Inherited { from } => format!("inherited from {from}"),
        };
        let _ = writeln!(out, "  {:<28} {}  [{origin}]", check.check.id, check.check.description);
    }
    Ok(out)
}

/// `dockerfile`, with the digests the lock records for fetched content.
pub(crate) fn dockerfile(image: &BaseImage, platform: Option<&str>, lock: &Lock) -> Result<String, Error> {
    let platform = platform_of(image, platform)?;
    let pins = lock.pins(&image.key());
    Ok(base_images::dockerfile::render_pinned(&image.recipe()?, platform, &pins).map_err(|e| image_error(image, e))?)
}

/// The `--platform` of a command about one version: one its family
/// declares (exit 2 otherwise), by default the family's first.
pub(crate) fn platform_of<'a>(image: &BaseImage, platform: Option<&'a str>) -> Result<&'a str, Error> {
    match platform {
        Some(p) if !image.platforms().contains(&p) => Err(Error::Usage(format!(
            "--platform {p}: {} is built for {} only; pick one of those",
            image.key(),
            image.platforms().join(", ")
        ))),
        Some(p) => Ok(p),
        None => Ok(image.platforms().first().copied().unwrap_or("linux/amd64")),
    }
}

fn image_error(image: &BaseImage, error: base_images::Error) -> base_images::Error {
    base_images::Error::InImage {
        image: image.key().to_string(),
        location: image.location().to_string(),
        source: Box::new(error),
    }
}
