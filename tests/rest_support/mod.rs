//! A small REST client for the tests of ONTAP's REST conventions (`rest_collections.rs`,
//! `rest_error_codes.rs`): one keep-alive TLS connection to a simulator started for the test.

#![allow(dead_code)]

use crate::common::z::ADMIN;
use crate::common::{Client, Sim};
use serde_json::Value;

pub struct R {
    pub sim: Sim,
    c: Client,
}

impl R {
    pub async fn start(config: Option<&str>) -> R {
        let sim = Sim::start(config);
        let c = sim.client().await;
        R { sim, c }
    }

    pub async fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let r = self
            .c
            .request(method, path, bytes, Some(ADMIN))
            .await
            .expect("request");
        let v = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", r.body));
        (r.status, v)
    }

    pub async fn get(&mut self, path: &str) -> Value {
        let (s, v) = self.send("GET", path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// A job polled to its end: the job record.
    pub async fn wait(&mut self, uuid: &str) -> Value {
        for _ in 0..400 {
            let j = self
                .get(&format!("/api/cluster/jobs/{uuid}?fields=**"))
                .await;
            if matches!(j["state"].as_str(), Some("success" | "failure")) {
                return j;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("job {uuid} never ended");
    }

    /// An asynchronous verb: 202 and a job, polled to its end; the job record.
    pub async fn job(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.send(method, path, body).await;
        assert_eq!(s, 202, "{method} {path}: {v}");
        let uuid = v["job"]["uuid"].as_str().expect("job uuid").to_string();
        self.wait(&uuid).await
    }

    pub async fn ok_job(&mut self, method: &str, path: &str, body: Option<Value>) {
        let j = self.job(method, path, body).await;
        assert_eq!(j["state"], "success", "{method} {path}: {j}");
    }

    pub async fn one(&mut self, path: &str) -> Value {
        let v = self.get(path).await;
        assert_eq!(v["num_records"], 1, "{path}: {v}");
        v["records"][0].clone()
    }

    /// A volume's UUID by name (in svm1).
    pub async fn vol_uuid(&mut self, name: &str) -> String {
        self.one(&format!("/api/storage/volumes?name={name}&svm.name=svm1"))
            .await["uuid"]
            .as_str()
            .expect("uuid")
            .to_string()
    }

    /// Make a volume in svm1 on aggr1 (20 MiB... `size` bytes), mounted at `/name`.
    pub async fn volume(&mut self, name: &str, size: u64) -> String {
        self.ok_job(
            "POST",
            "/api/storage/volumes",
            Some(
                serde_json::json!({"name": name, "size": size, "svm": {"name": "svm1"},
                "aggregates": [{"name": "aggr1"}], "nas": {"path": format!("/{name}")}}),
            ),
        )
        .await;
        self.vol_uuid(name).await
    }
}
