//! Trident's ontap-nas-flexgroup path over ZAPI with an empty `flexgroupAggregateList` (the
//! default): `volume-create-async` with `auto-provision-as flexgroup` (the cluster picks the
//! aggregate), the job it polls, the FlexGroup read back, resized and deleted as the driver does.
#![allow(dead_code)]

mod common;
use common::z::*;
use common::*;

const CONFIG: &str = r#"
seed = "zapi-flexgroup"
[[aggregates]]
name = "aggr1"
size = "1TiB"
[[aggregates]]
name = "aggr2"
size = "2TiB"

[[svms]]
name = "svm1"
aggregates = ["aggr1", "aggr2"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[users]]
name = "admin"
"#;

/// The request Trident's `FlexGroupCreate` sends when no aggregates are listed (with
/// `spaceReserve` volume, so that placement shows in the aggregates' free space).
fn flexgroup_create(name: &str, size: u64) -> String {
    format!(
        "<volume-create-async><auto-provision-as>flexgroup</auto-provision-as><encrypt>false</encrypt>\
         <export-policy>default</export-policy><junction-path>/{name}</junction-path>\
         <percentage-snapshot-reserve>0</percentage-snapshot-reserve><size>{size}</size>\
         <snapshot-policy>none</snapshot-policy><space-reserve>volume</space-reserve><tiering-policy>none</tiering-policy>\
         <unix-permissions>---rwxrwxrwx</unix-permissions><volume-comment></volume-comment>\
         <volume-name>{name}</volume-name><volume-security-style>unix</volume-security-style></volume-create-async>"
    )
}

async fn job_state(z: &mut Z, id: &str) -> String {
    let recs = z
        .list(
            "job-get-iter",
            &format!("<job-info><job-id>{id}</job-id></job-info>"),
        )
        .await;
    assert_eq!(recs.len(), 1);
    txt(&recs[0], "job-state").to_string()
}

#[tokio::test]
async fn auto_provisioned_flexgroup_create_poll_resize_delete() {
    let mut z = Z::start(Some(CONFIG)).await;
    let r = z.ok(&flexgroup_create("trident_fg1", 100 * GIB)).await;
    assert_eq!(txt(&r, "result-status"), "in_progress");
    let job = txt(&r, "result-jobid").to_string();
    assert_eq!(job_state(&mut z, &job).await, "success");

    // Trident's FlexGroupGet: by name and style-extended flexgroup.
    let v = z
        .list(
            "volume-get-iter",
            "<volume-attributes><volume-id-attributes><name>trident_fg1</name><style-extended>flexgroup</style-extended></volume-id-attributes></volume-attributes>",
        )
        .await;
    assert_eq!(v.len(), 1);
    // The cluster placed it on the aggregate with the most free space.
    assert_eq!(
        field(&v, "volume-id-attributes/aggr-list/aggr-name"),
        ["aggr2"]
    );
    assert_eq!(
        txt(&v[0], "volume-id-attributes/junction-path"),
        "/trident_fg1"
    );
    assert_eq!(num(&v[0], "volume-space-attributes/size"), 100 * GIB);
    // The next one goes where there is now the most room.
    z.ok(&flexgroup_create("trident_fg2", 1536 * GIB)).await;
    z.ok(&flexgroup_create("trident_fg3", GIB)).await;
    let v = z.must_vol("trident_fg3").await;
    assert_eq!(
        txt(&v, "volume-id-attributes/containing-aggregate-name"),
        "aggr1"
    );

    // FlexGroupSetSize and FlexGroupExists.
    let r = z
        .ok("<volume-size-async><new-size>214748364800</new-size><volume-name>trident_fg1</volume-name></volume-size-async>")
        .await;
    assert_eq!(job_state(&mut z, txt(&r, "result-jobid")).await, "success");
    assert_eq!(
        num(
            &z.must_vol("trident_fg1").await,
            "volume-space-attributes/size"
        ),
        200 * GIB
    );

    // FlexGroupDestroy: unmount (force), offline, destroy-async.
    z.ok("<volume-unmount><force>true</force><volume-name>trident_fg1</volume-name></volume-unmount>")
        .await;
    z.ok("<volume-offline><name>trident_fg1</name></volume-offline>")
        .await;
    let r = z
        .ok("<volume-destroy-async><unmount-and-offline>true</unmount-and-offline><volume-name>trident_fg1</volume-name></volume-destroy-async>")
        .await;
    assert_eq!(job_state(&mut z, txt(&r, "result-jobid")).await, "success");
    assert!(z.vol("trident_fg1").await.is_none());
}

#[tokio::test]
async fn auto_provision_refusals() {
    let mut z = Z::start(Some(CONFIG)).await;
    // Not with an aggregate list; only `flexgroup`.
    z.fail(
        "<volume-create-async><aggr-list><aggr-name>aggr1</aggr-name></aggr-list><auto-provision-as>flexgroup</auto-provision-as><size>1073741824</size><volume-name>x</volume-name></volume-create-async>",
        13115,
        "aggr-list",
    )
    .await;
    z.fail(
        "<volume-create-async><auto-provision-as>flexvol</auto-provision-as><size>1073741824</size><volume-name>x</volume-name></volume-create-async>",
        13115,
        "auto-provision-as",
    )
    .await;
    // Larger than any aggregate has free: refused by the model, nothing made.
    let body = z.svm(&flexgroup_create("huge", 3 * 1024 * GIB)).await;
    let (status, errno, _) = results(&body);
    assert_eq!(status, "failed");
    assert_ne!(errno, Some(13005));
    assert!(z.vol("x").await.is_none());
    assert!(z.vol("huge").await.is_none());
}
