//! Windows: DPAPI (`CryptProtectData`, user scope) seals the wrapping secret; DPAPI has no
//! named entries, so the sealed secret lives in `keystore-dpapi.bin` in the profile directory
//! and [`PlatformKeystore::erase`] overwrites and deletes that file. Only this Windows user on
//! this machine can unseal it (the user's DPAPI master key, protected by their logon).
#![allow(unsafe_code)]

use crate::{KeystoreConfig, KeystoreError, PlatformKeystore, fresh_secret, secret_from};
use std::path::PathBuf;
use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData, CryptUnprotectData,
};
use zeroize::{Zeroize, Zeroizing};

const FILE: &str = "keystore-dpapi.bin";

/// The DPAPI keystore for one app profile.
#[derive(Debug)]
pub struct DpapiKeystore {
    path: PathBuf,
    entropy: Vec<u8>,
}

impl DpapiKeystore {
    pub fn new(config: &KeystoreConfig) -> Self {
        // Extra entropy ties the blob to this app and profile.
        let entropy = format!("houmon:{}:{}", config.service, config.account).into_bytes();
        Self { path: config.dir.join(FILE), entropy }
    }
}

fn blob(data: &[u8]) -> CRYPT_INTEGER_BLOB {
    CRYPT_INTEGER_BLOB { cbData: data.len() as u32, pbData: data.as_ptr() as *mut u8 }
}

/// Copy DPAPI's output and free it (wiping the copy DPAPI allocated).
fn take(out: CRYPT_INTEGER_BLOB) -> Vec<u8> {
    // SAFETY: DPAPI returned `cbData` bytes at `pbData`, allocated with LocalAlloc.
    unsafe {
        let slice = std::slice::from_raw_parts_mut(out.pbData, out.cbData as usize);
        let v = slice.to_vec();
        slice.zeroize();
        LocalFree(out.pbData as HLOCAL);
        v
    }
}

fn protect(secret: &[u8], entropy: &[u8]) -> Result<Vec<u8>, KeystoreError> {
    let input = blob(secret);
    let ent = blob(entropy);
    let mut out = CRYPT_INTEGER_BLOB { cbData: 0, pbData: std::ptr::null_mut() };
    // SAFETY: the input blobs point into live slices; `out` is written by DPAPI on success.
    let ok = unsafe {
        CryptProtectData(
            &input,
            std::ptr::null(),
            &ent,
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(KeystoreError::Unavailable(format!("DPAPI: {}", std::io::Error::last_os_error())));
    }
    Ok(take(out))
}

fn unprotect(sealed: &[u8], entropy: &[u8]) -> Result<Vec<u8>, KeystoreError> {
    let input = blob(sealed);
    let ent = blob(entropy);
    let mut out = CRYPT_INTEGER_BLOB { cbData: 0, pbData: std::ptr::null_mut() };
    // SAFETY: as in `protect`.
    let ok = unsafe {
        CryptUnprotectData(
            &input,
            std::ptr::null_mut(),
            &ent,
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(KeystoreError::BadBlob);
    }
    Ok(take(out))
}

impl PlatformKeystore for DpapiKeystore {
    fn name(&self) -> &'static str {
        "dpapi"
    }

    fn wrapping_secret(&self, create: bool) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        match std::fs::read(&self.path) {
            Ok(sealed) => secret_from(unprotect(&sealed, &self.entropy)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let secret = fresh_secret()?;
                let sealed = protect(&secret[..], &self.entropy)?;
                if let Some(d) = self.path.parent() {
                    std::fs::create_dir_all(d)?;
                }
                let tmp = self.path.with_extension("tmp");
                std::fs::write(&tmp, &sealed)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &self.path)?;
                Ok(secret)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(KeystoreError::Missing),
            Err(e) => Err(e.into()),
        }
    }

    fn erase(&self) -> Result<(), KeystoreError> {
        match std::fs::metadata(&self.path) {
            Ok(m) => {
                // Overwrite before deleting, so the sealed secret does not linger in the file's blocks.
                std::fs::write(&self.path, vec![0u8; m.len() as usize])?;
                std::fs::remove_file(&self.path)?;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
