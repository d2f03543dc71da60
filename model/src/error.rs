//! Errors with user-facing messages in Japanese (first) and English, each saying what to do next.
//!
//! Messages never contain patient data: they name what went wrong and the next step only.

use std::fmt;

/// A message shown to a user: Japanese first, English available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMessage {
    pub ja: &'static str,
    pub en: &'static str,
}

/// Everything that can go wrong in the crates below the shell (documents, keys, store, sync,
/// device, gateway). `Display` is the Japanese message; see [`CoreError::user_message`] for
/// both languages.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("署名済みの記録は変更できません。")]
    NoteSigned,
    #[error("この版はすでに訂正されています。")]
    NoteAlreadyCorrected,
    #[error("訂正できるのは署名済みの記録だけです。")]
    CorrectionOfDraft,
    #[error("他の職員の下書きは保存・署名できません。")]
    NotNoteAuthor,
    #[error("記録が見つかりません。")]
    NotFound { what: &'static str },
    #[error("入力が正しくありません: {field}")]
    InvalidInput { field: &'static str, reason: &'static str },
    #[error("個人番号と思われる12桁の番号は保存できません。")]
    LooksLikeIndividualNumber,
    #[error("端末のデータを開けません(鍵が一致しません)。")]
    WrongKey,
    #[error("データの保存に失敗しました。")]
    Storage(#[from] rusqlite::Error),
    #[error("カルテ文書を読み込めません。")]
    Document(#[from] automerge::AutomergeError),
    #[error("ファイルの読み書きに失敗しました。")]
    Io(#[from] std::io::Error),
    #[error("暗号処理に失敗しました。")]
    Crypto,
    #[error("端末のデータが破損しています。")]
    Corrupt { what: &'static str },
    #[error("データの形式が新しすぎます(形式 {found})。")]
    SchemaTooNew { found: i64 },
}

impl CoreError {
    /// Both languages, each with what to do next.
    pub fn user_message(&self) -> UserMessage {
        use CoreError::*;
        match self {
            NoteSigned => UserMessage {
                ja: "署名済みの記録は変更できません。「訂正」から新しい版を作成してください。",
                en: "A signed note cannot be changed. Use \"Correct\" to write a new version.",
            },
            NoteAlreadyCorrected => UserMessage {
                ja: "この版はすでに訂正されています。最新の版を開いて訂正してください。",
                en: "This version has already been corrected. Open the latest version and correct that.",
            },
            CorrectionOfDraft => UserMessage {
                ja: "下書きは訂正ではなくそのまま編集してください。",
                en: "A draft is edited directly; corrections are only for signed notes.",
            },
            NotNoteAuthor => UserMessage {
                ja: "他の職員の下書きは保存・署名できません。書いた本人がサインインして保存・署名してください。",
                en: "Another person's draft cannot be saved or signed. Its author must sign in to save or sign it.",
            },
            NotFound { .. } => UserMessage {
                ja: "記録が見つかりません。同期が終わっているか確認し、一覧から開き直してください。",
                en: "Record not found. Check that sync has finished and open it again from the list.",
            },
            InvalidInput { .. } => UserMessage {
                ja: "入力内容に誤りがあります。赤く表示された項目を確認してください。入力は失われていません。",
                en: "Some input is not valid. Check the highlighted field; nothing you typed was lost.",
            },
            LooksLikeIndividualNumber => UserMessage {
                ja: "個人番号(マイナンバー)と思われる12桁の番号は保存できません。番号を削除してから保存してください。",
                en: "A 12-digit number that looks like an Individual Number cannot be stored. Remove it and save again.",
            },
            WrongKey => UserMessage {
                ja: "端末のデータを開けません。端末の再登録が必要です。管理者に連絡してください。",
                en: "The data on this device cannot be opened. The device must be re-enrolled; contact your administrator.",
            },
            Storage(_) | Io(_) => UserMessage {
                ja: "保存に失敗しました。入力内容は画面に残っています。端末の空き容量を確認してもう一度保存してください。",
                en: "Saving failed. Your input is still on screen. Check free storage on the device and save again.",
            },
            Document(_) => UserMessage {
                ja: "カルテ文書を読み込めません。同期をやり直し、解決しない場合は管理者に連絡してください。",
                en: "The chart could not be read. Sync again; if this persists, contact your administrator.",
            },
            Crypto => UserMessage {
                ja: "暗号処理に失敗しました。パスフレーズを確認してもう一度お試しください。",
                en: "Encryption or decryption failed. Check the passphrase and try again.",
            },
            Corrupt { .. } => UserMessage {
                ja: "端末のデータが破損しています。操作を中止し、管理者に連絡してください(同期済みのデータは事業所側に残っています)。",
                en: "The data on this device is damaged. Stop and contact your administrator (synced data is safe at the clinic).",
            },
            SchemaTooNew { .. } => UserMessage {
                ja: "このデータは新しい版のアプリで作成されています。アプリを更新してください。",
                en: "This data was written by a newer version of the app. Update the app.",
            },
        }
    }

    /// The English message, for the English UI and for support staff.
    pub fn english(&self) -> &'static str {
        self.user_message().en
    }
}

impl fmt::Display for UserMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.ja, self.en)
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
