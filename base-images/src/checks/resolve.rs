//! Check inheritance: a version's resolved set is its parent's resolved set
//! with its own checks applied on top — an own check whose id is inherited
//! replaces that check in place, any other is appended. Pure functions.

use std::borrow::Borrow;

use serde::Serialize;

use super::model::Check;
use crate::Error;

/// A check in a version's resolved set, with where it was declared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResolvedCheck {
    /// The check.
    pub check: Check,
    /// The key (`family:version`) of the version that declared it.
    pub declared_in: String,
    /// The key of the version whose check with the same id it replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// How a resolved check relates to the version it is resolved for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Declared by this version, new.
    Own,
    /// Declared by this version, replacing an inherited check.
    Overriding {
        /// The version whose check it replaces.
        replaces: String,
    },
    /// Declared by an ancestor.
    Inherited {
        /// The ancestor that declared it.
        from: String,
    },
}

impl ResolvedCheck {
    /// The check's origin as seen from the version `key`.
    pub fn origin(&self, key: &str) -> Origin {
        match (&self.declared_in, &self.replaces) {
            (d, _) if d != key => Origin::Inherited { from: d.clone() },
            (_, Some(replaces)) => Origin::Overriding {
                replaces: replaces.clone(),
            },
            (_, None) => Origin::Own,
        }
    }
}

/// Drops the inherited checks `removed` (a version's `without`); an id that
/// is not inherited is an error naming it.
/// Works on plain checks or shared ones (`Arc<ResolvedCheck>`, as a
/// memoised set holds them).
pub fn drop_inherited<C: Borrow<ResolvedCheck>>(set: &mut Vec<C>, removed: &[String], key: &str) -> Result<(), Error> {
    if removed.is_empty() {
        return Ok(());
    }
    if let Some(id) = removed
        .iter()
        .find(|id| !set.iter().any(|c| &c.borrow().check.id == *id))
    {
        return Err(Error::InvalidCheck {
            id: id.clone(),
            reason: format!("is dropped with `without` by {key}, which does not inherit it; remove the `without`"),
        });
    }
    set.retain(|c| !removed.contains(&c.borrow().check.id));
    Ok(())
}

/// Applies `own` (declared by `key`) on top of the parent's resolved set
/// (plain or shared checks, as [`drop_inherited`]).
pub fn resolve<C: Borrow<ResolvedCheck> + From<ResolvedCheck>>(
    inherited: Vec<C>,
    own: Vec<Check>,
    key: &str,
) -> Vec<C> {
    let mut set = inherited;
    for check in own {
        match set
            .iter_mut()
            .find(|r| Borrow::<ResolvedCheck>::borrow(&**r).check.id == check.id)
        {
            Some(slot) => {
                let replaces = Borrow::<ResolvedCheck>::borrow(&*slot).declared_in.clone();
                *slot = C::from(ResolvedCheck {
                    check,
                    declared_in: key.to_owned(),
                    replaces: Some(replaces),
                });
            }
            None => set.push(C::from(ResolvedCheck {
                check,
                declared_in: key.to_owned(),
                replaces: None,
            })),
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::builder::Checks;

    #[test]
    fn without_drops_inherited_checks_and_refuses_unknown_ids() {
        let mut set: Vec<ResolvedCheck> = resolve(
            Vec::new(),
            own(Checks::new()
                .command_succeeds("a", ["true"])
                .command_succeeds("b", ["true"])),
            "f:1",
        );
        drop_inherited(&mut set, &["a".to_owned()], "f:2").unwrap();
        assert_eq!(set.iter().map(|c| c.check.id.as_str()).collect::<Vec<_>>(), ["b"]);
        let err = drop_inherited(&mut set, &["zzz".to_owned()], "f:2")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "check `zzz` is dropped with `without` by f:2, which does not inherit it; remove the `without`"
        );
    }

    fn own(checks: Checks) -> Vec<Check> {
        checks.finish().unwrap_or_default()
    }

    #[test]
    fn child_inherits_overrides_in_place_and_appends() {
        let root: Vec<ResolvedCheck> = resolve(
            Vec::new(),
            own(Checks::new()
                .tool_version("python", ["python", "--version"], "3.9.18")
                .timezone("tz", "UTC")),
            "f:1.0.0",
        );
        let child = resolve(
            root.clone(),
            own(Checks::new().command_succeeds("socat", ["socat", "-V"])),
            "f:1.1.0",
        );
        let grandchild = resolve(
            child,
            own(Checks::new().tool_version("python", ["python", "--version"], "3.9.19")),
            "f:1.2.1",
        );
        let ids: Vec<_> = grandchild.iter().map(|r| r.check.id.as_str()).collect();
        assert_eq!(ids, ["python", "tz", "socat"]);
        assert_eq!(
            grandchild[0].origin("f:1.2.1"),
            Origin::Overriding {
                replaces: "f:1.0.0".into()
            }
        );
        assert_eq!(
            grandchild[1].origin("f:1.2.1"),
            Origin::Inherited { from: "f:1.0.0".into() }
        );
        assert_eq!(
            grandchild[2].origin("f:1.2.1"),
            Origin::Inherited { from: "f:1.1.0".into() }
        );
        assert_eq!(
            grandchild[0].origin("f:1.3.0"),
            Origin::Inherited { from: "f:1.2.1".into() }
        );
        assert_eq!(root[1].origin("f:1.0.0"), Origin::Own);
        assert!(grandchild[0].check.description.contains("3.9.19"));
    }
}
