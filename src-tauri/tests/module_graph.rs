//! The modules of the app and of the engine depend one way: a cycle (a module reaching itself
//! through `crate::` paths) is a design fault, as state.rs <-> commands/window.rs and gguf.rs <->
//! weights.rs were. A module's unit tests (its `#[cfg(test)] mod tests`) may use any module, as
//! the integration tests do, and are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of the crate at `src` (its path, `a::b`) and its source. `bin/` is another
/// crate, and the crate root (lib.rs) only declares modules.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().unwrap() != "bin" {
                    dirs.push(path);
                }
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if path.extension().is_some_and(|e| e == "rs") && parts != ["lib"] {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
                out.insert(parts.join("::"), code.to_owned());
            }
        }
    }
    out
}

/// The modules each module names through `crate::` paths (resolved to the longest module
/// path), leaving out its own submodules and its parents.
fn graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    modules
        .iter()
        .map(|(name, text)| {
            let mut deps = BTreeSet::new();
            for (at, _) in text.match_indices("crate::") {
                let rest = &text[at + "crate::".len()..];
                let path: String = rest.chars().take_while(|&c| ident(c)).collect();
                let path = path.trim_end_matches(':');
                let parts: Vec<&str> = path.split("::").collect();
                let target = (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|p| modules.contains_key(p));
                if let Some(t) = target {
                    let related =
                        t == *name || name.starts_with(&format!("{t}::")) || t.starts_with(&format!("{name}::"));
                    if !related {
                        deps.insert(t);
                    }
                }
            }
            (name.clone(), deps)
        })
        .collect()
}

/// The first cycle found, as the path around it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            return Some(path[i..].iter().cloned().chain([node.to_owned()]).collect());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_app_and_the_engine_have_no_module_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in [root.join("src"), root.join("../engine/src")] {
        let modules = modules(&src);
        assert!(modules.len() > 10, "{}: {} modules", src.display(), modules.len());
        let graph = graph(&modules);
        assert_eq!(cycle(&graph), None, "{}", src.display());
    }
}

#[test]
fn a_cycle_is_found() {
    let modules: BTreeMap<String, String> = [
        ("state", "use crate::commands::window::WindowWatch;"),
        ("commands::window", "use crate::state::AppState;"),
        ("commands", "pub mod window;"),
        ("error", ""),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let graph = graph(&modules);
    assert_eq!(graph["state"], BTreeSet::from(["commands::window".to_owned()]));
    assert_eq!(cycle(&graph), Some(vec!["commands::window".into(), "state".into(), "commands::window".into()]));
}
