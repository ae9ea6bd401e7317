//! Figures measured inside one process: start-up of in-process emulators, the cost of each
//! step of a token issuance, and a KQL query over a large table. Each prints one
//! `BENCH {json}` line that the `all` command reads.

use std::time::{Duration, Instant};

use entra_emulator::Emulator;
use entra_emulator::kql::{Column, ColumnType, QueryContext, TICKS_PER_SECOND, Table, Value};
use entra_emulator::secret::SecretHash;
use entra_emulator::token::{self, Grant, TokenVersion};
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
/// claim building, claim serialization, and serialization plus signature (`token::mint`).
pub(crate) fn breakdown() {
    let secret = "benchQ~0123456789abcdefghijklmnopqrstuv";
    let hash = SecretHash::new(secret);
    let ring = entra_emulator::keys::KeyRing::new(None).expect("signing key");
    let key = ring.current();
    let (tenant, client, oid) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let grant = || Grant {
        version: TokenVersion::V1,
        aud: "https://management.azure.com/",
        tenant: &tenant,
        client_id: &client,
        client_name: "bench-app",
        object_id: &oid,
        roles: Vec::new(),
        instance_tag: "E2bench",
    };
    let now = time::OffsetDateTime::now_utc();
    let lifetime = Duration::from_secs(3600);
    let claims = token::claims(grant(), now, lifetime);
    let budget = Duration::from_millis(300);
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| per_call(budget, &mut *f))
            .min()
            .unwrap_or_default()
    };
    let verify = best(&mut || {
        std::hint::black_box(hash.matches(std::hint::black_box(secret)));
    });
    let build = best(&mut || {
        std::hint::black_box(token::claims(grant(), now, lifetime));
    });
    let serialize = best(&mut || {
        std::hint::black_box(serde_json::to_vec(std::hint::black_box(&claims)).ok());
    });
    let mint = best(&mut || {
        std::hint::black_box(token::mint(&key, std::hint::black_box(&claims)));
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
    let mut table = Table::new(
        "AppTraces",
        vec![
            Column::new("TimeGenerated", ColumnType::DateTime),
            Column::new("Level", ColumnType::String),
            Column::new("DurationMs", ColumnType::Long),
        ],
    );
    let levels = [
        Value::string("Information"),
        Value::string("Warning"),
        Value::string("Error"),
        Value::string("Verbose"),
    ];
    let start = 1_735_689_600 * TICKS_PER_SECOND; // 2025-01-01T00:00:00Z
    let span = 30 * 86_400 * TICKS_PER_SECOND;
    let step = span / i64::try_from(rows.max(1))?;
    for i in 0..rows {
        let i64_i = i64::try_from(i)?;
        table.push_row(vec![
            Value::DateTime(start + i64_i * step),
            levels[i % levels.len()].clone(),
            Value::Long(i64_i % 1000),
        ])?;
    }
    let tables = vec![table];
    let query =
        r#"AppTraces | where Level == "Error" | summarize count() by bin(TimeGenerated, 1h)"#;
    let ctx = QueryContext::log_analytics(time::OffsetDateTime::now_utc());
    let mut times = Vec::new();
    let mut groups = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let result = entra_emulator::kql::run(query, &tables, &ctx)?;
        times.push(started.elapsed());
        groups = result.row_count();
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
    use entra_emulator::directory::{Application, PasswordCredential, ServicePrincipal};
    use entra_emulator::rbac::{Assignment, RoleRef, Scope};
    use entra_emulator::services::SeedRequest;
    use tower::ServiceExt as _;

    let emulator = Emulator::builder()
        .rbac_propagation(Duration::ZERO)
        .start()
        .await?;
    let state = emulator.state().clone();
    state.seed(&SeedRequest {
        applications: scale,
        role_assignments: scale,
        secret: None,
    })?;
    let now = state.clock.now();
    let secret = "benchQ~0123456789abcdefghijklmnopqrstuv";
    let (app_id, sp_id) = (Uuid::new_v4(), Uuid::new_v4());
    {
        let mut dir = state.directory_mut();
        let mut app = Application::new(Uuid::new_v4(), app_id, "bench-reader", now);
        app.password_credentials = vec![PasswordCredential {
            key_id: Uuid::new_v4(),
            display_name: None,
            hint: "ben".to_owned(),
            start: now - time::Duration::hours(1),
            end: now + time::Duration::days(1),
            hash: SecretHash::new(secret),
        }];
        dir.insert_app(app);
        dir.insert_sp(ServicePrincipal::new(sp_id, app_id, "bench-reader", now));
    }
    let sub = emulator.subscription_id();
    {
        let mut arm = state.arm_mut();
        arm.put_group(entra_emulator::resources::ResourceGroup {
            subscription: sub,
            name: "bench-rg".to_owned(),
            location: "eastus".to_owned(),
            tags: None,
            managed_by: None,
        });
        let reader = entra_emulator::rbac::find_by_id(entra_emulator::rbac::roles::ids::READER)
            .ok_or("no Reader")?;
        arm.authz
            .upsert(
                Assignment::of_service_principal(
                    Uuid::new_v4(),
                    Scope::subscription(&sub.to_string())?,
                    RoleRef::BuiltIn(reader),
                    sp_id,
                    now,
                ),
                now,
                [Duration::ZERO; 4],
            )
            .map_err(|e| format!("{e:?}"))?;
    }
    let router = entra_emulator::router::router(state.clone());
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
