use super::*;

pub(crate) fn setting_problem(p: houmon_policy::resolve::ProblemView) -> SettingProblem {
    SettingProblem {
        ignored: p.severity == houmon_policy::resolve::Severity::Ignored,
        ja: p.message_ja,
        en: p.message_en,
        origin: p.origin,
    }
}

pub(crate) fn policy_page(view: houmon_policy::PolicyView) -> PolicyPage {
    use houmon_policy::schema::SettingKind;
    use houmon_policy::{SETTINGS, SettingValue};
    let settings = view
        .settings
        .into_iter()
        .map(|r| {
            let kind = SETTINGS.iter().find(|d| d.key == r.key).map(|d| d.kind);
            let (input, choices) = match kind {
                Some(SettingKind::Bool) => (SettingInput::Bool, Vec::new()),
                Some(SettingKind::Integer { .. }) => (SettingInput::Integer, Vec::new()),
                // A multiple choice is typed as text, but its labels let the page show
                // 「暗証番号…, 目視…」 rather than the stored codes.
                Some(SettingKind::Choice { options } | SettingKind::MultiChoice { options }) => (
                    if matches!(kind, Some(SettingKind::Choice { .. })) {
                        SettingInput::Choice
                    } else {
                        SettingInput::Text
                    },
                    options
                        .iter()
                        .map(|o| SettingChoice {
                            value: o.value.into(),
                            label_ja: o.label.ja.into(),
                            label_en: o.label.en.into(),
                        })
                        .collect(),
                ),
                _ => (SettingInput::Text, Vec::new()),
            };
            SettingRow {
                value: match &r.value {
                    SettingValue::Unset => "—".into(),
                    SettingValue::Text(t) => t.clone(),
                    SettingValue::List(l) => l.join(", "),
                    v => serde_json::to_string(v).unwrap_or_default(),
                },
                source: r.source,
                key: r.key,
                label_ja: r.title_ja,
                label_en: r.title_en,
                description_ja: r.description_ja,
                description_en: r.description_en,
                origin: r.origin,
                locked: r.locked,
                user_editable: r.user_editable,
                input,
                choices,
                problems: r.problems.into_iter().map(setting_problem).collect(),
            }
        })
        .collect();
    PolicyPage {
        managed_by_organization: view.managed_by_organization,
        settings,
        problems: view.problems.into_iter().map(setting_problem).collect(),
    }
}

impl Service {
    /// The managed-policy page: every setting of core's schema, its effective value, source
    /// and origin; locked ones are marked; ignored values are listed with the reason. Bad
    /// values never stop the app.
    pub fn settings(&self) -> PolicyPage {
        policy_page(self.policy_engine().view())
    }

    /// The user changes an unlocked, user-settable setting (typed as text; converted by the
    /// setting's kind). A refusal says why (locked by the administrator, out of range …).
    pub fn set_user_setting(&mut self, key: &str, value: Option<&str>) -> Result<PolicyPage, UiError> {
        use houmon_policy::schema::{SettingKind, key::TRAINING_MODE};
        // Fail closed: a locked app changes no setting (the lock screen's language and text
        // size buttons only change the view until someone signs in).
        self.ensure_unlocked()?;
        // An enrolled device holds the clinic's real data: a user never switches it to the
        // training clinic (only the administrator's managed policy may). Switching off is fine.
        if !self.training && key == TRAINING_MODE && value.is_some_and(|v| v.trim() != "off") {
            self.store.record_access(
                &self.actor,
                AuditAction::Edit,
                &format!("setting:{key}"),
                "refused: training mode on an enrolled device",
            )?;
            return Err(UiError::new(
                AppErrorCode::SettingRefused,
                "この端末は医療機関に登録されているため、訓練モードには切り替えられません。練習には訓練用の端末を使うか、管理者に相談してください。",
                "This device is enrolled with the clinic, so it cannot switch to training mode. Practise on a training device, or ask your administrator.",
            ));
        }
        let engine = self.policy_engine();
        let r = match value {
            None => engine.clear_user_value(key),
            Some(text) => {
                let kind = houmon_policy::SETTINGS.iter().find(|d| d.key == key).map(|d| d.kind);
                let raw = match kind {
                    Some(SettingKind::Integer { .. }) => {
                        text.trim().parse::<i64>().map(serde_json::Value::from).unwrap_or_else(|_| text.into())
                    }
                    Some(SettingKind::Bool) => serde_json::Value::Bool(text == "true"),
                    Some(SettingKind::MultiChoice { .. } | SettingKind::TextList { .. }) => {
                        text.split(',').map(|x| serde_json::Value::from(x.trim())).collect()
                    }
                    _ => text.trim().into(),
                };
                engine.set_user_value(key, raw)
            }
        };
        let view = r.map_err(|e| UiError::new(AppErrorCode::SettingRefused, &e.message_ja, &e.message_en))?;
        self.store.record_access(&self.actor, AuditAction::Edit, &format!("setting:{key}"), "user setting")?;
        self.apply_settings();
        Ok(policy_page(view))
    }
}
