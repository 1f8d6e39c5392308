//! The ZAPI conformance suites' shared helpers: one simulator with one keep-alive TLS connection,
//! typed reads of records, and the request shapes Trident and Ansible send.
#![allow(dead_code)]

use super::*;
use ontap_sim::zapi::xml::Element;

pub const ADMIN: (&str, &str) = ("admin", PASSWORD);

/// Two SVMs on their own aggregates, with cluster, SVM-scoped and read-only users: the topology
/// the scope and role tests of both fronts share.
pub const TWO_SVMS: &str = r#"
seed = "zapi-scope"
[[aggregates]]
name = "aggr1"
size = "2TiB"
[[aggregates]]
name = "aggr2"
size = "1TiB"

[[svms]]
name = "svm1"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[svms]]
name = "svm2"
aggregates = ["aggr2"]
[[svms.lifs]]
name = "svm2_data"
address = "127.0.0.2"

[[users]]
name = "admin"
[[users]]
name = "vsadmin"
scope = "svm1"
[[users]]
name = "vs2admin"
scope = "svm2"
[[users]]
name = "ro"
role = "readonly"
[[users]]
name = "vsro"
scope = "svm1"
role = "readonly"
"#;

/// One simulator and one keep-alive TLS connection to it.
pub struct Z {
    #[allow(dead_code)]
    pub sim: Sim,
    pub c: Client,
}

#[allow(dead_code)]
impl Z {
    pub async fn start(config: Option<&str>) -> Z {
        let sim = Sim::start(config);
        let c = sim.client().await;
        Z { sim, c }
    }

    /// Send one API element as `user`, tunnelled to `vfiler` when given.
    pub async fn post_as(&mut self, user: (&str, &str), vfiler: Option<&str>, api: &str) -> String {
        let body = match vfiler {
            Some(v) => zapi_vfiler(v, api),
            None => zapi(api),
        };
        let r = self.c.post(&body, Some(user)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// As the cluster admin tunnelled to svm1 (what Trident does after SVM discovery).
    pub async fn svm(&mut self, api: &str) -> String {
        self.post_as(ADMIN, Some("svm1"), api).await
    }

    /// As the cluster admin without a tunnel (cluster context).
    pub async fn cluster(&mut self, api: &str) -> String {
        self.post_as(ADMIN, None, api).await
    }

    /// Poll `quota-status` of `volume` until quotas are on (at most 10 s).
    pub async fn wait_quota_on(&mut self, volume: &str) {
        let start = std::time::Instant::now();
        loop {
            let r = self
                .ok(&format!(
                    "<quota-status><volume>{volume}</volume></quota-status>"
                ))
                .await;
            if txt(&r, "status") == "on" {
                return;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "quotas of {volume} never came on"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn ok(&mut self, api: &str) -> Element {
        let body = self.svm(api).await;
        assert_passed_api(&body, api)
    }

    pub async fn fail(&mut self, api: &str, errno: u32, reason: &str) {
        let body = self.svm(api).await;
        assert_failed(&body, errno, reason);
    }

    /// Every record of an SVM-context iterator call (one page of up to 10000).
    pub async fn list(&mut self, iter_api: &str, query: &str) -> Vec<Element> {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("<query>{query}</query>")
        };
        let r = self
            .ok(&format!(
                "<{iter_api}><max-records>10000</max-records>{q}</{iter_api}>"
            ))
            .await;
        let recs = records(&r);
        assert_eq!(
            r.child_text("num-records"),
            Some(recs.len().to_string().as_str())
        );
        assert!(r.child("next-tag").is_none());
        recs
    }

    /// The volume's full record as read with an exact-name query, if it exists.
    pub async fn vol(&mut self, name: &str) -> Option<Element> {
        let mut v = self
            .list(
                "volume-get-iter",
                &format!(
                    "<volume-attributes><volume-id-attributes><name>{name}</name></volume-id-attributes></volume-attributes>"
                ),
            )
            .await;
        assert!(v.len() <= 1, "{name} listed {} times", v.len());
        v.pop()
    }

    pub async fn must_vol(&mut self, name: &str) -> Element {
        self.vol(name)
            .await
            .unwrap_or_else(|| panic!("volume {name} should exist"))
    }

    /// (size-used, size-available, size-total) of an aggregate, read with aggr-get-iter.
    pub async fn aggr(&mut self, name: &str) -> (u64, u64, u64) {
        let body = self
            .cluster(&format!(
                "<aggr-get-iter><query><aggr-attributes><aggregate-name>{name}</aggregate-name></aggr-attributes></query></aggr-get-iter>"
            ))
            .await;
        let r = assert_passed(&body);
        let recs = records(&r);
        assert_eq!(recs.len(), 1, "{body}");
        let s = &recs[0];
        let used = num(s, "aggr-space-attributes/size-used");
        let avail = num(s, "aggr-space-attributes/size-available");
        let total = num(s, "aggr-space-attributes/size-total");
        assert_eq!(
            used + avail,
            total,
            "aggregate {name}: used + available = total"
        );
        assert!(used <= total, "aggregate {name} over-committed");
        (used, avail, total)
    }

    /// volume-create with the elements Trident sends (§3.1), on aggr with the given space-reserve.
    pub async fn create(&mut self, name: &str, aggr: &str, size: &str, reserve: &str) {
        self.ok(&trident_create(name, aggr, size, reserve)).await;
    }

    /// The snapshots of a volume, by name.
    pub async fn snaps(&mut self, volume: &str) -> Vec<Element> {
        self.list(
            "snapshot-get-iter",
            &format!("<snapshot-info><volume>{volume}</volume></snapshot-info>"),
        )
        .await
    }
}

pub fn trident_create(name: &str, aggr: &str, size: &str, reserve: &str) -> String {
    format!(
        "<volume-create><containing-aggr-name>{aggr}</containing-aggr-name><export-policy>default</export-policy>\
         <percentage-snapshot-reserve>0</percentage-snapshot-reserve><size>{size}</size>\
         <snapshot-policy>none</snapshot-policy><space-reserve>{reserve}</space-reserve><tiering-policy>none</tiering-policy>\
         <unix-permissions>---rwxrwxrwx</unix-permissions><volume>{name}</volume><volume-comment></volume-comment>\
         <volume-security-style>unix</volume-security-style></volume-create>"
    )
}

pub fn assert_passed_api(body: &str, api: &str) -> Element {
    let (status, errno, reason) = results(body);
    assert_eq!(
        status, "passed",
        "request {api}\nfailed with errno {errno:?}: {reason:?}"
    );
    results_el(body)
}

/// The records of an iterator answer (empty when there is no attributes-list).
pub fn records(r: &Element) -> Vec<Element> {
    r.child("attributes-list")
        .map(|l| l.children.clone())
        .unwrap_or_default()
}

/// The element at a slash-separated path.
pub fn at<'a>(e: &'a Element, path: &str) -> &'a Element {
    let parts: Vec<&str> = path.split('/').collect();
    e.path(&parts)
        .unwrap_or_else(|| panic!("no {path} in <{}>: {}", e.name, e.to_xml()))
}

/// The text at a slash-separated path.
pub fn txt<'a>(e: &'a Element, path: &str) -> &'a str {
    at(e, path).text.as_str()
}

pub fn has(e: &Element, path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    e.path(&parts).is_some()
}

/// The integer at a slash-separated path.
pub fn num(e: &Element, path: &str) -> u64 {
    let t = txt(e, path);
    t.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{path} = {t:?} is not an integer"))
}

/// The values of one field across records.
pub fn field(recs: &[Element], path: &str) -> Vec<String> {
    recs.iter().map(|r| txt(r, path).to_string()).collect()
}

pub const GIB: u64 = 1 << 30;
// ---- end of helpers ----

/// The one-SVM cluster most ZAPI test files start (svm1 on aggr1, a data LIF on loopback, the
/// admin user); each passes its own `seed`, so their UUIDs differ.
pub fn one_svm(seed: &str) -> String {
    format!(
        r#"
seed = "{seed}"
[[aggregates]]
name = "aggr1"
size = "2TiB"

[[svms]]
name = "svm1"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[users]]
name = "admin"
"#
    )
}
