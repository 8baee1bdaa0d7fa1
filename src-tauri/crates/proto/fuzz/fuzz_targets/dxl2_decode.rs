//! DYNAMIXEL Protocol 2.0 stream decoding of arbitrary bytes.
//!
//! Invariants: no panic; every call either decodes, waits (`Ok(None)`) or consumes at
//! least one byte, so the loop ends; nothing beyond the input is consumed; a decoded
//! packet re-encodes to exactly the bytes it was decoded from (the codec accepts only
//! canonical stuffing); parsing the parameters and reading a status never panic.

#![no_main]

use bytes::BytesMut;
use drivedeck_proto::dxl2::{Packet, decode};
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
                assert_eq!(
                    &data[consumed - encoded.len()..consumed],
                    &encoded[..],
                    "re-encoding differs"
                );
                assert_eq!(packet.try_encode().as_deref(), Ok(&encoded[..]));
                let _ = packet.parse();
                if let Some(status) = packet.as_status() {
                    let _ = status.error.description();
                    let _ = status.fast_read_items(&[1, 2, 4]);
                }
                let _ = Packet::new(packet.id, packet.instruction, packet.params.clone());
            }
            Ok(None) => break,
            Err(_) => assert!(buf.len() < before, "an error must consume bytes"),
        }
        assert!(buf.len() <= before);
    }
});
