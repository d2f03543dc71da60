//! `houmon-clinic`: the clinic's set-up from a terminal, for clinic IT staff and vendors who set
//! up many clinics. It works on its own encrypted data directory as an enrolled device and runs
//! the same use cases as the back-office screens (`houmon_tablet::admin`): nothing here is a
//! second implementation. Every command prints exactly one JSON object on stdout; an error is
//! `{"error", "message", "message_en"}` with exit status 1.
//!
//! Must never: print or log patient data, a PIN or a key; put the data key in a file unless
//! `--key-file-fallback` is given (and then say so in the output).

use clap::{Parser, Subcommand};
use houmon_tablet::admin::{AdminDevice, DeviceRole};
use houmon_tablet::dto::{
    AppErrorCode, AuditFilter, CareEndReason, IdDocument, PatientInput, PlanInput, PlanRow, Recurrence, Sex,
    StaffInput, StaffRole, UiError, VisitEdit, VisitKind, VisitStatus,
};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "houmon-clinic",
    version,
    about = "Set up a Houmon clinic from a terminal (one JSON object per command)"
)]
struct Cli {
    /// The device's data directory (encrypted store, keys).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Where no OS keystore exists, keep the data key in a file in --data (unprotected).
    #[arg(long, global = true)]
    key_file_fallback: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Enroll this data directory with a one-time code (a founding code makes it the admin device).
    Enroll {
        #[arg(long)]
        relay: String,
        #[arg(long)]
        code: String,
        /// How the device appears in device lists (no patient or staff names).
        #[arg(long, default_value = "houmon-clinic")]
        label: String,
    },
    /// The clinic document.
    Clinic {
        #[command(subcommand)]
        cmd: ClinicCmd,
    },
    /// Enrollment codes for further devices.
    Code {
        #[command(subcommand)]
        cmd: CodeCmd,
    },
    /// The clinic's staff (職員).
    Staff {
        #[command(subcommand)]
        cmd: StaffCmd,
    },
    /// The clinic's devices.
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Patients (患者): register, import a list, edit, end care (admin device only for changes).
    Patient {
        #[command(subcommand)]
        cmd: PatientCmd,
    },
    /// The visit plan (訪問予定): plan, edit, reassign, cancel, list (admin device only for changes).
    Visit {
        #[command(subcommand)]
        cmd: VisitCmd,
    },
    /// This device's access history (監査ログ).
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// One sync round with the relay.
    Sync,
}

#[derive(Subcommand, Debug)]
enum ClinicCmd {
    /// Set the clinic's name, 医療機関コード, address and phone (admin device only).
    Set {
        #[arg(long)]
        name: String,
        /// 医療機関コード, 10 digits with its check digit.
        #[arg(long)]
        institution: String,
        #[arg(long, default_value = "")]
        address: String,
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// Show the clinic as this device holds it.
    Show,
}

#[derive(Subcommand, Debug)]
enum CodeCmd {
    /// Issue a one-time code carrying the clinic's content key (admin device only).
    Create {
        #[arg(long, value_parser = ["member", "admin"])]
        role: String,
        #[arg(long, default_value_t = 72)]
        hours: u32,
    },
}

#[derive(Subcommand, Debug)]
enum StaffCmd {
    /// Add a staff member (admin device only); prints their id and a one-time PIN set-up code.
    Add {
        #[arg(long)]
        name: String,
        /// カナ, full-width katakana.
        #[arg(long)]
        kana: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// 資格・専門 (free text).
        #[arg(long, default_value = "")]
        qualifications: String,
    },
    /// Edit a staff member (admin device only): what is given changes, the rest stays.
    Edit {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        kana: Option<String>,
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        #[arg(long)]
        qualifications: Option<String>,
        /// `false` deactivates (退職): the person can no longer sign in; nothing is deleted.
        #[arg(long)]
        active: Option<bool>,
    },
    /// List the clinic's staff.
    List,
    /// Reset a staff member's PIN (admin device only): prints a new one-time set-up code.
    ResetPin {
        #[arg(long)]
        id: String,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Doctor,
    Nurse,
    Office,
    Admin,
}

impl From<RoleArg> for StaffRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Doctor => StaffRole::Doctor,
            RoleArg::Nurse => StaffRole::Nurse,
            RoleArg::Office => StaffRole::Office,
            RoleArg::Admin => StaffRole::Admin,
        }
    }
}

#[derive(Subcommand, Debug)]
enum DeviceCmd {
    /// List the clinic's devices.
    List,
    /// Revoke a device at the relay and mark it in the clinic document (admin device only).
    Revoke {
        #[arg(long)]
        id: String,
    },
}

/// The registration fields shared by `patient add` and `patient edit`.
#[derive(clap::Args, Debug)]
struct PatientFields {
    /// 氏名
    #[arg(long)]
    name: Option<String>,
    /// カナ氏名 (full-width katakana)
    #[arg(long)]
    kana: Option<String>,
    /// 生年月日 YYYY-MM-DD
    #[arg(long)]
    birth: Option<String>,
    #[arg(long, value_enum)]
    sex: Option<SexArg>,
    #[arg(long)]
    address: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    /// キーパーソン
    #[arg(long)]
    key_person: Option<String>,
    /// キーパーソン連絡先
    #[arg(long)]
    key_person_phone: Option<String>,
    /// ケアマネジャー
    #[arg(long)]
    care_manager: Option<String>,
    /// 居宅介護支援事業所
    #[arg(long)]
    care_office: Option<String>,
    /// 主治医
    #[arg(long)]
    primary_doctor: Option<String>,
    /// 本人確認書類: card (マイナンバーカード), certificate (資格確認書) or unknown.
    #[arg(long, value_enum)]
    id_document: Option<IdDocArg>,
}

#[derive(Subcommand, Debug)]
enum PatientCmd {
    /// Register a patient by hand, with or without a card; prints `{"id"}`.
    Add {
        #[command(flatten)]
        fields: PatientFields,
    },
    /// Edit a patient: what is given changes, the rest stays (the change history keeps both).
    Edit {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        fields: PatientFields,
    },
    /// Import a patient list (CSV, UTF-8 or Shift_JIS; columns in clinic-cli/README.md): every
    /// row or none, bad rows reported with their line numbers.
    Import {
        #[arg(long)]
        csv: PathBuf,
    },
    /// List the patients this device holds.
    List,
    /// One patient's details and change history.
    Show {
        #[arg(long)]
        id: String,
    },
    /// End care (死亡・入院・転居・終了); nothing is deleted. `--reason none` resumes care.
    End {
        #[arg(long)]
        id: String,
        #[arg(long, value_enum)]
        reason: EndArg,
        /// YYYY-MM-DD (default: today)
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum SexArg {
    Male,
    Female,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum IdDocArg {
    Card,
    Certificate,
    Unknown,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum EndArg {
    Death,
    Hospitalised,
    Moved,
    Ended,
    None,
}

#[derive(Subcommand, Debug)]
enum VisitCmd {
    /// Plan a visit, or a recurring one (`--repeat weekly:tue,fri|biweekly:tue|monthly:1tue,3tue
    /// --until YYYY-MM-DD`); prints the new visits' ids.
    Add {
        #[arg(long)]
        patient: String,
        /// Staff id (repeat for two people).
        #[arg(long, required = true)]
        staff: Vec<String>,
        #[arg(long)]
        date: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        /// 訪問診療, 往診 or 訪問看護 (or home-medical, urgent-call, home-nursing).
        #[arg(long, value_parser = parse_kind)]
        kind: VisitKind,
        #[arg(long, value_parser = parse_repeat)]
        repeat: Option<Recurrence>,
        #[arg(long)]
        until: Option<String>,
    },
    /// The visits of one day (`--date`) or month (`--month`), optionally one staff member's or
    /// one patient's.
    List {
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        month: Option<String>,
        #[arg(long)]
        staff: Option<String>,
        #[arg(long)]
        patient: Option<String>,
    },
    /// Change a visit's date, time window or kind (another month: a new visit there).
    Edit {
        #[arg(long)]
        id: String,
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        end: Option<String>,
        #[arg(long, value_parser = parse_kind)]
        kind: Option<VisitKind>,
    },
    /// Hand a visit to other staff.
    Reassign {
        #[arg(long)]
        id: String,
        #[arg(long, required = true)]
        staff: Vec<String>,
    },
    /// Cancel a visit with its reason (the entry stays, as 中止).
    Cancel {
        #[arg(long)]
        id: String,
        #[arg(long)]
        reason: String,
    },
}

/// Which entries of the access history.
#[derive(clap::Args, Debug)]
struct AuditFilterArgs {
    #[arg(long)]
    patient: Option<String>,
    #[arg(long)]
    staff: Option<String>,
    /// YYYY-MM-DD (JST), inclusive.
    #[arg(long)]
    from: Option<String>,
    /// YYYY-MM-DD (JST), inclusive.
    #[arg(long)]
    to: Option<String>,
}

impl From<AuditFilterArgs> for AuditFilter {
    fn from(a: AuditFilterArgs) -> Self {
        Self { patient_id: a.patient, staff_id: a.staff, from: a.from, to: a.to }
    }
}

#[derive(Subcommand, Debug)]
enum AuditCmd {
    /// The clinic's access history this device holds (all devices' on the admin device),
    /// newest first, with staff and patient names.
    List {
        #[command(flatten)]
        filter: AuditFilterArgs,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Write the (filtered) history as CSV for the office; prints `{"out", "bytes", "rows"}`.
    Export {
        #[arg(long)]
        csv: PathBuf,
        #[command(flatten)]
        filter: AuditFilterArgs,
    },
}

fn parse_kind(s: &str) -> Result<VisitKind, String> {
    match s {
        "訪問診療" | "home-medical" => Ok(VisitKind::HomeMedical),
        "往診" | "urgent-call" => Ok(VisitKind::UrgentCall),
        "訪問看護" | "home-nursing" => Ok(VisitKind::HomeNursing),
        _ => Err("訪問診療・往診・訪問看護 のどれか / one of home-medical, urgent-call, home-nursing".into()),
    }
}

fn parse_repeat(s: &str) -> Result<Recurrence, String> {
    Recurrence::parse(s).ok_or_else(|| "weekly:tue,fri / biweekly:tue / monthly:1tue,3tue".into())
}

fn not_found(ja: &str, en: &str) -> UiError {
    UiError::new(AppErrorCode::NotFound, ja, en)
}

/// A plan row as the terminal prints it (kind as the Japanese word `visit add` takes).
fn visit_json(v: &PlanRow) -> Value {
    json!({
        "id": v.id, "date": v.date, "start": v.start, "end": v.end,
        "patient": v.patient_id, "patient_name": v.patient_name,
        "staff": v.staff.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        "kind": v.kind.label_ja(), "status": v.status,
    })
}

fn patient_input(id: Option<String>, f: PatientFields, now: Option<PatientInput>) -> Result<PatientInput, UiError> {
    let base = now.unwrap_or(PatientInput {
        id: None,
        name: String::new(),
        kana: String::new(),
        birth_date: String::new(),
        sex: Sex::Male,
        address: String::new(),
        phone: String::new(),
        key_person: String::new(),
        key_person_phone: String::new(),
        care_manager: String::new(),
        care_office: String::new(),
        primary_doctor: String::new(),
        id_document: IdDocument::Unknown,
    });
    if id.is_none() && (f.name.is_none() || f.kana.is_none() || f.birth.is_none() || f.sex.is_none()) {
        return Err(UiError::new(
            AppErrorCode::BadArgument,
            "patient add には --name, --kana, --birth, --sex が必要です。",
            "patient add needs --name, --kana, --birth and --sex.",
        ));
    }
    Ok(PatientInput {
        id,
        name: f.name.unwrap_or(base.name),
        kana: f.kana.unwrap_or(base.kana),
        birth_date: f.birth.unwrap_or(base.birth_date),
        sex: f.sex.map(|s| if matches!(s, SexArg::Female) { Sex::Female } else { Sex::Male }).unwrap_or(base.sex),
        address: f.address.unwrap_or(base.address),
        phone: f.phone.unwrap_or(base.phone),
        key_person: f.key_person.unwrap_or(base.key_person),
        key_person_phone: f.key_person_phone.unwrap_or(base.key_person_phone),
        care_manager: f.care_manager.unwrap_or(base.care_manager),
        care_office: f.care_office.unwrap_or(base.care_office),
        primary_doctor: f.primary_doctor.unwrap_or(base.primary_doctor),
        id_document: f
            .id_document
            .map(|d| match d {
                IdDocArg::Card => IdDocument::MyNumberCard,
                IdDocArg::Certificate => IdDocument::QualificationCertificate,
                IdDocArg::Unknown => IdDocument::Unknown,
            })
            .unwrap_or(base.id_document),
    })
}

fn error_json(e: &UiError) -> Value {
    json!({"error": e.code, "message": e.ja, "message_en": e.en})
}

fn run(cli: Cli) -> Result<Value, UiError> {
    let data = cli.data.ok_or_else(|| {
        UiError::new(
            AppErrorCode::BadArgument,
            "--data でデータの保存先フォルダを指定してください。",
            "Give the data directory with --data.",
        )
    })?;
    let mut dev = AdminDevice::open(&data, cli.key_file_fallback)?;
    let mut out = match cli.cmd {
        Cmd::Enroll { relay, code, label } => serde_json::to_value(dev.enroll(&relay, &code, &label)?),
        Cmd::Clinic { cmd: ClinicCmd::Set { name, institution, address, phone } } => {
            serde_json::to_value(dev.set_clinic(&name, &institution, &address, &phone)?)
        }
        Cmd::Clinic { cmd: ClinicCmd::Show } => serde_json::to_value(dev.show_clinic()?),
        Cmd::Code { cmd: CodeCmd::Create { role, hours } } => {
            let role = if role == "admin" { DeviceRole::Admin } else { DeviceRole::Member };
            let issued = dev.create_code(role, hours)?;
            Ok(json!({"code": issued.code, "role": role.code(), "hours": hours, "valid_until": issued.valid_until}))
        }
        Cmd::Staff { cmd: StaffCmd::Add { name, kana, role, qualifications } } => {
            let input = StaffInput { id: None, name, kana, role: role.into(), qualifications, active: true };
            serde_json::to_value(dev.save_staff(&input)?)
        }
        Cmd::Staff { cmd: StaffCmd::Edit { id, name, kana, role, qualifications, active } } => {
            let now = dev.staff()?.into_iter().find(|s| s.id == id).ok_or_else(|| {
                UiError::new(
                    AppErrorCode::NotFound,
                    "その職員は見つかりません。staff list で確認してください。",
                    "No such staff member; check staff list.",
                )
            })?;
            let input = StaffInput {
                id: Some(id),
                name: name.unwrap_or(now.name),
                kana: kana.unwrap_or(now.kana),
                role: role.map(Into::into).unwrap_or(now.role),
                qualifications: qualifications.unwrap_or(now.qualifications),
                active: active.unwrap_or(now.active),
            };
            serde_json::to_value(dev.save_staff(&input)?)
        }
        Cmd::Staff { cmd: StaffCmd::List } => Ok(json!({"staff": dev.staff()?})),
        Cmd::Staff { cmd: StaffCmd::ResetPin { id } } => serde_json::to_value(dev.reset_staff_pin(&id)?),
        Cmd::Device { cmd: DeviceCmd::List } => Ok(json!({"devices": dev.devices()?})),
        Cmd::Device { cmd: DeviceCmd::Revoke { id } } => Ok(json!({"revoked": dev.revoke(&id)?})),
        Cmd::Sync => serde_json::to_value(dev.sync()?),
        Cmd::Patient { cmd: PatientCmd::Add { fields } } => {
            Ok(json!({"id": dev.save_patient(&patient_input(None, fields, None)?)?}))
        }
        Cmd::Patient { cmd: PatientCmd::Edit { id, fields } } => {
            let now = dev.patient_detail(&id)?.patient;
            Ok(json!({"id": dev.save_patient(&patient_input(Some(id), fields, Some(now))?)?}))
        }
        Cmd::Patient { cmd: PatientCmd::Import { csv } } => {
            let bytes = std::fs::read(&csv).map_err(|_| {
                not_found(
                    "CSVファイルを読めません。--csv のパスを確認してください。",
                    "Cannot read the CSV file. Check the --csv path.",
                )
            })?;
            serde_json::to_value(dev.import_patients(&bytes)?)
        }
        Cmd::Patient { cmd: PatientCmd::List } => Ok(json!({"patients": dev.patients()?.into_iter().map(|p| json!({
            "id": p.id.to_string(), "name": p.name, "kana": p.name_kana,
            "birth": p.birth_date.map(|d| d.to_string()), "care_ended": p.care_ended,
        })).collect::<Vec<_>>()})),
        Cmd::Patient { cmd: PatientCmd::Show { id } } => serde_json::to_value(dev.patient_detail(&id)?),
        Cmd::Patient { cmd: PatientCmd::End { id, reason, date } } => {
            let reason = match reason {
                EndArg::Death => Some(CareEndReason::Death),
                EndArg::Hospitalised => Some(CareEndReason::Hospitalised),
                EndArg::Moved => Some(CareEndReason::Moved),
                EndArg::Ended => Some(CareEndReason::Ended),
                EndArg::None => None,
            };
            dev.end_care(&id, reason, date.as_deref())?;
            Ok(json!({"id": id, "care_ended": reason}))
        }
        Cmd::Visit { cmd: VisitCmd::Add { patient, staff, date, start, end, kind, repeat, until } } => {
            let input = PlanInput { patient, staff, date, start, end, kind, repeat, until };
            serde_json::to_value(dev.plan_visits(&input)?)
        }
        Cmd::Visit { cmd: VisitCmd::List { date, month, staff, patient } } => {
            let month = match (&date, month) {
                (Some(d), _) => d.get(..7).unwrap_or_default().to_string(),
                (None, Some(m)) => m,
                (None, None) => {
                    return Err(UiError::new(
                        AppErrorCode::BadArgument,
                        "--date か --month を指定してください。",
                        "Give --date or --month.",
                    ));
                }
            };
            let plan = dev.plan_month(&month, staff.as_deref(), patient.as_deref())?;
            let visits: Vec<Value> =
                plan.visits.iter().filter(|v| date.as_deref().is_none_or(|d| v.date == d)).map(visit_json).collect();
            Ok(json!({"visits": visits}))
        }
        Cmd::Visit { cmd: VisitCmd::Edit { id, date, start, end, kind } } => {
            let month = dev.plan_month_of(&id)?;
            let v = month.visits.into_iter().find(|v| v.id == id).ok_or_else(|| {
                not_found(
                    "その訪問は見つかりません。visit list で確認してください。",
                    "No such visit; check visit list.",
                )
            })?;
            let e = VisitEdit {
                id,
                date: date.unwrap_or(v.date),
                start: start.unwrap_or(v.start),
                end: end.unwrap_or(v.end),
                kind: kind.unwrap_or(v.kind),
            };
            Ok(json!({"id": dev.edit_visit(&e)?}))
        }
        Cmd::Visit { cmd: VisitCmd::Reassign { id, staff } } => {
            dev.reassign_visit(&id, &staff)?;
            Ok(json!({"id": id, "staff": staff}))
        }
        Cmd::Visit { cmd: VisitCmd::Cancel { id, reason } } => {
            dev.cancel_visit(&id, &reason)?;
            Ok(json!({"id": id, "status": VisitStatus::Cancelled}))
        }
        Cmd::Audit { cmd: AuditCmd::List { filter, limit } } => serde_json::to_value(dev.audit(&filter.into(), limit)?),
        Cmd::Audit { cmd: AuditCmd::Export { csv, filter } } => {
            let view = dev.audit(&filter.into(), 1_000_000)?;
            let text = houmon_tablet::service::audit::audit_csv(&view);
            std::fs::write(&csv, &text).map_err(|_| {
                UiError::new(
                    AppErrorCode::Storage,
                    "CSVファイルを書けません。--csv のパスと空き容量を確認してください。",
                    "Cannot write the CSV file. Check the --csv path and free space.",
                )
            })?;
            Ok(json!({"out": csv, "bytes": text.len(), "rows": view.rows.len()}))
        }
    }
    .map_err(|_| UiError::new(AppErrorCode::Internal, "出力を作れませんでした。", "Could not build the output."))?;
    let ks = dev.key_storage();
    if let (Some(obj), Some(ja), Some(en)) = (out.as_object_mut(), ks.warning_ja, ks.warning_en) {
        obj.insert("key_storage".into(), json!(ks.kind));
        obj.insert("key_warning".into(), json!(ja));
        obj.insert("key_warning_en".into(), json!(en));
    }
    Ok(out)
}

fn main() {
    // Usage errors are JSON too (clap's help and version stay plain text).
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            let detail = e.to_string().lines().next().unwrap_or_default().to_string();
            let err = UiError::new(
                AppErrorCode::BadArgument,
                format!("コマンドの指定が正しくありません({detail})。--help で使い方を確認してください。"),
                format!("The command line is malformed ({detail}). See --help."),
            );
            println!("{}", error_json(&err));
            std::process::exit(1);
        }
    };
    match run(cli) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            println!("{}", error_json(&e));
            std::process::exit(1);
        }
    }
}
