//! DYNAMIXEL Protocol 1.0 / Feetech SCS-STS stream decoding of arbitrary bytes.
//!
//! Invariants: no panic; every call decodes, waits or consumes; a decoded packet
//! re-encodes to exactly its bytes (no stuffing in 1.0); parameter parsing, the status
//! view and each variant's error and instruction names never panic; sign-magnitude and
//! per-variant byte order round-trip.

#![no_main]

use bytes::BytesMut;
use drivedeck_proto::dxl1::{Variant, decode, decode_sign_magnitude, encode_sign_magnitude};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match decode(&mut buf) {
            Ok(Some(packet)) => {
                let consumed = data.len() - buf.len();
                let encoded = packet.encode();
                assert!(encoded.len() <= consumed, "decoded more than was consumed");
                assert_eq!(&data[consumed - encoded.len()..consumed], &encoded[..]);
                assert_eq!(packet.try_encode().as_deref(), Ok(&encoded[..]));
                let _ = packet.parse();
                for variant in Variant::ALL {
                    let _ = variant.instruction_name(packet.instruction);
                    if let Some(status) = packet.as_status() {
                        let _ = status.error.describe(variant);
                    }
                }
            }
            Ok(None) => break,
            Err(_) => assert!(buf.len() < before, "an error must consume bytes"),
        }
        assert!(buf.len() <= before);
    }
    // Two-byte values: each variant's byte order and Feetech's sign-magnitude.
    if let [a, b, bit, ..] = *data {
        for variant in Variant::ALL {
            let value = variant.decode_u16([a, b]);
            assert_eq!(variant.encode_u16(value), [a, b]);
        }
        let raw = u16::from_le_bytes([a, b]);
        let value = decode_sign_magnitude(raw, bit);
        if let Some(encoded) = encode_sign_magnitude(value, bit) {
            assert_eq!(decode_sign_magnitude(encoded, bit), value);
        }
    }
});
