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
