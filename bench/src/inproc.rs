//! Figures measured inside one process: start-up of in-process emulators, the cost of each
//! step of a token issuance, and a KQL query over a large table. Each prints one
//! `BENCH {json}` line that the `all` command reads.

use std::time::{Duration, Instant};

use entra_emulator::Emulator;
use entra_emulator::test_support::{self, KqlBench, TestApplication, TokenSteps};
use serde_json::json;
use uuid::Uuid;

use crate::stats::{Summary, median};

/// `Emulator::start()` then one client-credentials token from it, `starts` times in this
/// process; the first start also generates the process-wide signing key, so it is reported
/// apart from the median.
pub(crate) async fn startup(starts: usize) -> Result<(), Box<dyn std::error::Error>> {
    // No idle connections kept: every emulator is on a new port.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let mut times = Vec::with_capacity(starts);
    for _ in 0..starts {
        let started = Instant::now();
        let emulator = Emulator::start().await?;
        let admin = emulator.admin();
        let response = http
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                emulator.url(),
                emulator.tenant_id()
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &admin.client_id.to_string()),
                ("client_secret", admin.client_secret.expose()),
                ("scope", "https://management.azure.com/.default"),
            ])
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("token request answered {}", response.status()).into());
        }
        response.bytes().await?;
        times.push(started.elapsed());
        drop(emulator);
    }
    let first = times.first().copied().unwrap_or_default();
    let rest = Summary::of(times.get(1..).unwrap_or_default());
    println!(
        "BENCH {}",
        json!({"starts": starts, "first_ms": ms(first), "median_ms": ms(rest.median),
               "p90_ms": ms(rest.p90), "max_ms": ms(rest.max)})
    );
    Ok(())
}

/// Time per call of `f`, over as many calls as fit in about `budget`.
fn per_call(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut calls = 0u32;
    let started = Instant::now();
    while started.elapsed() < budget {
        for _ in 0..16 {
            f();
        }
        calls += 16;
    }
    started.elapsed() / calls
}

/// The steps of one token issuance timed alone, best of five rounds each: secret check,
/// claim building, claim serialization, and serialization plus signature.
pub(crate) fn breakdown() {
    let steps = TokenSteps::new().expect("signing key");
    let budget = Duration::from_millis(300);
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| per_call(budget, &mut *f))
            .min()
            .unwrap_or_default()
    };
    let verify = best(&mut || {
        std::hint::black_box(steps.verify_secret());
    });
    let build = best(&mut || {
        std::hint::black_box(steps.build_claims());
    });
    let serialize = best(&mut || {
        std::hint::black_box(steps.serialize());
    });
    let mint = best(&mut || {
        std::hint::black_box(steps.mint());
    });
    println!(
        "BENCH {}",
        json!({"secret_verify_us": us(verify), "claims_us": us(build),
               "serialize_us": us(serialize), "mint_us": us(mint)})
    );
}

/// A `rows`-row table of log records over 30 days; then
/// `where Level == "Error" | summarize count() by bin(TimeGenerated, 1h)`, five times.
pub(crate) fn kql(rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    let bench = KqlBench::new(rows)?;
    let mut times = Vec::new();
    let mut groups = 0;
    for _ in 0..5 {
        let started = Instant::now();
        groups = bench.run()?;
        times.push(started.elapsed());
    }
    let median = median(&times);
    println!(
        "BENCH {}",
        json!({"rows": rows, "groups": groups, "median_ms": ms(median),
               "rows_per_s": rows as f64 / median.as_secs_f64()})
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Health and an authorized ARM `GET` of a resource group (Reader inherited from the
/// subscription, `scale` principals and assignments seeded) through the router without a
/// socket: what the handlers cost, apart from HTTP and the kernel.
pub(crate) async fn routes(scale: usize) -> Result<(), Box<dyn std::error::Error>> {
    use axum::body::Body;
    use axum::http::Request;
    use entra_emulator::SeedRequest;
    use tower::ServiceExt as _;

    let emulator = Emulator::builder()
        .rbac_propagation(Duration::ZERO)
        .start()
        .await?;
    emulator.seed(&SeedRequest {
        applications: scale,
        role_assignments: scale,
        secret: None,
    })?;
    let now = emulator.now();
    let secret = "benchQ~0123456789abcdefghijklmnopqrstuv";
    let (app_id, sp_id) = (Uuid::new_v4(), Uuid::new_v4());
    test_support::insert_application(
        &emulator,
        TestApplication {
            object_id: Uuid::new_v4(),
            client_id: app_id,
            name: "bench-reader".to_owned(),
            created: now,
            secret_key_id: Uuid::new_v4(),
            secret: secret.to_owned(),
            secret_start: now - time::Duration::hours(1),
            secret_end: now + time::Duration::days(1),
            service_principal: Some(sp_id),
        },
    );
    let sub = emulator.subscription_id();
    test_support::insert_resource_group(&emulator, "bench-rg", "eastus");
    test_support::insert_role_assignment(
        &emulator,
        Uuid::new_v4(),
        &format!("/subscriptions/{sub}"),
        crate::READER,
        sp_id,
        "ServicePrincipal",
    )?;
    let router = emulator.router();
    let form = format!(
        "grant_type=client_credentials&client_id={app_id}&client_secret={secret}\
         &scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
    );
    let token_request = Request::post(format!("/{}/oauth2/v2.0/token", emulator.tenant_id()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "127.0.0.1:1")
        .body(Body::from(form))?;
    let answer = router.clone().oneshot(token_request).await?;
    let body = axum::body::to_bytes(answer.into_body(), 1 << 20).await?;
    let token: serde_json::Value = serde_json::from_slice(&body)?;
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().ok_or("no token")?
    );
    let get = || {
        Request::get(format!(
            "/subscriptions/{sub}/resourceGroups/bench-rg?api-version=2022-09-01"
        ))
        .header("host", "127.0.0.1:1")
        .header("authorization", bearer.as_str())
        .body(Body::empty())
    };
    let health = || {
        Request::get("/_emulator/health")
            .header("host", "127.0.0.1:1")
            .body(Body::empty())
    };
    let first = router.clone().oneshot(get()?).await?;
    if !first.status().is_success() {
        return Err(format!("the ARM GET answered {}", first.status()).into());
    }
    let mut best = [Duration::MAX; 2];
    for _ in 0..5 {
        for (i, make) in [&health as &dyn Fn() -> _, &get].into_iter().enumerate() {
            let n = 20_000u32;
            let started = Instant::now();
            for _ in 0..n {
                let r = router.clone().oneshot(make()?).await?;
                std::hint::black_box(axum::body::to_bytes(r.into_body(), 1 << 20).await?);
            }
            best[i] = best[i].min(started.elapsed() / n);
        }
    }
    println!(
        "BENCH {}",
        json!({"health_us": us(best[0]), "arm_get_us": us(best[1])})
    );
    Ok(())
}
