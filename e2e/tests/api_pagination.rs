//! Every list pages the same way: `page` from 1, `per_page` 1..=200 (default 50); out-of-range
//! values are 400 problems; a page past the end is empty but still carries the total; listings
//! that skip rows stop at a depth of 100,000 items (400 beyond).

use std::collections::HashSet;

use rieter_e2e::api::Auth;
use rieter_e2e::{Build, Options, Rieter, build_many};
use serde_json::Value;

const LISTS: [&str; 6] = [
    "/api/v1/distros",
    "/api/v1/distros/pg/repos",
    "/api/v1/packages",
    "/api/v1/uploads",
    "/api/v1/keys",
    "/api/v1/packages/{id}/files",
];

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_alike_and_refuse_out_of_range_pages() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let builds = Build::many("api-page", 7, "1.0");
    let files = build_many(&builds).unwrap();
    let mut ids = Vec::new();
    for file in &files {
        ids.push(rieter.upload("pg/main", file).await.unwrap());
    }
    for id in &ids {
        assert_eq!(rieter.wait_final(id).await.unwrap()["status"], "published");
    }
    let package = rieter.get_ok("/api/v1/packages?per_page=1").await.unwrap()["items"][0]["id"]
        .as_i64()
        .unwrap();
    let key = rieter_e2e::API_KEY;
    for i in 0..3 {
        let scopes = serde_json::json!([{"permission": "publish", "distro": "pg"}]);
        rieter
            .create_key(&format!("key {i}"), scopes)
            .await
            .unwrap();
    }

    for list in LISTS {
        let list = list.replace("{id}", &package.to_string());
        let get = |query: String| {
            let (rieter, list) = (&rieter, list.clone());
            async move {
                rieter
                    .get_json(&format!("{list}?{query}"), Auth::Bearer(key))
                    .await
                    .unwrap()
            }
        };
        for bad in [
            "page=0",
            "page=-1",
            "page=1000001",
            "page=x",
            "per_page=0",
            "per_page=201",
            "per_page=-5",
        ] {
            let (status, body) = get(bad.to_owned()).await;
            assert_eq!(status, 400, "{list}?{bad}: {body}");
            assert_eq!(body["status"], 400, "{list}?{bad}: {body}");
            assert_eq!(body["type"], "about:blank");
        }
        let (status, first) = get(String::new()).await;
        assert_eq!(status, 200, "{list}: {first}");
        assert_eq!(first["page"], 1);
        assert_eq!(first["per_page"], 50);
        let total = first["total"].as_i64().unwrap();
        assert!(total >= 1, "{list}: {first}");

        // Walking pages of 2 visits every item once.
        let mut seen = Vec::new();
        for page in 1..=(total + 1) / 2 {
            let (_, body) = get(format!("page={page}&per_page=2")).await;
            assert_eq!(body["total"], total, "{list}");
            assert_eq!(body["page"], page);
            assert_eq!(body["per_page"], 2);
            let items = body["items"].as_array().unwrap();
            let expected = 2.min(total - (page - 1) * 2) as usize;
            assert_eq!(items.len(), expected, "{list} page {page}");
            seen.extend(items.iter().cloned());
        }
        assert_eq!(seen.len() as i64, total);
        let unique: HashSet<String> = seen.iter().map(Value::to_string).collect();
        assert_eq!(unique.len(), seen.len(), "{list}: an item on two pages");
        assert_eq!(seen[..], first["items"].as_array().unwrap()[..], "{list}");

        // Past the end: no items, the same total. Listings that skip rows stop at a depth of
        // 100,000 items; a file list is sliced and pages on.
        let is_file_list = list.ends_with("/files");
        let mut past_the_end = vec![total + 1, 500];
        if is_file_list {
            past_the_end.push(1_000_000);
        }
        for page in past_the_end {
            let (status, body) = get(format!("page={page}&per_page=200")).await;
            assert_eq!(status, 200, "{list}");
            assert_eq!(body["items"], serde_json::json!([]), "{list} page {page}");
            assert_eq!(body["total"], total, "{list}");
        }
        if !is_file_list {
            for too_deep in ["page=501&per_page=200", "page=100001", "page=1000000"] {
                let (status, body) = get(too_deep.to_owned()).await;
                assert_eq!(status, 400, "{list}?{too_deep}: {body}");
                let detail = body["detail"].as_str().unwrap();
                assert!(detail.contains("narrow"), "{list}?{too_deep}: {detail}");
            }
        }
    }
}
