//! Just enough BER-TLV to find lengths of DER certificates and the fields of the 券面 file.

use crate::CardError;

/// Tag and length at the start of `buf`: returns (tag, header length, value length).
/// Multi-byte tags (`FF 20`, `DF 27`) and the 81/82/83 long length forms are handled.
pub fn header(buf: &[u8]) -> Result<(u32, usize, usize), CardError> {
    const SHORT: CardError = CardError::Malformed("truncated TLV header");
    let mut i = 0;
    let first = *buf.first().ok_or(SHORT)?;
    let mut tag = u32::from(first);
    i += 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *buf.get(i).ok_or(SHORT)?;
            tag = (tag << 8) | u32::from(b);
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            if i > 3 {
                return Err(CardError::Malformed("TLV tag too long"));
            }
        }
    }
    let l0 = *buf.get(i).ok_or(SHORT)?;
    i += 1;
    let len = match l0 {
        0..=0x7F => usize::from(l0),
        0x81..=0x83 => {
            let n = usize::from(l0 & 0x7F);
            let bytes = buf.get(i..i + n).ok_or(SHORT)?;
            i += n;
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        }
        _ => return Err(CardError::Malformed("unsupported TLV length form")),
    };
    Ok((tag, i, len))
}

/// Total size (header + value) of the TLV at the start of `buf`.
pub fn total_len(buf: &[u8]) -> Result<usize, CardError> {
    let (_, h, l) = header(buf)?;
    Ok(h + l)
}

/// Iterates over the children of a constructed value: yields (tag, value).
pub fn children(mut value: &[u8]) -> impl Iterator<Item = Result<(u32, &[u8]), CardError>> {
    std::iter::from_fn(move || {
        if value.is_empty() {
            return None;
        }
        let item = header(value).and_then(|(tag, h, l)| {
            let v = value.get(h..h + l).ok_or(CardError::Malformed("TLV value overruns its parent"))?;
            value = &value[h + l..];
            Ok((tag, v))
        });
        if item.is_err() {
            value = &[];
        }
        Some(item)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_of_certificates_and_card_face_files() {
        assert_eq!(header(&[0x30, 0x82, 0x06, 0x32]).unwrap(), (0x30, 4, 1586));
        assert_eq!(total_len(&[0x30, 0x82, 0x06, 0x32]).unwrap(), 1590);
        assert_eq!(header(&[0xFF, 0x20, 0x82, 0x0B, 0xF9]).unwrap(), (0xFF20, 5, 0x0BF9));
        assert_eq!(header(&[0xDF, 0x27, 0x81, 0x90]).unwrap(), (0xDF27, 4, 0x90));
        assert_eq!(header(&[0x30, 0x05]).unwrap(), (0x30, 2, 5));
        assert!(header(&[0x30, 0x82, 0x06]).is_err());
        assert!(header(&[0x30, 0x84, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn iterates_children_and_stops_on_overrun() {
        let v = [0xDF, 0x22, 0x02, 0xAA, 0xBB, 0xDF, 0x23, 0x01, 0x31];
        let items: Vec<_> = children(&v).collect::<Result<_, _>>().unwrap();
        assert_eq!(items, vec![(0xDF22, &[0xAA, 0xBB][..]), (0xDF23, &[0x31][..])]);
        let bad = [0xDF, 0x22, 0x05, 0xAA];
        let items: Vec<_> = children(&bad).collect();
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
    }
}
