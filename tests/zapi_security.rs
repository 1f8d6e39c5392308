//! Users and roles over ZAPI through the real binary: `security-login-*` and
//! `security-login-role-*` as Ansible's `na_ontap_user` / `na_ontap_user_role` call them, a
//! custom least-privilege role enforced on the calls its user makes (13003 where it grants
//! nothing), locked users and users without the `ontapi` application refused with HTTP 401, and
//! users and roles made at runtime surviving a restart.
#![allow(dead_code)]

mod common;
use common::z::*;
use common::*;

const VSERVER: &str = "svm1";

fn role_entry(role: &str, dir: &str, access: &str) -> String {
    format!(
        "<security-login-role-create><vserver>{VSERVER}</vserver><role-name>{role}</role-name>\
         <command-directory-name>{dir}</command-directory-name><access-level>{access}</access-level>\
         </security-login-role-create>"
    )
}

fn login(user: &str, app: &str, role: &str, password: Option<&str>) -> String {
    format!(
        "<security-login-create><vserver>{VSERVER}</vserver><user-name>{user}</user-name>\
         <application>{app}</application><authentication-method>password</authentication-method>\
         <role-name>{role}</role-name>{}</security-login-create>",
        password
            .map(|p| format!("<password>{p}</password>"))
            .unwrap_or_default()
    )
}

/// The README's least-privilege role for Trident's ontap-nas driver.
const TRIDENT_ROLE: &[(&str, &str)] = &[
    ("DEFAULT", "none"),
    ("version", "readonly"),
    ("vserver", "readonly"),
    ("vserver export-policy", "all"),
    ("network interface", "readonly"),
    ("event generate-autosupport-log", "all"),
    ("job", "readonly"),
    ("volume", "all"),
    ("snapmirror", "all"),
];

const TRIDENT: (&str, &str) = ("trident", "Trident123");

async fn make_trident(z: &mut Z, role: &str, skip: Option<&str>) {
    for (dir, access) in TRIDENT_ROLE.iter().filter(|(d, _)| Some(*d) != skip) {
        assert_passed(&z.cluster(&role_entry(role, dir, access)).await);
    }
    assert_passed(
        &z.cluster(&login(TRIDENT.0, "ontapi", role, Some(TRIDENT.1)))
            .await,
    );
}

#[tokio::test]
async fn a_custom_role_allows_what_it_grants_and_refuses_the_rest() {
    let mut z = Z::start(None).await;
    make_trident(&mut z, "trident", None).await;
    let t = TRIDENT;
    // What Trident's ontap-nas driver does, as the custom-role user (its own SVM: no tunnel).
    for api in [
        "<system-get-version/>".to_string(),
        "<vserver-get-iter/>".to_string(),
        "<net-interface-get-iter/>".to_string(),
        trident_create("trident_pvc_1", "aggr1", "1g", "none"),
        "<volume-get-iter/>".to_string(),
        "<snapshot-create><snapshot>s1</snapshot><volume>trident_pvc_1</volume></snapshot-create>"
            .to_string(),
        "<volume-size><volume>trident_pvc_1</volume><new-size>2g</new-size></volume-size>"
            .to_string(),
        "<export-policy-create><policy-name>trident-p</policy-name></export-policy-create>"
            .to_string(),
        "<ems-autosupport-log><computer-name>h</computer-name><event-id>1</event-id><event-source>trident</event-source><app-version>1</app-version><category>heartbeat</category><event-description>x</event-description><log-level>5</log-level><auto-support>false</auto-support></ems-autosupport-log>".to_string(),
    ] {
        assert_passed(&z.post_as(t, None, &api).await);
    }
    // Not in the role (DEFAULT none): refused with ONTAP's errno and words, nothing changes.
    let body = z.post_as(t, None, "<security-login-get-iter/>").await;
    assert_failed(
        &body,
        13003,
        "Insufficient privileges: user 'trident' does not have read access to this resource",
    );
    // A read-only directory of the role.
    assert_passed(&z.post_as(t, None, "<job-get-iter/>").await);
    // A longer entry narrows `volume`: snapshots become read-only, the rest of `volume` stays.
    assert_passed(
        &z.cluster(&role_entry("trident", "volume snapshot", "readonly"))
            .await,
    );
    let body = z
        .post_as(
            t,
            None,
            "<snapshot-create><snapshot>s2</snapshot><volume>trident_pvc_1</volume></snapshot-create>",
        )
        .await;
    assert_failed(
        &body,
        13003,
        "Insufficient privileges: user 'trident' does not have write access to this resource",
    );
    assert_eq!(field(&z.snaps("trident_pvc_1").await, "name"), ["s1"]);
    assert_passed(&z.post_as(t, None, "<snapshot-get-iter/>").await);
}

#[tokio::test]
async fn a_role_missing_volume_refuses_volume_create() {
    let mut z = Z::start(None).await;
    make_trident(&mut z, "partial", Some("volume")).await;
    let body = z
        .post_as(
            TRIDENT,
            None,
            &trident_create("trident_pvc_2", "aggr1", "1g", "none"),
        )
        .await;
    assert_failed(&body, 13003, "does not have write access");
    assert!(z.vol("trident_pvc_2").await.is_none());
}

#[tokio::test]
async fn logins_are_listed_modified_locked_and_deleted() {
    let mut z = Z::start(None).await;
    assert_passed(
        &z.cluster(&login("u1", "ontapi", "vsadmin", Some("Secret123")))
            .await,
    );
    assert_passed(&z.cluster(&login("u1", "http", "vsadmin", None)).await);
    // The same login again: duplicate entry.
    assert_failed(
        &z.cluster(&login("u1", "http", "vsadmin", None)).await,
        13130,
        "already exists",
    );
    // A role the SVM does not have.
    assert_failed(
        &z.cluster(&login("u2", "ontapi", "nosuchrole", Some("Secret123")))
            .await,
        13115,
        "nosuchrole",
    );
    let q = "<security-login-get-iter><query><security-login-account-info><vserver>svm1</vserver>\
             <user-name>u1</user-name></security-login-account-info></query></security-login-get-iter>";
    let r = assert_passed(&z.cluster(q).await);
    let recs = records(&r);
    assert_eq!(field(&recs, "application"), ["http", "ontapi"]);
    assert_eq!(field(&recs, "role-name"), ["vsadmin", "vsadmin"]);
    assert_eq!(field(&recs, "is-locked"), ["false", "false"]);
    let u1 = ("u1", "Secret123");
    assert_passed(&z.post_as(u1, None, "<volume-get-iter/>").await);

    // Locked: the sign-in itself is refused (401), as ONTAP refuses it.
    assert_passed(
        &z.cluster("<security-login-lock><vserver>svm1</vserver><user-name>u1</user-name></security-login-lock>")
            .await,
    );
    let r = z.c.post(&zapi("<volume-get-iter/>"), Some(u1)).await;
    assert_eq!(r.status, 401);
    let r = assert_passed(&z.cluster(q).await);
    assert_eq!(field(&records(&r), "is-locked"), ["true", "true"]);
    assert_passed(
        &z.cluster("<security-login-unlock><vserver>svm1</vserver><user-name>u1</user-name></security-login-unlock>")
            .await,
    );
    assert_passed(&z.post_as(u1, None, "<volume-get-iter/>").await);

    // Without the ontapi application: 401 over ZAPI.
    assert_passed(
        &z.cluster("<security-login-delete><vserver>svm1</vserver><user-name>u1</user-name><application>ontapi</application><authentication-method>password</authentication-method></security-login-delete>")
            .await,
    );
    let r = z.c.post(&zapi("<volume-get-iter/>"), Some(u1)).await;
    assert_eq!(r.status, 401);

    // The role of a login, and the password (the same one again is refused with 13214).
    assert_passed(
        &z.cluster("<security-login-modify><vserver>svm1</vserver><user-name>u1</user-name><application>http</application><authentication-method>password</authentication-method><role-name>vsadmin-readonly</role-name></security-login-modify>")
            .await,
    );
    let r = assert_passed(&z.cluster(q).await);
    assert_eq!(field(&records(&r), "role-name"), ["vsadmin-readonly"]);
    let pw = |p: &str| {
        format!(
            "<security-login-modify-password><user-name>u1</user-name><new-password>{p}</new-password></security-login-modify-password>"
        )
    };
    assert_failed(
        &z.svm(&pw("Secret123")).await,
        13214,
        "New password must be different than last 6 passwords.",
    );
    assert_passed(&z.svm(&pw("Other4567")).await);
    // The last login goes, and the user with it.
    assert_passed(
        &z.cluster("<security-login-delete><vserver>svm1</vserver><user-name>u1</user-name><application>http</application><authentication-method>password</authentication-method></security-login-delete>")
            .await,
    );
    let r = assert_passed(&z.cluster(q).await);
    assert_eq!(num(&r, "num-records"), 0);
}

#[tokio::test]
async fn roles_are_listed_modified_and_kept_while_used() {
    let mut z = Z::start(None).await;
    assert_passed(&z.cluster(&role_entry("r1", "volume", "readonly")).await);
    assert_failed(
        &z.cluster(&role_entry("r1", "volume", "all")).await,
        13130,
        "already exists",
    );
    assert_failed(
        &z.cluster(&role_entry("r1", "volume", "most")).await,
        13115,
        "access-level",
    );
    assert_failed(
        &z.cluster(&role_entry("vsadmin", "volume", "none")).await,
        13115,
        "built-in",
    );
    let q =
        "<security-login-role-get-iter><query><security-login-role-info><vserver>svm1</vserver>\
             <role-name>r1</role-name><command-directory-name>volume</command-directory-name>\
             </security-login-role-info></query></security-login-role-get-iter>";
    let r = assert_passed(&z.cluster(q).await);
    assert_eq!(field(&records(&r), "access-level"), ["readonly"]);
    assert_eq!(field(&records(&r), "role-query"), [""]);
    assert_passed(
        &z.cluster("<security-login-role-modify><vserver>svm1</vserver><role-name>r1</role-name><command-directory-name>volume</command-directory-name><access-level>all</access-level><role-query>-volume trident_*</role-query></security-login-role-modify>")
            .await,
    );
    let r = assert_passed(&z.cluster(q).await);
    assert_eq!(field(&records(&r), "access-level"), ["all"]);
    assert_eq!(field(&records(&r), "role-query"), ["-volume trident_*"]);
    // Built-in roles are listed too.
    let r = assert_passed(
        &z.cluster("<security-login-role-get-iter><query><security-login-role-info><role-name>vsadmin</role-name><command-directory-name>DEFAULT</command-directory-name></security-login-role-info></query></security-login-role-get-iter>")
            .await,
    );
    assert_eq!(field(&records(&r), "access-level"), ["none"]);

    // Kept while a user has it.
    assert_passed(
        &z.cluster(&login("u", "ontapi", "r1", Some("Secret123")))
            .await,
    );
    let del = "<security-login-role-delete><vserver>svm1</vserver><role-name>r1</role-name><command-directory-name>volume</command-directory-name></security-login-role-delete>";
    assert_failed(&z.cluster(del).await, 13001, "assigned to user \"u\"");
    assert_passed(
        &z.cluster("<security-login-delete><vserver>svm1</vserver><user-name>u</user-name><application>ontapi</application><authentication-method>password</authentication-method></security-login-delete>")
            .await,
    );
    assert_passed(&z.cluster(del).await);
    let r = assert_passed(&z.cluster(q).await);
    assert_eq!(num(&r, "num-records"), 0);
}

#[tokio::test]
async fn users_and_roles_survive_a_restart() {
    let mut z = Z::start(None).await;
    make_trident(&mut z, "trident", None).await;
    assert_passed(
        &z.cluster("<security-login-lock><vserver>svm1</vserver><user-name>trident</user-name></security-login-lock>")
            .await,
    );
    // A topology user changed at runtime is saved too.
    assert_passed(
        &z.cluster("<security-login-modify><vserver>svm1</vserver><user-name>vsadmin</user-name><application>ontapi</application><authentication-method>password</authentication-method><role-name>trident</role-name></security-login-modify>")
            .await,
    );
    let mut sim = z.sim;
    assert!(sim.terminate().success());
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    let sim = Sim::start_in(dir, None, &[]);
    let mut z = Z {
        c: sim.client().await,
        sim,
    };
    let r = assert_passed(
        &z.cluster("<security-login-get-iter><query><security-login-account-info><vserver>svm1</vserver></security-login-account-info></query></security-login-get-iter>")
            .await,
    );
    let recs = records(&r);
    let rows: Vec<String> = recs
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}",
                txt(e, "user-name"),
                txt(e, "application"),
                txt(e, "role-name"),
                txt(e, "is-locked")
            )
        })
        .filter(|r| r.contains(" ontapi "))
        .collect();
    assert_eq!(
        rows,
        [
            "trident ontapi trident true",
            "vsadmin ontapi trident false"
        ]
    );
    let r = assert_passed(
        &z.cluster("<security-login-role-get-iter><query><security-login-role-info><role-name>trident</role-name></security-login-role-info></query></security-login-role-get-iter>")
            .await,
    );
    assert_eq!(num(&r, "num-records"), TRIDENT_ROLE.len() as u64);
    // The saved role is enforced after the restart: vsadmin now has Trident's role.
    assert_failed(
        &z.post_as(("vsadmin", PASSWORD), None, "<security-login-get-iter/>")
            .await,
        13003,
        "does not have read access",
    );
    // The locked user stays locked.
    let r = z.c.post(&zapi("<volume-get-iter/>"), Some(TRIDENT)).await;
    assert_eq!(r.status, 401);
}
