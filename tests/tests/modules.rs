//! Dependencies run one way: no source file of the library, the macro crate
//! or the build tool imports another that imports it back, directly or
//! through others (docs/architecture.md, "The rule").
//!
//! The graph is read from the code itself with `syn`: a file's edges are
//! every path that leaves it — `use` declarations (re-exports included) and
//! `crate::`/`super::`/`self::` paths in code, `#[cfg(test)]` modules
//! included — each resolved to the file that defines the item, following
//! re-exports. `mod x;` declarations are not edges. A cycle fails the test
//! with every file in it and the names that tie them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module's place in its crate (`["publish", "oci"]`; the root is empty).
type ModPath = Vec<String>;

/// What one module holds: the file it is written in, the items it defines,
/// its child modules and the names its `use` declarations bring in.
#[derive(Default)]
struct Module {
    file: PathBuf,
    items: HashSet<String>,
    children: HashSet<String>,
    /// `use` name -> the path it stands for, as written.
    imports: BTreeMap<String, Vec<String>>,
    /// `use path::*` targets, as written.
    globs: Vec<Vec<String>>,
}

/// A crate read from its root file: every module and every path each file
/// names outside itself.
#[derive(Default)]
struct Crate {
    name: String,
    /// The directory file names are shown relative to.
    base: PathBuf,
    modules: BTreeMap<ModPath, Module>,
    /// (file, the module it is written in, a path named there as written).
    references: Vec<(PathBuf, ModPath, Vec<String>)>,
}

/// Reads the crate whose root file is `base/root` (`src/lib.rs`).
fn read_crate(name: &str, base: &Path, root: &str) -> Crate {
    let mut krate = Crate {
        name: name.to_string(),
        base: base.to_path_buf(),
        ..Crate::default()
    };
    let root = base.join(root);
    let dir = root.parent().unwrap().to_path_buf();
    read_file(&mut krate, &root, &dir, Vec::new());
    krate
}

/// Reads one file holding module `path`; `dir` is where its children live.
fn read_file(krate: &mut Crate, file: &Path, dir: &Path, path: ModPath) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    read_items(krate, file, dir, path, &parsed.items);
}

/// Records the items of module `path` (written in `file`) and descends into
/// its modules, inline or in files of their own.
fn read_items(krate: &mut Crate, file: &Path, dir: &Path, path: ModPath, items: &[syn::Item]) {
    krate.modules.entry(path.clone()).or_default().file = file.to_path_buf();
    for item in items {
        if let syn::Item::Mod(m) = item {
            let name = m.ident.to_string();
            module(krate, &path).children.insert(name.clone());
            let mut child = path.clone();
            child.push(name.clone());
            match &m.content {
                Some((_, inner)) => read_items(krate, file, &dir.join(&name), child, inner),
                None => {
                    let flat = dir.join(format!("{name}.rs"));
                    let (child_file, child_dir) = if flat.exists() {
                        (flat, dir.join(&name))
                    } else {
                        (dir.join(&name).join("mod.rs"), dir.join(&name))
                    };
                    read_file(krate, &child_file, &child_dir, child);
                }
            }
            continue;
        }
        if let Some(name) = item_name(item) {
            module(krate, &path).items.insert(name);
        }
        let mut paths = PathCollector::default();
        paths.visit_item(item);
        for (segments, alias) in paths.uses {
            match alias {
                Some(alias) if alias != "_" => {
                    module(krate, &path).imports.insert(alias, segments.clone());
                }
                Some(_) => {}
                None => module(krate, &path).globs.push(segments.clone()),
            }
            krate.references.push((file.to_path_buf(), path.clone(), segments));
        }
        for segments in paths.found {
            krate.references.push((file.to_path_buf(), path.clone(), segments));
        }
    }
}

fn module<'a>(krate: &'a mut Crate, path: &ModPath) -> &'a mut Module {
    krate.modules.entry(path.clone()).or_default()
}

/// The name an item defines in its module, if it defines one.
fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        _ => return None,
    };
    Some(ident.to_string())
}

/// Each leaf of a `use` tree: its segments and the name it binds (`None`
/// for a glob).
fn flatten_use(tree: &syn::UseTree, prefix: Vec<String>, out: &mut Vec<(Vec<String>, Option<String>)>) {
    let with = |name: &syn::Ident| {
        let mut p = prefix.clone();
        p.push(name.to_string());
        p
    };
    match tree {
        syn::UseTree::Path(p) => flatten_use(&p.tree, with(&p.ident), out),
        syn::UseTree::Name(n) if n.ident == "self" => {
            let alias = prefix.last().cloned();
            out.push((prefix, alias));
        }
        syn::UseTree::Name(n) => out.push((with(&n.ident), Some(n.ident.to_string()))),
        syn::UseTree::Rename(r) => out.push((with(&r.ident), Some(r.rename.to_string()))),
        syn::UseTree::Glob(_) => out.push((prefix, None)),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| flatten_use(t, prefix.clone(), out)),
    }
}

/// `segments` as written in module `at`, made absolute; `None` for a path
/// into another crate or a local name.
fn absolute(krate: &str, at: &ModPath, segments: &[String]) -> Option<ModPath> {
    let (first, rest) = segments.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => at.clone(),
        "super" => at[..at.len().checked_sub(1)?].to_vec(),
        name if name == krate => Vec::new(),
        _ => return None,
    };
    let mut rest = rest;
    while rest.first().map(String::as_str) == Some("super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Every path of two segments or more in code (`crate::x::Y`, `oci::Blob`,
/// `Kind::Variant`), in macro calls too, and the `use` declarations inside
/// functions; which of them leave the file is decided later.
#[derive(Default)]
struct PathCollector {
    found: Vec<Vec<String>>,
    uses: Vec<(Vec<String>, Option<String>)>,
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.found.push(segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        syn::visit::visit_macro(self, mac);
        paths_in_tokens(mac.tokens.clone(), &mut self.found);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        flatten_use(&item.tree, Vec::new(), &mut self.uses);
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
}

/// The `a::b::c` chains in a macro call's tokens (a macro's input is not
/// parsed as code, but the paths it names are dependencies all the same).
fn paths_in_tokens(tokens: proc_macro2::TokenStream, found: &mut Vec<Vec<String>>) {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut chain: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(group) => paths_in_tokens(group.stream(), found),
            TokenTree::Ident(ident) => {
                chain.push(ident.to_string());
                let colons = matches!((tokens.get(i + 1), tokens.get(i + 2)),
                    (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':');
                if colons {
                    i += 3;
                    continue;
                }
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
        if chain.len() > 1 {
            found.push(std::mem::take(&mut chain));
        }
        chain.clear();
        i += 1;
    }
    if chain.len() > 1 {
        found.push(chain);
    }
}

/// `segments` as written in module `at`, made absolute: `crate::`,
/// `super::`, `self::`, the crate's name, a child module or a name a `use`
/// of that module brought in; `None` for anything else (another crate, a
/// local type's variant).
fn in_crate(krate: &Crate, at: &ModPath, segments: &[String]) -> Option<ModPath> {
    in_crate_within(krate, at, segments, 0)
}

/// [`in_crate`], through at most 16 `use` names (`use a::b as a`-like
/// chains end there).
fn in_crate_within(krate: &Crate, at: &ModPath, segments: &[String], depth: usize) -> Option<ModPath> {
    if depth > 16 {
        return None;
    }
    if let Some(path) = absolute(&krate.name, at, segments) {
        return Some(path);
    }
    let (first, rest) = segments.split_first()?;
    let module = krate.modules.get(at)?;
    if module.children.contains(first) {
        let mut child = at.clone();
        child.extend(segments.iter().cloned());
        return Some(child);
    }
    let imported = module.imports.get(first)?;
    if imported.last() == Some(first) && imported.len() == 1 {
        return None; // `use std;`-like: another crate
    }
    let mut written = imported.clone();
    written.extend(rest.iter().cloned());
    in_crate_within(krate, at, &written, depth + 1)
}

/// The file that defines what `path` names, following re-exports; `None`
/// when it names a module (or nothing this crate defines).
fn resolve(krate: &Crate, path: &[String], seen: &mut HashSet<Vec<String>>) -> Option<PathBuf> {
    if seen.len() > 64 || !seen.insert(path.to_vec()) {
        return None;
    }
    let mut at: ModPath = Vec::new();
    for (i, segment) in path.iter().enumerate() {
        let module = krate.modules.get(&at)?;
        if module.children.contains(segment) {
            at.push(segment.clone());
            continue;
        }
        if module.items.contains(segment) {
            return Some(module.file.clone());
        }
        if let Some(written) = module.imports.get(segment) {
            let mut next = written.clone();
            next.extend(path[i + 1..].iter().cloned());
            return resolve(krate, &in_crate(krate, &at, &next)?, seen);
        }
        return module.globs.iter().find_map(|glob| {
            let mut next = glob.clone();
            next.extend(path[i..].iter().cloned());
            resolve(krate, &in_crate(krate, &at, &next)?, seen)
        });
    }
    None
}

/// file -> file -> the names the first takes from the second.
type Edges = BTreeMap<PathBuf, BTreeMap<PathBuf, BTreeSet<String>>>;

/// The import graph between the crate's files.
fn edges(krate: &Crate) -> Edges {
    let mut edges = Edges::new();
    for (file, at, segments) in &krate.references {
        let Some(path) = in_crate(krate, at, segments) else {
            continue;
        };
        let Some(target) = resolve(krate, &path, &mut HashSet::new()) else {
            continue;
        };
        if &target != file {
            let name = path.last().cloned().unwrap_or_default();
            edges
                .entry(file.clone())
                .or_default()
                .entry(target)
                .or_default()
                .insert(name);
        }
    }
    edges
}

/// The strongly connected components of more than one file (Tarjan).
fn cycles(edges: &Edges) -> Vec<BTreeSet<PathBuf>> {
    struct Tarjan<'a> {
        edges: &'a Edges,
        index: BTreeMap<&'a PathBuf, (usize, usize)>,
        stack: Vec<&'a PathBuf>,
        on_stack: HashSet<&'a PathBuf>,
        found: Vec<BTreeSet<PathBuf>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a PathBuf) {
            let n = self.index.len();
            self.index.insert(v, (n, n));
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flat_map(|m| m.keys()) {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.index[w].1.min(self.index[v].1);
                    self.index.get_mut(v).unwrap().1 = low;
                } else if self.on_stack.contains(w) {
                    let low = self.index[w].0.min(self.index[v].1);
                    self.index.get_mut(v).unwrap().1 = low;
                }
            }
            if self.index[v].0 == self.index[v].1 {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.insert(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        edges,
        index: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: HashSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !tarjan.index.contains_key(v) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

/// Each cycle with the edges inside it, in words; empty when there is none.
fn describe_cycles(krate: &Crate) -> String {
    let edges = edges(krate);
    let mut out = String::new();
    for component in cycles(&edges) {
        out.push_str(&format!("{}: a circle of {} files\n", krate.name, component.len()));
        for from in &component {
            for (to, names) in edges
                .get(from)
                .into_iter()
                .flatten()
                .filter(|(to, _)| component.contains(*to))
            {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let shown = |p: &PathBuf| p.strip_prefix(&krate.base).unwrap_or(p).display().to_string();
                out.push_str(&format!("  {} -> {}: {}\n", shown(from), shown(to), names.join(", ")));
            }
        }
    }
    out
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn no_file_of_the_library_the_macros_or_the_tool_imports_one_that_imports_it_back() {
    let mut found = String::new();
    for (name, root) in [
        ("base_images", "base-images/src/lib.rs"),
        ("base_images_macros", "base-images-macros/src/lib.rs"),
        ("base_images_build", "base-images-build/src/lib.rs"),
    ] {
        let krate = read_crate(name, &workspace(), root);
        assert!(
            krate.modules.len() > 1 || name == "base_images_macros",
            "{name}: no modules read"
        );
        found.push_str(&describe_cycles(&krate));
    }
    assert!(found.is_empty(), "import circles:\n{found}");
}

/// Writes a crate of `files` (path, text) and reads it.
fn sample(files: &[(&str, &str)]) -> (tempfile::TempDir, Crate) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let krate = read_crate("sample", dir.path(), "lib.rs");
    (dir, krate)
}

#[test]
fn a_circle_through_a_re_export_and_a_path_in_code_is_found_and_named() {
    let (_dir, krate) = sample(&[
        ("lib.rs", "mod a; mod b; pub use a::Alpha;"),
        ("a.rs", "pub struct Alpha; fn f() -> crate::b::Beta { todo!() }"),
        ("b.rs", "pub struct Beta(crate::Alpha);"),
    ]);
    let found = describe_cycles(&krate);
    assert!(found.contains("a circle of 2 files"), "{found}");
    assert!(found.contains("a.rs -> ") && found.contains("b.rs: Beta"), "{found}");
    assert!(found.contains("b.rs -> ") && found.contains("a.rs: Alpha"), "{found}");
}

#[test]
fn a_child_using_an_item_of_the_parent_that_re_exports_it_is_a_circle() {
    let (_dir, krate) = sample(&[
        ("lib.rs", "pub mod p;"),
        ("p/mod.rs", "mod c; pub use c::Child; pub struct Shared;"),
        (
            "p/c.rs",
            "#[cfg(test)] mod tests { use super::super::Shared; }\npub struct Child;",
        ),
    ]);
    let found = describe_cycles(&krate);
    assert!(
        found.contains("c.rs -> ") && found.contains("mod.rs: Shared"),
        "{found}"
    );
}

#[test]
fn one_way_imports_and_module_declarations_are_no_circle() {
    let (_dir, krate) = sample(&[
        ("lib.rs", "mod a; mod b; pub use b::Beta; use crate::a as alias;"),
        (
            "a.rs",
            "use crate::{b, Beta}; pub fn f(_: Beta) -> b::Beta { crate::b::Beta }",
        ),
        ("b.rs", "pub struct Beta; mod inner { use super::Beta; }"),
    ]);
    assert_eq!(describe_cycles(&krate), "");
    let edges = edges(&krate);
    assert_eq!(edges.len(), 2, "lib.rs -> b.rs and a.rs -> b.rs: {edges:?}");
}
