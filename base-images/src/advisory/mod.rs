//! Known vulnerabilities, as OSV records (the schema osv.dev, the GitHub
//! Advisory Database, PyPA and Debian publish), loaded once into a
//! [`Database`] indexed by package and asked which records affect one
//! installed version. Ranges are evaluated as the OSV schema says
//! (`introduced` / `fixed` / `last_affected` / `limit`, in the ecosystem's
//! own ordering, see [`ordering`]), explicit `versions` lists count too,
//! withdrawn records never match, and ids that alias each other (a CVE, the
//! DSA and the GHSA that name it as an alias, a record derived from exactly
//! one `upstream` id) fall into one group, so a caller reports them once.

mod database;
mod load;
pub mod ordering;
pub mod severity;

pub use database::{Database, Hit, Record, Skipped};
pub use load::{load, MAX_RECORD_BYTES};
pub use ordering::{normalize_pypi, Scheme};
pub use severity::{Rating, Severity};
