//! Transports: what a link's actor writes requests to and reads replies from.
//!
//! There are two kinds, and the actor sees one [`Transport`] either way:
//! - a **byte stream** (a serial port, a pty, an in-memory pipe): any
//!   `AsyncRead + AsyncWrite` is one; a request's bytes go out as they are and whatever
//!   bytes arrive are appended to the receive buffer;
//! - a **frame transport** (whole frames in, whole frames out: what a CAN adapter gives):
//!   a [`FrameIo`] wrapped in [`Framed`] with a [`FrameCodec`]. The codec splits a
//!   request's bytes into the frames that carry it (all of them or none: a request it
//!   cannot frame sends nothing) and appends each frame received to the receive buffer in
//!   the form the protocol's decoder reads.
//!
//! So a new protocol is a codec plus a [`LinkProtocol`](crate::protocol::LinkProtocol)
//! implementation and nothing in the actor: priorities, E-stop preemption, deadlines,
//! health and the journal stay one code path. Two codecs ship: [`TaggedFrames`] (a
//! request is a sequence of frames, each written as its identifier, length and data: the
//! form a CANopen protocol encodes its SDOs and NMT commands in) and [`PacketFrames`]
//! (one whole packet per frame, for adapters that deliver a protocol's packets whole).

use bytes::{Buf, BufMut, BytesMut};
use std::future::Future;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What a link's actor talks through.
pub trait Transport: Send + 'static {
    /// Sends one request's bytes, whole. There is no flush: on a serial port it is
    /// tcdrain, a blocking wait that would stall the actor and every E-stop behind it.
    fn send(&mut self, bytes: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Waits for input and appends it to `rx` for the protocol's decoder; `Ok(0)` means
    /// the transport closed.
    fn receive(&mut self, rx: &mut BytesMut) -> impl Future<Output = io::Result<usize>> + Send;
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for S {
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes).await
    }

    async fn receive(&mut self, rx: &mut BytesMut) -> io::Result<usize> {
        self.read_buf(rx).await
    }
}

/// The most data a frame carries (a CAN FD frame; classic CAN carries 8).
pub const MAX_FRAME_DATA: usize = 64;

/// One frame: an identifier (11 or 29 bits on CAN) and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame's identifier.
    pub id: u32,
    /// Its data, at most [`MAX_FRAME_DATA`] bytes.
    pub data: Vec<u8>,
}

/// A port that moves whole frames (a SocketCAN socket, a CAN adapter's driver).
pub trait FrameIo: Send + 'static {
    /// Sends one frame.
    fn send_frame(&mut self, frame: &Frame) -> impl Future<Output = io::Result<()>> + Send;

    /// Waits for the next frame; `None` when the port closed.
    fn receive_frame(&mut self) -> impl Future<Output = io::Result<Option<Frame>>> + Send;
}

/// How a protocol's requests and replies map onto frames.
pub trait FrameCodec: Send + Sync + 'static {
    /// The frames that carry a request's bytes, in order; an error (and nothing sent)
    /// when the bytes do not make whole frames.
    fn split(&self, bytes: &[u8]) -> Result<Vec<Frame>, String>;

    /// Appends a received frame to the receive buffer as the protocol's decoder reads it.
    fn append(&self, frame: &Frame, rx: &mut BytesMut);
}

/// A frame port seen as a [`Transport`] through its codec.
pub struct Framed<F, C> {
    io: F,
    codec: C,
}

impl<F: FrameIo, C: FrameCodec> Framed<F, C> {
    /// `io` framed by `codec`.
    pub fn new(io: F, codec: C) -> Self {
        Framed { io, codec }
    }
}

impl<F: FrameIo, C: FrameCodec> Transport for Framed<F, C> {
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        // Split first: a request that cannot be framed sends no frame at all.
        let frames = self
            .codec
            .split(bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        for frame in &frames {
            self.io.send_frame(frame).await?;
        }
        Ok(())
    }

    async fn receive(&mut self, rx: &mut BytesMut) -> io::Result<usize> {
        match self.io.receive_frame().await? {
            None => Ok(0),
            Some(frame) => {
                let before = rx.len();
                self.codec.append(&frame, rx);
                // A frame always counts as input, even an empty one (a CAN RTR).
                Ok((rx.len() - before).max(1))
            }
        }
    }
}

/// Frames written as identifier (4 bytes, little-endian), data length (1 byte) and data,
/// one after the other: a protocol whose messages are frames (CANopen) encodes its
/// requests this way and decodes its replies from the same form.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaggedFrames;

impl TaggedFrames {
    /// Bytes of one frame in the tagged form.
    pub fn encode(frame: &Frame, out: &mut BytesMut) {
        out.put_u32_le(frame.id);
        // split() and the frame ports never make a frame longer than MAX_FRAME_DATA.
        out.put_u8(frame.data.len().min(MAX_FRAME_DATA) as u8);
        out.put_slice(&frame.data[..frame.data.len().min(MAX_FRAME_DATA)]);
    }

    /// The next whole frame at the front of `buf`, taken off it; `Ok(None)` while it is
    /// incomplete; an error (and the buffer cleared) for a length no frame has.
    pub fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, String> {
        if buf.len() < 5 {
            return Ok(None);
        }
        let len = usize::from(buf[4]);
        if len > MAX_FRAME_DATA {
            buf.clear();
            return Err(format!(
                "a frame of {len} data bytes (at most {MAX_FRAME_DATA})"
            ));
        }
        if buf.len() < 5 + len {
            return Ok(None);
        }
        let id = buf.get_u32_le();
        buf.advance(1);
        let data = buf.split_to(len).to_vec();
        Ok(Some(Frame { id, data }))
    }
}

impl FrameCodec for TaggedFrames {
    fn split(&self, bytes: &[u8]) -> Result<Vec<Frame>, String> {
        let mut buf = BytesMut::from(bytes);
        let mut frames = Vec::new();
        while !buf.is_empty() {
            match TaggedFrames::decode(&mut buf)? {
                Some(frame) => frames.push(frame),
                None => {
                    return Err(format!(
                        "a request ends inside a frame ({} bytes left)",
                        buf.len()
                    ));
                }
            }
        }
        Ok(frames)
    }

    fn append(&self, frame: &Frame, rx: &mut BytesMut) {
        TaggedFrames::encode(frame, rx);
    }
}

/// One whole packet per frame: for adapters that deliver a protocol's packets whole
/// (the packet is the frame's data; the identifier is the adapter's channel).
#[derive(Clone, Copy, Debug)]
pub struct PacketFrames {
    /// The identifier requests are sent with.
    pub id: u32,
    /// The longest packet a frame carries.
    pub max: usize,
}

impl FrameCodec for PacketFrames {
    fn split(&self, bytes: &[u8]) -> Result<Vec<Frame>, String> {
        if bytes.len() > self.max {
            return Err(format!(
                "a {}-byte request does not fit a {}-byte frame",
                bytes.len(),
                self.max
            ));
        }
        Ok(vec![Frame {
            id: self.id,
            data: bytes.to_vec(),
        }])
    }

    fn append(&self, frame: &Frame, rx: &mut BytesMut) {
        rx.put_slice(&frame.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u32, data: &[u8]) -> Frame {
        Frame {
            id,
            data: data.to_vec(),
        }
    }

    #[test]
    fn tagged_frames_round_trip_and_split_a_request_into_its_frames() {
        let frames = vec![
            frame(0x601, &[0x40, 0x41, 0x60, 0, 0, 0, 0, 0]),
            frame(0x000, &[0x01, 0x05]),
            frame(0x1FFF_FFFF, &[]),
        ];
        let mut bytes = BytesMut::new();
        for f in &frames {
            TaggedFrames::encode(f, &mut bytes);
        }
        assert_eq!(bytes.len(), 3 * 5 + 8 + 2);
        assert_eq!(TaggedFrames.split(&bytes).expect("frames"), frames);
    }

    #[test]
    fn a_tagged_request_cut_short_or_too_long_is_refused_whole() {
        let mut bytes = BytesMut::new();
        TaggedFrames::encode(&frame(0x601, &[1, 2, 3, 4]), &mut bytes);
        let cut = &bytes[..bytes.len() - 1];
        let err = TaggedFrames.split(cut).expect_err("cut short");
        assert!(err.contains("ends inside a frame"), "{err}");
        let mut long = vec![1, 0, 0, 0, 65];
        long.extend([0; 65]);
        let err = TaggedFrames.split(&long).expect_err("too long");
        assert!(err.contains("65 data bytes"), "{err}");
    }

    #[test]
    fn tagged_decode_waits_for_a_whole_frame() {
        let mut whole = BytesMut::new();
        TaggedFrames::encode(&frame(7, &[9, 8, 7]), &mut whole);
        let mut buf = BytesMut::from(&whole[..6]);
        assert_eq!(TaggedFrames::decode(&mut buf), Ok(None));
        buf.extend_from_slice(&whole[6..]);
        assert_eq!(
            TaggedFrames::decode(&mut buf),
            Ok(Some(frame(7, &[9, 8, 7])))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn a_packet_longer_than_a_frame_is_refused() {
        let codec = PacketFrames { id: 3, max: 8 };
        assert_eq!(
            codec.split(&[1, 2, 3]).expect("fits"),
            vec![frame(3, &[1, 2, 3])]
        );
        assert!(
            codec
                .split(&[0; 9])
                .expect_err("too long")
                .contains("9-byte")
        );
    }

    /// Frames sent are recorded; frames to receive come from a list.
    struct Recorded {
        sent: Vec<Frame>,
        inbox: Vec<Frame>,
    }

    impl FrameIo for Recorded {
        async fn send_frame(&mut self, frame: &Frame) -> io::Result<()> {
            self.sent.push(frame.clone());
            Ok(())
        }

        async fn receive_frame(&mut self) -> io::Result<Option<Frame>> {
            Ok(if self.inbox.is_empty() {
                None
            } else {
                Some(self.inbox.remove(0))
            })
        }
    }

    #[tokio::test]
    async fn a_framed_port_sends_nothing_for_a_request_it_cannot_frame() {
        let mut port = Framed::new(
            Recorded {
                sent: Vec::new(),
                inbox: vec![frame(0x581, &[0x4B, 0x41, 0x60, 0, 0x37, 0x02])],
            },
            TaggedFrames,
        );
        let mut good = BytesMut::new();
        TaggedFrames::encode(&frame(0x601, &[0x40]), &mut good);
        TaggedFrames::encode(&frame(0x602, &[0x40]), &mut good);
        port.send(&good).await.expect("sent");
        assert_eq!(port.io.sent.len(), 2);
        let err = port
            .send(&good[..good.len() - 1])
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            port.io.sent.len(),
            2,
            "no frame of a refused request went out"
        );
        let mut rx = BytesMut::new();
        assert_eq!(port.receive(&mut rx).await.expect("frame"), 11);
        assert_eq!(
            TaggedFrames::decode(&mut rx),
            Ok(Some(frame(0x581, &[0x4B, 0x41, 0x60, 0, 0x37, 0x02])))
        );
        assert_eq!(port.receive(&mut rx).await.expect("closed"), 0);
    }
}
