//! Text no XML reader can take (control characters, NUL, U+FFFE) written by an SVM-scoped user
//! through every writable string field of both fronts: each write is refused with ONTAP's errno /
//! REST code and changes nothing, every answer parses with a strict XML 1.0 reader or a JSON
//! parser, and afterwards the cluster-wide listings still parse for every client.

mod common;
use common::z::*;
use common::*;
use quick_xml::events::Event;
use serde_json::{json, Value};

const VSADMIN: (&str, &str) = ("vsadmin", PASSWORD);

/// XML 1.0's `Char` production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Parse `doc` as a strict XML 1.0 reader does (expat, Go's encoding/xml): well-formed, every
/// character and every character reference a `Char`. Panics naming the problem.
fn strict_xml(doc: &str, what: &str) {
    if let Some(c) = doc.chars().find(|c| !xml_char(*c)) {
        panic!("{what}: the answer holds U+{:04X}: {doc:?}", c as u32);
    }
    let mut r = quick_xml::Reader::from_str(doc);
    r.config_mut().check_end_names = true;
    let mut depth = 0i64;
    let mut roots = 0;
    loop {
        match r.read_event() {
            Err(e) => panic!("{what}: not well-formed ({e}): {doc}"),
            Ok(Event::Eof) => break,
            Ok(Event::Start(s)) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
                for a in s.attributes() {
                    let a = a.unwrap_or_else(|e| panic!("{what}: bad attribute ({e}): {doc}"));
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap_or_else(|e| panic!("{what}: bad attribute value ({e}): {doc}"));
                }
            }
            Ok(Event::Empty(_)) if depth == 0 => roots += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::GeneralRef(g)) => {
                let name: &str = &g;
                let ok = match name.strip_prefix('#') {
                    Some(n) => {
                        let code = match n.strip_prefix('x') {
                            Some(h) => u32::from_str_radix(h, 16).ok(),
                            None => n.parse().ok(),
                        };
                        code.and_then(char::from_u32).is_some_and(xml_char)
                    }
                    None => ["lt", "gt", "amp", "apos", "quot"].contains(&name),
                };
                assert!(ok, "{what}: reference &{name}; is not XML: {doc}");
            }
            Ok(_) => {}
        }
    }
    assert!(
        depth == 0 && roots == 1,
        "{what}: not one closed root: {doc}"
    );
}

/// A deterministic generator of hostile strings.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    fn string(&mut self) -> String {
        const PALETTE: &[char] = &[
            'a',
            'b',
            'z',
            '_',
            '1',
            '/',
            '.',
            '-',
            ' ',
            '*',
            '|',
            '\\',
            '\0',
            '\x01',
            '\x02',
            '\x08',
            '\x0b',
            '\x0c',
            '\x1b',
            '\x1f',
            '\x7f',
            '\u{85}',
            '\t',
            '\n',
            '\r',
            '<',
            '>',
            '&',
            '"',
            '\'',
            'é',
            '\u{fffe}',
            '\u{ffff}',
            '\u{fffd}',
            '\u{10348}',
            ']',
            '=',
        ];
        let len = 1 + self.next(10);
        let mut s: String = (0..len)
            .map(|_| PALETTE[self.next(PALETTE.len())])
            .collect();
        // Most strings carry at least one character XML cannot.
        if self.next(4) != 0 {
            let at = self.next(s.chars().count() + 1);
            let c = ['\0', '\x01', '\x02', '\x1b', '\u{fffe}', '\u{ffff}'][self.next(6)];
            let mut v: Vec<char> = s.chars().collect();
            v.insert(at, c);
            s = v.into_iter().collect();
        }
        s
    }
}

/// `s` as XML text: markup escaped, every other character raw (as a careless client writes it)
/// or, when `refs`, characters XML cannot carry as character references (`&#1;`).
fn xml_text(s: &str, refs: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if refs && !xml_char(c) => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn bad(s: &str) -> bool {
    s.chars().any(|c| !xml_char(c))
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

async fn zapi_as(c: &mut Client, user: (&str, &str), api: &str) -> String {
    // The cluster admin tunnels to svm1 (as Trident does); vsadmin needs no tunnel.
    let body = if user.0 == "admin" && !api.contains("-iter>") {
        zapi_vfiler("svm1", api)
    } else {
        zapi(api)
    };
    let r = c.post(&body, Some(user)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    strict_xml(&r.body, api);
    r.body
}

async fn rest_as(
    c: &mut Client,
    user: (&str, &str),
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let r = c
        .request(method, path, bytes, Some(user))
        .await
        .expect("request");
    let v: Value = serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {:?}", r.body));
    (r.status, v)
}

#[tokio::test]
async fn control_characters_are_refused_on_both_fronts_and_every_answer_parses() {
    let sim = Sim::start(Some(TWO_SVMS));
    let mut c = sim.client().await;
    // Targets for the fields that hang off a volume.
    let body = zapi_as(
        &mut c,
        VSADMIN,
        "<volume-create><volume>hv</volume><containing-aggr-name>aggr1</containing-aggr-name>\
         <size>1g</size><junction-path>/hv</junction-path></volume-create>",
    )
    .await;
    assert_passed(&body);
    let (st, v) = rest_as(
        &mut c,
        ADMIN,
        "GET",
        "/api/storage/volumes?name=hv&fields=uuid",
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let uuid = v["records"][0]["uuid"].as_str().expect("uuid").to_string();

    // The cases the attack run found, one by one, with the exact answers.
    let body = zapi_as(
        &mut c,
        VSADMIN,
        "<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>hv</name>\
         </volume-id-attributes></volume-attributes></query><attributes><volume-attributes>\
         <volume-id-attributes><comment>a&#2;b</comment></volume-id-attributes>\
         </volume-attributes></attributes></volume-modify-iter>",
    )
    .await;
    assert_failed(&body, 13001, "not allowed in XML");
    let body = zapi_as(
        &mut c,
        VSADMIN,
        "<volume-mount><volume-name>hv</volume-name><junction-path>/a\u{1b}b</junction-path></volume-mount>",
    )
    .await;
    assert_failed(&body, 13001, "U+001B is not allowed in XML");
    for (field, value) in [
        ("comment", json!({"comment": "a\u{2}b"})),
        ("nas.path", json!({"nas": {"path": "/a\u{0}b"}})),
    ] {
        let (st, v) = rest_as(
            &mut c,
            VSADMIN,
            "PATCH",
            &format!("/api/storage/volumes/{uuid}?return_timeout=10"),
            Some(&value),
        )
        .await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (400, Some("262197")),
            "{field}: {v}"
        );
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("U+00") && !bad(msg), "{field}: {msg:?}");
    }
    let (st, v) = rest_as(
        &mut c,
        VSADMIN,
        "POST",
        "/api/storage/volumes?return_timeout=10",
        Some(
            &json!({"name": "hv2", "size": 1u64 << 30, "svm": {"name": "svm1"},
                     "comment": "x\u{ffff}", "nas": {"path": "/hv2"}}),
        ),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("262197")),
        "{v}"
    );

    // Random strings through every writable string field, both fronts.
    let mut g = Gen(0x5eed_0018);
    let mut refused = 0;
    for i in 0..30 {
        let s = g.string();
        let refs = i % 2 == 0;
        let t = xml_text(&s, refs);
        let zapi_writes = [
            format!("<volume-create><volume>hv_{i}</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size><volume-comment>{t}</volume-comment><junction-path>/j{t}</junction-path></volume-create>"),
            format!("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>hv</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-id-attributes><comment>{t}</comment></volume-id-attributes></volume-attributes></attributes></volume-modify-iter>"),
            format!("<volume-mount><volume-name>hv</volume-name><junction-path>/{t}</junction-path></volume-mount>"),
            format!("<volume-rename><volume>hv</volume><new-volume-name>{t}</new-volume-name></volume-rename>"),
            format!("<snapshot-create><volume>hv</volume><snapshot>{t}</snapshot><comment>{t}</comment></snapshot-create>"),
            format!("<snapshot-create><volume>hv</volume><snapshot>s{i}</snapshot><comment>{t}</comment></snapshot-create>"),
            format!("<export-policy-create><policy-name>{t}</policy-name></export-policy-create>"),
            format!("<export-rule-create><policy-name>default</policy-name><client-match>{t}</client-match><ro-rule><security-flavor>sys</security-flavor></ro-rule><rw-rule><security-flavor>sys</security-flavor></rw-rule></export-rule-create>"),
            format!("<qtree-create><volume>hv</volume><qtree>{t}</qtree></qtree-create>"),
            format!("<ems-autosupport-log><computer-name>{t}</computer-name><event-description>{t}</event-description><event-id>1</event-id><event-source>{t}</event-source><app-version>1</app-version><category>{t}</category><log-level>6</log-level><auto-support>false</auto-support></ems-autosupport-log>"),
        ];
        for api in &zapi_writes {
            let body = zapi_as(&mut c, VSADMIN, api).await;
            let (status, errno, _) = results(&body);
            if bad(&s) {
                assert_eq!(status, "failed", "{api:?} was accepted: {body}");
                assert!(matches!(errno, Some(13001 | 13115)), "{api:?}: {body}");
                refused += 1;
            }
        }
        let rest_writes: Vec<(&str, String, Value)> = vec![
            (
                "POST",
                "/api/storage/volumes?return_timeout=10".into(),
                json!({"name": s, "size": 1u64 << 30, "svm": {"name": "svm1"}, "comment": s, "nas": {"path": format!("/{s}")}}),
            ),
            (
                "POST",
                "/api/storage/volumes?return_timeout=10".into(),
                json!({"name": format!("rv_{i}"), "size": 1u64 << 30, "svm": {"name": "svm1"}, "comment": s}),
            ),
            (
                "PATCH",
                format!("/api/storage/volumes/{uuid}?return_timeout=10"),
                json!({"comment": s}),
            ),
            (
                "PATCH",
                format!("/api/storage/volumes/{uuid}?return_timeout=10"),
                json!({"nas": {"path": format!("/{s}")}}),
            ),
            (
                "POST",
                format!("/api/storage/volumes/{uuid}/snapshots?return_timeout=10"),
                json!({"name": format!("rs{i}"), "comment": s}),
            ),
            (
                "POST",
                "/api/protocols/nfs/export-policies".into(),
                json!({"name": s, "svm": {"name": "svm1"}, "rules": [{"clients": [{"match": s}]}]}),
            ),
            (
                "POST",
                "/api/storage/qtrees?return_timeout=10".into(),
                json!({"name": s, "svm": {"name": "svm1"}, "volume": {"name": "hv"}}),
            ),
        ];
        for (method, path, body) in &rest_writes {
            let (st, v) = rest_as(&mut c, VSADMIN, method, path, Some(body)).await;
            if bad(&s) {
                assert!(st >= 400, "{method} {path} {body} was accepted: {st} {v}");
                refused += 1;
            }
            let mut texts = Vec::new();
            strings(&v, &mut texts);
            assert!(
                !texts.iter().any(|t| bad(t)),
                "{method} {path}: the answer echoes raw control characters: {v}"
            );
        }
    }
    assert!(refused > 200, "only {refused} hostile writes were refused");

    // Whatever was accepted, every listing still parses for every client, cluster-wide.
    for api in [
        "<volume-get-iter><max-records>10000</max-records></volume-get-iter>",
        "<snapshot-get-iter><max-records>10000</max-records></snapshot-get-iter>",
        "<export-policy-get-iter><max-records>10000</max-records></export-policy-get-iter>",
        "<export-rule-get-iter><max-records>10000</max-records></export-rule-get-iter>",
        "<qtree-list-iter><max-records>10000</max-records></qtree-list-iter>",
        "<volume-recovery-queue-get-iter><max-records>10000</max-records></volume-recovery-queue-get-iter>",
        "<job-get-iter><max-records>10000</max-records></job-get-iter>",
    ] {
        let body = zapi_as(&mut c, ADMIN, api).await;
        assert_passed(&body);
    }
    for path in [
        "/api/storage/volumes?fields=**",
        "/api/storage/qtrees?fields=**",
        "/api/protocols/nfs/export-policies?fields=**",
        "/api/cluster/jobs?fields=**",
    ] {
        let (st, v) = rest_as(&mut c, ADMIN, "GET", path, None).await;
        assert_eq!(st, 200, "{path}: {v}");
        let mut texts = Vec::new();
        strings(&v, &mut texts);
        assert!(!texts.iter().any(|t| bad(t)), "{path}: {v}");
    }
    // The state document as the control API gives it holds no such text either.
    let state = sim
        .control()
        .call("GET", "/state", vec![])
        .await
        .expect("GET /state");
    assert!(!bad(&state), "state holds raw control characters");
}

#[tokio::test]
async fn saved_state_with_control_characters_is_refused_naming_the_record() {
    let sim = Sim::start(None);
    let mut c = sim.client().await;
    assert_passed(
        &zapi_as(
            &mut c,
            ADMIN,
            "<volume-create><volume>sv</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size></volume-create>",
        )
        .await,
    );
    let ctl = sim.control();
    let state = ctl.call("GET", "/state", vec![]).await.expect("GET /state");
    let mut doc: Value = serde_json::from_str(&state).expect("state JSON");
    let records = doc["records"].as_array_mut().expect("records");
    let vol = records
        .iter_mut()
        .find(|r| r["kind"] == "volume" && r["value"]["name"] == "sv")
        .expect("volume record");
    vol["value"]["comment"] = json!("a\u{1}b");
    let answer = ctl
        .call("PUT", "/state", doc.to_string().into_bytes())
        .await
        .expect_err("PUT /state with a control character")
        .to_string();
    assert!(answer.starts_with("400"), "{answer}");
    assert!(
        answer.contains(r#"volume "sv" in Vserver "svm1""#) && answer.contains("comment"),
        "{answer}"
    );
    assert!(!bad(&answer), "{answer:?}");
    // Nothing changed.
    let body = zapi_as(
        &mut c,
        ADMIN,
        "<volume-get-iter><query><volume-attributes><volume-id-attributes><name>sv</name></volume-id-attributes></volume-attributes></query></volume-get-iter>",
    )
    .await;
    assert!(body.contains("<num-records>1</num-records>"), "{body}");
}
