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
#[derive(Clone, Debug, Serialize)]
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

#[cfg(test)]
mod tests {
    use super::super::test_rig::{engine_api, json, sim_api};
    use super::super::{ErrorKind, JobQuery};
    use super::*;

    fn serial(port: &str, baud: u32, ids: &[u8], model: Option<&str>) -> SerialRequest {
        SerialRequest {
            port: port.into(),
            protocol: "dynamixel2".into(),
            baud,
            ids: ids.to_vec(),
            model: model.map(Into::into),
        }
    }

    #[tokio::test]
    async fn a_bad_connection_is_refused_before_any_port_opens() {
        let dir = tempfile::tempdir().expect("dir");
        let api = engine_api(&dir);
        let unknown_protocol = SerialRequest {
            protocol: "canopen".into(),
            ..serial("/dev/ttyUSB0", 57_600, &[1], None)
        };
        for (request, reason) in [
            (unknown_protocol, "unknown protocol \"canopen\""),
            (serial("  ", 57_600, &[1], None), "give a serial port"),
            (
                serial("/dev/ttyUSB0", 299, &[1], None),
                "299 baud is outside",
            ),
            (serial("/dev/ttyUSB0", 20_000_001, &[1], None), "is outside"),
            (serial("/dev/ttyUSB0", 57_600, &[], None), "at least one"),
            (
                serial("/dev/ttyUSB0", 57_600, &[0], None),
                "drive ID 0 is outside",
            ),
            (serial("/dev/ttyUSB0", 57_600, &[254], None), "drive ID 254"),
            (
                serial("/dev/ttyUSB0", 57_600, &[3, 1, 3], None),
                "listed twice",
            ),
            (
                serial("/dev/ttyUSB0", 57_600, &[1], Some("X9")),
                "no drive profile \"X9\"",
            ),
        ] {
            let error = api
                .connect_serial(request.clone())
                .await
                .expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::Invalid, "{request:?}: {error}");
            assert!(error.to_string().contains(reason), "{request:?}: {error}");
        }
        let sim = SimRequest {
            protocol: "dynamixel2".into(),
            ids: vec![],
        };
        let error = api.connect_sim(sim).await.expect_err("no drives");
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
        let unknown = ["canopen".to_string()];
        let error = api
            .scan("/dev/ttyUSB0", &unknown, &[])
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
        let error = api.disconnect(7).await.expect_err("no link");
        assert_eq!(
            (error.kind(), error.to_string()),
            (ErrorKind::NotFound, "no link 7".into())
        );
        // Nothing was tried: no link, no connect or scan job in the journal.
        assert!(api.engine().links().is_empty());
        api.engine().flush().expect("flush");
        let jobs = json(&api.jobs(JobQuery::default()).expect("jobs"));
        let commands: Vec<&serde_json::Value> = jobs
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| &j["command"])
            .filter(|c| *c == "connect" || *c == "scan")
            .collect();
        assert!(commands.is_empty(), "{jobs}");
        api.engine().shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_simulated_rig_connects_and_disconnects() {
        let dir = tempfile::tempdir().expect("dir");
        let (api, _rig) = sim_api(&dir).await;
        let profiles = json(&api.profiles());
        assert!(
            profiles.as_array().expect("profiles").iter().any(|p| p
                == &serde_json::json!({
                    "name": "XM430-W350", "vendor": "ROBOTIS", "protocol": "dynamixel2"
                })),
            "{profiles}"
        );
        let request = SimRequest {
            protocol: "feetech".into(),
            ids: vec![4, 5],
        };
        let made = api.connect_sim(request.clone()).await.expect("connected");
        assert_eq!(made.link, 2);
        assert_eq!(made.request, request);
        let links = api.engine().links();
        assert_eq!(links.len(), 2);
        assert_eq!(
            (links[1].protocol.as_str(), links[1].simulated),
            ("feetech", true)
        );
        api.disconnect(2).await.expect("disconnected");
        assert_eq!(api.engine().links().len(), 1);
        let error = api.disconnect(2).await.expect_err("gone");
        assert_eq!(error.kind(), ErrorKind::NotFound);
        api.engine().shutdown().await;
    }
}
