//! Finding and connecting drives: the machine's serial ports, scans, the drive models
//! the engine knows, connecting a serial port or a simulated rig, disconnecting a link.
//!
//! Requests name protocols and models as text (what a client types or picks); each is
//! checked here before anything opens a port.

use super::{Api, ApiError};
use crate::{PortInfo, Protocol, ScanReport, protocol_from_name, protocol_name};
use drivedeck_domain::LinkId;
use serde::{Deserialize, Serialize};

/// The machine's serial ports with their USB identities.
pub fn ports() -> Result<Vec<PortInfo>, ApiError> {
    Ok(crate::ports()?)
}

/// A drive model the engine knows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    name: String,
    vendor: String,
    protocol: String,
}

/// Drives on a serial port to connect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SerialRequest {
    /// The port (`/dev/ttyUSB0`, `COM3`).
    pub port: String,
    /// The protocol's name (`dynamixel2`, …).
    pub protocol: String,
    /// The baud rate, 300 – 20,000,000.
    pub baud: u32,
    /// The drive IDs, 1 – 253, at least one, none twice.
    pub ids: Vec<u8>,
    /// A drive model (see [`Api::profiles`]); without it, the protocol's built-in one.
    pub model: Option<String>,
}

/// A simulated rig to start and connect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimRequest {
    /// The protocol's name; the rig's drives are its built-in model.
    pub protocol: String,
    /// The drive IDs, 1 – 253, at least one, none twice.
    pub ids: Vec<u8>,
}

/// A connection made: the new link and the request as it was carried out (port
/// trimmed, the protocol under its canonical name), to remember and repeat.
#[derive(Clone, Debug, PartialEq)]
pub struct Connected<R> {
    /// The new link.
    pub link: LinkId,
    /// What was connected.
    pub request: R,
}

/// The protocol called `name`.
fn protocol(name: &str) -> Result<Protocol, ApiError> {
    protocol_from_name(name).ok_or_else(|| ApiError::Invalid(format!("unknown protocol {name:?}")))
}

/// Drive IDs from a client: 1..=253, at least one, none twice.
fn check_ids(ids: &[u8]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Err(ApiError::Invalid("give at least one drive ID".into()));
    }
    if let Some(bad) = ids.iter().find(|id| !(1..=253).contains(*id)) {
        return Err(ApiError::Invalid(format!(
            "drive ID {bad} is outside 1..=253"
        )));
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(ApiError::Invalid("a drive ID is listed twice".into()));
    }
    Ok(())
}

impl Api {
    /// Finds the drives on `port`: `protocols` (names; empty: all) at `bauds` (empty:
    /// each protocol's usual rates).
    pub async fn scan(
        &self,
        port: &str,
        protocols: &[String],
        bauds: &[u32],
    ) -> Result<ScanReport, ApiError> {
        let protocols = protocols
            .iter()
            .map(|name| protocol(name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.engine.scan(port, &protocols, bauds).await?)
    }

    /// Every drive model: the user's profiles first, then the built-in ones.
    pub fn profiles(&self) -> Vec<ProfileView> {
        self.engine
            .profiles()
            .into_iter()
            .map(|p| ProfileView {
                protocol: protocol_name(p.protocol).into(),
                name: p.name,
                vendor: p.vendor,
            })
            .collect()
    }

    /// Connects the drives of `request` on its serial port (checked first: nothing is
    /// opened for a bad request).
    pub async fn connect_serial(
        &self,
        request: SerialRequest,
    ) -> Result<Connected<SerialRequest>, ApiError> {
        let protocol = protocol(&request.protocol)?;
        let port = request.port.trim();
        if port.is_empty() {
            return Err(ApiError::Invalid("give a serial port".into()));
        }
        let baud = request.baud;
        if !(300..=20_000_000).contains(&baud) {
            return Err(ApiError::Invalid(format!(
                "{baud} baud is outside 300..=20000000"
            )));
        }
        check_ids(&request.ids)?;
        let profile = match &request.model {
            Some(name) => self.engine.profile_named(name)?,
            None => crate::builtin_profile(protocol)?,
        };
        let link = self
            .engine
            .connect_serial(port, protocol, baud, profile, &request.ids)
            .await?;
        Ok(Connected {
            link,
            request: SerialRequest {
                port: port.to_string(),
                protocol: protocol_name(protocol).into(),
                ..request
            },
        })
    }

    /// Starts another simulated rig (the protocol's built-in model, drives `ids`) and
    /// connects to it through its pty.
    pub async fn connect_sim(
        &self,
        request: SimRequest,
    ) -> Result<Connected<SimRequest>, ApiError> {
        let protocol = protocol(&request.protocol)?;
        check_ids(&request.ids)?;
        let link = self.engine.connect_sim_rig(protocol, &request.ids).await?;
        Ok(Connected {
            link,
            request: SimRequest {
                protocol: protocol_name(protocol).into(),
                ..request
            },
        })
    }

    /// Closes a link. Its drives are left as they are (stop them first).
    pub async fn disconnect(&self, link: LinkId) -> Result<(), ApiError> {
        if self.engine.disconnect(link).await {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("no link {link}")))
        }
    }
}
