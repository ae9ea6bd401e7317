//! Load over loopback: the emulator binary and the peer as child processes, `wrk` as the
//! load tool, `openssl speed` as the physical limit, and the machine's conditions.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::process::{Child, Command};

pub(crate) type Error = Box<dyn std::error::Error>;

/// What `bench/wrk/request.lua` prints when a run ends.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct WrkRun {
    pub(crate) requests: u64,
    pub(crate) duration_us: u64,
    pub(crate) socket_errors: u64,
    pub(crate) non2xx: u64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
}

impl WrkRun {
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }
}

/// One fixed request, sent by `wrk` over keep-alive connections.
#[derive(Debug, Clone, Default)]
pub(crate) struct Load {
    pub(crate) url: String,
    pub(crate) method: &'static str,
    pub(crate) body: Option<String>,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) authorization: Option<String>,
}

/// How `wrk` is run: one thread (the other core serves), this many connections.
#[derive(Debug, Clone)]
pub(crate) struct Wrk {
    pub(crate) script: PathBuf,
    pub(crate) connections: u32,
}

impl Wrk {
    pub(crate) async fn run(&self, load: &Load, seconds: u64) -> Result<WrkRun, Error> {
        let mut cmd = Command::new("wrk");
        cmd.args(["-t1", &format!("-c{}", self.connections)])
            .arg(format!("-d{seconds}s"))
            .arg("-s")
            .arg(&self.script)
            .arg(&load.url)
            .env("BENCH_METHOD", load.method)
            .stdin(Stdio::null());
        let optional = [
            ("BENCH_BODY", load.body.as_deref()),
            ("BENCH_CONTENT_TYPE", load.content_type),
            ("BENCH_AUTHORIZATION", load.authorization.as_deref()),
        ];
        for (name, value) in optional {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
        let out = cmd.output().await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("BENCH "))
            .ok_or_else(|| format!("wrk printed no summary: {stdout}"))?;
        let run: WrkRun = serde_json::from_str(line)?;
        if run.non2xx > 0 || run.requests == 0 || run.socket_errors * 100 > run.requests {
            return Err(format!(
                "{} {}: {} answers were not 2xx and {} sockets failed (of {} requests)",
                load.method, load.url, run.non2xx, run.socket_errors, run.requests
            )
            .into());
        }
        Ok(run)
    }
}

/// `openssl speed -multi N rsa2048`: RSA-2048 signatures per second on N processes.
pub(crate) async fn openssl_rsa2048_signs(multi: usize, seconds: u64) -> Result<f64, Error> {
    let out = Command::new("openssl")
        .args(["speed", "-multi", &multi.to_string()])
        .args(["-seconds", &seconds.to_string(), "rsa2048"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The last `rsa 2048 bits <sign s> <verify s> <sign/s> <verify/s>` line is the total.
    stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("rsa") && l.contains("2048 bits"))
        .filter_map(|l| l.split_whitespace().nth(5)?.parse::<f64>().ok())
        .next_back()
        .ok_or_else(|| format!("no rsa2048 figure in openssl's output: {stdout}").into())
}

/// A child process killed when dropped.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) base_url: String,
}

impl Proc {
    /// The emulator binary on a free port with plain HTTP; returns once its connection file
    /// is written.
    pub(crate) async fn emulator(bin: &Path, dir: &Path, extra: &[&str]) -> Result<Self, Error> {
        let conn = dir.join(format!("connection-{}.json", uuid::Uuid::new_v4()));
        let child = Command::new(bin)
            .args(["--plain-http", "--bind", "127.0.0.1:0", "--connection-file"])
            .arg(&conn)
            .args(extra)
            // Warnings only: one log line per request would be part of every figure.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let text = loop {
            if let Ok(text) = std::fs::read_to_string(&conn) {
                break text;
            }
            if Instant::now() > deadline {
                return Err("the emulator wrote no connection file within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let _ = std::fs::remove_file(&conn);
        let info: serde_json::Value = serde_json::from_str(&text)?;
        let base_url = info["base_url"]
            .as_str()
            .ok_or("connection file without base_url")?
            .to_owned();
        Ok(Self { child, base_url })
    }

    /// `oauth2-mock-server -a 127.0.0.1 -p PORT`; returns once the port accepts.
    pub(crate) async fn peer(bin: &Path) -> Result<Self, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err("the peer did not listen within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Resident set size (VmRSS) in bytes.
    pub(crate) fn rss(&self) -> Result<u64, Error> {
        let pid = self.child.id().ok_or("process gone")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or("no VmRSS")?;
        Ok(kb * 1024)
    }

    /// CPU time the process has used so far (user + system), from `/proc/{pid}/stat`.
    pub(crate) fn cpu(&self) -> Result<Duration, Error> {
        let pid = self.child.id().ok_or("process gone")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields.get(11).ok_or("bad stat")?.parse::<u64>()?
            + fields.get(12).ok_or("bad stat")?.parse::<u64>()?;
        // USER_HZ is 100 on Linux.
        Ok(Duration::from_millis(ticks * 10))
    }

    /// `wrk` against this process, with the CPU time it spent serving per request.
    pub(crate) async fn load(
        &self,
        wrk: &Wrk,
        load: &Load,
        seconds: u64,
    ) -> Result<(WrkRun, Duration), Error> {
        let before = self.cpu()?;
        let run = wrk.run(load, seconds).await?;
        let used = self.cpu()?.saturating_sub(before);
        Ok((
            run,
            used / u32::try_from(run.requests.max(1)).unwrap_or(u32::MAX),
        ))
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// `entra-emulator` start to connection file written, `starts` times.
pub(crate) async fn binary_starts(
    bin: &Path,
    dir: &Path,
    starts: usize,
) -> Result<Vec<Duration>, Error> {
    let mut times = Vec::with_capacity(starts);
    for i in 0..starts {
        let conn = dir.join(format!("start-{i}.json"));
        let _ = std::fs::remove_file(&conn);
        let started = Instant::now();
        let mut child = Command::new(bin)
            .args(["--plain-http", "--bind", "127.0.0.1:0", "--connection-file"])
            .arg(&conn)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        while !conn.exists() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("no connection file within 30 s".into());
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        times.push(started.elapsed());
        child.kill().await?;
        let _ = std::fs::remove_file(&conn);
    }
    Ok(times)
}

/// The machine and the moment: what every figure was measured under.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "?".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {mem_gib:.0} GiB, Linux {}",
        kernel.trim()
    )
}

/// First line of `cmd args` (stdout, else stderr), for the tool versions.
pub(crate) async fn version(cmd: &str, args: &[&str]) -> String {
    match Command::new(cmd).args(args).output().await {
        Ok(out) => {
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        }
        Err(_) => "missing".to_owned(),
    }
}
