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
use houmon_tablet::dto::{AppErrorCode, StaffInput, StaffRole, UiError};
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
            Ok(json!({"code": dev.create_code(role, hours)?, "role": role.code(), "hours": hours}))
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
