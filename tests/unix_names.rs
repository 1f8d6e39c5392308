//! An SVM's local UNIX users and groups through the real binary, on both fronts
//! (`name-mapping-unix-user-*` / `-group-*` over ZAPI, `/api/name-services/unix-users` and
//! `unix-groups` over REST), and quota user and group targets resolved through them: by name or
//! ID, refused for an unknown name (changing nothing), the report showing the resolved name and
//! ID with usage measured from the files the ID owns in the volume's data.

mod common;
use common::z::*;
#[allow(unused_imports)]
use common::*;
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

fn config() -> String {
    one_svm("unix-names")
}

async fn users(z: &mut Z) -> Vec<(String, String, String)> {
    z.list("name-mapping-unix-user-get-iter", "")
        .await
        .iter()
        .map(|u| {
            assert_eq!(txt(u, "vserver"), "svm1");
            assert!(
                has(u, "full-name"),
                "Ansible reads full-name unconditionally"
            );
            (
                txt(u, "user-name").to_string(),
                txt(u, "user-id").to_string(),
                txt(u, "group-id").to_string(),
            )
        })
        .collect()
}

fn triples(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test]
async fn users_and_groups_over_zapi_seeded_as_on_ontap() {
    let mut z = Z::start(Some(&config())).await;
    assert_eq!(
        users(&mut z).await,
        triples(&[
            ("nobody", "65535", "65535"),
            ("pcuser", "65534", "65534"),
            ("root", "0", "1")
        ])
    );
    let groups = z.list("name-mapping-unix-group-get-iter", "").await;
    assert_eq!(
        field(&groups, "group-name"),
        ["daemon", "nobody", "pcuser", "root"]
    );
    assert_eq!(field(&groups, "group-id"), ["1", "65535", "65534", "0"]);

    // Ansible's create, then the same again, then bad input: nothing changes.
    z.ok("<name-mapping-unix-user-create><user-name>alice</user-name><group-id>100</group-id><user-id>1001</user-id><full-name>Alice A</full-name></name-mapping-unix-user-create>").await;
    z.fail("<name-mapping-unix-user-create><user-name>alice</user-name><group-id>1</group-id><user-id>1</user-id></name-mapping-unix-user-create>", 13130, "already exists").await;
    z.fail("<name-mapping-unix-user-create><user-name>12</user-name><group-id>1</group-id><user-id>1</user-id></name-mapping-unix-user-create>", 13115, "UNIX user name").await;
    z.fail("<name-mapping-unix-user-create><user-name>b b</user-name><group-id>1</group-id><user-id>1</user-id></name-mapping-unix-user-create>", 13115, "UNIX user name").await;
    z.fail("<name-mapping-unix-user-create><user-name>bob</user-name><group-id>1</group-id><user-id>4294967296</user-id></name-mapping-unix-user-create>", 13115, "out of range").await;
    let alice = z
        .list(
            "name-mapping-unix-user-get-iter",
            "<unix-user-info><user-name>alice</user-name><vserver>svm1</vserver></unix-user-info>",
        )
        .await;
    assert_eq!(field(&alice, "full-name"), ["Alice A"]);
    z.ok("<name-mapping-unix-user-modify><user-name>alice</user-name><user-id>1002</user-id></name-mapping-unix-user-modify>").await;
    z.fail("<name-mapping-unix-user-modify><user-name>nope</user-name><user-id>1</user-id></name-mapping-unix-user-modify>", 15661, "does not exist").await;
    assert_eq!(
        users(&mut z).await[0],
        ("alice".into(), "1002".into(), "100".into())
    );

    // Groups and their members.
    z.ok("<name-mapping-unix-group-create><group-name>eng</group-name><group-id>100</group-id></name-mapping-unix-group-create>").await;
    z.fail("<name-mapping-unix-group-create><group-name>eng</group-name><group-id>7</group-id></name-mapping-unix-group-create>", 13130, "already exists").await;
    z.ok("<name-mapping-unix-group-add-user><group-name>eng</group-name><user-name>alice</user-name></name-mapping-unix-group-add-user>").await;
    z.fail("<name-mapping-unix-group-add-user><group-name>eng</group-name><user-name>ghost</user-name></name-mapping-unix-group-add-user>", 15661, "ghost").await;
    // A name other name services know is taken with skip-name-validation.
    z.ok("<name-mapping-unix-group-add-user><group-name>eng</group-name><user-name>ldapuser</user-name><skip-name-validation>true</skip-name-validation></name-mapping-unix-group-add-user>").await;
    z.ok("<name-mapping-unix-group-delete-user><group-name>eng</group-name><user-name>ldapuser</user-name></name-mapping-unix-group-delete-user>").await;
    let eng = z
        .list(
            "name-mapping-unix-group-get-iter",
            "<unix-group-info><group-name>eng</group-name></unix-group-info>",
        )
        .await;
    assert_eq!(
        field(&eng, "users/unix-group-user-info/user-name"),
        ["alice"]
    );
    // A deleted user leaves its groups.
    z.ok("<name-mapping-unix-user-destroy><user-name>alice</user-name></name-mapping-unix-user-destroy>").await;
    z.fail("<name-mapping-unix-user-destroy><user-name>alice</user-name></name-mapping-unix-user-destroy>", 15661, "does not exist").await;
    let eng = z
        .list(
            "name-mapping-unix-group-get-iter",
            "<unix-group-info><group-name>eng</group-name></unix-group-info>",
        )
        .await;
    assert!(!has(&eng[0], "users"));
    z.ok("<name-mapping-unix-group-destroy><group-name>eng</group-name></name-mapping-unix-group-destroy>").await;
    assert_eq!(
        z.list("name-mapping-unix-group-get-iter", "").await.len(),
        4
    );
}

fn user_rule(t: &str, target: &str, qtree: &str, limit: u64) -> String {
    format!(
        "<quota-set-entry><disk-limit>{limit}</disk-limit><qtree>{qtree}</qtree><quota-target>{target}</quota-target><quota-type>{t}</quota-type><volume>fv</volume></quota-set-entry>"
    )
}

#[tokio::test]
async fn quota_targets_resolve_by_name_and_usage_counts_what_the_id_owns() {
    let mut z = Z::start(Some(&config())).await;
    z.create("fv", "aggr1", "10g", "none").await;
    z.ok("<volume-mount><junction-path>/fv</junction-path><volume-name>fv</volume-name></volume-mount>").await;
    z.ok("<qtree-create><qtree>q1</qtree><volume>fv</volume></qtree-create>")
        .await;
    let uuid = txt(
        &z.must_vol("fv").await,
        "volume-id-attributes/instance-uuid",
    )
    .to_string();
    let data = z
        .sim
        .dir
        .path()
        .join("state/volumes")
        .join(&uuid)
        .join("data");
    // The simulator runs as this test's user: its files are this uid's and gid's.
    let me = std::fs::metadata(data.join("q1")).unwrap();
    let (uid, gid) = (me.uid(), me.gid());
    z.ok(&format!("<name-mapping-unix-user-create><user-name>tester</user-name><group-id>{gid}</group-id><user-id>{uid}</user-id></name-mapping-unix-user-create>")).await;
    z.ok(&format!("<name-mapping-unix-user-create><user-name>other</user-name><group-id>{gid}</group-id><user-id>{}</user-id></name-mapping-unix-user-create>", uid.wrapping_add(1))).await;
    z.ok(&format!("<name-mapping-unix-group-create><group-name>testers</group-name><group-id>{gid}</group-id></name-mapping-unix-group-create>")).await;

    // An unknown name is refused and changes nothing; names, IDs and lists of them are taken.
    z.fail(
        &user_rule("user", "bob", "q1", 10),
        13115,
        "\"bob\" is not a UNIX user",
    )
    .await;
    z.fail(&user_rule("user", "tester,bob", "", 10), 13115, "\"bob\"")
        .await;
    z.fail(
        &user_rule("group", "nogroup", "", 10),
        13115,
        "not a UNIX group",
    )
    .await;
    assert!(z.list("quota-list-entries-iter", "").await.is_empty());
    z.ok(&user_rule("user", "tester", "q1", 1000)).await;
    z.ok(&user_rule("user", "other", "", 2000)).await;
    z.ok(&user_rule("user", "4242", "", 3000)).await;
    z.ok(&user_rule("group", "testers", "", 4000)).await;
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    z.wait_quota_on("fv").await;

    std::fs::write(data.join("q1/a"), vec![1u8; 3000]).unwrap();
    std::fs::write(data.join("q1/b"), vec![1u8; 2000]).unwrap();
    std::fs::write(data.join("top"), vec![1u8; 4096]).unwrap();

    let r = z
        .ok("<quota-report-iter><max-records>100</max-records><path>/vol/fv</path></quota-report-iter>")
        .await;
    let rows: Vec<(String, String, String, u64, u64)> = records(&r)
        .iter()
        .map(|e| {
            (
                txt(e, "quota-target").to_string(),
                txt(e, "quota-users/quota-user/quota-user-name").to_string(),
                txt(e, "quota-users/quota-user/quota-user-id").to_string(),
                num(e, "disk-used"),
                num(e, "files-used"),
            )
        })
        .collect();
    let row = |t: &str| {
        rows.iter()
            .find(|r| r.0 == t)
            .unwrap_or_else(|| panic!("no report row for {t}: {rows:?}"))
            .clone()
    };
    // tester in q1: the qtree directory and two files, 5000 bytes (5 KB).
    assert_eq!(
        row("tester"),
        ("tester".into(), "tester".into(), uid.to_string(), 5, 3)
    );
    // other owns nothing; 4242 has no local name, so the ID is its name.
    assert_eq!(row("other").3, 0);
    assert_eq!(row("other").2, (uid + 1).to_string());
    assert_eq!(
        row("4242"),
        ("4242".into(), "4242".into(), "4242".into(), 0, 0)
    );
    // The group counts everything with its gid in the volume: q1 and its two files, and `top`
    // (9096 bytes, 9 KB).
    let g = row("testers");
    assert_eq!(
        g,
        ("testers".into(), "testers".into(), gid.to_string(), 9, 4)
    );

    // REST reports the same names and IDs.
    let rep = rest_get(&mut z, "/api/storage/quota/reports?type=user&fields=**").await;
    let tester = rep["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["users"][0]["name"] == "tester")
        .unwrap_or_else(|| panic!("{rep}"));
    assert_eq!(tester["users"][0]["id"], json!(uid.to_string()));
    assert_eq!(tester["space"]["used"]["total"], json!(5000));
}

async fn rest(z: &mut Z, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let r =
        z.c.request(method, path, bytes, Some(ADMIN))
            .await
            .expect("request");
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn rest_get(z: &mut Z, path: &str) -> Value {
    let (s, v) = rest(z, "GET", path, None).await;
    assert_eq!(s, 200, "GET {path}: {v}");
    v
}

#[tokio::test]
async fn users_and_groups_over_rest_as_ansible_drives_them() {
    let mut z = Z::start(Some(&config())).await;
    let svm = rest_get(&mut z, "/api/svm/svms?name=svm1").await["records"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let names = |v: &Value| -> Vec<String> {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let all = rest_get(&mut z, "/api/name-services/unix-users?svm.name=svm1").await;
    assert_eq!(names(&all), ["nobody", "pcuser", "root"]);

    // Ansible's create body, then its lookup with its fields.
    let (s, v) = rest(
        &mut z,
        "POST",
        "/api/name-services/unix-users",
        Some(json!({"svm.name": "svm1", "name": "carol", "id": 2001, "primary_gid": 200, "full_name": "Carol"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = rest(
        &mut z,
        "POST",
        "/api/name-services/unix-users",
        Some(json!({"svm.name": "svm1", "name": "carol", "id": 1, "primary_gid": 1})),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = rest(
        &mut z,
        "POST",
        "/api/name-services/unix-users",
        Some(json!({"svm.name": "svm1", "name": "dave", "primary_gid": 1})),
    )
    .await;
    assert_eq!(s, 400);
    let got = rest_get(
        &mut z,
        "/api/name-services/unix-users?svm.name=svm1&name=carol&fields=svm.uuid,id,primary_gid,name,full_name",
    )
    .await;
    assert_eq!(got["records"][0]["id"], 2001);
    assert_eq!(got["records"][0]["svm"]["uuid"], json!(svm));
    let (s, v) = rest(
        &mut z,
        "PATCH",
        &format!("/api/name-services/unix-users/{svm}/carol?svm.name=svm1"),
        Some(json!({"primary_gid": 201})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let one = rest_get(
        &mut z,
        &format!("/api/name-services/unix-users/{svm}/carol"),
    )
    .await;
    assert_eq!(
        (one["primary_gid"].clone(), one["full_name"].clone()),
        (json!(201), json!("Carol"))
    );

    // Groups, with members added by the users sub-collection.
    let (s, v) = rest(
        &mut z,
        "POST",
        "/api/name-services/unix-groups",
        Some(json!({"svm.name": "svm1", "name": "ops", "id": 300})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = rest(
        &mut z,
        "POST",
        &format!("/api/name-services/unix-groups/{svm}/ops/users"),
        Some(json!({"records": [{"name": "carol"}, {"name": "root"}]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let g = rest_get(
        &mut z,
        "/api/name-services/unix-groups?svm.name=svm1&name=ops&fields=svm.uuid,id,name,users.name",
    )
    .await;
    assert_eq!(
        g["records"][0]["users"],
        json!([{"name": "carol"}, {"name": "root"}])
    );
    let (s, _) = rest(
        &mut z,
        "DELETE",
        &format!("/api/name-services/unix-groups/{svm}/ops/users/root"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // The same objects over ZAPI.
    let eng = z
        .list(
            "name-mapping-unix-group-get-iter",
            "<unix-group-info><group-name>ops</group-name></unix-group-info>",
        )
        .await;
    assert_eq!(
        field(&eng, "users/unix-group-user-info/user-name"),
        ["carol"]
    );

    // A quota rule POSTed over REST resolves its user by name.
    let (s, v) = rest(
        &mut z,
        "POST",
        "/api/storage/volumes",
        Some(json!({"name": "rv", "size": 1u64 << 30, "svm": {"name": "svm1"}, "aggregates": [{"name": "aggr1"}]})),
    )
    .await;
    assert!(s == 201 || s == 202, "{v}");
    let start = Instant::now();
    while rest_get(&mut z, "/api/storage/volumes?name=rv").await["num_records"] != 1 {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rule = |user: &str| {
        json!({"svm": {"name": "svm1"}, "volume": {"name": "rv"}, "type": "user",
               "users": [{"name": user}], "qtree": {"name": ""}, "space": {"hard_limit": 1048576}})
    };
    let (s, v) = rest(
        &mut z,
        "POST",
        "/api/storage/quota/rules",
        Some(rule("carol")),
    )
    .await;
    assert!(s == 201 || s == 202, "{v}");
    let (s, v) = rest(
        &mut z,
        "POST",
        "/api/storage/quota/rules?return_timeout=30",
        Some(rule("zed")),
    )
    .await;
    let failed = s == 400
        || (s == 202 && {
            let job = v["job"]["uuid"].as_str().unwrap().to_string();
            let mut state = Value::Null;
            for _ in 0..400 {
                let j = rest_get(&mut z, &format!("/api/cluster/jobs/{job}?fields=**")).await;
                if matches!(j["state"].as_str(), Some("success" | "failure")) {
                    state = j["state"].clone();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            state == "failure"
        });
    assert!(failed, "an unknown user is refused: {s} {v}");
    let rules = rest_get(
        &mut z,
        "/api/storage/quota/rules?volume.name=rv&fields=users",
    )
    .await;
    assert_eq!(rules["num_records"], 1, "{rules}");
    assert_eq!(rules["records"][0]["users"], json!([{"name": "carol"}]));

    // Deleting the user over REST.
    let (s, _) = rest(
        &mut z,
        "DELETE",
        &format!("/api/name-services/unix-users/{svm}/carol"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = rest(
        &mut z,
        "GET",
        &format!("/api/name-services/unix-users/{svm}/carol"),
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn users_and_groups_survive_a_restart() {
    let mut z = Z::start(Some(&config())).await;
    z.ok("<name-mapping-unix-user-create><user-name>erin</user-name><group-id>70</group-id><user-id>7001</user-id></name-mapping-unix-user-create>").await;
    z.ok("<name-mapping-unix-group-create><group-name>g70</group-name><group-id>70</group-id></name-mapping-unix-group-create>").await;
    z.ok("<name-mapping-unix-group-add-user><group-name>g70</group-name><user-name>erin</user-name></name-mapping-unix-group-add-user>").await;
    z.ok("<name-mapping-unix-user-destroy><user-name>pcuser</user-name></name-mapping-unix-user-destroy>").await;
    let before = (
        users(&mut z).await,
        z.list("name-mapping-unix-group-get-iter", "").await,
    );
    let mut sim = z.sim;
    assert!(sim.terminate().success());
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    let sim = Sim::start_in(dir, Some(&config()), &[]);
    let c = sim.client().await;
    let mut z = Z { sim, c };
    let after = (
        users(&mut z).await,
        z.list("name-mapping-unix-group-get-iter", "").await,
    );
    assert_eq!(before.0, after.0);
    assert_eq!(
        before.1.iter().map(|e| e.to_xml()).collect::<Vec<_>>(),
        after.1.iter().map(|e| e.to_xml()).collect::<Vec<_>>()
    );
    assert!(!after.0.iter().any(|u| u.0 == "pcuser"));
}
