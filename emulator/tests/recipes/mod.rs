//! The documentation's recipes, run as written: each shell recipe of `README.md` and `docs/` is
//! a script under `clients/shell/`, run here against the binary over HTTPS, and every code
//! block the documents say comes from a file must still be a verbatim excerpt of it. Also the
//! README's flags table against `--help`, its size, and its links.

use std::path::{Path, PathBuf};

use crate::support::RunningBinary;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

#[tokio::test]
async fn get_token_recipe_gets_a_token_and_the_keys() {
    let bin = RunningBinary::start(&[]).await;
    // Base URL and CA file as arguments: the script's defaults are port 8443's.
    let out = tokio::process::Command::new("bash")
        .arg(repo().join("clients/shell/get-token.sh"))
        .args([bin.url(), bin.ca_path()])
        .output()
        .await
        .expect("run bash (the recipes need bash and curl)");
    assert!(out.status.success(), "{out:?}");
    let out = String::from_utf8_lossy(&out.stdout);
    let mut lines = out.lines();
    let token: serde_json::Value =
        serde_json::from_str(lines.next().expect("token line")).expect("json");
    assert_eq!(token["token_type"], "Bearer", "{out}");
    assert_eq!(token["expires_in"], 3599);
    let keys: serde_json::Value =
        serde_json::from_str(lines.next().expect("keys line")).expect("json");
    assert!(!keys["keys"].as_array().expect("keys").is_empty(), "{out}");
}

#[tokio::test]
async fn monitor_walkthrough_waits_for_propagation_then_reads_rows_and_a_metric() {
    let bin = RunningBinary::start(&[]).await;
    let out = bin.run_client_script("monitor-walkthrough.sh").await;
    for line in [
        "1. reader queries before the delay: 403 InsufficientAccessError",
        "2. publisher uploads two rows: 204",
        r#"3. reader queries after the delay: 200 [["apple",3],["pear",2]]"#,
        "4. publisher posts a custom metric: 200",
        r#"5. publisher reads it back: 200 [{"timeStamp":"#,
    ] {
        assert!(out.contains(line), "missing '{line}' in:\n{out}");
    }
    // Integral aggregates print as integers.
    assert!(out.contains(r#""average":10,"count":4}]"#), "{out}");
}

#[tokio::test]
async fn fault_injection_recipe_throttles_some_writes_until_the_rule_expires() {
    let bin = RunningBinary::start(&[]).await;
    let out = bin.run_client_script("fault-injection.sh").await;
    let statuses: Vec<&str> = out
        .lines()
        .find_map(|l| l.strip_prefix("ten registrations: "))
        .expect("registrations line")
        .split_whitespace()
        .collect();
    assert_eq!(statuses.len(), 10, "{out}");
    // Rate 0.5 from seed 7: a random share, not every other request, and the same one on
    // every run (docs/fault-injection.md shows it).
    assert_eq!(
        statuses,
        [
            "429", "429", "201", "201", "429", "429", "429", "429", "429", "429"
        ],
        "{out}"
    );
    assert!(
        out.contains(r#"{"matched":10,"fired":8,"active":true}"#),
        "{out}"
    );
    assert!(out.contains("after five minutes: 201"), "{out}");
}

/// The documents: the README, CONTRIBUTING.md and every page of `docs/`.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo().join("README.md"), repo().join("CONTRIBUTING.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    docs.extend(pages);
    docs
}

/// A fenced code block: its language, its text, and the file the comment line before it
/// names (`<!-- from clients/shell/x.sh -->`), if any.
struct Block {
    line: usize,
    lang: String,
    text: String,
    from: Option<String>,
}

fn code_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate().peekable();
    let mut previous = "";
    while let Some((n, line)) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let mut text = String::new();
            for (_, inner) in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                text.push_str(inner);
                text.push('\n');
            }
            let from = previous
                .trim()
                .strip_prefix("<!-- from ")
                .and_then(|rest| rest.strip_suffix(" -->"))
                .map(str::to_owned);
            blocks.push(Block {
                line: n + 1,
                lang: lang.trim().to_owned(),
                text,
                from,
            });
            previous = "";
        } else if !line.trim().is_empty() {
            previous = line;
        }
    }
    blocks
}

#[test]
fn every_shell_recipe_is_an_excerpt_of_a_script_the_suite_runs() {
    let mut problems = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("read");
        let name = doc
            .strip_prefix(repo())
            .expect("in repo")
            .display()
            .to_string();
        for block in code_blocks(&text) {
            let at = format!("{name}:{}", block.line);
            match &block.from {
                Some(file) => match std::fs::read_to_string(repo().join(file)) {
                    Ok(source) if source.contains(&block.text) => {}
                    Ok(_) => problems.push(format!("{at}: not a verbatim excerpt of {file}")),
                    Err(e) => problems.push(format!("{at}: {file}: {e}")),
                },
                // A request with curl is a recipe: it must come from a script that runs.
                None if block.lang == "sh" && block.text.contains("curl ") => problems.push(
                    format!("{at}: a curl recipe without <!-- from clients/shell/… --> before it"),
                ),
                None => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every script a document quotes is one this suite runs (so a quoted script cannot be an
/// orphan that nothing checks).
#[test]
fn every_quoted_shell_script_is_run_by_a_test() {
    fn sources(dir: &Path, into: &mut String) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push_str(&std::fs::read_to_string(&path).expect("read"));
            }
        }
    }
    let mut tests = String::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
        &mut tests,
    );
    for doc in documents() {
        for block in code_blocks(&std::fs::read_to_string(&doc).expect("read")) {
            if let Some(script) = block
                .from
                .as_deref()
                .and_then(|f| f.strip_prefix("clients/shell/"))
            {
                assert!(
                    tests.contains(&format!("{script}\"")),
                    "{}: no test runs clients/shell/{script}",
                    doc.display()
                );
            }
        }
    }
}

#[test]
fn readme_flags_table_lists_every_flag_and_every_switch_takes_a_value() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
        .arg("--help")
        .output()
        .expect("--help");
    let help = String::from_utf8_lossy(&help.stdout);
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let mut flags = 0;
    for line in help.lines().map(str::trim).filter(|l| l.starts_with("--")) {
        let flag = line.split([' ', '=']).next().expect("flag");
        if flag == "--help" || flag == "--version" {
            continue;
        }
        flags += 1;
        assert!(
            readme.contains(&format!("| `{flag}")),
            "README's flags table lacks {flag}"
        );
        // A bare switch would refuse ENTRA_EMULATOR_X=1 (clap's plain bool takes only
        // true/false): every boolean takes a value, as --plain-http does.
        assert!(
            line.contains('<'),
            "{flag} is a bare switch; give it BoolishValueParser as --plain-http has"
        );
    }
    assert!(flags > 20, "{help}");
}

#[test]
fn readme_stays_short() {
    let size = std::fs::metadata(repo().join("README.md"))
        .expect("README")
        .len();
    assert!(
        size < 15 * 1024,
        "README.md is {size} bytes: move detail to docs/"
    );
}

#[test]
fn documents_link_only_inside_the_repository_and_to_files_that_exist() {
    let mut problems = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("read");
        let dir = doc.parent().expect("dir");
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() || path.starts_with("http://") || path.starts_with("https://") {
                continue;
            }
            let resolved = dir.join(path);
            let inside = resolved
                .canonicalize()
                .map(|p| p.starts_with(repo()))
                .unwrap_or(true);
            if path.contains("../shared") || !inside {
                problems.push(format!(
                    "{}: {target} is outside the repository",
                    doc.display()
                ));
            } else if !resolved.exists() {
                problems.push(format!("{}: {target} does not exist", doc.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn managed_identity_recipe_gets_tokens_from_imds_and_app_service() {
    let bin = RunningBinary::start(&[]).await;
    let out = bin.run_client_script("managed-identity.sh").await;
    for line in [
        r#"1. user-assigned identity: ["clientId","isolationScope","principalId","tenantId"]"#,
        "2. web app identity: SystemAssigned, UserAssigned",
        "3. IMDS token: expires_in 86400",
        "4. App Service token for the user-assigned identity: Bearer",
        "5. the web app's identity reads the group: 200",
    ] {
        assert!(out.contains(line), "missing '{line}' in:\n{out}");
    }
}
