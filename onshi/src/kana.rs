//! 全角カタカナ → 半角カナ, for `NameKana` (the interface carries half-width kana).

const FULL: &str =
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォッャュョー";
const HALF: [&str; 56] = [
    "ｱ", "ｲ", "ｳ", "ｴ", "ｵ", "ｶ", "ｷ", "ｸ", "ｹ", "ｺ", "ｻ", "ｼ", "ｽ", "ｾ", "ｿ", "ﾀ", "ﾁ", "ﾂ", "ﾃ", "ﾄ", "ﾅ", "ﾆ", "ﾇ",
    "ﾈ", "ﾉ", "ﾊ", "ﾋ", "ﾌ", "ﾍ", "ﾎ", "ﾏ", "ﾐ", "ﾑ", "ﾒ", "ﾓ", "ﾔ", "ﾕ", "ﾖ", "ﾗ", "ﾘ", "ﾙ", "ﾚ", "ﾛ", "ﾜ", "ｦ", "ﾝ",
    "ｧ", "ｨ", "ｩ", "ｪ", "ｫ", "ｯ", "ｬ", "ｭ", "ｮ", "ｰ",
];
const DAKUTEN: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボヴ";
const DAKUTEN_BASE: &str = "カキクケコサシスセソタチツテトハヒフヘホウ";
const HANDAKUTEN: &str = "パピプペポ";
const HANDAKUTEN_BASE: &str = "ハヒフヘホ";

fn half_of(c: char) -> Option<&'static str> {
    FULL.chars().position(|f| f == c).map(|i| HALF[i])
}

/// Converts full-width katakana (and ひらがな) to half-width kana; the ideographic space
/// becomes an ASCII space; other characters pass through.
pub fn to_halfwidth_kana(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        // ひらがな → カタカナ first.
        let c = if ('\u{3041}'..='\u{3096}').contains(&c) { char::from_u32(c as u32 + 0x60).unwrap_or(c) } else { c };
        if c == '\u{3000}' {
            out.push(' ');
        } else if let Some(h) = half_of(c) {
            out.push_str(h);
        } else if let Some(i) = DAKUTEN.chars().position(|d| d == c) {
            let base = DAKUTEN_BASE.chars().nth(i).and_then(half_of).unwrap_or("");
            out.push_str(base);
            out.push('ﾞ');
        } else if let Some(i) = HANDAKUTEN.chars().position(|d| d == c) {
            let base = HANDAKUTEN_BASE.chars().nth(i).and_then(half_of).unwrap_or("");
            out.push_str(base);
            out.push('ﾟ');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_names() {
        assert_eq!(to_halfwidth_kana("サトウ　ハナ"), "ｻﾄｳ ﾊﾅ");
        assert_eq!(to_halfwidth_kana("スズキ イチロウ"), "ｽｽﾞｷ ｲﾁﾛｳ");
        assert_eq!(to_halfwidth_kana("ポール・ジョーンズ"), "ﾎﾟｰﾙ・ｼﾞｮｰﾝｽﾞ");
        assert_eq!(to_halfwidth_kana("たなか"), "ﾀﾅｶ");
        assert_eq!(FULL.chars().count(), HALF.len());
    }
}
