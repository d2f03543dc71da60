//! The real `houmon-relay` binary on loopback: append, catch-up, idempotence, limits, device
//! trust, tenant isolation, push, durability across SIGTERM and SIGKILL, TLS.

mod common;
use common::*;
use houmon_sync_proto::*;

fn setup(extra: &[&str]) -> (tempfile::TempDir, RelayProc, Dev) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (_, code) = create_clinic(&db, "テスト診療所");
    let relay = RelayProc::start(&db, extra);
    let dev =
        enroll(&relay, &code, "tablet-1").unwrap_or_else(|a| panic!("enroll: {}", String::from_utf8_lossy(&a.body)));
    (dir, relay, dev)
}

#[test]
fn health_answers_without_authentication() {
    let (_d, relay, _) = setup(&[]);
    let mut r = agent().get(relay.url(PATH_HEALTH)).call().expect("health");
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body_mut().read_to_vec().expect("body")).expect("json");
    assert_eq!(v["status"], "ok");
}

#[test]
fn append_is_idempotent_and_catch_up_is_one_request_after_a_cursor() {
    let (_d, _relay, dev) = setup(&[]);
    let (a, b) = (DocId(rand16()), DocId(rand16()));
    let e1 = dev.entry(a, b"one".to_vec());
    let e2 = dev.entry(b, b"two".to_vec());
    let r: AppendResponse = dev.append(vec![e1.clone(), e2.clone()]).ok();
    assert_eq!(r.results.iter().map(|x| (x.seq, x.duplicate)).collect::<Vec<_>>(), vec![(1, false), (2, false)]);
    // A retry of the same entries (new request, same entry ids) adds nothing.
    let r: AppendResponse = dev.append(vec![e2.clone(), e1.clone(), dev.entry(a, b"three".to_vec())]).ok();
    assert_eq!(
        r.results.iter().map(|x| (x.seq, x.duplicate)).collect::<Vec<_>>(),
        vec![(2, true), (1, true), (3, false)]
    );

    let all: PullResponse = dev.pull(0, None).ok();
    assert_eq!(all.entries.len(), 3);
    assert_eq!((all.cursor, all.more), (3, false));
    assert_eq!(all.entries[0].ciphertext, b"one");
    assert_eq!(all.entries[0].device, dev.device);
    assert_eq!(all.entries[0].signature, e1.signature);
    // After a cursor: only what is newer.
    let tail: PullResponse = dev.pull(1, None).ok();
    assert_eq!(tail.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
    // Partial replication: only subscribed documents, but the cursor still covers everything.
    let only_b: PullResponse = dev.pull(0, Some(vec![b])).ok();
    assert_eq!(only_b.entries.iter().map(|e| e.ciphertext.clone()).collect::<Vec<_>>(), vec![b"two".to_vec()]);
    assert_eq!(only_b.cursor, 3);
    let none: PullResponse = dev.pull(3, None).ok();
    assert!(none.entries.is_empty() && none.cursor == 3);
}

#[test]
fn device_lists_say_when_each_device_last_caught_up() {
    let (_d, _relay, dev) = setup(&[]);
    let list = |d: &Dev| -> DevicesResponse { d.get(PATH_DEVICES).ok() };
    let before = list(&dev);
    assert_eq!(before.devices[0].last_seen_ms, None, "enrolled, not yet caught up");
    let start = now_ms();
    let _: PullResponse = dev.pull(0, None).ok();
    let seen = list(&dev).devices[0].last_seen_ms.expect("noted at the pull");
    assert!((start - 1000..=now_ms()).contains(&seen), "{seen} vs {start}");
    // Within the minute another pull writes nothing new (no write per pull).
    let _: PullResponse = dev.pull(0, None).ok();
    assert_eq!(list(&dev).devices[0].last_seen_ms, Some(seen));
}

#[test]
fn catch_up_pages_by_size_without_losing_entries() {
    let (_d, relay, dev) = setup(&[]);
    let doc = DocId(rand16());
    for _ in 0..4 {
        let batch = (0..10).map(|i| dev.entry(doc, vec![i as u8; 30_000])).collect();
        let _: AppendResponse = dev.append(batch).ok();
    }
    let mut cursor = 0;
    let mut seen = Vec::new();
    let mut rounds = 0;
    loop {
        let a = dev.post(
            PATH_PULL,
            encode(&PullRequest { after: cursor, docs: None, max_bytes: 100_000, with_snapshots: false }),
        );
        let r: PullResponse = a.ok();
        seen.extend(r.entries.iter().map(|e| e.seq));
        cursor = r.cursor;
        rounds += 1;
        if !r.more {
            break;
        }
    }
    assert_eq!(seen, (1..=40).collect::<Vec<u64>>());
    assert!(rounds > 1, "a 100 KB budget must page 1.2 MB");
    drop(relay);
}

#[test]
fn limits_answer_with_clear_errors() {
    let (_d, relay, dev) = setup(&["--max-entry-bytes", "1000", "--requests-per-s", "1", "--request-burst", "6"]);
    let a = dev.append(vec![dev.entry(DocId(rand16()), vec![0; 1001])]);
    assert_eq!(a.status, 413);
    let e = a.err();
    assert_eq!(e.code, ErrorCode::EntryTooLarge);
    assert!(e.message.contains("大きすぎ"), "{}", e.message);
    // Nothing was stored from the refused batch.
    let r: PullResponse = dev.pull(0, None).ok();
    assert!(r.entries.is_empty());
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(dev.pull(0, None).status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let e = dev.pull(0, None).err();
    assert_eq!(e.code, ErrorCode::TooManyRequests);
    // Garbage bodies are a 400, not a crash.
    let (_d2, relay2, dev2) = setup(&[]);
    let a = dev2.post(PATH_APPEND, vec![0xff; 50]);
    assert_eq!(a.err().code, ErrorCode::BadRequest);
    let mut h = agent().get(relay2.url(PATH_HEALTH)).call().expect("still up");
    assert_eq!(h.status().as_u16(), 200);
    let _ = h.body_mut().read_to_vec();
    drop(relay);
}

#[test]
fn unsigned_forged_and_replayed_requests_are_refused() {
    let (_d, _relay, dev) = setup(&[]);
    let body = encode(&PullRequest { after: 0, docs: None, max_bytes: 1 << 20, with_snapshots: false });
    assert_eq!(dev.post_with(PATH_PULL, body.clone(), &[]).err().code, ErrorCode::Unauthenticated);
    // Signature over a different body.
    let h = dev.sign_headers("POST", PATH_PULL, b"other");
    assert_eq!(dev.post_with(PATH_PULL, body.clone(), &h).err().code, ErrorCode::Unauthenticated);
    // Replay: the same signed request twice.
    let append = encode(&AppendRequest { entries: vec![dev.entry(DocId(rand16()), b"x".to_vec())] });
    let h = dev.sign_headers("POST", PATH_APPEND, &append);
    assert_eq!(dev.post_with(PATH_APPEND, append.clone(), &h).status, 200);
    assert_eq!(dev.post_with(PATH_APPEND, append, &h).err().code, ErrorCode::Replay);
    // Old signed request (captured yesterday).
    let t =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("t").as_millis() as i64 - 86_400_000;
    let h = dev.sign_headers_at("POST", PATH_PULL, &body, t, rand16());
    assert_eq!(dev.post_with(PATH_PULL, body, &h).err().code, ErrorCode::ClockSkew);
}

#[test]
fn a_refusal_from_the_headers_reaches_a_client_that_sent_its_body() {
    let (_d, _relay, dev) = setup(&[]);
    // Unsigned requests with a body already on the wire: each gets its 401, never a dropped
    // connection (closing with unread data resets the socket and loses the answer).
    let body = vec![7u8; 48 << 10];
    for _ in 0..40 {
        assert_eq!(dev.post_with(PATH_PULL, body.clone(), &[]).err().code, ErrorCode::Unauthenticated);
    }
}

#[test]
fn replayed_append_is_refused_after_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (_, code) = create_clinic(&db, "c");
    let mut relay = RelayProc::start(&db, &[]);
    let mut dev = enroll(&relay, &code, "t").map_err(|_| ()).expect("enroll");
    let append = encode(&AppendRequest { entries: vec![dev.entry(DocId(rand16()), b"x".to_vec())] });
    let h = dev.sign_headers("POST", PATH_APPEND, &append);
    assert_eq!(dev.post_with(PATH_APPEND, append.clone(), &h).status, 200);
    relay.sigkill();
    let relay = RelayProc::start(&db, &[]);
    dev.base = format!("http://{}", relay.addr);
    assert_eq!(dev.post_with(PATH_APPEND, append, &h).err().code, ErrorCode::Replay);
}

#[test]
fn enrollment_codes_are_one_time_and_roles_are_enforced() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (clinic, code) = create_clinic(&db, "c");
    let relay = RelayProc::start(&db, &[]);
    let admin_dev = enroll(&relay, &code, "office").map_err(|_| ()).expect("enroll");
    assert_eq!(admin_dev.clinic, clinic);
    // Used code: refused with a Japanese explanation.
    let e = enroll(&relay, &code, "again").err().expect("refused").err();
    assert_eq!(e.code, ErrorCode::InvalidCode);
    assert!(e.message.contains("登録コード"));
    // A made-up code: same answer.
    let fake = enrollment::format_code(&rand16());
    assert_eq!(enroll(&relay, &fake, "x").err().expect("refused").err().code, ErrorCode::InvalidCode);
    // Admin device creates a member code through the API; the member cannot create codes.
    let raw = rand16();
    let req = CreateCodeRequest {
        code_auth_hash: enrollment::code_auth_hash(&raw),
        role: Role::Member,
        wrapped_content_key: Some(b"wrapped-key-blob".to_vec()),
        valid_for_s: 3600,
    };
    assert_eq!(admin_dev.post(PATH_CODES, encode(&req)).status, 200);
    let member = enroll(&relay, &enrollment::format_code(&raw), "tablet").map_err(|_| ()).expect("member");
    assert_eq!(member.post(PATH_CODES, encode(&req)).err().code, ErrorCode::Forbidden);
    let list: DevicesResponse = member.get(PATH_DEVICES).ok();
    assert_eq!(list.devices.len(), 2);
}

#[test]
fn revocation_takes_effect_at_once_including_open_websockets() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (_, code) = create_clinic(&db, "c");
    let relay = RelayProc::start(&db, &[]);
    let office = enroll(&relay, &code, "office").map_err(|_| ()).expect("enroll");
    let tablet = enroll(&relay, &device_code(&office, Role::Member), "tablet").map_err(|_| ()).expect("enroll");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let mut ws = rt.block_on(open_ws(&relay, &tablet));
    rt.block_on(ws_send(&mut ws, &WsClient::Subscribe { after: 0, docs: None }));
    assert!(matches!(rt.block_on(ws_next(&mut ws)), Some(WsServer::Entries { .. })));

    assert_eq!(office.post(PATH_REVOKE, encode(&RevokeRequest { device: tablet.device })).status, 200);
    assert_eq!(rt.block_on(ws_next(&mut ws)), Some(WsServer::Revoked));
    let e = tablet.pull(0, None).err();
    assert_eq!(e.code, ErrorCode::Revoked);
    assert!(e.message.contains("利用停止"));
    assert_eq!(tablet.append(vec![tablet.entry(DocId(rand16()), b"x".to_vec())]).err().code, ErrorCode::Revoked);
}

#[test]
fn revocation_from_the_admin_cli_reaches_a_running_relay() {
    let (_d, relay, dev) = setup(&[]);
    assert_eq!(dev.pull(0, None).status, 200);
    let (rc, _, err) = admin(&relay.db, &["revoke", "--device", &dev.device.to_hex()]);
    assert_eq!(rc, 0, "{err}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(dev.pull(0, None).err().code, ErrorCode::Revoked);
}

#[test]
fn a_device_of_clinic_b_learns_nothing_about_clinic_a() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (_, code_a) = create_clinic(&db, "A");
    let (_, code_b) = create_clinic(&db, "B");
    let relay = RelayProc::start(&db, &[]);
    let a = enroll(&relay, &code_a, "a").map_err(|_| ()).expect("a");
    let b = enroll(&relay, &code_b, "b").map_err(|_| ()).expect("b");
    let doc = DocId(rand16());
    let _: AppendResponse = a.append(vec![a.entry(doc, b"secret-a".to_vec())]).ok();
    // B asks for A's document id, and for everything: both look like an empty clinic.
    let known: PullResponse = b.pull(0, Some(vec![doc])).ok();
    let unknown: PullResponse = b.pull(0, Some(vec![DocId(rand16())])).ok();
    assert_eq!(known, unknown);
    assert!(known.entries.is_empty() && known.cursor == 0);
    let all: PullResponse = b.pull(0, None).ok();
    assert!(all.entries.is_empty());
    // Snapshots too.
    let snap: PullResponse = b
        .post(
            PATH_PULL,
            encode(&PullRequest { after: 0, docs: Some(vec![doc]), max_bytes: 1 << 20, with_snapshots: true }),
        )
        .ok();
    assert!(snap.snapshots.is_empty());
    // Revoking A's device from B is "not found", exactly like a device that does not exist.
    let (x, y) = (
        b.post(PATH_REVOKE, encode(&RevokeRequest { device: a.device })),
        b.post(PATH_REVOKE, encode(&RevokeRequest { device: DeviceId(rand16()) })),
    );
    // (B is a clinic admin: its first device.)
    assert_eq!((x.status, y.status), (404, 404));
    assert_eq!(x.body, y.body);
    let devs: DevicesResponse = b.get(PATH_DEVICES).ok();
    assert_eq!(devs.devices.iter().map(|d| d.device).collect::<Vec<_>>(), vec![b.device]);
    // A's entry number space is its own: B's first append is seq 1.
    let r: AppendResponse = b.append(vec![b.entry(doc, b"b".to_vec())]).ok();
    assert_eq!(r.results[0].seq, 1);
    let a_view: PullResponse = a.pull(0, None).ok();
    assert_eq!(a_view.entries.len(), 1);
    assert_eq!(a_view.entries[0].ciphertext, b"secret-a");
}

#[test]
fn snapshots_replace_covered_entries_for_a_new_device() {
    let (_d, relay, dev) = setup(&[]);
    let doc = DocId(rand16());
    for i in 0..5u8 {
        let _: AppendResponse = dev.append(vec![dev.entry(doc, vec![i; 10])]).ok();
    }
    let s = PutSnapshotRequest {
        doc,
        covers_seq: 4,
        entry_id: EntryId(rand16()),
        signature: [7; 64],
        ciphertext: b"snap".to_vec(),
    };
    assert!(dev.post(PATH_SNAPSHOT, encode(&s)).ok::<bool>());
    // An older snapshot does not replace it.
    let old = PutSnapshotRequest { covers_seq: 2, ..s.clone() };
    assert!(!dev.post(PATH_SNAPSHOT, encode(&old)).ok::<bool>());
    let r: PullResponse = dev
        .post(
            PATH_PULL,
            encode(&PullRequest { after: 0, docs: Some(vec![doc]), max_bytes: 1 << 20, with_snapshots: true }),
        )
        .ok();
    assert_eq!(r.snapshots.len(), 1);
    assert_eq!(r.snapshots[0].ciphertext, b"snap");
    assert_eq!(r.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5]);
    drop(relay);
}

#[test]
fn websocket_pushes_new_entries_for_subscribed_documents_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (_, code) = create_clinic(&db, "c");
    let relay = RelayProc::start(&db, &["--max-connections-per-device", "1"]);
    let writer = enroll(&relay, &code, "w").map_err(|_| ()).expect("w");
    let reader = enroll(&relay, &device_code(&writer, Role::Member), "r").map_err(|_| ()).expect("r");
    let (mine, other) = (DocId(rand16()), DocId(rand16()));
    let _: AppendResponse = writer.append(vec![writer.entry(mine, b"before".to_vec())]).ok();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let mut ws = rt.block_on(open_ws(&relay, &reader));
    rt.block_on(ws_send(&mut ws, &WsClient::Subscribe { after: 0, docs: Some(vec![mine]) }));
    match rt.block_on(ws_next(&mut ws)) {
        Some(WsServer::Entries { entries, cursor }) => {
            assert_eq!(entries.len(), 1);
            assert_eq!(cursor, 1);
        }
        m => panic!("{m:?}"),
    }
    // A second connection for the same device is over the per-device limit.
    let second = rt.block_on(try_ws(&relay, &reader));
    assert!(second.is_err(), "second connection must be refused");
    let _: AppendResponse =
        writer.append(vec![writer.entry(other, b"o".to_vec()), writer.entry(mine, b"live".to_vec())]).ok();
    match rt.block_on(ws_next(&mut ws)) {
        Some(WsServer::Entries { entries, cursor }) => {
            assert_eq!(entries.iter().map(|e| e.ciphertext.clone()).collect::<Vec<_>>(), vec![b"live".to_vec()]);
            assert_eq!(cursor, 3);
        }
        m => panic!("{m:?}"),
    }
}

/// Appenders keep writing while the relay is stopped; every acknowledged entry must be there.
fn acked_survive(kill: bool) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (_, code) = create_clinic(&db, "c");
    let mut relay = RelayProc::start(&db, &["--requests-per-s", "100000", "--request-burst", "100000"]);
    let dev = std::sync::Arc::new(enroll(&relay, &code, "t").map_err(|_| ()).expect("enroll"));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<EntryId>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..4 {
        let (dev, acked, stop) = (dev.clone(), acked.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let doc = DocId([t; 16]);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let batch: Vec<NewEntry> = (0..5).map(|i| dev.entry(doc, vec![i; 200])).collect();
                let ids: Vec<EntryId> = batch.iter().map(|e| e.entry_id).collect();
                let body = encode(&AppendRequest { entries: batch });
                let h = dev.sign_headers("POST", PATH_APPEND, &body);
                let mut rq = dev.agent.post(format!("{}{}", dev.base, PATH_APPEND));
                for (k, v) in &h {
                    rq = rq.header(k, v);
                }
                match rq.send(&body[..]) {
                    Ok(mut r) if r.status().as_u16() == 200 => {
                        let b = r.body_mut().read_to_vec();
                        if let Ok(b) = b
                            && decode::<AppendResponse>(&b).is_some()
                        {
                            acked.lock().expect("lock").extend(ids);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    if kill {
        relay.sigkill();
    } else {
        let st = relay.sigterm();
        assert!(st.success(), "graceful shutdown exits 0, got {st:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() > 20, "the load ran ({} acked)", acked.len());
    let relay = RelayProc::start(&db, &[]);
    let mut dev2 = std::sync::Arc::try_unwrap(dev).map_err(|_| ()).expect("unique");
    dev2.base = format!("http://{}", relay.addr);
    let mut have = std::collections::HashSet::new();
    let mut cursor = 0;
    loop {
        let r: PullResponse = dev2.pull(cursor, None).ok();
        have.extend(r.entries.iter().map(|e| e.entry_id));
        cursor = r.cursor;
        if !r.more {
            break;
        }
    }
    let lost: Vec<_> = acked.iter().filter(|id| !have.contains(id)).collect();
    assert!(lost.is_empty(), "{} acknowledged entries lost of {}", lost.len(), acked.len());
}

#[test]
fn graceful_shutdown_loses_no_acknowledged_append() {
    acked_survive(false);
}

#[test]
fn sigkill_loses_no_acknowledged_append() {
    acked_survive(true);
}

#[test]
fn plain_http_is_refused_off_loopback_and_tls_serves_1_3() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_houmon-relay"))
        .args(["serve", "--db"])
        .arg(&db)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TLS"));

    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).expect("w");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("w");
    let relay =
        RelayProc::start(&db, &["--tls-cert", cert.to_str().expect("p"), "--tls-key", key.to_str().expect("p")]);
    let url = format!("https://{}{}", relay.addr, PATH_HEALTH);
    let trusted = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
                    ureq::tls::Certificate::from_der(ck.cert.der()).to_owned(),
                ])))
                .build(),
        )
        .build()
        .new_agent();
    let mut r = trusted.get(&url).call().expect("TLS health");
    assert_eq!(r.status().as_u16(), 200);
    let _ = r.body_mut().read_to_vec();
    // An untrusting client (system roots) refuses the self-signed relay; plain HTTP gets nothing.
    assert!(agent().get(&url).call().is_err());
    assert!(
        agent()
            .get(format!("http://{}{}", relay.addr, PATH_HEALTH))
            .call()
            .map(|r| r.status().as_u16() != 200)
            .unwrap_or(true)
    );
}

// ---- WebSocket helpers

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn try_ws(relay: &RelayProc, dev: &Dev) -> Result<Ws, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}{}", relay.addr, PATH_WS).into_client_request().map_err(|e| e.to_string())?;
    for (k, v) in dev.sign_headers("GET", PATH_WS, &[]) {
        req.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?,
            v.parse().map_err(|_| "hv".to_string())?,
        );
    }
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s).map_err(|e| e.to_string())
}

async fn open_ws(relay: &RelayProc, dev: &Dev) -> Ws {
    try_ws(relay, dev).await.expect("ws connect")
}

async fn ws_send(ws: &mut Ws, m: &WsClient) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(encode(m).into())).await.expect("send");
}

async fn ws_next(ws: &mut Ws) -> Option<WsServer> {
    use futures_util::StreamExt;
    let fut = async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(tokio_tungstenite::tungstenite::Message::Binary(b)) => return decode::<WsServer>(&b),
                Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => return None,
                _ => {}
            }
        }
        None
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), fut).await.ok().flatten()
}

/// Every admin command prints one JSON object; once a clinic has a device, the relay issues no
/// keyless code and redeems none (the device would make a second content key).
#[test]
fn a_founded_clinic_gets_no_keyless_code_from_the_cli_nor_through_enrollment() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (clinic, founding) = create_clinic(&db, "さくら在宅クリニック");
    // A second founding code before anyone enrolled (the first was lost): allowed.
    let (rc, spare) = admin_json(&db, &["create-code", "--clinic", &clinic.to_hex()]);
    assert_eq!(rc, 0, "{spare}");
    let spare = spare["code"].as_str().expect("code").to_string();
    let relay = RelayProc::start(&db, &[]);
    // Control: the founding code on the fresh clinic works and says it founds.
    let admin_dev = enroll(&relay, &founding, "office").map_err(|_| ()).expect("founding code enrolls");
    assert_eq!(admin_dev.clinic, clinic);
    // The spare keyless code is now refused with its own code and a next step.
    let e = enroll(&relay, &spare, "tablet").err().expect("keyless code refused").err();
    assert_eq!(e.code, ErrorCode::KeylessCode);
    assert!(e.message.contains("管理用端末"), "{}", e.message);
    // The CLI refuses a new one, in JSON, exit 1.
    let (rc, v) = admin_json(&db, &["create-code", "--clinic", &clinic.to_hex(), "--role", "member"]);
    assert_eq!((rc, v["error"].as_str()), (1, Some("clinic_founded")), "{v}");
    assert!(v["message"].as_str().expect("ja").contains("houmon-clinic code create"), "{v}");
    assert!(v["message_en"].as_str().expect("en").is_ascii());
    // So does the admin device asking the relay for a keyless code.
    let raw = rand16();
    let req = CreateCodeRequest {
        code_auth_hash: enrollment::code_auth_hash(&raw),
        role: Role::Member,
        wrapped_content_key: None,
        valid_for_s: 3600,
    };
    assert_eq!(admin_dev.post(PATH_CODES, encode(&req)).err().code, ErrorCode::KeylessCode);
    // A code carrying the key still enrolls a device.
    let tablet = enroll(&relay, &device_code(&admin_dev, Role::Member), "tablet").map_err(|_| ()).expect("keyed");
    // devices and revoke answer in JSON too; errors as well.
    let (rc, v) = admin_json(&db, &["devices", "--clinic", &clinic.to_hex()]);
    assert_eq!(rc, 0);
    let ids: Vec<&str> = v["devices"].as_array().expect("list").iter().filter_map(|d| d["id"].as_str()).collect();
    assert_eq!(ids, vec![admin_dev.device.to_hex(), tablet.device.to_hex()]);
    assert_eq!(v["devices"][0]["role"], "admin");
    let (rc, v) = admin_json(&db, &["revoke", "--device", &tablet.device.to_hex()]);
    assert_eq!((rc, v["revoked"].as_str()), (0, Some(tablet.device.to_hex().as_str())));
    let (rc, v) = admin_json(&db, &["revoke", "--device", "zz"]);
    assert_eq!((rc, v["error"].as_str()), (1, Some("bad_argument")), "{v}");
}

/// Two relay processes on one PostgreSQL database: one clinic's appends through both get
/// gapless seqs, a push reaches a device connected to the other process, and a revocation
/// made through one closes the device's socket on the other.
#[test]
fn two_relays_on_one_database_serve_one_clinic() {
    let Some(base) = require_postgres("two_relays_on_one_database_serve_one_clinic") else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("shared");
    let url = std::ffi::OsString::from(fresh_database(&base, &key));
    let (rc, v) = {
        let (rc, out, err) = admin_spec(&url, &["create-clinic", "--name", "c"]);
        (rc, serde_json::from_str::<serde_json::Value>(out.trim()).unwrap_or_else(|_| panic!("{out} {err}")))
    };
    assert_eq!(rc, 0, "{v}");
    let code = v["code"].as_str().expect("code").to_string();
    let fast = ["--requests-per-s", "10000", "--request-burst", "10000"];
    let a = RelayProc::start_spec(&url, &fast, &key);
    let b = RelayProc::start_spec(&url, &fast, &key);
    let office = enroll(&a, &code, "office").map_err(|_| ()).expect("enroll on A");
    let tablet = enroll(&b, &device_code(&office, Role::Member), "tablet").map_err(|_| ()).expect("enroll on B");
    let writer = enroll(&b, &device_code(&office, Role::Member), "writer").map_err(|_| ()).expect("enroll on B");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let mut ws = rt.block_on(open_ws(&b, &tablet));
    rt.block_on(ws_send(&mut ws, &WsClient::Subscribe { after: 0, docs: None }));
    assert!(matches!(rt.block_on(ws_next(&mut ws)), Some(WsServer::Entries { ref entries, .. }) if entries.is_empty()));

    // Written through A, pushed by B.
    let doc = DocId(rand16());
    let _: AppendResponse = office.append(vec![office.entry(doc, b"from A".to_vec())]).ok();
    match rt.block_on(ws_next(&mut ws)) {
        Some(WsServer::Entries { entries, cursor }) => {
            assert_eq!(entries.iter().map(|e| e.ciphertext.clone()).collect::<Vec<_>>(), vec![b"from A".to_vec()]);
            assert_eq!(cursor, 1);
        }
        m => panic!("B did not push A's entry: {m:?}"),
    }

    // Concurrent appends through both processes: one gapless order.
    let per = 200;
    let (o, w) = (&office, &writer);
    let ids: Vec<EntryId> = std::thread::scope(|s| {
        let ta = s.spawn(move || append_one_by_one(o, "a", per));
        let tb = s.spawn(move || append_one_by_one(w, "b", per));
        let mut all = ta.join().expect("a");
        all.extend(tb.join().expect("b"));
        all
    });
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let page: PullResponse = tablet.pull(cursor, None).ok();
        seen.extend(page.entries.iter().map(|e| (e.seq, e.entry_id)));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    let seqs: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=(2 * per as u64 + 1)).collect::<Vec<_>>(), "gapless, each seq once");
    let got: std::collections::HashSet<EntryId> = seen.iter().skip(1).map(|(_, id)| *id).collect();
    assert_eq!(got, ids.into_iter().collect(), "every acknowledged entry is there once");

    // Revoked through A: B closes the device's socket and refuses it.
    assert_eq!(office.post(PATH_REVOKE, encode(&RevokeRequest { device: tablet.device })).status, 200);
    let revoked = rt.block_on(async {
        loop {
            match ws_next(&mut ws).await {
                Some(WsServer::Revoked) => return true,
                Some(_) => continue,
                None => return false,
            }
        }
    });
    assert!(revoked, "B must close the revoked device's socket");
    assert_eq!(tablet.pull(0, None).err().code, ErrorCode::Revoked);
}

fn append_one_by_one(dev: &Dev, tag: &str, n: usize) -> Vec<EntryId> {
    let doc = DocId(rand16());
    (0..n)
        .map(|i| {
            let e = dev.entry(doc, format!("{tag}{i}").into_bytes());
            let id = e.entry_id;
            let _: AppendResponse = dev.append(vec![e]).ok();
            id
        })
        .collect()
}

/// A database migrated by a newer relay is refused by `serve` and `admin`, in words that say
/// what to do, and is left as it was.
#[test]
fn a_database_newer_than_the_relay_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    create_clinic(&db, "c");
    let spec = db_arg(&db);
    match postgres_base() {
        Some(_) => {
            let mut c = postgres::Client::connect(spec.to_str().expect("url"), postgres::NoTls).expect("connect");
            c.batch_execute("INSERT INTO houmon_schema(version) VALUES (99)").expect("bump");
        }
        None => {
            let c = rusqlite::Connection::open(&db).expect("open");
            c.pragma_update(None, "user_version", 99).expect("bump");
        }
    }
    let (rc, out, _) = admin_spec(&spec, &["create-clinic", "--name", "d"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!((rc, v["error"].as_str()), (1, Some("newer_schema")), "{v}");
    assert!(v["message"].as_str().expect("ja").contains("houmon-relay を更新"), "{v}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_houmon-relay"))
        .args(["serve", "--db"])
        .arg(&spec)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("更新してください"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every Subscribe on an open socket is a pull: it checks revocation (here made by the admin
/// command line, which a running SQLite relay sees only through its device cache) and the
/// device's request rate.
#[test]
fn subscribe_checks_revocation_and_the_request_rate() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("relay.db");
    let (_, code) = create_clinic(&db, "c");
    let relay = RelayProc::start(&db, &["--requests-per-s", "0.5", "--request-burst", "6"]);
    let office = enroll(&relay, &code, "office").map_err(|_| ()).expect("enroll");
    let tablet = enroll(&relay, &device_code(&office, Role::Member), "tablet").map_err(|_| ()).expect("enroll");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");

    // Rate: the socket costs one token, each Subscribe one more; past the burst it closes.
    let mut ws = rt.block_on(open_ws(&relay, &office));
    let mut answered = 0;
    for _ in 0..8 {
        rt.block_on(ws_send_lossy(&mut ws, &WsClient::Subscribe { after: 0, docs: None }));
        match rt.block_on(ws_next(&mut ws)) {
            Some(WsServer::Entries { .. }) => answered += 1,
            _ => break,
        }
    }
    // The code request took one token and the socket one: at most 4 Subscribes fit the burst.
    assert!((1..=4).contains(&answered), "answered {answered} of 8 Subscribes");

    // Revocation seen at the next Subscribe, not only at the next push.
    let mut ws = rt.block_on(open_ws(&relay, &tablet));
    rt.block_on(ws_send(&mut ws, &WsClient::Subscribe { after: 0, docs: None }));
    assert!(matches!(rt.block_on(ws_next(&mut ws)), Some(WsServer::Entries { .. })), "control: answered");
    let (rc, _, err) = admin(&relay.db, &["revoke", "--device", &tablet.device.to_hex()]);
    assert_eq!(rc, 0, "{err}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    rt.block_on(ws_send(&mut ws, &WsClient::Subscribe { after: 0, docs: None }));
    assert_eq!(rt.block_on(ws_next(&mut ws)), Some(WsServer::Revoked));
}

async fn ws_send_lossy(ws: &mut Ws, m: &WsClient) {
    use futures_util::SinkExt;
    let _ = ws.send(tokio_tungstenite::tungstenite::Message::Binary(encode(m).into())).await;
}

/// Sends signed-looking headers announcing a 10 MB body, sends none of it, and returns the
/// status line if the relay answers within `wait`.
fn answer_without_body(relay: &RelayProc, headers: &[(String, String)], wait: std::time::Duration) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(&relay.addr).expect("connect");
    let mut req = format!(
        "POST {PATH_APPEND} HTTP/1.1\r\nHost: {}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: 10000000\r\n",
        relay.addr
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string()),
        _ => None,
    }
}

/// An unknown device is refused from its headers: the relay never waits for (or reads) the
/// body it announces. Control: for a known device the relay does wait for the body, which it
/// needs to check the signature.
#[test]
fn an_unknown_device_is_refused_before_its_body_is_read() {
    let (_d, relay, dev) = setup(&[]);
    let wait = std::time::Duration::from_secs(2);
    let mut stranger = dev.sign_headers("POST", PATH_APPEND, b"");
    stranger[0].1 = DeviceId(rand16()).to_hex();
    let status = answer_without_body(&relay, &stranger, wait);
    assert!(status.as_deref().is_some_and(|l| l.contains(" 401")), "unknown device: {status:?}");
    let known = dev.sign_headers("POST", PATH_APPEND, b"");
    assert_eq!(answer_without_body(&relay, &known, wait), None, "control: a known device's body is awaited");
}
