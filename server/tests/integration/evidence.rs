//! Evidence photos (issue 18): the police's photo from `EVIDENCE_DIR` to the record's holder only, and the drawn
//! sketch, saying it is one, for a record without a photo.

use app::platform::evidence::DirectoryStore;
use app::violations::model::NO_PHOTO;

use crate::support::{TestApp, LI_SI, ZHANG_SAN};

/// 张三's, on 辽B12345: it has a photo.
const RED_LIGHT: &str = "210200202609170001";
/// 张三's, on 辽BD12345: it has none.
const WRONG_WAY: &str = "210200202610090002";

/// A small JPEG-shaped file whose body names `tag`, so each test knows which bytes it should get back.
pub fn jpeg(tag: &str) -> Vec<u8> {
    [&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10][..], b"JFIF\0", tag.as_bytes(), &[0xFF, 0xD9]].concat()
}

/// A fresh empty folder under the temporary directory.
pub fn folder(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dlt-evidence-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn evidence(client: &reqwest::Client, app: &TestApp, record_no: &str) -> reqwest::Response {
    client.get(format!("{}/evidence/{record_no}", app.base)).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_gets_the_police_photo_and_no_one_else_does() {
    let photos = folder("serve");
    let photo = jpeg("red light at 中山路");
    DirectoryStore::open(&photos).unwrap().put(RED_LIGHT, &photo).unwrap();
    let dir = photos.to_str().unwrap();
    for (db, app) in TestApp::each_with_demo_and(&[("EVIDENCE_DIR", dir)]).await {
        let zhang = app.linked_browser("wechat", "evidence-holder", &ZHANG_SAN).await;
        let answer = evidence(&zhang.client, &app, RED_LIGHT).await;
        assert_eq!(answer.status(), 200, "{db}");
        assert_eq!(answer.headers()["content-type"], "image/jpeg", "{db}");
        assert_eq!(answer.headers()["cache-control"], "private", "{db}");
        assert_eq!(answer.bytes().await.unwrap(), photo, "{db}: the police's bytes, unchanged");
        zhang.submit("/api/violations_agree", &[]).await;
        let page = zhang.get(&format!("/violations/record?no={RED_LIGHT}")).await;
        assert!(
            page.contains(r#"alt="违法证据照片""#) && page.contains("<figcaption>违法证据照片</figcaption>"),
            "{db}"
        );
        assert!(!page.contains(NO_PHOTO), "{db}: a record with a photo is not called a sketch");

        // 李四's card does not hold the vehicle; a signed-in account without 实名认证 and a guest hold nothing.
        let li = app.linked_browser("icbc", "evidence-other-card", &LI_SI).await;
        assert_eq!(evidence(&li.client, &app, RED_LIGHT).await.status(), 404, "{db}");
        let stranger = app.browser();
        stranger.sign_in("wechat", "evidence-stranger").await;
        assert_eq!(evidence(&stranger.client, &app, RED_LIGHT).await.status(), 404, "{db}");
        let guest = evidence(&reqwest::Client::new(), &app, RED_LIGHT).await;
        assert_eq!(guest.status(), 404, "{db}");
        assert!(!guest.bytes().await.unwrap().starts_with(&[0xFF, 0xD8]), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_a_photo_gets_the_sketch_and_says_so() {
    let photos = folder("sketch");
    DirectoryStore::open(&photos).unwrap().put(RED_LIGHT, &jpeg("not this one")).unwrap();
    let dir = photos.to_str().unwrap();
    // With a store that lacks the record's photo, and with no store at all.
    for settings in [&[("EVIDENCE_DIR", dir)][..], &[]] {
        for (db, app) in TestApp::each_with_demo_and(settings).await {
            let zhang = app.linked_browser("icbc", "evidence-sketch", &ZHANG_SAN).await;
            let answer = evidence(&zhang.client, &app, WRONG_WAY).await;
            assert_eq!(answer.status(), 200, "{db}");
            assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("image/svg+xml"), "{db}");
            let sketch = answer.text().await.unwrap();
            assert!(sketch.contains(NO_PHOTO) && sketch.contains("辽BD12345"), "{db}: {sketch}");
            zhang.submit("/api/violations_agree", &[]).await;
            let page = zhang.get(&format!("/violations/record?no={WRONG_WAY}")).await;
            assert!(page.contains(r#"alt="违法证据照片""#), "{db}");
            assert!(page.contains(&format!("<figcaption>{NO_PHOTO}</figcaption>")), "{db}: {page}");
            if settings.is_empty() {
                let other = evidence(&zhang.client, &app, RED_LIGHT).await;
                assert!(other.text().await.unwrap().contains(NO_PHOTO), "{db}: without a store every record is drawn");
            }
        }
    }
}
