//! The layering of DESIGN.md section 2, checked on the sources: every path
//! a module names (in `use` trees and in code) is read with `syn`, so a type
//! spelled in full (`sea_orm::DatabaseConnection`) or a nested import
//! (`use crate::{db::{entities::…}}`) counts as much as a `use` line.

use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Every path named in one file, as `a::b::c` strings (use trees expanded).
#[derive(Default)]
struct Paths(Vec<String>);

impl Paths {
    fn add_tree(&mut self, prefix: &str, tree: &syn::UseTree) {
        let join = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}::{name}")
            }
        };
        match tree {
            syn::UseTree::Path(path) => self.add_tree(&join(&path.ident.to_string()), &path.tree),
            syn::UseTree::Name(name) => self.0.push(join(&name.ident.to_string())),
            syn::UseTree::Rename(rename) => self.0.push(join(&rename.ident.to_string())),
            syn::UseTree::Glob(_) => self.0.push(join("*")),
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.add_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.add_tree("", &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let text = path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::");
        self.0.push(text);
        syn::visit::visit_path(self, path);
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Each place under `src/<area>` that names a path starting with one of `forbidden`.
fn violations(area: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(area);
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let source = std::fs::read_to_string(&file).unwrap();
        let syntax = syn::parse_file(&source).unwrap();
        let mut paths = Paths::default();
        paths.visit_file(&syntax);
        for path in paths.0 {
            let named = path.strip_prefix("crate::").unwrap_or(&path);
            if forbidden
                .iter()
                .any(|f| named == *f || named.starts_with(&format!("{f}::")))
            {
                found.push(format!("{}: {path}", file.display()));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn pages_reach_the_database_only_through_services_and_read_queries() {
    let found = violations("web", &["sea_orm", "db::entities", "db::repo", "ledger"]);
    assert!(
        found.is_empty(),
        "web/ reaches below its layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_domain_mail_and_pdfs_know_nothing_of_the_database() {
    for area in ["domain", "mail", "pdf"] {
        let found = violations(area, &["sea_orm", "db"]);
        assert!(
            found.is_empty(),
            "{area}/ reaches the database:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_check_sees_a_path_spelled_in_full_and_a_nested_import() {
    let syntax = syn::parse_file(
        "use crate::{db::{entities::loans, queries}, ledger};\n\
         fn f(db: &sea_orm::DatabaseConnection) {}",
    )
    .unwrap();
    let mut paths = Paths::default();
    paths.visit_file(&syntax);
    for expected in [
        "crate::db::entities::loans",
        "crate::db::queries",
        "crate::ledger",
        "sea_orm::DatabaseConnection",
    ] {
        assert!(
            paths.0.iter().any(|p| p == expected),
            "{expected}: {:?}",
            paths.0
        );
    }
}

/// The calls to a method named `commit` in one file.
#[derive(Default)]
struct Commits(usize);

impl<'ast> Visit<'ast> for Commits {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if call.method == "commit" {
            self.0 += 1;
        }
        syn::visit::visit_expr_method_call(self, call);
    }
}

#[test]
fn every_transaction_commits_through_db_commit() {
    // `db::commit` counts commits; the marketplace's kept pages are read
    // again after one. A transaction committed past it would leave this
    // instance showing pages from before its own change.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        if file == src.join("db").join("mod.rs") {
            continue;
        }
        let syntax = syn::parse_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let mut commits = Commits::default();
        commits.visit_file(&syntax);
        if commits.0 > 0 {
            found.push(format!("{}: {} × .commit()", file.display(), commits.0));
        }
    }
    assert!(
        found.is_empty(),
        "commit with db::commit(txn):\n{}",
        found.join("\n")
    );
}
