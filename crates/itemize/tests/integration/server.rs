//! Server behaviour: graceful shutdown that finishes requests in flight, body limits, panics contained.

use crate::harness::TestApp;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight() {
    let t = TestApp::sqlite().await;
    let mut s = t.serve().await;
    let body = br#"{"code": "CC-77", "name": "In flight"}"#;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/cost-centres HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        s.token,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Shutdown begins while the request is half sent.
    s.shutdown.take().unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    conn.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    tokio::time::timeout(Duration::from_secs(5), &mut s.handle)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "no new connections after shutdown");
    assert_eq!(
        t.store()
            .session()
            .await
            .unwrap()
            .count(itemize_core::refdata::Kind::CostCentre, true)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_with_413() {
    let t = TestApp::sqlite().await;
    let s = t.serve_with(itemize_web::WebOptions { max_body_bytes: 1024, ..Default::default() }).await;
    let big = serde_json::json!({"code": "CC-1", "name": "x".repeat(4000)});
    let (status, _, body) = s.post("/api/v1/cost-centres", big).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")));
    let (status, _, _) =
        s.post("/api/v1/cost-centres", serde_json::json!({"code": "CC-1", "name": "small"})).await;
    assert_eq!(status, 201);
}
