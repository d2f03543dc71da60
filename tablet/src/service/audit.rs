use super::*;

/// The store's action code, typed.
pub(crate) fn audit_kind(code: &str) -> AuditKind {
    match code {
        "view" => AuditKind::View,
        "edit" => AuditKind::Edit,
        "sign" => AuditKind::Sign,
        "correct" => AuditKind::Correct,
        "export" => AuditKind::Export,
        "consent" => AuditKind::Consent,
        "qualification" => AuditKind::Qualification,
        "open" => AuditKind::Open,
        _ => AuditKind::Other,
    }
}

/// Every fixed detail the store and the service write (`record_access`, `doc_op`), for people.
/// The stored text stays English: it is part of the hash chain.
const DETAILS: &[(&str, &str, &str)] = &[
    ("init clinic", "診療所の初期設定", "Clinic set up"),
    ("clinic details", "診療所情報の変更", "Clinic details changed"),
    ("staff", "職員情報の登録・変更", "Staff record changed"),
    ("staff pin set", "職員PINの設定", "Staff PIN set"),
    ("enroll device", "端末の登録", "Device enrolled"),
    ("revoke device", "端末の失効", "Device revoked"),
    ("issue enrollment code", "端末の登録コードの発行", "Enrollment code issued"),
    ("register patient", "患者の登録", "Patient registered"),
    ("open chart", "カルテの閲覧", "Chart opened"),
    ("demographics", "患者基本情報の変更", "Patient details changed"),
    ("start visit", "訪問の開始", "Visit started"),
    ("end visit", "訪問の終了", "Visit ended"),
    ("vitals", "バイタルの記録", "Vitals recorded"),
    ("clinical item", "臨床項目の記録", "Clinical item recorded"),
    ("save note", "記録の保存", "Note saved"),
    ("sign note", "記録の署名", "Note signed"),
    ("correct note", "記録の訂正", "Note corrected"),
    ("resolve conflict", "競合の解決", "Conflict resolved"),
    ("consent", "同意の記録", "Consent recorded"),
    ("revoke consent", "同意の撤回", "Consent revoked"),
    ("request", "資格確認の依頼", "Qualification requested"),
    ("result", "資格確認の結果", "Qualification result"),
    ("request requery", "再照会の依頼", "Re-query requested"),
    ("request first visit", "初回訪問の資格確認の依頼", "First-visit check requested"),
    ("failure", "資格確認の失敗", "Qualification check failed"),
    ("export chart", "カルテの書き出し", "Chart exported"),
    ("plan visit", "訪問の予定", "Visit planned"),
    ("export audit csv", "操作履歴のCSV書き出し", "Access history exported (CSV)"),
    ("edit visit", "訪問予定の変更", "Visit plan changed"),
    ("reassign visit", "訪問担当の変更", "Visit reassigned"),
    ("cancel visit", "訪問の中止", "Visit cancelled"),
    ("import patient", "患者の一括登録(CSV)", "Patient imported (CSV)"),
    (
        "evict chart",
        "担当外になったカルテの端末からの消去(部分同期)",
        "Chart removed from this device (no longer in its plan)",
    ),
    ("edit patient", "患者情報の変更", "Patient details edited"),
    ("end care", "訪問の終了(死亡・入院・転居・終了)", "Care ended"),
    ("resume care", "訪問の再開", "Care resumed"),
    ("visit status", "訪問状態の変更", "Visit status changed"),
    ("sync", "同期による更新", "Updated by sync"),
    ("import", "取り込み", "Imported"),
    ("unlock", "ロック解除", "Unlocked"),
    ("unlock refused: wrong staff PIN", "ロック解除の拒否(職員PINの誤り)", "Unlock refused: wrong staff PIN"),
    ("unlock refused", "サインインの拒否", "Sign-in refused"),
    ("auto-lock after idle", "操作がないための自動ロック", "Locked after idle time"),
    ("staff pin reset", "職員PINのリセット(設定コードの発行)", "Staff PIN reset (set-up code issued)"),
    ("staff pin code for another device", "別の端末用の設定コードの発行", "Set-up code for another device issued"),
    ("staff pin chosen on this device", "この端末での職員PINの設定", "Staff PIN chosen on this device"),
    ("first administrator", "最初の管理者の登録", "First administrator registered"),
    ("user setting", "設定の変更", "Setting changed"),
    (
        "refused: training mode on an enrolled device",
        "拒否: 登録済みの端末は訓練モードにできません",
        "Refused: training mode on an enrolled device",
    ),
    ("card face photo (目視)", "カードの顔写真の表示(目視確認)", "Card photo shown (visual check)"),
    (
        "card face locked (目視, printed photo)",
        "顔写真を読めず券面の写真で確認(目視確認)",
        "Card photo locked: printed photo used (visual check)",
    ),
];

/// The stored detail for people (Japanese, English).
pub(crate) fn audit_detail(detail: &str) -> (String, String) {
    if let Some((_, ja, en)) = DETAILS.iter().find(|(d, _, _)| *d == detail) {
        return ((*ja).into(), (*en).into());
    }
    // `ttl purge: 2 charts, 1 roster months` (sync_state.rs).
    if let Some((charts, rosters)) = detail
        .strip_prefix("ttl purge: ")
        .and_then(|r| r.split_once(" charts, "))
        .and_then(|(c, r)| Some((c.parse::<u32>().ok()?, r.strip_suffix(" roster months")?.parse::<u32>().ok()?)))
    {
        return (
            format!("未同期期間の超過による消去(カルテ{charts}件、予定表{rosters}か月分)"),
            format!("Erased after too long without sync ({charts} charts, {rosters} roster months)"),
        );
    }
    (detail.into(), detail.into())
}

/// The stored target for people (Japanese, English): what kind of record, not its id.
pub(crate) fn audit_target(target: &str) -> (String, String) {
    let (prefix, rest) = target.split_once(':').unwrap_or((target, ""));
    match prefix {
        "chart" => ("カルテ".into(), "Chart".into()),
        "roster" => (format!("予定表 {rest}"), format!("Roster {rest}")),
        "clinic" => ("診療所".into(), "Clinic".into()),
        "staff" => ("職員".into(), "Staff".into()),
        "device" => ("端末".into(), "Device".into()),
        "session" => ("サインイン".into(), "Sign-in".into()),
        "audit" => ("操作履歴".into(), "Access history".into()),
        "setting" => match houmon_policy::schema::setting(rest) {
            Some(d) => (format!("設定「{}」", d.title.ja), format!("Setting \"{}\"", d.title.en)),
            None => (format!("設定 {rest}"), format!("Setting {rest}")),
        },
        _ => (target.into(), target.into()),
    }
}

/// The clinic's access history as this device holds it (its own entries and every other
/// device's it received), newest first, with staff and patient names, filtered. Shared by the
/// back office and `houmon-clinic`.
pub fn audit_view(
    store: &mut Store,
    own_device: DeviceId,
    filter: &AuditFilter,
    limit: i64,
) -> Result<AuditLogView, UiError> {
    let chain_ok = store.verify_audit()?.ok();
    let staff: HashMap<String, String> =
        store.clinic().map(|c| c.staff.into_iter().map(|s| (s.id.to_string(), s.name)).collect()).unwrap_or_default();
    let patients: HashMap<String, String> =
        store.patient_list()?.into_iter().map(|p| (chart_doc_id(p.id), p.name)).collect();
    let day = |d: &Option<String>| d.as_deref().map(|d| d.parse::<NaiveDate>().map_err(|_| bad_id("日付"))).transpose();
    let (from, to) = (day(&filter.from)?, day(&filter.to)?);
    let patient = filter.patient_id.as_deref().map(parse_patient).transpose()?.map(chart_doc_id);
    let rows = store
        .clinic_audit(&own_device.0.simple().to_string(), 1_000_000)?
        .into_iter()
        .filter(|e| {
            let date = rules::jst_date(&e.at);
            patient.as_deref().is_none_or(|t| e.target == t)
                && filter.staff_id.as_deref().is_none_or(|s| e.staff == s)
                && from.is_none_or(|f| date >= f)
                && to.is_none_or(|t| date <= t)
        })
        .take(limit.clamp(1, 100_000) as usize)
        .map(|e| {
            let (target_ja, target_en) = audit_target(&e.target);
            let (detail_ja, detail_en) = audit_detail(&e.detail);
            AuditRow {
                seq: e.seq,
                at: iso(e.at),
                staff_name: staff.get(&e.staff).cloned().unwrap_or_default(),
                patient_name: patients.get(&e.target).cloned(),
                staff: e.staff,
                device: e.device,
                kind: audit_kind(&e.action),
                action: e.action,
                target: e.target,
                target_ja,
                target_en,
                detail: e.detail,
                detail_ja,
                detail_en,
            }
        })
        .collect();
    Ok(AuditLogView { chain_ok, rows })
}

/// The history as CSV for the office (UTF-8 with BOM, so Excel reads the Japanese): one row
/// per entry, with the columns named in Japanese.
pub fn audit_csv(view: &AuditLogView) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["日時", "職員", "患者", "操作", "対象", "内容", "端末", "番号"]);
    for r in &view.rows {
        let _ = w.write_record([
            r.at.as_str(),
            r.staff_name.as_str(),
            r.patient_name.as_deref().unwrap_or(""),
            r.action.as_str(),
            r.target_ja.as_str(),
            r.detail_ja.as_str(),
            r.device.as_str(),
            &r.seq.to_string(),
        ]);
    }
    let body = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&body))
}

impl Service {
    pub fn audit_log(&mut self, limit: i64) -> Result<AuditLogView, UiError> {
        self.clinic_audit(&AuditFilter::default(), limit)
    }

    /// The clinic's access history (admins; office staff too, since they review it).
    pub fn clinic_audit(&mut self, filter: &AuditFilter, limit: i64) -> Result<AuditLogView, UiError> {
        self.ensure_unlocked()?;
        audit_view(&mut self.store, self.actor.device, filter, limit)
    }

    /// The filtered history as CSV text (the UI saves it where the user chooses).
    pub fn audit_csv(&mut self, filter: &AuditFilter) -> Result<String, UiError> {
        let view = self.clinic_audit(filter, 100_000)?;
        let _ = self.store.record_access(&self.actor, AuditAction::Export, "audit", "export audit csv");
        Ok(audit_csv(&view))
    }

    /// The back office queue: patients whose 再照会 or check is waiting for an answer.
    pub fn qualification_queue(&mut self) -> Result<Vec<QueueRow>, UiError> {
        self.ensure_unlocked()?;
        let mut out = Vec::new();
        let ids: Vec<PatientId> = self.checks.keys().copied().collect();
        self.refresh_after_sync();
        for p in ids {
            let chart = self.store.read_chart(p)?;
            self.cache_chart(p, &chart);
            for r in &chart.qualification_requests {
                let answered = r.answered || chart.qualifications.iter().any(|q| q.id == r.id);
                let (state, ja, en) = self.queue_state(&chart, r);
                out.push(QueueRow {
                    patient_id: p.to_string(),
                    patient_name: chart.demographics.name.clone(),
                    requested_at: iso(r.requested_at),
                    answered,
                    state,
                    ja,
                    en,
                });
            }
        }
        out.sort_by(|a, b| b.requested_at.cmp(&a.requested_at));
        Ok(out)
    }
}
