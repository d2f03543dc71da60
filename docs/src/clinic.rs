//! The clinic document: staff, enrolled devices, settings.

use super::{commit, existing_map, genesis, get_str, millis, read_map};
use crate::keys::clinic as key;
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
            d.put(ROOT, key::TYPE, key::DOC_TYPE)?;
            d.put(ROOT, key::VERSION, 1_i64)?;
            d.put(ROOT, key::ID, id.to_string())?;
            d.put_object(ROOT, key::STAFF, ObjType::Map)?;
            d.put_object(ROOT, key::DEVICES, ObjType::Map)?;
            d.put_object(ROOT, key::SETTINGS, ObjType::Map)?;
            Ok(())
        })?;
        let mut c = Self { doc };
        c.doc.put(ROOT, key::NAME, name)?;
        c.doc.put(ROOT, key::CODE, institution_code)?;
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

    /// Set the clinic's own details (医療機関名, 医療機関コード, 所在地, 電話). The caller has
    /// checked the institution code.
    pub fn set_details(&mut self, name: &str, code: &str, address: &str, phone: &str, at: DateTime<Utc>) -> Result<()> {
        if name.trim().is_empty() {
            return Err(CoreError::InvalidInput { field: "name", reason: "empty" });
        }
        self.doc.put(ROOT, key::NAME, name)?;
        self.doc.put(ROOT, key::CODE, code)?;
        self.doc.put(ROOT, key::ADDR, address)?;
        self.doc.put(ROOT, key::PHONE, phone)?;
        commit(&mut self.doc, "clinic details", at);
        Ok(())
    }

    /// Whether a device is listed.
    pub fn has_device(&self, id: DeviceId) -> Result<bool> {
        Ok(automerge::ReadDoc::get(&self.doc, &self.container(key::DEVICES)?, id.to_string())?.is_some())
    }

    /// Add or update a staff member.
    pub fn put_staff(&mut self, s: &Staff, at: DateTime<Utc>) -> Result<()> {
        if s.name.trim().is_empty() {
            return Err(CoreError::InvalidInput { field: "name", reason: "empty" });
        }
        let staff = self.container(key::STAFF)?;
        let m = super::child_map(&mut self.doc, &staff, &s.id.to_string())?;
        self.doc.put(&m, key::NAME, s.name.as_str())?;
        self.doc.put(&m, key::KANA, s.kana.as_str())?;
        self.doc.put(&m, key::QUALS, s.qualifications.as_str())?;
        self.doc.put(
            &m,
            key::ROLE,
            match s.role {
                StaffRole::Doctor => key::ROLE_DOCTOR,
                StaffRole::Nurse => key::ROLE_NURSE,
                StaffRole::Office => key::ROLE_OFFICE,
                StaffRole::Admin => key::ROLE_ADMIN,
            },
        )?;
        self.doc.put(&m, key::ACTIVE, s.active)?;
        commit(&mut self.doc, "staff", at);
        Ok(())
    }

    /// Put a staff member's PIN set-up in force (replacing the last one whole, so a reset
    /// voids every PIN chosen before it).
    pub fn set_pin_setup(&mut self, staff: StaffId, setup: &PinSetup, at: DateTime<Utc>) -> Result<()> {
        let m = existing_map(&self.doc, &self.container(key::STAFF)?, &staff.to_string(), "staff")?;
        let value = super::map(vec![
            (key::ID, super::text(&setup.id)),
            (key::VERIFIER, super::text(&setup.code_verifier)),
            (key::UNTIL, automerge::ScalarValue::Int(millis(setup.until)).into()),
            (key::BY, super::text(setup.by.to_string())),
        ]);
        super::new_map(&mut self.doc, &m, key::PIN_SETUP, value)?;
        commit(&mut self.doc, "staff pin setup", at);
        Ok(())
    }

    /// The staff member's PIN set-up in force, if one was issued.
    pub fn pin_setup(&self, staff: StaffId) -> Result<Option<PinSetup>> {
        let m = existing_map(&self.doc, &self.container(key::STAFF)?, &staff.to_string(), "staff")?;
        let Some((automerge::Value::Object(ObjType::Map), o)) = automerge::ReadDoc::get(&self.doc, &m, key::PIN_SETUP)?
        else {
            return Ok(None);
        };
        let f = read_map(&self.doc, &o, "", &mut Vec::new());
        let (Some(id), Some(until), Some(by)) =
            (f.opt_str(key::ID), f.time(key::UNTIL), f.opt_str(key::BY).and_then(|b| StaffId::parse(&b)))
        else {
            return Ok(None);
        };
        Ok(Some(PinSetup { id, code_verifier: f.str(key::VERIFIER), until, by }))
    }

    /// List an enrolled device.
    pub fn enroll_device(&mut self, d: &Device) -> Result<()> {
        let devices = self.container(key::DEVICES)?;
        let m = self.doc.put_object(&devices, d.id.to_string(), ObjType::Map)?;
        self.doc.put(&m, key::LABEL, d.label.as_str())?;
        self.doc.put(&m, key::AT, millis(d.enrolled_at))?;
        self.doc.put(&m, key::REVOKED, d.revoked)?;
        commit(&mut self.doc, "enroll device", d.enrolled_at);
        Ok(())
    }

    /// Revoke a device (kept in the list, marked revoked).
    pub fn revoke_device(&mut self, id: DeviceId, at: DateTime<Utc>) -> Result<()> {
        let m = existing_map(&self.doc, &self.container(key::DEVICES)?, &id.to_string(), "device")?;
        self.doc.put(&m, key::REVOKED, true)?;
        commit(&mut self.doc, "revoke device", at);
        Ok(())
    }

    pub fn read(&self) -> Result<(Clinic, Vec<FieldConflict>)> {
        let mut conflicts = Vec::new();
        let id = get_str(&self.doc, &ROOT, key::ID)
            .and_then(|s| ClinicId::parse(&s))
            .ok_or(CoreError::NotFound { what: "clinic" })?;
        let root = read_map(&self.doc, &ROOT, "", &mut conflicts);
        let mut staff = Vec::new();
        for (k, o) in read_map(&self.doc, &self.container(key::STAFF)?, key::STAFF, &mut conflicts).objects {
            let f = read_map(&self.doc, &o, &format!("{}/{k}", key::STAFF), &mut conflicts);
            let Some(sid) = StaffId::parse(&k) else {
                continue;
            };
            let role = match f.str(key::ROLE).as_str() {
                key::ROLE_DOCTOR => StaffRole::Doctor,
                key::ROLE_NURSE => StaffRole::Nurse,
                key::ROLE_ADMIN => StaffRole::Admin,
                _ => StaffRole::Office,
            };
            staff.push(Staff {
                id: sid,
                name: f.str(key::NAME),
                kana: f.str(key::KANA),
                role,
                qualifications: f.str(key::QUALS),
                active: f.bool(key::ACTIVE),
            });
        }
        let mut devices = Vec::new();
        for (k, o) in read_map(&self.doc, &self.container(key::DEVICES)?, key::DEVICES, &mut conflicts).objects {
            let f = read_map(&self.doc, &o, &format!("{}/{k}", key::DEVICES), &mut conflicts);
            let Some(did) = DeviceId::parse(&k) else {
                continue;
            };
            devices.push(Device {
                id: did,
                label: f.str(key::LABEL),
                enrolled_at: f.time(key::AT).unwrap_or_default(),
                revoked: f.bool(key::REVOKED),
            });
        }
        Ok((
            Clinic {
                id,
                name: root.str(key::NAME),
                institution_code: root.str(key::CODE),
                address: root.str(key::ADDR),
                phone: root.str(key::PHONE),
                staff,
                devices,
            },
            conflicts,
        ))
    }
}
