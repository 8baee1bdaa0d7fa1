//! Modbus RTU, device side: request decoding of arbitrary bytes.
//!
//! Invariants: no panic; every call decodes, waits or consumes; a decoded request is
//! within the specification's limits and re-encodes to exactly its bytes; the answers a
//! device builds for it (normal or exception) encode, and the master side decodes them
//! back as the answer to that request.

#![no_main]

use bytes::BytesMut;
use drivedeck_proto::modbus::{ExceptionCode, decode_request, decode_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match decode_request(&mut buf) {
            Ok(Some(frame)) => {
                let consumed = data.len() - buf.len();
                assert!(
                    frame.check().is_ok(),
                    "decoded an invalid request: {frame:?}"
                );
                let encoded = frame.encode().expect("a decoded request encodes");
                assert!(encoded.len() <= consumed);
                assert_eq!(&data[consumed - encoded.len()..consumed], &encoded[..]);
                if frame.is_broadcast() {
                    assert!(frame.request.is_write());
                    continue;
                }
                // The answers a device gives, and the master reading them.
                let (_, quantity) = frame.request.range();
                let reply = if frame.request.is_write() {
                    frame.reply_write().expect("writes are answered")
                } else {
                    let values: Vec<u16> = (0..quantity as u16).collect();
                    frame.reply_read(&values).expect("reads are answered")
                };
                let exception = frame
                    .reply_exception(ExceptionCode::ServerDeviceBusy)
                    .expect("not broadcast");
                for answer in [reply, exception] {
                    let bytes = answer.encode().expect("answers encode");
                    let mut wire = BytesMut::from(&bytes[..]);
                    assert_eq!(decode_response(&mut wire, &frame), Ok(Some(answer)));
                    assert!(wire.is_empty());
                }
            }
            Ok(None) => break,
            Err(e) => {
                assert!(buf.len() < before, "an error must consume bytes");
                if let Some(reply) = e.exception_reply() {
                    reply.encode().expect("exception replies encode");
                }
            }
        }
        assert!(buf.len() <= before);
    }
});
