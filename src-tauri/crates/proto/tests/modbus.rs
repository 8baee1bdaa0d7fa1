//! Modbus RTU codec against the specifications' own examples, plus stream decoding
//! (partial input, garbage, bad CRCs, cut-short frames), the limits the specification
//! sets, broadcast, exception decoding and the inter-frame silences.
//!
//! The PDUs are the examples of the Modbus Application Protocol Specification V1.1b3
//! (section 6: 03, 04, 06, 16; section 7: the exception example), framed for slave 0x11
//! as in Modicon's PI-MBUS-300 RTU examples (whose `11 03 00 6B 00 03 76 87` is printed
//! there). The CRC example is the one of MODBUS over Serial Line V1.02 (6.2.2). Every CRC
//! below was computed with an independent bitwise implementation, not with the code under
//! test.

use std::time::Duration;

use bytes::BytesMut;
use drivedeck_proto::modbus::{
    BROADCAST, DecodeError, ExceptionCode, FrameError, MAX_FRAME_LEN, Request, RequestFrame,
    Response, ResponseFrame, Silence, crc16, decode_request, decode_response, function, wire_time,
};

/// Decodes exactly one request from `frame`; nothing may be left over.
fn request_of(frame: &[u8]) -> RequestFrame {
    let mut buf = BytesMut::from(frame);
    let request = decode_request(&mut buf)
        .expect("valid request")
        .expect("complete request");
    assert!(buf.is_empty(), "left over: {:02X?}", &buf[..]);
    request
}

/// Decodes exactly one answer to `request` from `frame`; nothing may be left over.
fn response_of(frame: &[u8], request: &RequestFrame) -> ResponseFrame {
    let mut buf = BytesMut::from(frame);
    let response = decode_response(&mut buf, request)
        .expect("valid response")
        .expect("complete response");
    assert!(buf.is_empty(), "left over: {:02X?}", &buf[..]);
    response
}

/// `request` encodes to `frame` and `frame` decodes back to it.
fn assert_request_wire(request: &RequestFrame, frame: &[u8]) {
    assert_eq!(
        request.encode().expect("encodable"),
        frame,
        "encoding of {request:?}"
    );
    assert_eq!(&request_of(frame), request, "decoding of {frame:02X?}");
}

/// `response` (to `request`) encodes to `frame` and `frame` decodes back to it.
fn assert_response_wire(request: &RequestFrame, response: &ResponseFrame, frame: &[u8]) {
    assert_eq!(
        response.encode().expect("encodable"),
        frame,
        "encoding of {response:?}"
    );
    assert_eq!(
        &response_of(frame, request),
        response,
        "decoding of {frame:02X?}"
    );
}

// ---------------------------------------------------------------------------------------
// The specifications' examples

/// Serial Line spec, 6.2.2: the CRC of `02 07` is 0x1241, sent `41 12`.
const CRC_EXAMPLE: [u8; 4] = [
    0x02, // slave address
    0x07, // function: Read Exception Status
    0x41, // CRC low
    0x12, // CRC high
];

/// 03: read holding registers 108..=110 (addresses 0x6B..=0x6D).
const READ_HOLDING: [u8; 8] = [
    0x11, // slave address
    0x03, // function: Read Holding Registers
    0x00, 0x6B, // starting address 107 (register 108)
    0x00, 0x03, // quantity 3
    0x76, 0x87, // CRC
];

/// The answer: 108 = 0x022B (555), 109 = 0, 110 = 0x0064 (100).
const READ_HOLDING_REPLY: [u8; 11] = [
    0x11, // slave address
    0x03, // function
    0x06, // byte count
    0x02, 0x2B, // register 108
    0x00, 0x00, // register 109
    0x00, 0x64, // register 110
    0xC8, 0xBA, // CRC
];

/// 04: read input register 9 (address 0x08).
const READ_INPUT: [u8; 8] = [
    0x11, // slave address
    0x04, // function: Read Input Registers
    0x00, 0x08, // starting address 8 (register 9)
    0x00, 0x01, // quantity 1
    0xB2, 0x98, // CRC
];

/// The answer: register 9 = 10.
const READ_INPUT_REPLY: [u8; 7] = [
    0x11, // slave address
    0x04, // function
    0x02, // byte count
    0x00, 0x0A, // register 9
    0xF8, 0xF4, // CRC
];

/// 06: write 3 to register 2 (address 1).
const WRITE_SINGLE: [u8; 8] = [
    0x11, // slave address
    0x06, // function: Write Single Register
    0x00, 0x01, // register address 1
    0x00, 0x03, // value 3
    0x9A, 0x9B, // CRC
];

/// 16: write 0x000A and 0x0102 to registers 2 and 3 (addresses 1, 2).
const WRITE_MULTIPLE: [u8; 13] = [
    0x11, // slave address
    0x10, // function: Write Multiple Registers
    0x00, 0x01, // starting address 1
    0x00, 0x02, // quantity 2
    0x04, // byte count
    0x00, 0x0A, // first value
    0x01, 0x02, // second value
    0xC6, 0xF0, // CRC
];

/// The answer: two registers written from address 1.
const WRITE_MULTIPLE_REPLY: [u8; 8] = [
    0x11, // slave address
    0x10, // function
    0x00, 0x01, // starting address
    0x00, 0x02, // quantity
    0x12, 0x98, // CRC
];

/// The spec's exception example: Read Coils (01) of an address that does not exist …
const READ_COILS_BAD_ADDRESS: [u8; 8] = [
    0x11, // slave address
    0x01, // function: Read Coils (not supported by this codec)
    0x04, 0xA1, // starting address 1185
    0x00, 0x01, // quantity 1
    0xAF, 0x88, // CRC
];

/// … answered with exception 02, Illegal Data Address.
const READ_COILS_EXCEPTION: [u8; 5] = [
    0x11, // slave address
    0x81, // function 01 | 0x80
    0x02, // exception: Illegal Data Address
    0xC0, 0x54, // CRC
];

/// The same exception for a Read Holding Registers request.
const READ_HOLDING_EXCEPTION: [u8; 5] = [
    0x11, // slave address
    0x83, // function 03 | 0x80
    0x02, // exception: Illegal Data Address
    0xC1, 0x34, // CRC
];

/// Write Single Register broadcast (address 0).
const WRITE_SINGLE_BROADCAST: [u8; 8] = [
    0x00, // broadcast
    0x06, // function: Write Single Register
    0x00, 0x01, // register address 1
    0x00, 0x03, // value 3
    0x99, 0xDA, // CRC
];

#[test]
fn crc_example() {
    assert_eq!(crc16(&CRC_EXAMPLE[..2]), 0x1241);
    assert_eq!(crc16(&CRC_EXAMPLE[..2]).to_le_bytes(), [0x41, 0x12]);
    // The CRC over a whole frame including its own CRC is 0 (the residue of this CRC).
    for frame in [&CRC_EXAMPLE[..], &READ_HOLDING, &WRITE_MULTIPLE] {
        assert_eq!(crc16(frame), 0, "{frame:02X?}");
    }
}

#[test]
fn read_holding_registers_example() {
    let request = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
    assert_request_wire(&request, &READ_HOLDING);
    let reply = request.reply_read(&[0x022B, 0, 0x64]).unwrap();
    assert_eq!(
        reply.response,
        Response::ReadHoldingRegisters(vec![555, 0, 100])
    );
    assert_response_wire(&request, &reply, &READ_HOLDING_REPLY);
    assert_eq!(reply.response.registers(), Some(&[555, 0, 100][..]));
}

#[test]
fn read_input_registers_example() {
    let request = RequestFrame::read_input_registers(0x11, 0x08, 1).unwrap();
    assert_request_wire(&request, &READ_INPUT);
    let reply = request.reply_read(&[10]).unwrap();
    assert_eq!(reply.response, Response::ReadInputRegisters(vec![10]));
    assert_response_wire(&request, &reply, &READ_INPUT_REPLY);
}

#[test]
fn write_single_register_example() {
    let request = RequestFrame::write_single_register(0x11, 1, 3).unwrap();
    assert_request_wire(&request, &WRITE_SINGLE);
    // The normal response is an echo of the request.
    let reply = request.reply_write().unwrap();
    assert_eq!(reply.encode().unwrap(), WRITE_SINGLE);
    assert_response_wire(&request, &reply, &WRITE_SINGLE);
}

#[test]
fn write_multiple_registers_example() {
    let request = RequestFrame::write_multiple_registers(0x11, 1, &[0x000A, 0x0102]).unwrap();
    assert_request_wire(&request, &WRITE_MULTIPLE);
    let reply = request.reply_write().unwrap();
    assert_eq!(
        reply.response,
        Response::WriteMultipleRegisters {
            address: 1,
            quantity: 2
        }
    );
    assert_response_wire(&request, &reply, &WRITE_MULTIPLE_REPLY);
}

#[test]
fn exception_example() {
    // A device reading the spec's Read Coils request: a good frame of a function this
    // codec does not support, which it answers with Illegal Function.
    let mut buf = BytesMut::from(&READ_COILS_BAD_ADDRESS[..]);
    let err = decode_request(&mut buf).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnsupportedFunction {
            slave: 0x11,
            function: 0x01
        }
    );
    assert!(buf.is_empty(), "the whole frame is consumed");
    let reply = err.exception_reply().unwrap();
    assert_eq!(
        reply,
        ResponseFrame::exception(0x11, 0x01, ExceptionCode::IllegalFunction)
    );

    // The spec's exception answer itself encodes byte for byte.
    let exception = ResponseFrame::exception(0x11, 0x01, ExceptionCode::IllegalDataAddress);
    assert_eq!(exception.encode().unwrap(), READ_COILS_EXCEPTION);

    // The master side decodes the same exception for a 03 request.
    let request = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
    let reply = request
        .reply_exception(ExceptionCode::IllegalDataAddress)
        .unwrap();
    assert_eq!(
        reply.response,
        Response::Exception {
            function: function::READ_HOLDING_REGISTERS,
            code: ExceptionCode::IllegalDataAddress
        }
    );
    assert_response_wire(&request, &reply, &READ_HOLDING_EXCEPTION);
    assert_eq!(
        reply.response.exception(),
        Some(ExceptionCode::IllegalDataAddress)
    );
    assert_eq!(reply.response.function_byte(), 0x83);
}

#[test]
fn exception_codes_have_names() {
    let named = [
        (0x01, "Illegal Function"),
        (0x02, "Illegal Data Address"),
        (0x03, "Illegal Data Value"),
        (0x04, "Server Device Failure"),
        (0x05, "Acknowledge"),
        (0x06, "Server Device Busy"),
        (0x07, "Negative Acknowledge"),
        (0x08, "Memory Parity Error"),
        (0x0A, "Gateway Path Unavailable"),
        (0x0B, "Gateway Target Device Failed to Respond"),
    ];
    for (code, name) in named {
        let exception = ExceptionCode::from_code(code);
        assert_eq!(exception.name(), name);
        assert_eq!(exception.code(), code, "{name} round-trips");
        assert!(!matches!(exception, ExceptionCode::Unknown(_)), "{name}");
    }
    // 09 is not defined; unknown codes survive as they are.
    for code in [0x00, 0x09, 0x0C, 0xFF] {
        assert_eq!(ExceptionCode::from_code(code), ExceptionCode::Unknown(code));
        assert_eq!(ExceptionCode::from_code(code).code(), code);
    }
    assert_eq!(
        ExceptionCode::IllegalDataValue.to_string(),
        "exception 0x03 (Illegal Data Value)"
    );
    // The master decodes every code it may receive.
    let request = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
    for code in 0..=0xFF_u8 {
        let frame = ResponseFrame::exception(0x11, 0x03, ExceptionCode::from_code(code))
            .encode()
            .unwrap();
        assert_eq!(
            response_of(&frame, &request).response.exception(),
            Some(ExceptionCode::from_code(code))
        );
    }
}

// ---------------------------------------------------------------------------------------
// Limits and broadcast

#[test]
fn requests_outside_the_limits_are_refused_before_the_wire() {
    let quantity = |function, quantity, max| FrameError::Quantity {
        function,
        quantity,
        max,
    };
    assert_eq!(
        RequestFrame::read_holding_registers(1, 0, 0),
        Err(quantity(0x03, 0, 125))
    );
    assert_eq!(
        RequestFrame::read_holding_registers(1, 0, 126),
        Err(quantity(0x03, 126, 125))
    );
    assert!(RequestFrame::read_holding_registers(1, 0, 125).is_ok());
    assert_eq!(
        RequestFrame::read_input_registers(1, 0, 126),
        Err(quantity(0x04, 126, 125))
    );
    assert_eq!(
        RequestFrame::write_multiple_registers(1, 0, &[]),
        Err(quantity(0x10, 0, 123))
    );
    assert_eq!(
        RequestFrame::write_multiple_registers(1, 0, &[0; 124]),
        Err(quantity(0x10, 124, 123))
    );
    let longest = RequestFrame::write_multiple_registers(1, 0, &[0; 123]).unwrap();
    assert_eq!(longest.encode().unwrap().len(), 9 + 246);
    assert!(longest.encode().unwrap().len() <= MAX_FRAME_LEN);
    // The last register must exist.
    assert_eq!(
        RequestFrame::read_holding_registers(1, 0xFFFF, 2),
        Err(FrameError::AddressOverflow {
            address: 0xFFFF,
            quantity: 2
        })
    );
    assert!(RequestFrame::read_holding_registers(1, 0xFFFF, 1).is_ok());
    assert!(RequestFrame::read_holding_registers(1, 0xFF83, 125).is_ok());
    // Addresses: 1..=247 individually, 0 for broadcast writes only.
    assert_eq!(
        RequestFrame::read_holding_registers(248, 0, 1),
        Err(FrameError::ReservedSlave(248))
    );
    assert_eq!(
        RequestFrame::read_holding_registers(BROADCAST, 0, 1),
        Err(FrameError::BroadcastRead)
    );
    assert!(RequestFrame::write_single_register(247, 0, 1).is_ok());
    // A frame built by hand is checked again when encoded.
    let by_hand = RequestFrame {
        slave: 1,
        request: Request::ReadInputRegisters {
            address: 0,
            quantity: 200,
        },
    };
    assert_eq!(by_hand.encode(), Err(quantity(0x04, 200, 125)));
    // The messages say what is wrong.
    assert_eq!(
        quantity(0x03, 126, 125).to_string(),
        "126 registers for function 0x03: the specification allows 1..=125"
    );
}

#[test]
fn broadcast_writes_get_no_reply() {
    let request = RequestFrame::write_single_register(BROADCAST, 1, 3).unwrap();
    assert!(request.is_broadcast());
    assert_request_wire(&request, &WRITE_SINGLE_BROADCAST);
    assert_eq!(request.reply_write(), None);
    assert_eq!(
        request.reply_exception(ExceptionCode::ServerDeviceBusy),
        None
    );
    // The master expects nothing: whatever arrives is dropped.
    let mut buf = BytesMut::from(&WRITE_SINGLE[..]);
    assert_eq!(decode_response(&mut buf, &request), Ok(None));
    assert!(buf.is_empty());
    // Responses never come from address 0.
    let from_zero = ResponseFrame {
        slave: 0,
        response: Response::WriteSingleRegister {
            address: 1,
            value: 3,
        },
    };
    assert_eq!(from_zero.encode(), Err(FrameError::ReservedSlave(0)));
}

/// Device side: frames that break the limits are consumed and answered with the
/// exception the specification's state diagrams give.
#[test]
fn device_refuses_what_the_specification_forbids() {
    let cases: [(&[u8], ExceptionCode); 5] = [
        (
            // Read of 0 registers
            &[0x11, 0x03, 0x00, 0x6B, 0x00, 0x00, 0x36, 0x86],
            ExceptionCode::IllegalDataValue,
        ),
        (
            // Read of 126 registers
            &[0x11, 0x03, 0x00, 0x6B, 0x00, 0x7E, 0xB6, 0xA6],
            ExceptionCode::IllegalDataValue,
        ),
        (
            // Write Multiple with byte count 3 for 2 registers
            &[
                0x11, 0x10, 0x00, 0x01, 0x00, 0x02, 0x03, 0x00, 0x0A, 0x01, 0x43, 0xB3,
            ],
            ExceptionCode::IllegalDataValue,
        ),
        (
            // Read of 2 registers from 0xFFFF
            &[0x11, 0x03, 0xFF, 0xFF, 0x00, 0x02, 0xC6, 0xBF],
            ExceptionCode::IllegalDataAddress,
        ),
        (
            // Broadcast read: refused, and nobody answers
            &[0x00, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x75, 0xC6],
            ExceptionCode::IllegalFunction,
        ),
    ];
    for (frame, code) in cases {
        assert_eq!(crc16(frame), 0, "test frame {frame:02X?} has a good CRC");
        let mut buf = BytesMut::from(frame);
        let err = decode_request(&mut buf).unwrap_err();
        assert!(buf.is_empty(), "{frame:02X?} is consumed");
        let DecodeError::Refused {
            slave,
            code: got,
            function,
            ..
        } = err
        else {
            panic!("{frame:02X?}: {err:?}");
        };
        assert_eq!((got, function), (code, frame[1]), "{frame:02X?}");
        let reply = err.exception_reply();
        if slave == BROADCAST {
            assert_eq!(reply, None);
        } else {
            assert_eq!(reply, Some(ResponseFrame::exception(slave, frame[1], code)));
        }
    }
}

#[test]
fn reply_builders_check_what_they_answer() {
    let read = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
    assert_eq!(
        read.reply_read(&[1, 2]),
        Err(FrameError::ValueCount {
            expected: 3,
            actual: 2
        })
    );
    assert_eq!(read.reply_write(), None, "a read gets no write answer");
    let write = RequestFrame::write_single_register(0x11, 1, 3).unwrap();
    assert_eq!(write.reply_read(&[3]), Err(FrameError::NotARead(0x06)));
    // Read answers are limited like the requests.
    let too_long = ResponseFrame {
        slave: 1,
        response: Response::ReadHoldingRegisters(vec![0; 126]),
    };
    assert!(matches!(
        too_long.encode(),
        Err(FrameError::Quantity { quantity: 126, .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Master side: answers that do not fit the request

#[test]
fn answers_must_match_the_request() {
    let read = RequestFrame::read_holding_registers(0x11, 0x6B, 2).unwrap();
    // Three registers for a read of two: a good frame, consumed, refused.
    let mut buf = BytesMut::from(&READ_HOLDING_REPLY[..]);
    let err = decode_response(&mut buf, &read).unwrap_err();
    assert!(matches!(err, DecodeError::Mismatch(_)), "{err:?}");
    assert!(buf.is_empty());

    // A write echoed with another value.
    let write = RequestFrame::write_single_register(0x11, 1, 4).unwrap();
    let mut buf = BytesMut::from(&WRITE_SINGLE[..]);
    assert_eq!(
        decode_response(&mut buf, &write),
        Err(DecodeError::Mismatch(
            "write of 4 to register 1 echoed as 3 to register 1".into()
        ))
    );

    // A Write Multiple acknowledged for another quantity.
    let write = RequestFrame::write_multiple_registers(0x11, 1, &[1, 2, 3]).unwrap();
    let mut buf = BytesMut::from(&WRITE_MULTIPLE_REPLY[..]);
    assert!(matches!(
        decode_response(&mut buf, &write),
        Err(DecodeError::Mismatch(_))
    ));

    // Another slave's answer, or another function's, is noise to this request.
    let other_slave = RequestFrame::read_holding_registers(0x12, 0x6B, 3).unwrap();
    let mut buf = BytesMut::from(&READ_HOLDING_REPLY[..]);
    assert_eq!(decode_response(&mut buf, &other_slave), Ok(None));
    let other_function = RequestFrame::read_input_registers(0x11, 0x6B, 3).unwrap();
    let mut buf = BytesMut::from(&READ_HOLDING_REPLY[..]);
    assert_eq!(decode_response(&mut buf, &other_function), Ok(None));
}

// ---------------------------------------------------------------------------------------
// Stream decoding: partial input, garbage, bad CRCs

#[test]
fn every_prefix_waits_for_more() {
    let request = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
    for frame in [&READ_HOLDING[..], &WRITE_SINGLE, &WRITE_MULTIPLE] {
        for cut in 0..frame.len() {
            let mut buf = BytesMut::from(&frame[..cut]);
            assert_eq!(decode_request(&mut buf), Ok(None), "{:02X?}", &frame[..cut]);
            assert_eq!(buf.len(), cut, "nothing consumed from a partial frame");
        }
    }
    for frame in [&READ_HOLDING_REPLY[..], &READ_HOLDING_EXCEPTION] {
        for cut in 0..frame.len() {
            let mut buf = BytesMut::from(&frame[..cut]);
            assert_eq!(decode_response(&mut buf, &request), Ok(None));
            assert_eq!(buf.len(), cut);
        }
    }
}

#[test]
fn byte_by_byte_arrival() {
    let mut stream = Vec::new();
    stream.extend_from_slice(&READ_HOLDING);
    stream.extend_from_slice(&WRITE_MULTIPLE);
    stream.extend_from_slice(&READ_INPUT);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for &byte in &stream {
        buf.extend_from_slice(&[byte]);
        while let Some(request) = decode_request(&mut buf).unwrap() {
            got.push(request);
        }
    }
    assert_eq!(
        got,
        [
            request_of(&READ_HOLDING),
            request_of(&WRITE_MULTIPLE),
            request_of(&READ_INPUT)
        ]
    );
    assert!(buf.is_empty());
}

#[test]
fn garbage_before_a_request_is_skipped() {
    // Noise that cannot start a request: reserved addresses, unknown functions.
    let mut stream = vec![0xFF, 0xF8, 0x00, 0x55, 0x13];
    stream.extend_from_slice(&READ_HOLDING);
    let mut buf = BytesMut::from(&stream[..]);
    let mut decoded = None;
    for _ in 0..stream.len() {
        match decode_request(&mut buf) {
            Ok(Some(request)) => {
                decoded = Some(request);
                break;
            }
            Ok(None) => break,
            Err(_) => continue,
        }
    }
    assert_eq!(decoded, Some(request_of(&READ_HOLDING)));
    assert!(buf.is_empty());
}

#[test]
fn garbage_before_an_answer_is_skipped() {
    let request = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
    // Noise, including a stray slave address with a wrong function after it.
    let mut stream = vec![0x00, 0x11, 0x05, 0xFF];
    stream.extend_from_slice(&READ_HOLDING_REPLY);
    let mut buf = BytesMut::from(&stream[..]);
    assert_eq!(
        decode_response(&mut buf, &request),
        Ok(Some(response_of(&READ_HOLDING_REPLY, &request)))
    );
    assert!(buf.is_empty());
}

/// Decodes requests from `stream` until it is used up, collecting frames and errors.
fn drain_requests(stream: &[u8]) -> (Vec<RequestFrame>, Vec<DecodeError>) {
    let mut buf = BytesMut::from(stream);
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    loop {
        let before = buf.len();
        match decode_request(&mut buf) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => break,
            Err(e) => errors.push(e),
        }
        assert!(buf.len() < before, "every step consumes something");
    }
    (frames, errors)
}

#[test]
fn bad_crc_then_good_frame() {
    let mut corrupt = READ_HOLDING;
    corrupt[5] ^= 0x01; // quantity 2 instead of 3
    let mut stream = corrupt.to_vec();
    stream.extend_from_slice(&WRITE_SINGLE);
    let (frames, errors) = drain_requests(&stream);
    assert_eq!(frames, [request_of(&WRITE_SINGLE)]);
    assert!(
        matches!(errors[0], DecodeError::BadCrc { .. }),
        "{errors:?}"
    );

    // The same on the master side: a corrupt answer, then the retry's good one.
    let request = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
    let mut corrupt = READ_HOLDING_REPLY;
    corrupt[4] ^= 0x40;
    let mut buf = BytesMut::from(&corrupt[..]);
    buf.extend_from_slice(&READ_HOLDING_REPLY);
    assert!(matches!(
        decode_response(&mut buf, &request),
        Err(DecodeError::BadCrc { .. })
    ));
    let mut answer = None;
    for _ in 0..corrupt.len() {
        if let Ok(Some(response)) = decode_response(&mut buf, &request) {
            answer = Some(response);
            break;
        }
    }
    assert_eq!(answer, Some(response_of(&READ_HOLDING_REPLY, &request)));
    assert!(buf.is_empty());
}

#[test]
fn good_frame_starting_inside_a_bad_one_is_found() {
    // A request cut short after 5 bytes, immediately followed by a complete one: the
    // first 8 bytes fail the CRC, the good frame starts inside them.
    let mut stream = READ_HOLDING[..5].to_vec();
    stream.extend_from_slice(&WRITE_SINGLE);
    let (frames, _) = drain_requests(&stream);
    assert_eq!(frames, [request_of(&WRITE_SINGLE)]);
}

#[test]
fn cut_short_frame_does_not_hold_up_the_next() {
    // A Write Multiple whose byte count claims 200 bytes, followed by a complete
    // request: the decoder must not wait for the 200 bytes.
    let mut stream = vec![0x11, 0x10, 0x00, 0x01, 0x00, 0x64, 0xC8, 0x00];
    stream.extend_from_slice(&READ_INPUT);
    let mut buf = BytesMut::from(&stream[..]);
    assert_eq!(
        decode_request(&mut buf),
        Err(DecodeError::Truncated { next_at: 8 })
    );
    assert_eq!(decode_request(&mut buf), Ok(Some(request_of(&READ_INPUT))));
    assert!(buf.is_empty());

    // Master side: an answer claiming 250 bytes, then the real answer.
    let request = RequestFrame::read_input_registers(0x11, 0x08, 1).unwrap();
    let mut stream = vec![0x11, 0x04, 0xFA, 0x00];
    stream.extend_from_slice(&READ_INPUT_REPLY);
    let mut buf = BytesMut::from(&stream[..]);
    assert_eq!(
        decode_response(&mut buf, &request),
        Err(DecodeError::Truncated { next_at: 4 })
    );
    assert_eq!(
        decode_response(&mut buf, &request),
        Ok(Some(response_of(&READ_INPUT_REPLY, &request)))
    );
}

#[test]
fn back_to_back_frames() {
    let mut stream = WRITE_MULTIPLE.to_vec();
    stream.extend_from_slice(&WRITE_SINGLE_BROADCAST);
    stream.extend_from_slice(&READ_INPUT);
    let (frames, errors) = drain_requests(&stream);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(frames.len(), 3);
    assert!(frames[1].is_broadcast());
}

#[test]
fn unsupported_function_needs_its_whole_frame() {
    // A Read Device Identification (0x2B/0x0E) request: recognised by its CRC once it
    // is all there.
    let frame = [0x11, 0x2B, 0x0E, 0x01, 0x00, 0xB1, 0xB4];
    assert_eq!(crc16(&frame), 0);
    let (frames, errors) = drain_requests(&frame);
    assert!(frames.is_empty());
    assert_eq!(
        errors,
        [DecodeError::UnsupportedFunction {
            slave: 0x11,
            function: 0x2B
        }]
    );
}

// ---------------------------------------------------------------------------------------
// Timing

#[test]
fn inter_frame_silence() {
    // 9600 baud: 11 bits per character = 1.1458 ms; 3.5 characters = 4.0104 ms.
    let at_9600 = Silence::for_baud(9600).unwrap();
    assert_eq!(at_9600.t3_5, Duration::from_nanos(4_010_416));
    assert_eq!(at_9600.t1_5, Duration::from_nanos(1_718_750));
    // 19200 baud is still computed …
    let at_19200 = Silence::for_baud(19_200).unwrap();
    assert_eq!(at_19200.t3_5, Duration::from_nanos(2_005_208));
    assert_eq!(at_19200.t1_5, Duration::from_nanos(859_375));
    // … above it the specification fixes 750 µs and 1.75 ms.
    for baud in [19_201, 38_400, 115_200, 1_000_000, 4_500_000] {
        let silence = Silence::for_baud(baud).unwrap();
        assert_eq!(silence.t1_5, Duration::from_micros(750), "{baud}");
        assert_eq!(silence.t3_5, Duration::from_micros(1750), "{baud}");
    }
    assert_eq!(Silence::for_baud(0), None);

    // Wire time: the 8-byte read request at 9600 baud takes 88 bits = 9.1667 ms.
    assert_eq!(wire_time(9600, 8), Some(Duration::from_nanos(9_166_666)));
    assert_eq!(wire_time(115_200, 0), Some(Duration::ZERO));
    assert_eq!(wire_time(0, 8), None);
}
