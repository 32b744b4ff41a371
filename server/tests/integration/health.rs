//! `/healthz` and `/readyz` (issue 19): uncached answers a load balancer can poll, on both databases.

use crate::support::TestApp;

#[tokio::test]
async fn health_and_readiness_answer_uncached_and_readiness_follows_the_migrations() {
    for (db, app) in TestApp::each().await {
        let client = reqwest::Client::new();
        for (path, body) in [("/healthz", r#""status":"ok""#), ("/readyz", r#""migrations":"current""#)] {
            let answer = client.get(format!("{}{path}", app.base)).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{db}: {path}");
            assert_eq!(answer.headers()["cache-control"], "no-store", "{db}: {path}");
            assert!(answer.text().await.unwrap().contains(body), "{db}: {path}");
        }
        // A database missing one of this build's migrations is not ready; the process still answers.
        sqlx::query("DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)")
            .execute(app.db.pool())
            .await
            .unwrap();
        let answer = client.get(format!("{}/readyz", app.base)).send().await.unwrap();
        assert_eq!(answer.status(), 503, "{db}");
        assert!(answer.text().await.unwrap().contains(r#""migrations":"behind""#), "{db}");
        assert_eq!(client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200, "{db}");
    }
}

/// Waits until `/readyz` reports `wanted` and returns the answer's status.
async fn readiness_reporting(app: &TestApp, wanted: &str) -> u16 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = reqwest::get(format!("{}/readyz", app.base)).await.unwrap();
        let status = answer.status().as_u16();
        let body = answer.text().await.unwrap();
        if body.contains(wanted) {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "/readyz never said {wanted}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readiness_reports_the_gateways_reachability_without_failing_on_it() {
    for (db, app) in TestApp::each().await {
        let status = readiness_reporting(&app, r#""gateways":{"wechat":"reachable","icbc":"reachable"}"#).await;
        assert_eq!(status, 200, "{db}");
    }
    // A gateway nobody answers at: reported, and the instance still serves.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = format!("http://127.0.0.1:{closed}");
    for (db, app) in TestApp::each_with(&[("PAYMENT_SANDBOX_URL", &unreachable)]).await {
        let status = readiness_reporting(&app, r#""wechat":"unreachable","icbc":"unreachable""#).await;
        assert_eq!(status, 200, "{db}: an unreachable gateway is reported, not fatal");
    }
}
