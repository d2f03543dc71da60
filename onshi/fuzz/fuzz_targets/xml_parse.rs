//! Any bytes: the XML codec never panics, and whatever it accepts it writes back (in both
//! encodings) to something that parses to the same message.
#![no_main]

use houmon_onshi::numbers::KokuhoPadding;
use houmon_onshi::xml::{self, WriteOptions, XmlEncoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = xml::parse(data) else { return };
    for encoding in [XmlEncoding::Utf8, XmlEncoding::ShiftJis] {
        for kokuho_padding in [KokuhoPadding::Zeros, KokuhoPadding::Spaces] {
            let bytes = xml::write(&msg, WriteOptions { encoding, kokuho_padding });
            let back = xml::parse(&bytes).expect("the codec's own output parses");
            assert_eq!(back, msg, "round trip changed the message");
        }
    }
});
