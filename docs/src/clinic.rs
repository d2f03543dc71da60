//! The clinic document: staff, enrolled devices, settings.

use super::{commit, existing_map, genesis, get_str, millis, read_map};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT};
use chrono::{DateTime, Utc};
use houmon_model::error::{CoreError, Result};
use houmon_model::*;

#[derive(Debug)]
pub struct ClinicDoc {
    doc: AutoCommit,
}

impl ClinicDoc {
    pub fn create(id: ClinicId, name: &str, institution_code: &str, at: DateTime<Utc>) -> Result<Self> {
        let doc = genesis(id.0.as_bytes(), |d| {
            d.put(ROOT, "type", "clinic")?;
            d.put(ROOT, "v", 1_i64)?;
            d.put(ROOT, "id", id.to_string())?;
            d.put_object(ROOT, "staff", ObjType::Map)?;
            d.put_object(ROOT, "devices", ObjType::Map)?;
            d.put_object(ROOT, "settings", ObjType::Map)?;
            Ok(())
        })?;
        let mut c = Self { doc };
        c.doc.put(ROOT, "name", name)?;
        c.doc.put(ROOT, "code", institution_code)?;
        commit(&mut c.doc, "clinic", at);
        Ok(c)
    }

    pub fn from_automerge(doc: AutoCommit) -> Self {
        Self { doc }
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    fn container(&self, k: &'static str) -> Result<ObjId> {
        existing_map(&self.doc, &ROOT, k, "clinic")
    }

    /// Add or update a staff member.
    pub fn put_staff(&mut self, s: &Staff, at: DateTime<Utc>) -> Result<()> {
        if s.name.trim().is_empty() {
            return Err(CoreError::InvalidInput { field: "name", reason: "empty" });
        }
        let staff = self.container("staff")?;
        let m = super::child_map(&mut self.doc, &staff, &s.id.to_string())?;
        self.doc.put(&m, "name", s.name.as_str())?;
        self.doc.put(
            &m,
            "role",
            match s.role {
                StaffRole::Doctor => "doctor",
                StaffRole::Nurse => "nurse",
                StaffRole::Office => "office",
                StaffRole::Admin => "admin",
            },
        )?;
        self.doc.put(&m, "active", s.active)?;
        commit(&mut self.doc, "staff", at);
        Ok(())
    }

    /// Set a staff member's sign-in PIN verifier (see [`houmon_store::staff_pin`]; never the PIN).
    pub fn set_staff_pin(&mut self, staff: StaffId, verifier: &str, at: DateTime<Utc>) -> Result<()> {
        let m = existing_map(&self.doc, &self.container("staff")?, &staff.to_string(), "staff")?;
        self.doc.put(&m, "pin", verifier)?;
        commit(&mut self.doc, "staff pin", at);
        Ok(())
    }

    /// The staff member's PIN verifier, if one was set.
    pub fn staff_pin(&self, staff: StaffId) -> Result<Option<String>> {
        let m = existing_map(&self.doc, &self.container("staff")?, &staff.to_string(), "staff")?;
        Ok(get_str(&self.doc, &m, "pin").filter(|v| !v.is_empty()))
    }

    /// List an enrolled device.
    pub fn enroll_device(&mut self, d: &Device) -> Result<()> {
        let devices = self.container("devices")?;
        let m = self.doc.put_object(&devices, d.id.to_string(), ObjType::Map)?;
        self.doc.put(&m, "label", d.label.as_str())?;
        self.doc.put(&m, "at", millis(d.enrolled_at))?;
        self.doc.put(&m, "revoked", d.revoked)?;
        commit(&mut self.doc, "enroll device", d.enrolled_at);
        Ok(())
    }

    /// Revoke a device (kept in the list, marked revoked).
    pub fn revoke_device(&mut self, id: DeviceId, at: DateTime<Utc>) -> Result<()> {
        let m = existing_map(&self.doc, &self.container("devices")?, &id.to_string(), "device")?;
        self.doc.put(&m, "revoked", true)?;
        commit(&mut self.doc, "revoke device", at);
        Ok(())
    }

    pub fn read(&self) -> Result<(Clinic, Vec<FieldConflict>)> {
        let mut conflicts = Vec::new();
        let id = get_str(&self.doc, &ROOT, "id")
            .and_then(|s| ClinicId::parse(&s))
            .ok_or(CoreError::NotFound { what: "clinic" })?;
        let root = read_map(&self.doc, &ROOT, "", &mut conflicts);
        let mut staff = Vec::new();
        for (k, o) in read_map(&self.doc, &self.container("staff")?, "staff", &mut conflicts).objects {
            let f = read_map(&self.doc, &o, &format!("staff/{k}"), &mut conflicts);
            let Some(sid) = StaffId::parse(&k) else {
                continue;
            };
            let role = match f.str("role").as_str() {
                "doctor" => StaffRole::Doctor,
                "nurse" => StaffRole::Nurse,
                "admin" => StaffRole::Admin,
                _ => StaffRole::Office,
            };
            staff.push(Staff { id: sid, name: f.str("name"), role, active: f.bool("active") });
        }
        let mut devices = Vec::new();
        for (k, o) in read_map(&self.doc, &self.container("devices")?, "devices", &mut conflicts).objects {
            let f = read_map(&self.doc, &o, &format!("devices/{k}"), &mut conflicts);
            let Some(did) = DeviceId::parse(&k) else {
                continue;
            };
            devices.push(Device {
                id: did,
                label: f.str("label"),
                enrolled_at: f.time("at").unwrap_or_default(),
                revoked: f.bool("revoked"),
            });
        }
        Ok((Clinic { id, name: root.str("name"), institution_code: root.str("code"), staff, devices }, conflicts))
    }
}
