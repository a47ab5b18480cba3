//! The rules of ARCHITECTURE.md that a reader cannot check at a glance, checked on the
//! source itself: the runtime's layers and the collector's modules are used in one
//! direction only, the files of one folder never import each other in a circle, and no
//! source file outgrows 500 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn runtime_src() -> PathBuf {
    Path::new(ROOT).join("telemetry-runtime/src")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The layers in the order `lib.rs` states them: lines `//! N. `name`: …`.
fn stated_layers() -> Vec<String> {
    let lib = fs::read_to_string(runtime_src().join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("//! ")?;
            let (number, rest) = rest.split_once(". `")?;
            number.parse::<u32>().ok()?;
            Some(rest.split_once('`')?.0.to_owned())
        })
        .collect()
}

/// The code of a file without its comments (doc links are not imports).
fn code(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "",
            false => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `code` without the bodies of its inline modules (`mod tests { … }`), where `super::`
/// names the file itself rather than its folder.
fn without_inline_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = find_inline_module(rest) {
        out.push_str(&rest[..at]);
        let body = &rest[at + 1..];
        rest = &body[(matching_brace(body) + 1).min(body.len())..];
    }
    out.push_str(rest);
    out
}

/// Where the `{` of the next `mod name {` in `code` is.
fn find_inline_module(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = code[from..].find("mod ") {
        let at = from + i;
        from = at + 4;
        if at > 0 && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let after: &str = code[at + 4..].trim_start();
        let name_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].trim_start().starts_with('{') {
            let brace = after[name_len..].find('{').unwrap();
            return Some(code.len() - after.len() + name_len + brace);
        }
    }
    None
}

/// The names a file brings in with `use` (the last segment of each path, or its `as` name).
fn imported_names(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in code.match_indices("use ") {
        if i > 0 && code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let statement = &code[i + 4..code[i..].find(';').map_or(code.len(), |e| i + e)];
        for piece in statement.split([',', '{', '}']) {
            let piece = piece.trim();
            let name = match piece.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => piece.rsplit("::").next().unwrap_or("").trim(),
            };
            if !name.is_empty() && name != "self" && name != "*" {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// Every path in `code` that starts with `prefix` (`crate::`, `super::`), as its first two
/// segments (`["a", "b"]`; `b` may be absent). A group (`{a, b::c}`) is read as one path per
/// item, at either segment.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices(prefix) {
        if code[..i].ends_with('$')
            || code[..i].ends_with("::")
            || code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            continue; // `$crate::` in a macro, `super::super::`, or a longer identifier
        }
        expand_path(&code[i + prefix.len()..], &[], &mut out);
    }
    out
}

/// The path at the start of `rest` (after `prefix`), up to two segments, groups expanded.
fn expand_path(rest: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        let group = &inner[..matching_brace(inner)];
        for item in split_top_level(group) {
            expand_path(item, prefix, out);
        }
        return;
    }
    if rest.starts_with('*') {
        out.push(prefix.to_vec()); // a glob uses the module it is in
        return;
    }
    let segment: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut path = prefix.to_vec();
    if !segment.is_empty() && segment != "self" {
        path.push(segment.clone());
    }
    let after = &rest[segment.len()..];
    if path.len() < 2
        && !segment.is_empty()
        && let Some(next) = after.strip_prefix("::")
    {
        return expand_path(next, &path, out);
    }
    if !path.is_empty() {
        out.push(path);
    }
}

/// The length of `s` up to the `}` that closes a group whose `{` came just before it.
fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

/// The items of a group, split at its own commas (not those of nested groups).
fn split_top_level(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items.into_iter().filter(|i| !i.trim().is_empty()).collect()
}

/// Every `crate::a::b` path in `code`, as `["a", "b"]` (`b` may be absent).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    paths_after(code, "crate::")
}

/// The files of its own folder a file uses, by any path: `crate::folder::file`,
/// `super::file` (from a file of the folder), `file::` (from its `mod.rs`). Items of the
/// folder's `mod.rs` count as the file `mod`.
fn same_folder_uses(
    folder: &str,
    name: &str,
    code: &str,
    files: &BTreeSet<String>,
) -> BTreeSet<String> {
    let of = |item: Option<&String>| match item {
        Some(f) if files.contains(f) => f.clone(),
        _ => "mod".to_owned(),
    };
    let mut uses = BTreeSet::new();
    for path in crate_paths(code) {
        if path[0] == folder {
            uses.insert(of(path.get(1)));
        }
    }
    if name == "mod" {
        for path in paths_after(code, "self::") {
            uses.insert(of(path.first()));
        }
        // `file::x`, unless `file` is a name brought in by a `use` (of another module).
        let imported = imported_names(code);
        for file in files {
            if !imported.contains(file) && !paths_after(code, &format!("{file}::")).is_empty() {
                uses.insert(file.clone());
            }
        }
    } else {
        for path in paths_after(code, "super::") {
            // `super::super::x` leaves the folder: the layer check reads it.
            if path.first().is_none_or(|first| first != "super") {
                uses.insert(of(path.first()));
            }
        }
    }
    uses.remove(name);
    uses
}

/// The paths of `file` that reach the crate root through `super::` (from a top-level file or
/// a folder's `mod.rs`) or `super::super::` (from any other file of a folder), as if they
/// were written `crate::…`. Inline modules are left out: their `super::` is the file.
fn paths_to_root(src: &Path, file: &Path, code: &str) -> Vec<Vec<String>> {
    let (folder, name) = place(src, file);
    let code = without_inline_modules(code);
    if folder == name || name == "mod" {
        paths_after(&code, "super::")
    } else {
        paths_after(&code.replace("super::super::", "__root__::"), "__root__::")
    }
}

/// The layer and (for folders) the file of a source path: `pipeline/worker.rs` →
/// (`pipeline`, `worker`); `init.rs` → (`init`, `init`).
fn place(src: &Path, file: &Path) -> (String, String) {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    match parts.as_slice() {
        [single] => (single.clone(), single.clone()),
        [folder, file, ..] => (folder.clone(), file.clone()),
        [] => unreachable!(),
    }
}

#[test]
fn the_runtime_uses_its_layers_in_the_stated_order() {
    let layers = stated_layers();
    assert!(layers.len() >= 10, "lib.rs states the layers: {layers:?}");
    let rank = |name: &str| layers.iter().position(|l| l == name);
    let src = runtime_src();
    let mut wrong = Vec::new();
    for file in rust_files(&src) {
        let (layer, _) = place(&src, &file);
        if layer == "lib" {
            continue; // the crate root re-exports every layer
        }
        let own = rank(&layer).unwrap_or_else(|| panic!("{layer} is not in lib.rs's list"));
        let code = code(&file);
        for path in crate_paths(&code)
            .into_iter()
            .chain(paths_to_root(&src, &file, &code))
        {
            let Some(used) = path.first().and_then(|p| rank(p)) else {
                continue; // `crate::__private`, a macro
            };
            if used > own {
                wrong.push(format!(
                    "{} uses crate::{}",
                    file.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn the_files_of_a_folder_never_import_each_other_in_a_circle() {
    let src = runtime_src();
    // folder → its files
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let (folder, name) = place(&src, &file);
        if folder != name {
            folders.entry(folder).or_default().insert(name);
        }
    }
    // folder → file → files of the same folder it uses
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in rust_files(&src) {
        let (folder, name) = place(&src, &file);
        if folder == name {
            continue;
        }
        // Test modules in files of their own (`tests.rs`, `#[path]` ones like
        // `transport_tests.rs`) are used by nothing but the test harness.
        if name == "tests" || name.ends_with("_tests") {
            continue;
        }
        let code = without_inline_modules(&code(&file));
        let uses = same_folder_uses(&folder, &name, &code, &folders[&folder]);
        graph.entry(folder).or_default().insert(name, uses);
    }
    assert!(
        graph.len() >= 7,
        "the runtime's folders: {:?}",
        graph.keys()
    );
    for (folder, files) in &graph {
        // Repeatedly remove files that use no remaining file; what is left is a cycle.
        let mut left = files.clone();
        loop {
            let leaves: Vec<String> = left
                .iter()
                .filter(|(_, uses)| uses.iter().all(|u| !left.contains_key(u)))
                .map(|(f, _)| f.clone())
                .collect();
            if leaves.is_empty() {
                break;
            }
            for leaf in leaves {
                left.remove(&leaf);
            }
        }
        assert!(left.is_empty(), "a cycle in {folder}/: {left:?}");
    }
}

#[test]
fn no_source_file_is_over_500_lines() {
    let root = Path::new(ROOT);
    let mut long = Vec::new();
    for dir in [
        "src",
        "telemetry-runtime/src",
        "telemetry-macros/src",
        "telemetry-collector/src",
        "telemetry-collector/tests",
        "telemetry-collector/benches",
        "examples",
        "benches",
    ] {
        for file in rust_files(&root.join(dir)) {
            let name = file.file_name().unwrap().to_string_lossy();
            // Test modules kept in their own files are tests.
            if name == "tests.rs" || name.ends_with("_tests.rs") {
                continue;
            }
            let lines = fs::read_to_string(&file).unwrap().lines().count();
            if lines > 500 {
                long.push(format!("{}: {lines} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}

/// The collector's modules, lowest first, as ARCHITECTURE.md orders them ("Dependencies
/// point one way"); `lib.rs` and `main.rs` sit above them all.
const COLLECTOR_ORDER: [&str; 15] = [
    "clock",
    "log",
    "config",
    "parse",
    "model",
    "store",
    "wal",
    "report",
    "query",
    "export",
    "dashboard",
    "writer",
    "state",
    "ingest",
    "server",
];

#[test]
fn the_collector_uses_its_modules_in_the_stated_order() {
    let src = Path::new(ROOT).join("telemetry-collector/src");
    let rank = |m: &str| COLLECTOR_ORDER.iter().position(|o| *o == m);
    let mut wrong = Vec::new();
    for file in rust_files(&src) {
        let (module, _) = place(&src, &file);
        if module == "lib" || module == "main" {
            continue;
        }
        let own = rank(&module)
            .unwrap_or_else(|| panic!("{module} is not in COLLECTOR_ORDER: place it there"));
        for path in crate_paths(&code(&file)) {
            match rank(&path[0]) {
                Some(used) if used <= own => {}
                // A module above this one, or a name of the crate's root (`lib.rs`).
                _ => wrong.push(format!("{}: crate::{}", file.display(), path.join("::"))),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "used against the order:\n{}",
        wrong.join("\n")
    );
}

/// The checks above read paths the way the code writes them.
#[test]
fn crate_paths_are_read_from_uses_and_expressions() {
    let found = crate_paths(
        "use crate::wire::json::Json;\nuse crate::{process, record::queue};\nlet x = crate::base::env::truthy(v);\n$crate::__private::x",
    );
    let found: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        ["wire::json", "process", "record::queue", "base::env"]
    );
    let found = crate_paths(
        "use crate::files::{state::{How, State}, store};\nuse crate::consent::{self, rules};",
    );
    let found: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        ["files::state", "files::store", "consent", "consent::rules"]
    );
}

/// A file's uses of its own folder are found whichever way they are written, and a
/// circle through `mod.rs` is one (`cli/` once had `mod.rs` → `forget` → `super::reset`).
#[test]
fn same_folder_uses_see_super_self_and_mod_rs() {
    let files: BTreeSet<String> = ["mod", "forget", "status", "preview"]
        .map(str::to_owned)
        .into();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        same_folder_uses(
            "cli",
            "forget",
            "super::reset(c); use super::{status::x, preview};",
            &files
        ),
        set(&["mod", "status", "preview"])
    );
    assert_eq!(
        same_folder_uses(
            "cli",
            "mod",
            "forget::forget_and_delete(c); self::status::f();",
            &files
        ),
        set(&["forget", "status"])
    );
    assert_eq!(
        same_folder_uses(
            "cli",
            "status",
            "use crate::cli::{preview, Status};",
            &files
        ),
        set(&["preview", "mod"])
    );
    // A glob uses the module it names.
    assert_eq!(
        same_folder_uses("cli", "status", "use super::*;", &files),
        set(&["mod"])
    );
    // `forget::` in `mod.rs` is another module's `forget` when a `use` brought it in.
    assert_eq!(
        same_folder_uses(
            "cli",
            "mod",
            "use crate::consent::{forget, x as status};\nforget::f(); status::g();",
            &files
        ),
        set(&[])
    );
    // An inline module's `super::` is the file it is in.
    let code = without_inline_modules(
        "fn a() {}\nmod tests {\n    use super::x;\n    fn t() { y(); }\n}\nfn b() { super::z(); }",
    );
    assert!(
        !code.contains("super::x") && code.contains("super::z"),
        "{code}"
    );
}

/// ARCHITECTURE.md names every source, test, example and benchmark file (a `mod.rs`,
/// `lib.rs` or `main.rs` by its folder), so the map cannot fall behind the tree.
#[test]
fn the_architecture_map_names_every_file() {
    let root = Path::new(ROOT);
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut unnamed = Vec::new();
    for dir in [
        "src",
        "telemetry-runtime/src",
        "telemetry-macros/src",
        "telemetry-collector/src",
        "telemetry-collector/tests",
        "telemetry-collector/benches",
        "tests",
        "examples",
        "benches",
    ] {
        for file in rust_files(&root.join(dir)) {
            let rel = file.strip_prefix(root).unwrap();
            // The two crates under `tests/` are named as crates.
            if rel.starts_with("tests/outside") || rel.starts_with("tests/own_transport/") {
                continue;
            }
            let name = file.file_name().unwrap().to_string_lossy();
            if matches!(&*name, "mod.rs" | "lib.rs" | "main.rs") {
                continue;
            }
            if !map.contains(&*name) {
                unnamed.push(rel.display().to_string());
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "ARCHITECTURE.md does not name:\n{}",
        unnamed.join("\n")
    );
}
