//! Modbus RTU, master side: decoding arbitrary bytes as the answer to a request that the
//! first bytes of the input describe.
//!
//! Invariants: no panic; every call decodes, waits or consumes; a decoded answer comes
//! from the requested slave, fits the request (register count, echo) and re-encodes to
//! exactly its bytes.

#![no_main]

use bytes::BytesMut;
use drivedeck_proto::modbus::{Request, RequestFrame, Response, decode_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [slave, kind, a0, a1, q0, q1, ref rest @ ..] = *data else {
        return;
    };
    let address = u16::from_be_bytes([a0, a1]);
    let number = u16::from_be_bytes([q0, q1]);
    let request = match kind % 4 {
        0 => Request::ReadHoldingRegisters {
            address,
            quantity: number % 130,
        },
        1 => Request::ReadInputRegisters {
            address,
            quantity: number % 130,
        },
        2 => Request::WriteSingleRegister {
            address,
            value: number,
        },
        _ => Request::WriteMultipleRegisters {
            address,
            values: (0..number % 130).collect(),
        },
    };
    // Requests the master would refuse to send never wait for an answer.
    let Ok(request) = RequestFrame::new(slave, request) else {
        return;
    };
    let mut buf = BytesMut::from(rest);
    loop {
        let before = buf.len();
        match decode_response(&mut buf, &request) {
            Ok(Some(answer)) => {
                let consumed = rest.len() - buf.len();
                assert_eq!(answer.slave, request.slave);
                let encoded = answer.encode().expect("a decoded answer encodes");
                assert!(encoded.len() <= consumed);
                assert_eq!(&rest[consumed - encoded.len()..consumed], &encoded[..]);
                let (start, count) = request.request.range();
                match &answer.response {
                    Response::ReadHoldingRegisters(values)
                    | Response::ReadInputRegisters(values) => {
                        assert_eq!(values.len(), count)
                    }
                    Response::WriteSingleRegister { address, .. } => assert_eq!(*address, start),
                    Response::WriteMultipleRegisters { address, quantity } => {
                        assert_eq!((*address, usize::from(*quantity)), (start, count))
                    }
                    Response::Exception { function, .. } => {
                        assert_eq!(*function, request.request.function())
                    }
                }
            }
            Ok(None) => break,
            Err(_) => assert!(buf.len() < before, "an error must consume bytes"),
        }
        assert!(buf.len() <= before);
    }
});
