//! The emulator's structure, as `docs/ARCHITECTURE.md` describes it, checked on its sources:
//! the top-level modules of `emulator/src` form layers that depend one way, no wire module
//! imports another, handlers get the request-scoped state, and no source file outgrows
//! 1,000 lines (static data tables aside).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module, by layer, lowest first. A module may use modules of lower layers;
/// within a layer, only where [`SAME_LAYER`] allows, and never in a cycle.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "domain",
        &[
            "catalog",
            "changes",
            "clock",
            "config",
            "directory",
            "faults",
            "files",
            "first_party",
            "hosts",
            "keys",
            "kql",
            "managed_identity",
            "rbac",
            "resources",
            "secret",
            "seed",
            "telemetry",
            "token",
            "token_cache",
        ],
    ),
    ("persistence", &["persist"]),
    ("services", &["services"]),
    ("wire support", &["http", "wire"]),
    (
        "wire",
        &[
            "arm", "control", "entra", "graph", "identity", "monitor", "portal", "replay",
        ],
    ),
    ("router", &["router"]),
    ("server", &["server", "tls"]),
    ("support", &["fuzzing", "test_support"]),
];

/// Layers whose modules may use each other (acyclically): the domain's pure modules build on
/// one another, and so do the wire helpers. Wire modules never use each other: what two
/// APIs share belongs below them.
const SAME_LAYER: &[&str] = &["domain", "wire support", "server", "support"];

/// Files allowed past [`MAX_LINES`]: static data tables.
const DATA_TABLES: &[&str] = &["rbac/roles/data.rs"];
const MAX_LINES: usize = 1000;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate root and the binary).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).expect("under src");
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        f => Some(f.trim_end_matches(".rs").to_owned()),
    }
}

/// The code of a file without its comments and its test module (tests may use anything).
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("read source");
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string (a URL) also ends the line here: it can only hide
            // references, never invent them.
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules each top-level module refers to as `crate::{module}`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        let code = code(file);
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name != from && modules.contains(&name) {
                graph.entry(from.clone()).or_default().insert(name);
            }
        }
    }
    graph
}

fn layer_of(module: &str) -> Option<(usize, &'static str)> {
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, (_, modules))| modules.contains(&module))
        .map(|(i, (name, _))| (i, *name))
}

/// A cycle through `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_cycle_check_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let mut acyclic = graph;
    acyclic.insert("c".into(), BTreeSet::new());
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let graph = imports();
    assert!(graph.len() > 20, "found only {} modules", graph.len());
    assert_eq!(find_cycle(&graph), None, "an import cycle: {graph:#?}");
}

#[test]
fn layers_depend_one_way() {
    let graph = imports();
    let mut wrong = Vec::new();
    for (from, tos) in &graph {
        let Some((from_layer, from_name)) = layer_of(from) else {
            wrong.push(format!("{from} is in no layer (add it to LAYERS)"));
            continue;
        };
        for to in tos {
            let Some((to_layer, _)) = layer_of(to) else {
                continue;
            };
            let same_allowed = to_layer == from_layer && SAME_LAYER.contains(&from_name);
            if to_layer > from_layer || (to_layer == from_layer && !same_allowed) {
                wrong.push(format!("{from} ({from_name}) uses {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
}

#[test]
fn handlers_take_the_request_scoped_state() {
    // `State<AppState>` carries no pending mark: a write made through it would not be
    // waited on by the durable-write layer. Only middleware that changes nothing may use it.
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            let m = module_of(f).unwrap_or_default();
            !matches!(m.as_str(), "router" | "server") && code(f).contains("State<AppState>")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "State<AppState> in {offenders:?}");
}

#[test]
fn no_source_file_outgrows_a_thousand_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let rel = f
                .strip_prefix(src())
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > MAX_LINES && !DATA_TABLES.contains(&rel.as_str()))
                .then(|| format!("{rel}: {lines} lines"))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}
