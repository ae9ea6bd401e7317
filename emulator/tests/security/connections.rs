//! Connections that never finish a request cannot hold the server: past the connection cap
//! they wait in the backlog, and the header-read timeout closes them. The timeouts here are
//! configured short so that the tests need not wait; nothing is timed (each wait has a
//! deadline only so that a server that never closes a connection fails instead of hanging).

use std::sync::Arc;
use std::time::Duration;

use entra_emulator::Emulator;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// How long the tests' servers give a connection to send a request head.
const HEADER_TIMEOUT: Duration = Duration::from_millis(300);

/// Longest wait for something the server must do; only a hang reaches it.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn addr(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_owned()
}

/// Reads until the server closes the stream; what it sent first.
async fn until_closed(stream: &mut (impl AsyncReadExt + Unpin), what: &str) -> Vec<u8> {
    let mut received = Vec::new();
    match tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut received)).await {
        Ok(_) => received, // EOF or a reset: closed either way
        Err(_) => panic!("{what}: the server never closed the connection"),
    }
}

/// A client that opens a new connection for every request, so that no pooled connection
/// the server has just closed is reused.
fn fresh_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder
        .pool_max_idle_per_host(0)
        .timeout(HANG_GUARD)
        .build()
        .expect("client")
}

#[tokio::test]
async fn slow_and_silent_connections_are_closed_and_health_still_answers() {
    let emu = Emulator::builder()
        .max_connections(2)
        .header_read_timeout(HEADER_TIMEOUT)
        .start()
        .await
        .expect("emulator");
    let addr = addr(emu.url());
    // Four times the cap: silent connections, a slowloris head that never ends, and the
    // first bytes of the HTTP/2 preface (before hyper knows the protocol).
    let mut slow = Vec::new();
    for i in 0..8 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        let partial: &[u8] = match i % 3 {
            0 => b"",
            1 => b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
            _ => b"PRI * HTTP/2.0\r\n",
        };
        stream.write_all(partial).await.expect("write");
        slow.push(stream);
    }
    let health = {
        let client = fresh_client(reqwest::Client::builder());
        let url = format!("{}/_emulator/health", emu.url());
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) })
    };
    for (i, stream) in slow.iter_mut().enumerate() {
        let answer = until_closed(stream, &format!("slow connection {i}")).await;
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
            "connection {i} was answered: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    let status = health.await.expect("task").expect("health answers");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let emu = Emulator::builder()
        .header_read_timeout(HEADER_TIMEOUT)
        .start()
        .await
        .expect("emulator");
    let mut stream = TcpStream::connect(addr(emu.url())).await.expect("connect");
    stream
        .write_all(b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    // One answer, then nothing more: the server ends the connection once it has been idle.
    let answer = until_closed(&mut stream, "idle keep-alive connection").await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
}

#[tokio::test]
async fn https_connections_that_never_finish_the_handshake_or_a_request_are_closed() {
    use rustls::pki_types::ServerName;
    let emu = Emulator::builder()
        .https()
        .max_connections(2)
        .header_read_timeout(HEADER_TIMEOUT)
        .start()
        .await
        .expect("emulator");
    let ca = emu.ca_cert_pem().expect("ca").to_owned();
    let addr = addr(emu.url());
    // Silent before the TLS handshake.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // Through the handshake (HTTP/2 or HTTP/1.1 offered), then silent.
    let connector = tokio_rustls::TlsConnector::from(Arc::new(alpn_tls_config(&ca)));
    let mut quiet = Vec::new();
    for _ in 0..2 {
        let tcp = TcpStream::connect(&addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        quiet.push(connector.connect(name, tcp).await.expect("handshake"));
    }
    let health = {
        let client = https_client(&ca);
        let url = format!("{}/_emulator/health", emu.url());
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) })
    };
    for (i, stream) in silent.iter_mut().enumerate() {
        let answer = until_closed(stream, &format!("silent TCP connection {i}")).await;
        assert!(answer.is_empty(), "no TLS bytes were expected: {answer:?}");
    }
    for (i, stream) in quiet.iter_mut().enumerate() {
        // HTTP/2 servers speak first (SETTINGS); HTTP/1.1 ones say nothing. Either way the
        // connection ends.
        until_closed(stream, &format!("quiet TLS connection {i}")).await;
    }
    let status = tokio::time::timeout(HANG_GUARD, health)
        .await
        .expect("health answers")
        .expect("task")
        .expect("request");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_binary_takes_the_connection_flags_and_refuses_a_zero_timeout() {
    let bin = RunningBinary::spawn(
        &[
            "--plain-http",
            "--max-connections",
            "4",
            "--header-read-timeout",
            "300ms",
        ],
        &[],
    )
    .await;
    let mut silent = TcpStream::connect(addr(bin.url())).await.expect("connect");
    assert!(
        until_closed(&mut silent, "silent connection")
            .await
            .is_empty()
    );
    for (flag, value) in [("--header-read-timeout", "0s"), ("--max-connections", "0")] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
            .args(["--plain-http", "--bind", "127.0.0.1:0", flag, value])
            .output()
            .await
            .expect("run");
        assert!(!out.status.success(), "{flag} {value} was taken");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(flag), "{stderr}");
    }
}
