//! The serial ports of this machine, as the operating system lists them, with the USB
//! identity of the adapter behind each where the OS gives it (vendor and product ID,
//! manufacturer, product, serial number).
//!
//! The listing comes from the serialport crate (`available_ports`: sysfs or udev on
//! Linux, IOKit on macOS, SetupAPI on Windows). Pseudo-terminals, the simulator's ports
//! among them, are never listed: they are reached by path.

use serde::Serialize;

/// What kind of device a port is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PortKind {
    /// A USB adapter (FTDI, CH340, CP210x, a U2D2 …).
    Usb,
    /// A PCI(e) serial card or an on-board UART behind PCI.
    Pci,
    /// A Bluetooth serial link.
    Bluetooth,
    /// Anything else (a built-in UART).
    Unknown,
}

/// One serial port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortInfo {
    /// The path to open (`/dev/ttyUSB0`, `COM3`).
    pub path: String,
    /// What kind of device it is.
    pub kind: PortKind,
    /// USB vendor ID.
    pub vid: Option<u16>,
    /// USB product ID.
    pub pid: Option<u16>,
    /// The adapter's manufacturer string.
    pub manufacturer: Option<String>,
    /// The adapter's product string.
    pub product: Option<String>,
    /// The adapter's serial number (tells two identical adapters apart).
    pub serial_number: Option<String>,
}

impl PortInfo {
    /// A one-line description: path, then what the adapter says it is.
    pub fn describe(&self) -> String {
        let mut text = self.path.clone();
        if let (Some(vid), Some(pid)) = (self.vid, self.pid) {
            text.push_str(&format!("  USB {vid:04x}:{pid:04x}"));
        } else {
            text.push_str(match self.kind {
                PortKind::Pci => "  PCI",
                PortKind::Bluetooth => "  Bluetooth",
                PortKind::Usb | PortKind::Unknown => "",
            });
        }
        for part in [&self.manufacturer, &self.product].into_iter().flatten() {
            text.push_str(&format!("  {part}"));
        }
        if let Some(serial) = &self.serial_number {
            text.push_str(&format!("  serial {serial}"));
        }
        text
    }
}

fn from_serialport(port: tokio_serial::SerialPortInfo) -> PortInfo {
    let mut info = PortInfo {
        path: port.port_name,
        kind: PortKind::Unknown,
        vid: None,
        pid: None,
        manufacturer: None,
        product: None,
        serial_number: None,
    };
    match port.port_type {
        tokio_serial::SerialPortType::UsbPort(usb) => {
            info.kind = PortKind::Usb;
            info.vid = Some(usb.vid);
            info.pid = Some(usb.pid);
            info.manufacturer = usb.manufacturer;
            info.product = usb.product;
            info.serial_number = usb.serial_number;
        }
        tokio_serial::SerialPortType::PciPort => info.kind = PortKind::Pci,
        tokio_serial::SerialPortType::BluetoothPort => info.kind = PortKind::Bluetooth,
        tokio_serial::SerialPortType::Unknown => {}
    }
    info
}

/// The serial ports the operating system lists, sorted by path.
pub fn list() -> Result<Vec<PortInfo>, String> {
    let ports = tokio_serial::available_ports()
        .map_err(|e| format!("cannot list the serial ports: {e}"))?;
    let mut ports: Vec<PortInfo> = ports.into_iter().map(from_serialport).collect();
    ports.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usb_port_keeps_its_identity() {
        let info = from_serialport(tokio_serial::SerialPortInfo {
            port_name: "/dev/ttyUSB0".into(),
            port_type: tokio_serial::SerialPortType::UsbPort(tokio_serial::UsbPortInfo {
                vid: 0x0403,
                pid: 0x6014,
                serial_number: Some("FT4NQ8XM".into()),
                manufacturer: Some("FTDI".into()),
                product: Some("USB <-> Serial Converter".into()),
            }),
        });
        assert_eq!(info.kind, PortKind::Usb);
        assert_eq!((info.vid, info.pid), (Some(0x0403), Some(0x6014)));
        assert_eq!(
            info.describe(),
            "/dev/ttyUSB0  USB 0403:6014  FTDI  USB <-> Serial Converter  serial FT4NQ8XM"
        );
    }

    #[test]
    fn listing_works_here_and_never_shows_a_pty() {
        // Whatever this machine has, the call succeeds and pseudo-terminals stay out.
        let ports = list().expect("list");
        assert!(ports.iter().all(|p| !p.path.starts_with("/dev/pts/")));
        assert!(ports.windows(2).all(|w| w[0].path <= w[1].path));
    }
}
