//! Errors a user can meet at the card, each with a stable code and a message in Japanese and
//! English that says what to do next. No variant carries a PIN, a 照合番号 or card data.

/// The stable code of a [`CardError`], without its details (a reader's name, a status word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CardErrorCode {
    NoReader,
    ServiceUnavailable,
    ReaderNotFound,
    NoCard,
    CardRemoved,
    ReaderBusy,
    NotMyNumberCard,
    WrongPin,
    PinBlocked,
    LastTryNeedsConfirmation,
    TriesUnknownNeedsConfirmation,
    InvalidPinFormat,
    WrongCodeB,
    CodeBBlocked,
    InvalidCodeBFormat,
    Timeout,
    ReaderFailure,
    Refused,
    UnexpectedStatus,
    MalformedCardData,
}

/// Everything that can go wrong between the app and a My Number card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// No PC/SC reader is connected (or the reader service is not running).
    #[error("no card reader found")]
    NoReader,
    /// The reader service (pcscd / Smart Card service) is not running.
    #[error("the smart card service is not running")]
    ServiceUnavailable,
    /// A reader was named that does not exist.
    #[error("reader not found: {0}")]
    ReaderNotFound(String),
    /// The reader holds no card.
    #[error("no card in the reader")]
    NoCard,
    /// The card left the reader while a command was running.
    #[error("the card was removed during the operation")]
    CardRemoved,
    /// Another program holds the reader exclusively.
    #[error("the reader is in use by another program")]
    ReaderBusy,
    /// The card does not answer the JPKI application: not a My Number card.
    #[error("not a My Number card")]
    NotMyNumberCard,
    /// VERIFY failed; `remaining` tries are left (1 or 2 for the 4-digit PIN).
    #[error("wrong PIN, {remaining} tries left")]
    WrongPin { remaining: u8 },
    /// The PIN is blocked: only the city office can reset it.
    #[error("PIN blocked")]
    PinBlocked,
    /// Only one try is left and the caller did not confirm sending the PIN anyway.
    #[error("only one PIN try left; confirmation required")]
    LastTryNeedsConfirmation,
    /// The card did not say how many PIN tries are left and the caller did not confirm
    /// sending the PIN anyway (it may be the last one).
    #[error("PIN tries left unknown; confirmation required")]
    TriesUnknownNeedsConfirmation,
    /// The PIN typed is not 4 digits (nothing was sent to the card).
    #[error("the PIN must be 4 digits")]
    InvalidPinFormat,
    /// 照合番号B (birth date + expiry year + security code) was wrong.
    #[error("wrong verification code B, {remaining} tries left")]
    WrongVerificationCodeB { remaining: u8 },
    /// 照合番号B is blocked.
    #[error("verification code B blocked")]
    VerificationCodeBBlocked,
    /// 照合番号B typed is not 14 digits (nothing was sent to the card).
    #[error("verification code B must be 14 digits")]
    InvalidVerificationCodeBFormat,
    /// Waiting for the card or for an answer took too long.
    #[error("timed out waiting for the card")]
    Timeout,
    /// The reader or its driver failed.
    #[error("reader failure: {0}")]
    ReaderFailure(String),
    /// The request was refused by the APDU firewall before it reached the card
    /// (it would touch the 個人番号 or is not a command this app needs).
    #[error("command refused by the APDU firewall: {0}")]
    Refused(&'static str),
    /// The card answered with a status word the operation does not expect.
    #[error("unexpected status word {sw:04X} during {during}")]
    UnexpectedStatus { sw: u16, during: &'static str },
    /// The card's data could not be understood.
    #[error("malformed card data: {0}")]
    Malformed(&'static str),
}

impl CardError {
    /// Its stable code (the CLI's JSON `error`, the app's `UiError.code`).
    pub fn code(&self) -> CardErrorCode {
        use CardErrorCode as C;
        match self {
            Self::NoReader => C::NoReader,
            Self::ServiceUnavailable => C::ServiceUnavailable,
            Self::ReaderNotFound(_) => C::ReaderNotFound,
            Self::NoCard => C::NoCard,
            Self::CardRemoved => C::CardRemoved,
            Self::ReaderBusy => C::ReaderBusy,
            Self::NotMyNumberCard => C::NotMyNumberCard,
            Self::WrongPin { .. } => C::WrongPin,
            Self::PinBlocked => C::PinBlocked,
            Self::LastTryNeedsConfirmation => C::LastTryNeedsConfirmation,
            Self::TriesUnknownNeedsConfirmation => C::TriesUnknownNeedsConfirmation,
            Self::InvalidPinFormat => C::InvalidPinFormat,
            Self::WrongVerificationCodeB { .. } => C::WrongCodeB,
            Self::VerificationCodeBBlocked => C::CodeBBlocked,
            Self::InvalidVerificationCodeBFormat => C::InvalidCodeBFormat,
            Self::Timeout => C::Timeout,
            Self::ReaderFailure(_) => C::ReaderFailure,
            Self::Refused(_) => C::Refused,
            Self::UnexpectedStatus { .. } => C::UnexpectedStatus,
            Self::Malformed(_) => C::MalformedCardData,
        }
    }

    /// The message shown to staff, in Japanese, ending with what to do next.
    pub fn message_ja(&self) -> String {
        match self {
            Self::NoReader => "カードリーダーが見つかりません。リーダーがUSBで接続されているか確認し、もう一度お試しください。".into(),
            Self::ServiceUnavailable => "カードリーダーのサービスが動いていません。端末を再起動するか、管理者に連絡してください。".into(),
            Self::ReaderNotFound(name) => format!("指定されたカードリーダー「{name}」が見つかりません。接続を確認するか、リーダーを指定せずにお試しください。"),
            Self::NoCard => "カードが置かれていません。マイナンバーカードをリーダーに置いてください。".into(),
            Self::CardRemoved => "読み取り中にカードが離れました。カードをリーダーに置いたまま、もう一度お試しください。".into(),
            Self::ReaderBusy => "カードリーダーを別のアプリが使っています。そのアプリを閉じてから、もう一度お試しください。".into(),
            Self::NotMyNumberCard => "マイナンバーカードとして読み取れませんでした。患者さんのマイナンバーカードか確認し、置き直してください。".into(),
            Self::WrongPin { remaining: 1 } => "暗証番号が違います。残り1回です。次に間違えるとロックされ、市区町村の窓口での手続きが必要になります。患者さんに確認してから入力してください。".into(),
            Self::WrongPin { remaining } => format!("暗証番号が違います。残り{remaining}回です。患者さんに確認してから、もう一度入力してください。"),
            Self::PinBlocked => "暗証番号がロックされています。解除には患者さんご本人がお住まいの市区町村の窓口で手続きをする必要があります。クリニックが認めていれば、目視確認で続けられます。".into(),
            Self::LastTryNeedsConfirmation => "暗証番号の残り回数は1回です。間違えるとロックされます。患者さんに暗証番号を確認し、確認したうえで送信してください。".into(),
            Self::TriesUnknownNeedsConfirmation => "カードが暗証番号の残り回数を返しませんでした。残り1回かもしれません。患者さんに暗証番号を確認し、確認したうえで送信してください。".into(),
            Self::InvalidPinFormat => "暗証番号は数字4桁です。入力し直してください。".into(),
            Self::WrongVerificationCodeB { remaining } => format!("照合番号B（生年月日・有効期限の西暦・セキュリティコード）が違います。残り{remaining}回です。カード表面を見て入力し直してください。"),
            Self::VerificationCodeBBlocked => "照合番号Bがロックされています。顔写真は表示できません。カード表面の写真で目視確認してください。".into(),
            Self::InvalidVerificationCodeBFormat => "照合番号Bは数字14桁です（生年月日6桁・有効期限の西暦4桁・セキュリティコード4桁）。入力し直してください。".into(),
            Self::Timeout => "カードの応答がありません（タイムアウト）。カードをリーダーに置き直して、もう一度お試しください。".into(),
            Self::ReaderFailure(_) => "カードリーダーでエラーが起きました。リーダーを接続し直してから、もう一度お試しください。続く場合は管理者に連絡してください。".into(),
            Self::Refused(_) => "この操作はアプリの安全規則で禁止されています（個人番号は読み取りません）。管理者に連絡してください。".into(),
            Self::UnexpectedStatus { .. } | Self::Malformed(_) => "カードから想定外の応答がありました。カードを置き直して、もう一度お試しください。続く場合は管理者に連絡してください。".into(),
        }
    }

    /// The same message in English.
    pub fn message_en(&self) -> String {
        match self {
            Self::NoReader => "No card reader found. Check that the reader is connected by USB and try again.".into(),
            Self::ServiceUnavailable => "The smart card service is not running. Restart the device or contact your administrator.".into(),
            Self::ReaderNotFound(name) => format!("The reader \"{name}\" was not found. Check the connection, or try without naming a reader."),
            Self::NoCard => "No card in the reader. Place the My Number card on the reader.".into(),
            Self::CardRemoved => "The card left the reader during reading. Keep the card on the reader and try again.".into(),
            Self::ReaderBusy => "Another app is using the card reader. Close it and try again.".into(),
            Self::NotMyNumberCard => "This card could not be read as a My Number card. Check that it is the patient's My Number card and place it again.".into(),
            Self::WrongPin { remaining: 1 } => "Wrong PIN. 1 try left: one more mistake blocks the PIN and the patient must go to the city office. Confirm the PIN with the patient before entering it.".into(),
            Self::WrongPin { remaining } => format!("Wrong PIN. {remaining} tries left. Confirm the PIN with the patient and enter it again."),
            Self::PinBlocked => "The PIN is blocked. The patient must go to their city office in person to reset it. If the clinic allows it, continue with a visual identity check.".into(),
            Self::LastTryNeedsConfirmation => "Only 1 PIN try is left; a mistake blocks the PIN. Confirm the PIN with the patient, then confirm sending it.".into(),
            Self::TriesUnknownNeedsConfirmation => "The card did not report how many PIN tries are left; this may be the last one. Confirm the PIN with the patient, then confirm sending it.".into(),
            Self::InvalidPinFormat => "The PIN is 4 digits. Enter it again.".into(),
            Self::WrongVerificationCodeB { remaining } => format!("Verification code B (birth date, expiry year, security code) is wrong. {remaining} tries left. Read it from the card front and enter it again."),
            Self::VerificationCodeBBlocked => "Verification code B is blocked, so the photo cannot be shown. Compare the patient with the photo printed on the card.".into(),
            Self::InvalidVerificationCodeBFormat => "Verification code B is 14 digits (birth date 6, expiry year 4, security code 4). Enter it again.".into(),
            Self::Timeout => "The card did not answer in time. Place the card on the reader again and retry.".into(),
            Self::ReaderFailure(_) => "The card reader reported an error. Reconnect the reader and try again; if it persists, contact your administrator.".into(),
            Self::Refused(_) => "This operation is forbidden by the app's safety rules (the My Number is never read). Contact your administrator.".into(),
            Self::UnexpectedStatus { .. } | Self::Malformed(_) => "The card gave an unexpected answer. Place the card again and retry; if it persists, contact your administrator.".into(),
        }
    }
}
