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

/// Every `crate::a::b` path in `code`, as `["a", "b"]` (`b` may be absent).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if code[..i].ends_with('$') || code[..i].ends_with(|c: char| c.is_alphanumeric()) {
            continue; // `$crate::` in a macro, or a longer identifier
        }
        let rest = &code[i + "crate::".len()..];
        let segments: Vec<String> = rest
            .split("::")
            .take(2)
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            })
            .filter(|s: &String| !s.is_empty())
            .collect();
        // `use crate::{a, b}` names several modules at once.
        if rest.starts_with('{') {
            let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for item in group.split(',') {
                let names: Vec<String> = item
                    .trim()
                    .split("::")
                    .take(2)
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
                    .collect();
                if !names.is_empty() {
                    out.push(names);
                }
            }
            continue;
        }
        if !segments.is_empty() {
            out.push(segments);
        }
    }
    out
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
        for path in crate_paths(&code(&file)) {
            let Some(used) = rank(&path[0]) else {
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
    // folder → file → files of the same folder it uses
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in rust_files(&src) {
        let (folder, name) = place(&src, &file);
        if folder == name || name == "mod" {
            continue;
        }
        let uses = graph
            .entry(folder.clone())
            .or_default()
            .entry(name.clone())
            .or_default();
        for path in crate_paths(&code(&file)) {
            if path[0] == folder
                && let Some(other) = path.get(1)
                && *other != name
            {
                uses.insert(other.clone());
            }
        }
    }
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
const COLLECTOR_ORDER: [&str; 9] = [
    "clock",
    "log",
    "config",
    "model",
    "store",
    "report",
    "dashboard",
    "writer",
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
}
