//! The clinic's set-up use cases on an enrolled device's own data directory: enroll (the
//! founding code makes this the clinic's admin device), set and show the clinic, issue
//! enrollment codes that carry the content key, list and revoke devices, sync. `houmon-clinic`
//! runs exactly these; the back-office screens call the same. The device underneath is the
//! app's: [`DeviceLifecycle`] (keys, encrypted store, wipe), [`SyncRunner`] (the sync round and
//! the header's state) and [`RelayEnrollment`].
//!
//! Roles are checked here, in Rust: only the admin device (its relay role) may set the clinic,
//! issue codes or revoke devices.
//!
//! Must never: print or log patient data, keep a key outside the data directory's keystore
//! protection (the file fallback only when asked for, and then said so), or make a content key
//! of its own (only a founding code does, in `houmon_sync::redeem_code`).

use crate::device::to_dto;
use crate::dto::{AppErrorCode, RelayErrorCode, UiError, UiErrorCode};
use chrono::Utc;
use houmon_device::lifecycle::{DeviceLifecycle, EnrollmentError, WipeReason};
use houmon_device::runner::{HeldStore, ManagedStore, RelayEnrollment, SyncRunner, SyncStatus};
use houmon_keys::{DeviceKeystore, KeyProtection};
use houmon_model::{Actor, ClinicId, StaffId, SyncState};
use houmon_onshi::MedicalInstitutionCode;
use houmon_policy::resolve::{EffectiveSettings, PolicyEngine, TrainingMode};
use houmon_store::Store;
use houmon_sync::{SyncClient, SyncError, SyncIdentity};
use houmon_sync_proto::{DeviceId as RelayDeviceId, Role};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;

pub use crate::dto::{DeviceRole, DeviceRow, IssuedCode};

/// The keystore service name of `houmon-clinic` data directories (not the app's).
const KEYSTORE_SERVICE: &str = "jp.houmon.clinic";

/// Where the data key of the directory is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStorage {
    /// `os_keystore` or `file`.
    pub kind: &'static str,
    /// Said whenever the key sits in a file.
    pub warning_ja: Option<&'static str>,
    pub warning_en: Option<&'static str>,
}

/// What enrollment gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrolled {
    pub device: String,
    pub clinic: String,
    pub role: &'static str,
    pub state: SyncState,
}

/// The clinic as this device holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClinicInfo {
    pub clinic: String,
    pub name: String,
    pub institution: String,
    pub address: String,
    pub phone: String,
    /// The devices the clinic document lists (revocations marked by the admin device).
    pub devices: Vec<ListedDevice>,
}

/// A device as the clinic document lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedDevice {
    pub id: String,
    pub label: String,
    pub revoked: bool,
}

/// What one sync round did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Synced {
    pub sent: usize,
    pub received: usize,
    pub state: SyncState,
    pub label_ja: String,
    pub label_en: String,
    pub next_ja: String,
    pub next_en: String,
}

/// The settings the lifecycle and runner need: no MDM policy, never the training clinic.
fn settings(relay_url: Option<String>) -> EffectiveSettings {
    let mut s = PolicyEngine::new(Vec::new(), None).view().effective();
    s.training_mode = TrainingMode::Off;
    s.relay_url = relay_url;
    s.enrollment_code = None;
    s
}

fn err(code: impl Into<UiErrorCode>, ja: &str, en: &str) -> UiError {
    UiError::new(code, ja, en)
}

fn sync_err(e: SyncError) -> UiError {
    let (ja, en) = e.user_message();
    let code: UiErrorCode = match &e {
        SyncError::Relay(houmon_sync_proto::http::HttpError::Relay { body, .. }) => body.code.into(),
        SyncError::Relay(_) => AppErrorCode::Unreachable.into(),
        SyncError::KeylessCode => EnrollmentError::KeylessCode.into(),
        _ => AppErrorCode::SyncFailed.into(),
    };
    UiError::new(code, ja, en)
}

fn enrollment_err(e: &EnrollmentError) -> UiError {
    let (ja, en) = e.message();
    UiError::new(*e, ja, en)
}

/// An enrolled (or about to enroll) admin or member device on its own data directory.
pub struct AdminDevice {
    lifecycle: Mutex<DeviceLifecycle>,
    held: HeldStore,
    runner: SyncRunner,
    exchange: RelayEnrollment,
    key_storage: KeyStorage,
}

impl std::fmt::Debug for AdminDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminDevice").field("key_storage", &self.key_storage).finish_non_exhaustive()
    }
}

impl AdminDevice {
    /// Open `data_dir`. The data key is wrapped by the OS keystore; where there is none this
    /// refuses unless `key_file_fallback`, and then [`Self::key_storage`] says the key sits in
    /// a file.
    pub fn open(data_dir: &Path, key_file_fallback: bool) -> Result<Self, UiError> {
        use sha2::Digest;
        std::fs::create_dir_all(data_dir).map_err(|_| {
            err(
                AppErrorCode::Storage,
                "データの保存先フォルダを作れません。--data のパスと権限を確認してください。",
                "Cannot create the data directory. Check the --data path and its permissions.",
            )
        })?;
        let account = hex::encode(&sha2::Sha256::digest(data_dir.to_string_lossy().as_bytes())[..8]);
        let keystore: Box<dyn DeviceKeystore> =
            houmon_keys::device_keystore(&houmon_keystore::KeystoreConfig::new(KEYSTORE_SERVICE, account, data_dir));
        let key_storage = match keystore.protection() {
            KeyProtection::OsKeystore(_) => KeyStorage { kind: "os_keystore", warning_ja: None, warning_en: None },
            KeyProtection::FileFallback if key_file_fallback => KeyStorage {
                kind: "file",
                warning_ja: Some(
                    "OSの鍵保管庫がないため、データの鍵は保護されずにファイルに置かれています。このフォルダを他人が読めないようにしてください。",
                ),
                warning_en: Some(
                    "No OS keystore: the data key sits unprotected in a file. Keep this directory unreadable to others.",
                ),
            },
            KeyProtection::FileFallback => {
                return Err(err(
                    AppErrorCode::NoKeystore,
                    "この端末にはOSの鍵保管庫(Secret Service など)がありません。鍵をファイルに置いてよい場合に限り --key-file-fallback を指定してください。",
                    "This machine has no OS keystore (e.g. Secret Service). Pass --key-file-fallback only if the key may sit in a file.",
                ));
            }
        };
        let (mut lc, _) = DeviceLifecycle::open(data_dir, keystore).map_err(UiError::from)?;
        let mut held = HeldStore(None);
        if let Some(store) = lc.lend_store().map_err(UiError::from)? {
            held.install_store(store);
        }
        Ok(Self {
            lifecycle: Mutex::new(lc),
            held,
            runner: SyncRunner::new(),
            exchange: RelayEnrollment::new("houmon-clinic"),
            key_storage,
        })
    }

    pub fn key_storage(&self) -> &KeyStorage {
        &self.key_storage
    }

    /// Redeem a one-time code at `relay` (as the app's enrollment screen does), then sync once.
    /// A founding code makes this the clinic's admin device.
    pub fn enroll(&mut self, relay: &str, code: &str, label: &str) -> Result<Enrolled, UiError> {
        // Labels name the device, never a patient or staff member (shown in device lists).
        self.exchange.label = label.chars().take(100).collect();
        self.runner
            .enroll(&self.lifecycle, &settings(Some(relay.to_string())), code, &mut self.exchange, Utc::now())
            .map_err(|e| enrollment_err(&e))?;
        let store = houmon_model::lock(&self.lifecycle).lend_store().map_err(UiError::from)?;
        if let Some(store) = store {
            self.held.install_store(store);
        }
        let synced = self.sync()?;
        let id = self.identity()?;
        Ok(Enrolled {
            device: id.device.to_hex(),
            clinic: id.clinic.to_hex(),
            role: id.role.code(),
            state: synced.state,
        })
    }

    fn store(&mut self) -> Result<&mut Store, UiError> {
        self.held.0.as_mut().ok_or_else(|| {
            err(
                AppErrorCode::NotEnrolled,
                "このデータフォルダは未登録です。先に enroll --relay URL --code CODE で登録してください。",
                "This data directory is not enrolled. Run enroll --relay URL --code CODE first.",
            )
        })
    }

    fn identity(&mut self) -> Result<SyncIdentity, UiError> {
        let store = self.store()?;
        SyncIdentity::load(store).map_err(sync_err)?.ok_or_else(|| {
            err(AppErrorCode::NotEnrolled, "このデータフォルダは未登録です。", "This data directory is not enrolled.")
        })
    }

    fn actor(id: &SyncIdentity) -> Actor {
        // No staff member signs in to the set-up tool: its actions are the device's.
        Actor { staff: StaffId(uuid::Uuid::nil()), device: id.model_device_id() }
    }

    fn relay(&mut self) -> Result<ClinicRelay, UiError> {
        let store = self.held.0.as_mut().ok_or_else(not_enrolled)?;
        ClinicRelay::connect(&self.lifecycle, store, &[])
    }

    fn require_admin(id: &SyncIdentity) -> Result<(), UiError> {
        require_admin(id)
    }

    /// Write the clinic document (founding it on the admin device's first call): 医療機関名,
    /// 医療機関コード (10 digits, check digit verified), 所在地, 電話. Then sync it out.
    pub fn set_clinic(
        &mut self,
        name: &str,
        institution: &str,
        address: &str,
        phone: &str,
    ) -> Result<ClinicInfo, UiError> {
        let id = self.identity()?;
        Self::require_admin(&id)?;
        let actor = Self::actor(&id);
        let clinic = ClinicId(uuid::Uuid::from_bytes(id.clinic.0));
        let details = ClinicDetails { name, institution, address, phone };
        write_clinic(self.store()?, &actor, clinic, id.model_device_id(), &details)?;
        self.sync_or_err()?;
        self.show_clinic()
    }

    /// The clinic document as this device holds it (after its last sync).
    pub fn show_clinic(&mut self) -> Result<ClinicInfo, UiError> {
        let c = self.store()?.clinic().map_err(|_| {
            err(
                AppErrorCode::NoClinic,
                "医療機関の情報がまだありません。管理用端末で clinic set を実行するか、sync で受け取ってください。",
                "No clinic details yet. Run clinic set on the admin device, or sync to receive them.",
            )
        })?;
        Ok(ClinicInfo {
            clinic: c.id.0.simple().to_string(),
            name: c.name,
            institution: c.institution_code,
            address: c.address,
            phone: c.phone,
            devices: c
                .devices
                .into_iter()
                .map(|d| ListedDevice { id: d.id.0.simple().to_string(), label: d.label, revoked: d.revoked })
                .collect(),
        })
    }

    /// A one-time code for another device, carrying the clinic content key wrapped for it
    /// (admin only). `hours`: how long it stays valid.
    pub fn create_code(&mut self, role: DeviceRole, hours: u32) -> Result<IssuedCode, UiError> {
        self.relay()?.issue_code(role, hours)
    }

    /// The clinic's devices: the relay's list, with revocations marked in the clinic document.
    pub fn devices(&mut self) -> Result<Vec<DeviceRow>, UiError> {
        let relay = self.relay()?;
        relay.devices(self.store()?)
    }

    /// Revoke a device: at the relay (it is refused at once) and in the clinic document (the
    /// other devices see it marked). Admin only; never this device itself.
    pub fn revoke(&mut self, device: &str) -> Result<DeviceRow, UiError> {
        let relay = self.relay()?;
        let actor = Self::actor(&relay.id);
        let row = relay.revoke(self.store()?, &actor, device)?;
        self.sync_or_err()?;
        Ok(row)
    }

    /// One sync round through the app's runner: the same state the header shows.
    pub fn sync(&mut self) -> Result<Synced, UiError> {
        let settings = settings(None);
        self.runner.retry_now();
        let out = self
            .runner
            .step(&self.lifecycle, &settings, &mut self.held, &mut self.exchange, Utc::now(), &mut |_| {})
            .map_err(UiError::from)?;
        let dto = to_dto(&out.status, false);
        let report = out.report.unwrap_or_default();
        let synced = Synced {
            sent: report.uploaded,
            received: report.received,
            state: dto.state,
            label_ja: dto.label_ja,
            label_en: dto.label_en,
            next_ja: dto.next_ja,
            next_en: dto.next_en,
        };
        match &out.status {
            SyncStatus::UpToDate { .. } | SyncStatus::Unreadable { .. } | SyncStatus::SetAside { .. } => Ok(synced),
            SyncStatus::ClockSkew { .. } => Err(err(RelayErrorCode::ClockSkew, &synced.next_ja, &synced.next_en)),
            SyncStatus::NotEnrolled { wiped: Some(WipeReason::RelayRevoked), .. } => {
                let (ja, en) = WipeReason::RelayRevoked.message();
                Err(err(RelayErrorCode::Revoked, ja, en))
            }
            _ => Err(UiError::new(AppErrorCode::SyncFailed, synced.next_ja, synced.next_en)),
        }
    }

    /// Add or edit a staff member (admin device only), then sync it out. A new member comes
    /// with a one-time set-up code for choosing a PIN on a device.
    pub fn save_staff(&mut self, input: &crate::dto::StaffInput) -> Result<crate::dto::StaffSaved, UiError> {
        let id = self.identity()?;
        Self::require_admin(&id)?;
        let saved = crate::service::staff::save_staff(self.store()?, &Self::actor(&id), input)?;
        self.sync_or_err()?;
        Ok(saved)
    }

    /// The clinic's staff as this device holds them.
    pub fn staff(&mut self) -> Result<Vec<crate::dto::StaffRow>, UiError> {
        let clinic = self.store()?.clinic().map_err(UiError::from)?;
        Ok(clinic.staff.into_iter().map(Into::into).collect())
    }

    /// Reset a staff member's PIN (admin device only): every PIN they chose stops working,
    /// and the new set-up code is returned.
    pub fn reset_staff_pin(&mut self, staff: &str) -> Result<crate::dto::PinSetupView, UiError> {
        let id = self.identity()?;
        Self::require_admin(&id)?;
        let setup = crate::service::staff::reset_staff_pin(self.store()?, &Self::actor(&id), staff)?;
        self.sync_or_err()?;
        Ok(setup)
    }

    /// Only the admin device changes patients and the plan from a terminal: no staff member
    /// signs in to `houmon-clinic`, so the device's role is the check.
    fn admin_actor(&mut self) -> Result<Actor, UiError> {
        let id = self.identity()?;
        Self::require_admin(&id)?;
        Ok(Self::actor(&id))
    }

    /// Register (no id) or edit a patient, then sync it out.
    pub fn save_patient(&mut self, input: &crate::dto::PatientInput) -> Result<String, UiError> {
        let actor = self.admin_actor()?;
        let id = crate::service::patients::save_patient(self.store()?, &actor, input)?;
        self.sync_or_err()?;
        Ok(id)
    }

    /// Import a patient list (CSV): every row or none, then sync.
    pub fn import_patients(&mut self, csv: &[u8]) -> Result<crate::dto::ImportReport, UiError> {
        let actor = self.admin_actor()?;
        let report = crate::service::patients::import_csv(self.store()?, &actor, csv)?;
        self.sync_or_err()?;
        Ok(report)
    }

    /// End care (or resume it with `None`), then sync.
    pub fn end_care(
        &mut self,
        patient: &str,
        reason: Option<houmon_model::CareEndReason>,
        date: Option<&str>,
    ) -> Result<(), UiError> {
        let actor = self.admin_actor()?;
        crate::service::patients::end_care(self.store()?, &actor, patient, reason, date)?;
        self.sync_or_err()?;
        Ok(())
    }

    /// The patients this device holds (in care and ended).
    pub fn patients(&mut self) -> Result<Vec<houmon_model::PatientSummary>, UiError> {
        Ok(self.store()?.patient_list()?)
    }

    /// One patient's details and change history (audited as a view).
    pub fn patient_detail(&mut self, patient: &str) -> Result<crate::dto::PatientDetail, UiError> {
        let id = self.identity()?;
        crate::service::patients::patient_detail(self.store()?, &Self::actor(&id), patient)
    }

    /// Plan a visit or a recurring series, then sync.
    pub fn plan_visits(&mut self, input: &crate::dto::PlanInput) -> Result<crate::dto::Planned, UiError> {
        let actor = self.admin_actor()?;
        let planned = crate::service::plan::plan(self.store()?, &actor, input)?;
        self.sync_or_err()?;
        Ok(planned)
    }

    /// Edit a visit's date, time and kind, then sync; returns its id (new if it moved month).
    pub fn edit_visit(&mut self, e: &crate::dto::VisitEdit) -> Result<String, UiError> {
        let actor = self.admin_actor()?;
        let id = crate::service::plan::edit(self.store()?, &actor, e)?;
        self.sync_or_err()?;
        Ok(id)
    }

    pub fn reassign_visit(&mut self, visit: &str, staff: &[String]) -> Result<(), UiError> {
        let actor = self.admin_actor()?;
        crate::service::plan::reassign(self.store()?, &actor, visit, staff)?;
        self.sync_or_err()?;
        Ok(())
    }

    pub fn cancel_visit(&mut self, visit: &str, reason: &str) -> Result<(), UiError> {
        let actor = self.admin_actor()?;
        crate::service::plan::cancel(self.store()?, &actor, visit, reason)?;
        self.sync_or_err()?;
        Ok(())
    }

    /// A month of the plan, for the clinic, one staff member or one patient.
    pub fn plan_month(
        &mut self,
        month: &str,
        staff: Option<&str>,
        patient: Option<&str>,
    ) -> Result<crate::dto::PlanMonth, UiError> {
        crate::service::plan::month(self.store()?, month, staff, patient)
    }

    /// The month of the plan that holds `visit` (for an edit that changes only some fields).
    pub fn plan_month_of(&mut self, visit: &str) -> Result<crate::dto::PlanMonth, UiError> {
        let v = crate::service::parse_visit(visit)?;
        let month = self.store()?.visit_month(v)?;
        self.plan_month(&month, None, None)
    }

    /// The clinic's access history this device holds (all of it on the admin device), newest
    /// first, filtered.
    pub fn audit(&mut self, filter: &crate::dto::AuditFilter, limit: i64) -> Result<crate::dto::AuditLogView, UiError> {
        let id = self.identity()?;
        crate::service::audit::audit_view(self.store()?, id.model_device_id(), filter, limit)
    }

    /// Sync after a change; an unreadable state is an error here too.
    fn sync_or_err(&mut self) -> Result<Synced, UiError> {
        let s = self.sync()?;
        match s.state {
            SyncState::Unreadable => return Err(UiError::new(AppErrorCode::Unreadable, s.next_ja, s.next_en)),
            SyncState::SetAside => return Err(UiError::new(AppErrorCode::SetAside, s.next_ja, s.next_en)),
            _ => {}
        }
        Ok(s)
    }
}

fn not_enrolled() -> UiError {
    err(
        AppErrorCode::NotEnrolled,
        "このデータフォルダは未登録です。先に enroll --relay URL --code CODE で登録してください。",
        "This data directory is not enrolled. Run enroll --relay URL --code CODE first.",
    )
}

/// Only the admin device (its relay role) sets the clinic, issues codes and revokes devices.
fn require_admin(id: &SyncIdentity) -> Result<(), UiError> {
    if id.role == Role::Admin {
        return Ok(());
    }
    Err(err(
        AppErrorCode::NotAdmin,
        "この操作は医療機関の管理用端末だけが行えます。管理用端末で操作してください。",
        "Only the clinic's admin device may do this. Use the admin device.",
    ))
}

/// The clinic's devices at the relay, as an enrolled device sees them: issue codes, list and
/// revoke. `houmon-clinic` and the app's back office (端末の管理) both use it; the app checks
/// the signed-in person's role first, this checks the device's.
pub struct ClinicRelay {
    client: SyncClient,
    id: SyncIdentity,
}

impl std::fmt::Debug for ClinicRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClinicRelay").field("role", &self.id.role).finish_non_exhaustive()
    }
}

impl ClinicRelay {
    /// A client signing as this device (its key from the lifecycle), to the relay it enrolled
    /// at, with the managed certificate pins.
    pub fn connect(lifecycle: &Mutex<DeviceLifecycle>, store: &mut Store, pins: &[String]) -> Result<Self, UiError> {
        let id = SyncIdentity::load(store).map_err(sync_err)?.ok_or_else(not_enrolled)?;
        let key =
            houmon_model::lock(lifecycle).device_signing_key().map_err(UiError::from)?.ok_or_else(not_enrolled)?;
        let http = houmon_sync_proto::http::RelayHttp::with_tls(&id.relay, None, pins).map_err(|_| {
            err(
                AppErrorCode::Config,
                "同期サーバーの証明書の設定(relayCertificatePins)が正しくありません。管理者に確認してください。",
                "The relay certificate pins (relayCertificatePins) are malformed. Ask your administrator.",
            )
        })?;
        let actor = AdminDevice::actor(&id);
        let client = SyncClient::from_identity(id.clone(), Some(http), key, actor).map_err(sync_err)?;
        Ok(Self { client, id })
    }

    /// A one-time code for another device carrying the content key (admin device only), with
    /// its QR code.
    pub fn issue_code(&self, role: DeviceRole, hours: u32) -> Result<IssuedCode, UiError> {
        require_admin(&self.id)?;
        let hours = hours.clamp(1, 24 * 14);
        let code = self.client.create_enrollment_code(role.into(), hours.saturating_mul(3600)).map_err(sync_err)?;
        let qr = qrcode::QrCode::new(code.as_bytes())
            .map_err(|_| err(AppErrorCode::Internal, "QRコードを作れませんでした。", "Could not make the QR code."))?;
        let qr_svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build();
        let until = Utc::now() + chrono::Duration::hours(i64::from(hours));
        Ok(IssuedCode { code, role, qr_svg, valid_until: crate::service::iso(until) })
    }

    /// The relay's list, with revocations marked in the clinic document.
    pub fn devices(&self, store: &mut Store) -> Result<Vec<DeviceRow>, UiError> {
        let listed = self.client.devices().map_err(sync_err)?;
        let doc = store.clinic().map(|c| c.devices).unwrap_or_default();
        Ok(listed
            .into_iter()
            .map(|d| {
                let model = houmon_device::runner::model_device_id(d.device);
                let marked = doc.iter().any(|m| m.id == model && m.revoked);
                DeviceRow {
                    id: d.device.to_hex(),
                    role: d.role.into(),
                    label: d.label,
                    revoked: d.revoked || marked,
                    last_sync: d
                        .last_seen_ms
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(crate::service::iso),
                    this_device: d.device == self.id.device,
                }
            })
            .collect())
    }

    /// Revoke a device at the relay (refused at once, wiped at its next contact) and mark it in
    /// the clinic document as `actor` (the signed-in administrator in the app, the device in
    /// `houmon-clinic`). Admin device only; never itself.
    pub fn revoke(&self, store: &mut Store, actor: &Actor, device: &str) -> Result<DeviceRow, UiError> {
        require_admin(&self.id)?;
        let target = RelayDeviceId::from_hex(device).ok_or_else(|| {
            err(
                AppErrorCode::InvalidInput,
                "端末IDの形式が正しくありません。device list に表示される32桁のIDを指定してください。",
                "The device id is malformed. Give the 32-digit id shown by device list.",
            )
        })?;
        if target == self.id.device {
            return Err(err(
                AppErrorCode::SelfRevoke,
                "この管理用端末自身は取り消せません。別の管理用端末から操作してください。",
                "This admin device cannot revoke itself. Use another admin device.",
            ));
        }
        let listed = self.client.devices().map_err(sync_err)?;
        let Some(info) = listed.into_iter().find(|d| d.device == target) else {
            return Err(err(
                AppErrorCode::NotFound,
                "その端末はこの医療機関に登録されていません。device list でIDを確認してください。",
                "No such device in this clinic. Check the id with device list.",
            ));
        };
        self.client.revoke(target).map_err(sync_err)?;
        store
            .revoke_device(actor, houmon_device::runner::model_device_id(target), &info.label)
            .map_err(UiError::from)?;
        Ok(DeviceRow {
            id: target.to_hex(),
            role: info.role.into(),
            label: info.label,
            revoked: true,
            last_sync: None,
            this_device: false,
        })
    }
}

/// The clinic document's details (医療機関名, 医療機関コード, 所在地, 電話).
#[derive(Debug, Clone, Copy)]
pub struct ClinicDetails<'a> {
    pub name: &'a str,
    pub institution: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
}

/// Write the clinic document on the admin device, founding it on the first call (the device
/// lists itself as 管理用端末): the 医療機関コード's check digit is verified first, nothing is
/// written otherwise. Shared by `houmon-clinic clinic set` and the app's 医療機関の設定.
pub(crate) fn write_clinic(
    store: &mut Store,
    actor: &Actor,
    clinic: ClinicId,
    device: houmon_model::DeviceId,
    d: &ClinicDetails<'_>,
) -> Result<(), UiError> {
    let code = MedicalInstitutionCode::parse_valid(d.institution.trim()).map_err(|_| {
        err(
            AppErrorCode::InvalidInstitutionCode,
            "医療機関コードが正しくありません。10桁の数字(都道府県2桁・点数表1桁・郡市区2桁・番号4桁・検証番号1桁)を確認して入力し直してください。",
            "The medical institution code is invalid. Check the 10 digits (prefecture, score table, district, number, check digit) and enter it again.",
        )
    })?;
    let name = d.name.trim();
    if name.is_empty() {
        return Err(err(AppErrorCode::InvalidInput, "医療機関名を入力してください。", "Enter the clinic's name."));
    }
    if store.clinic().is_err() {
        store.init_clinic(actor, clinic, name, code.as_str()).map_err(UiError::from)?;
        let me =
            houmon_model::Device {
                id: device, label: "管理用端末".into(), enrolled_at: Utc::now(), revoked: false
            };
        store.enroll_device(actor, &me).map_err(UiError::from)?;
    }
    store.set_clinic_details(actor, name, code.as_str(), d.address.trim(), d.phone.trim()).map_err(UiError::from)?;
    Ok(())
}
