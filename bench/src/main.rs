//! `entra-bench`: the emulator's benchmark harness. `bench/run.sh` installs the tools,
//! builds this and the emulator in release, and runs `entra-bench all`, which measures every
//! figure of the performance table side by side with its peer or limit, in one run, and
//! prints the table with the conditions it was measured under.
//!
//! Subcommands (the figures measured in a process of their own):
//! - `all [--rounds N] [--seconds S] [--connections C] [--scale N] [--peer PATH] [--skip-tests]`
//! - `startup [--starts N]`: in-process `Emulator::start()` + first token
//! - `breakdown`: the cost of each step of a token issuance
//! - `routes [--scale N]`: health and the authorized ARM `GET` through the router, no socket
//! - `kql [--rows N]`: `where` + `summarize count() by bin(TimeGenerated, 1h)`

mod inproc;
mod load;
mod report;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use load::{Error, Load, Proc, Wrk, WrkRun};
use report::{Report, Row, Verdict};

/// The built-in Reader role.
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
use stats::{Summary, median_f64};

/// Options of `all` and the subcommands.
#[derive(Debug, Clone)]
struct Options {
    rounds: usize,
    seconds: u64,
    connections: u32,
    scale: usize,
    peer: Option<PathBuf>,
    skip_tests: bool,
    starts: usize,
    rows: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rounds: 3,
            seconds: 8,
            connections: 16,
            scale: 100_000,
            peer: None,
            skip_tests: false,
            starts: 101,
            rows: 1_000_000,
        }
    }
}

fn parse(args: &[String]) -> Result<Options, Error> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rounds" => o.rounds = value()?.parse()?,
            "--seconds" => o.seconds = value()?.parse()?,
            "--connections" => o.connections = value()?.parse()?,
            "--scale" => o.scale = value()?.parse()?,
            "--peer" => o.peer = Some(PathBuf::from(value()?)),
            "--starts" => o.starts = value()?.parse()?,
            "--rows" => o.rows = value()?.parse()?,
            "--skip-tests" => o.skip_tests = true,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args.split_first().map_or(("all", &[][..]), |(c, r)| (c, r));
    let result = match parse(rest) {
        Err(e) => Err(e),
        Ok(o) => match command {
            "all" => all(&o).await,
            "startup" => inproc::startup(o.starts).await,
            "breakdown" => {
                inproc::breakdown();
                Ok(())
            }
            "kql" => inproc::kql(o.rows),
            "routes" => inproc::routes(o.scale).await,
            other => Err(
                format!("unknown command {other} (all, startup, breakdown, routes, kql)").into(),
            ),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("entra-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs this executable's `command` and returns the `BENCH {json}` it printed.
async fn subcommand(command: &str, args: &[String]) -> Result<Value, Error> {
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .arg(command)
        .args(args)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .ok_or_else(|| {
            format!(
                "{command} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    Ok(serde_json::from_str(line)?)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The client-credentials form both token servers get.
fn token_form(client_id: &str, secret: &str, scope: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        enc(client_id),
        enc(secret),
        enc(scope)
    )
}

/// Posts `form` and returns the `access_token`.
async fn fetch_token(http: &reqwest::Client, url: &str, form: &str) -> Result<String, Error> {
    let response = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{url} answered {status}: {body}").into())
}

/// A token's claims, decoded without verification (to compare `uti`s).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let mut bits = 0u32;
    let mut acc = 0u32;
    let mut bytes = Vec::new();
    for c in payload.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
        }
    }
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

async fn json_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> Result<Value, Error> {
    let mut request = http.request(method.clone(), url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{method} {url} answered {status}: {answer}").into());
    }
    Ok(answer)
}

async fn all(o: &Options) -> Result<(), Error> {
    let root = std::env::current_dir()?;
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let emulator_bin = std::env::current_exe()?.with_file_name("entra-emulator");
    let wrk = Wrk {
        script: root.join("bench/wrk/request.lua"),
        connections: o.connections,
    };
    let peer_bin = o
        .peer
        .clone()
        .unwrap_or_else(|| dir.join("peer/node_modules/.bin/oauth2-mock-server"));
    let mut report = Report::new(
        load::machine(),
        vec![
            ("wrk", load::version("wrk", &["-v"]).await),
            ("openssl", load::version("openssl", &["version"]).await),
            ("node", load::version("node", &["--version"]).await),
            ("rustc", load::version("rustc", &["--version"]).await),
        ],
        format!(
            "{} rounds of {} s per load, wrk -t1 -c{}, HTTP/1.1 keep-alive over loopback, \
             the release binary with --plain-http and RUST_LOG=warn",
            o.rounds, o.seconds, o.connections
        ),
    );
    let http = reqwest::Client::new();

    token_issuance(o, &mut report, &http, &wrk, &emulator_bin, &dir, &peer_bin).await?;
    authorized_calls(o, &mut report, &http, &wrk, &emulator_bin, &dir).await?;
    startup(o, &mut report, &emulator_bin, &dir).await?;
    kql(o, &mut report).await?;
    if o.skip_tests {
        report.note("Test suite: skipped (--skip-tests).".to_owned());
    } else {
        test_suite(&mut report, &root).await?;
    }
    report.finish(load::loadavg());
    let text = report.render();
    println!("{text}");
    std::fs::write(dir.join("results.md"), &text)?;
    eprintln!("(also written to target/bench/results.md)");
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the run's shared pieces, passed straight through
async fn token_issuance(
    o: &Options,
    report: &mut Report,
    http: &reqwest::Client,
    wrk: &Wrk,
    emulator_bin: &Path,
    dir: &Path,
    peer_bin: &Path,
) -> Result<(), Error> {
    eprintln!("== token issuance: emulator, oauth2-mock-server, openssl speed");
    let emulator = Proc::emulator(emulator_bin, dir, &[]).await?;
    let tenant = entra_emulator::config::DEFAULT_TENANT_ID;
    let form = token_form(
        &entra_emulator::config::DEFAULT_ADMIN_CLIENT_ID.to_string(),
        entra_emulator::config::DEFAULT_ADMIN_CLIENT_SECRET,
        "https://management.azure.com/.default",
    );
    let emulator_load = Load {
        url: format!("{}/{tenant}/oauth2/v2.0/token", emulator.base_url),
        method: "POST",
        body: Some(form.clone()),
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: None,
    };
    // A fresh signed token per request: two in a row differ in `uti` and signature.
    let a = fetch_token(http, &emulator_load.url, &form).await?;
    let b = fetch_token(http, &emulator_load.url, &form).await?;
    if a == b || claims(&a)["uti"] == claims(&b)["uti"] {
        return Err("two token requests got the same token".into());
    }
    let peer = Proc::peer(peer_bin).await?;
    let peer_load = Load {
        url: format!("{}/token", peer.base_url),
        ..emulator_load.clone()
    };
    // The peer signs on every request too, but its tokens carry no unique id: two within
    // one second are the same bytes.
    fetch_token(http, &peer_load.url, &form).await?;

    let warm = 2.min(o.seconds);
    wrk.run(&emulator_load, warm).await?;
    wrk.run(&peer_load, warm).await?;
    let (mut ours, mut theirs, mut limit) = (Vec::new(), Vec::new(), Vec::new());
    let (mut vs_peer, mut vs_limit) = (Vec::new(), Vec::new());
    let mut latency: Vec<WrkRun> = Vec::new();
    let mut cpu: Vec<(f64, f64)> = Vec::new();
    for round in 1..=o.rounds {
        let load_before = load::loadavg();
        let signs = load::openssl_rsa2048_signs(2, o.seconds.div_ceil(2).max(1)).await?;
        let (e, e_cpu) = emulator.load(wrk, &emulator_load, o.seconds).await?;
        let (p, p_cpu) = peer.load(wrk, &peer_load, o.seconds).await?;
        eprintln!(
            "   round {round}: emulator {:.0}/s, peer {:.0}/s, openssl {signs:.0} sign/s (load {load_before})",
            e.per_second(),
            p.per_second()
        );
        cpu.push((us(e_cpu), us(p_cpu)));
        ours.push(e.per_second());
        theirs.push(p.per_second());
        limit.push(signs);
        vs_peer.push(e.per_second() / p.per_second());
        vs_limit.push(e.per_second() / signs);
        latency.push(e);
    }
    let profile = report::profile(emulator.pid(), wrk, &emulator_load, o.seconds.min(5)).await;
    drop(peer);
    drop(emulator);
    let breakdown = subcommand("breakdown", &[]).await?;

    let p50 = median_f64(&latency.iter().map(|r| r.p50_us as f64).collect::<Vec<_>>());
    let p99 = median_f64(&latency.iter().map(|r| r.p99_us as f64).collect::<Vec<_>>());
    report.row(Row::new(
        "Token issuance (client credentials, fresh RS256 token each)",
        format!(
            "{:.0} tokens/s (p50 {:.2} ms, p99 {:.2} ms; {:.0} µs CPU per token)",
            median_f64(&ours),
            p50 / 1e3,
            p99 / 1e3,
            median_f64(&cpu.iter().map(|c| c.0).collect::<Vec<_>>())
        ),
        format!(
            "oauth2-mock-server 9.3.0: {:.0} tokens/s ({:.0} µs CPU per token)",
            median_f64(&theirs),
            median_f64(&cpu.iter().map(|c| c.1).collect::<Vec<_>>())
        ),
        "≥ 2.0× the peer",
        Verdict::at_least(median_f64(&vs_peer), 2.0, "×"),
    ));
    report.row(Row::new(
        "Token issuance vs the RSA-2048 limit",
        format!("{:.0} tokens/s", median_f64(&ours)),
        format!(
            "openssl speed -multi 2 rsa2048: {:.0} sign/s",
            median_f64(&limit)
        ),
        "≥ 70% of the limit",
        Verdict::at_least(median_f64(&vs_limit) * 100.0, 70.0, "%"),
    ));
    let rounds: Vec<String> = (0..ours.len())
        .map(|i| format!("{:.0}/{:.0}/{:.0}", ours[i], theirs[i], limit[i]))
        .collect();
    report.note(format!(
        "Token rounds (emulator / peer / openssl, per second): {}; each ratio in the table is the median of the per-round ratios. \
         `openssl speed -multi` counts signatures per second of wall-clock time, so on a loaded machine the limit falls \
         with the servers' figures; compare them within a round.",
        rounds.join(", ")
    ));
    let mint = f(&breakdown["mint_us"]);
    let others = [
        ("secret check", f(&breakdown["secret_verify_us"])),
        ("claim building", f(&breakdown["claims_us"])),
        ("claim serialization", f(&breakdown["serialize_us"])),
    ];
    let mut parts = vec![format!("serialize + sign (token::mint) {mint:.1} µs")];
    parts.extend(
        others
            .iter()
            .map(|(name, us)| format!("{name} {us:.2} µs ({:.1}% of mint)", us / mint * 100.0)),
    );
    report.note(format!(
        "Token issuance, each step alone in-process: {}.",
        parts.join("; ")
    ));
    if let Some(profile) = profile {
        report.note(profile);
    }
    Ok(())
}

async fn authorized_calls(
    o: &Options,
    report: &mut Report,
    http: &reqwest::Client,
    wrk: &Wrk,
    emulator_bin: &Path,
    dir: &Path,
) -> Result<(), Error> {
    eprintln!(
        "== authorized calls: {} apps + service principals + role assignments seeded",
        o.scale
    );
    let emulator = Proc::emulator(emulator_bin, dir, &["--rbac-propagation", "0s"]).await?;
    let base = emulator.base_url.clone();
    let rss_before = emulator.rss()?;
    let secret = "seedQ~BenchmarkSeedSecret0123456789abcde";
    let started = Instant::now();
    let counts = json_call(
        http,
        reqwest::Method::POST,
        &format!("{base}/_emulator/seed"),
        None,
        json!({"applications": o.scale, "roleAssignments": o.scale, "secret": secret}),
    )
    .await?;
    let seeding = started.elapsed();
    let rss_after = emulator.rss()?;
    let objects = 3 * o.scale;

    // A principal of its own, Reader on the subscription, reading a group below it.
    let tenant = entra_emulator::config::DEFAULT_TENANT_ID;
    let sub = entra_emulator::config::DEFAULT_SUBSCRIPTION_ID;
    let token_url = format!("{base}/{tenant}/oauth2/v2.0/token");
    let admin_id = entra_emulator::config::DEFAULT_ADMIN_CLIENT_ID.to_string();
    let admin_secret = entra_emulator::config::DEFAULT_ADMIN_CLIENT_SECRET;
    let graph = fetch_token(
        http,
        &token_url,
        &token_form(
            &admin_id,
            admin_secret,
            "https://graph.microsoft.com/.default",
        ),
    )
    .await?;
    let arm = fetch_token(
        http,
        &token_url,
        &token_form(
            &admin_id,
            admin_secret,
            "https://management.azure.com/.default",
        ),
    )
    .await?;
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;
    let app = json_call(
        http,
        post.clone(),
        &format!("{base}/v1.0/applications"),
        Some(&graph),
        json!({"displayName": "bench-reader"}),
    )
    .await?;
    let app_id = app["appId"].as_str().ok_or("no appId")?.to_owned();
    let password = json_call(
        http,
        post.clone(),
        &format!(
            "{base}/v1.0/applications/{}/addPassword",
            app["id"].as_str().unwrap_or("")
        ),
        Some(&graph),
        json!({}),
    )
    .await?;
    let app_secret = password["secretText"]
        .as_str()
        .ok_or("no secretText")?
        .to_owned();
    let sp = json_call(
        http,
        post,
        &format!("{base}/v1.0/servicePrincipals"),
        Some(&graph),
        json!({"appId": app_id}),
    )
    .await?;
    let group = format!("/subscriptions/{sub}/resourceGroups/bench-rg");
    json_call(
        http,
        put.clone(),
        &format!("{base}{group}?api-version=2022-09-01"),
        Some(&arm),
        json!({"location": "eastus"}),
    )
    .await?;
    let reader = format!(
        "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}",
        READER
    );
    json_call(
        http,
        put,
        &format!(
            "{base}/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
            uuid::Uuid::new_v4()
        ),
        Some(&arm),
        json!({"properties": {"roleDefinitionId": reader, "principalId": sp["id"],
                              "principalType": "ServicePrincipal"}}),
    )
    .await?;
    let app_token = fetch_token(
        http,
        &token_url,
        &token_form(
            &app_id,
            &app_secret,
            "https://management.azure.com/.default",
        ),
    )
    .await?;
    let get = Load {
        url: format!("{base}{group}?api-version=2022-09-01"),
        method: "GET",
        authorization: Some(format!("Bearer {app_token}")),
        ..Load::default()
    };
    let health = Load {
        url: format!("{base}/_emulator/health"),
        method: "GET",
        ..Load::default()
    };
    let warm = 2.min(o.seconds);
    wrk.run(&health, warm).await?;
    wrk.run(&get, warm).await?;
    let (mut gets, mut healths, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut runs = Vec::new();
    let mut cpu: Vec<(f64, f64)> = Vec::new();
    for round in 1..=o.rounds {
        let load_before = load::loadavg();
        let (h, h_cpu) = emulator.load(wrk, &health, o.seconds).await?;
        let (g, g_cpu) = emulator.load(wrk, &get, o.seconds).await?;
        cpu.push((us(g_cpu), us(h_cpu)));
        eprintln!(
            "   round {round}: ARM GET {:.0}/s, health {:.0}/s (load {load_before})",
            g.per_second(),
            h.per_second()
        );
        gets.push(g.per_second());
        healths.push(h.per_second());
        ratios.push(g.per_second() / h.per_second());
        runs.push((g, h));
    }
    report.note(format!(
        "ARM rounds (GET / health, per second): {}.",
        gets.iter()
            .zip(&healths)
            .map(|(g, h)| format!("{g:.0}/{h:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let rss_loaded = emulator.rss()?;
    let profile = report::profile(emulator.pid(), wrk, &get, o.seconds.min(5)).await;
    drop(emulator);
    let routes = subcommand("routes", &["--scale".to_owned(), o.scale.to_string()]).await?;
    let med = |pick: &dyn Fn(&(WrkRun, WrkRun)) -> u64| {
        median_f64(
            &runs
                .iter()
                .map(|r| pick(r) as f64 / 1e3)
                .collect::<Vec<_>>(),
        )
    };
    report.row(Row::new(
        &format!(
            "ARM GET resource group, Reader inherited, {} principals + {} assignments",
            o.scale, o.scale
        ),
        format!(
            "{:.0} req/s (p50 {:.2} ms, p99 {:.2} ms; {:.0} µs CPU per request)",
            median_f64(&gets),
            med(&|r| r.0.p50_us),
            med(&|r| r.0.p99_us),
            median_f64(&cpu.iter().map(|c| c.0).collect::<Vec<_>>())
        ),
        format!(
            "/_emulator/health: {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms; {:.0} µs CPU per request)",
            median_f64(&healths),
            med(&|r| r.1.p50_us),
            med(&|r| r.1.p99_us),
            median_f64(&cpu.iter().map(|c| c.1).collect::<Vec<_>>())
        ),
        "≥ 50% of health",
        Verdict::at_least(median_f64(&ratios) * 100.0, 50.0, "%"),
    ));
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    report.row(Row::new(
        &format!(
            "Memory (RSS) with {} apps + {} SPs + {} role assignments",
            o.scale, o.scale, o.scale
        ),
        format!(
            "{:.0} MiB ({:.0} MiB after the load)",
            mib(rss_after),
            mib(rss_loaded)
        ),
        format!(
            "{:.0} MiB empty; {:.0} bytes per object",
            mib(rss_before),
            rss_after.saturating_sub(rss_before) as f64 / objects as f64
        ),
        "≤ 300 MB",
        Verdict::below(rss_after as f64 / 1e6, 300.0, " MB", true),
    ));
    report.note(format!(
        "Seeding through POST /_emulator/seed took {:.2} s ({counts}).",
        seeding.as_secs_f64()
    ));
    report.note(format!(
        "Handlers alone, in-process through the router without a socket: health {:.1} µs, \
         the authorized ARM GET {:.1} µs (token cache hit, indexed RBAC lookup, 200 body).",
        f(&routes["health_us"]),
        f(&routes["arm_get_us"])
    ));
    if let Some(profile) = profile {
        report.note(profile.replace("token load", "ARM GET load"));
    }
    Ok(())
}

async fn startup(
    o: &Options,
    report: &mut Report,
    emulator_bin: &Path,
    dir: &Path,
) -> Result<(), Error> {
    eprintln!("== start-up: in-process and the binary");
    let inproc = subcommand("startup", &["--starts".to_owned(), o.starts.to_string()]).await?;
    report.row(Row::new(
        "In-process Emulator::start() + first token",
        format!(
            "median {:.2} ms over {} starts (p90 {:.2} ms)",
            f(&inproc["median_ms"]),
            o.starts - 1,
            f(&inproc["p90_ms"])
        ),
        format!(
            "first start (generates the signing key): {:.1} ms",
            f(&inproc["first_ms"])
        ),
        "< 5 ms",
        Verdict::below(f(&inproc["median_ms"]), 5.0, " ms", false),
    ));
    let times = load::binary_starts(emulator_bin, dir, 21).await?;
    let s = Summary::of(&times);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    report.row(Row::new(
        "Binary start to connection file written",
        format!("median {:.1} ms over {} starts", ms(s.median), times.len()),
        format!("p90 {:.1} ms, max {:.1} ms", ms(s.p90), ms(s.max)),
        "< 100 ms",
        Verdict::below(ms(s.median), 100.0, " ms", false),
    ));
    Ok(())
}

async fn kql(o: &Options, report: &mut Report) -> Result<(), Error> {
    eprintln!("== KQL over {} rows", o.rows);
    let k = subcommand("kql", &["--rows".to_owned(), o.rows.to_string()]).await?;
    report.row(Row::new(
        &format!(
            "KQL where + summarize count() by bin(TimeGenerated, 1h), {} rows",
            o.rows
        ),
        format!(
            "median {:.0} ms ({:.1} M rows/s)",
            f(&k["median_ms"]),
            f(&k["rows_per_s"]) / 1e6
        ),
        format!("{} groups", k["groups"]),
        "< 1 s",
        Verdict::below(f(&k["median_ms"]) / 1e3, 1.0, " s", false),
    ));
    Ok(())
}

async fn test_suite(report: &mut Report, root: &Path) -> Result<(), Error> {
    eprintln!("== test suite: build, then time cargo test --workspace");
    let cargo = |args: &[&str]| {
        let mut c = tokio::process::Command::new("cargo");
        c.args(args).current_dir(root);
        c
    };
    let build = cargo(&["test", "--workspace", "--no-run", "--quiet"])
        .output()
        .await?;
    if !build.status.success() {
        return Err(format!(
            "building the tests failed: {}",
            String::from_utf8_lossy(&build.stderr)
        )
        .into());
    }
    let started = Instant::now();
    let run = cargo(&["test", "--workspace", "--quiet"]).output().await?;
    let wall = started.elapsed();
    let passed = run.status.success();
    let clients = if std::env::var_os("ENTRA_EMULATOR_TEST_PYTHON").is_some() {
        "with the real Python clients"
    } else {
        "real-client tests skipped (no ENTRA_EMULATOR_TEST_PYTHON)"
    };
    report.row(Row::new(
        "Test suite: cargo test --workspace, after the build",
        format!(
            "{:.1} s wall, {}",
            wall.as_secs_f64(),
            if passed { "passed" } else { "FAILED" }
        ),
        clients.to_owned(),
        "< 60 s",
        Verdict::below(wall.as_secs_f64(), 60.0, " s", false),
    ));
    Ok(())
}
