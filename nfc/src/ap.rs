//! Application ids (AIDs) and file ids of the My Number card (reference mynumber_apdu.md §1–4).

/// 公的個人認証 (JPKI) AP.
pub const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// 券面事項入力補助 AP (text). Only named so the firewall tests can show it is fenced off.
pub const TEXT_AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// 券面事項確認 AP (card face: photo).
pub const SURFACE_AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];

/// JPKI EFs.
pub mod jpki {
    /// 利用者証明用 certificate (X.509 DER), free to read.
    pub const AUTH_CERT: u16 = 0x000A;
    /// The CA certificate that issued [`AUTH_CERT`], free to read.
    pub const AUTH_CA_CERT: u16 = 0x000B;
    /// CK_TOKEN_INFO (160 bytes).
    pub const TOKEN_INFO: u16 = 0x0006;
    /// 利用者証明用 private key.
    pub const AUTH_KEY: u16 = 0x0017;
    /// 利用者証明用 PIN (4 digits, 3 tries).
    pub const AUTH_PIN: u16 = 0x0018;
    /// 署名用 private key and password: never used by this app.
    pub const SIGN_KEY: u16 = 0x001A;
    pub const SIGN_PASSWORD: u16 = 0x001B;
}

/// 券面AP EFs.
pub mod surface {
    /// Card face data: birth date, sex, name/address images, photo (JPEG 2000).
    pub const FACE: u16 = 0x0002;
    /// 照合番号B key (14 digits).
    pub const CODE_B: u16 = 0x0012;
}
