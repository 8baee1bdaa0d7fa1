//! The control-table entries a drive's firmware reads and writes, looked up once per drive
//! from its profile: by role where the profile declares one, else by the names the
//! vendors' tables give them (ROBOTIS e-manual, Feetech memory table, CiA 402 objects).

use drivedeck_proto::profile::{Profile, Register, Role};

/// The entries the firmware uses, looked up once (by role, else by the names the vendors'
/// tables give them).
#[derive(Clone, Debug, Default)]
pub(crate) struct Entries {
    pub(crate) id: Option<Register>,
    pub(crate) torque_enable: Option<Register>,
    pub(crate) operating_mode: Option<Register>,
    pub(crate) goal_position: Option<Register>,
    pub(crate) goal_velocity: Option<Register>,
    pub(crate) present_position: Option<Register>,
    pub(crate) present_velocity: Option<Register>,
    pub(crate) present_current: Option<Register>,
    pub(crate) present_temperature: Option<Register>,
    pub(crate) hardware_error: Option<Register>,
    pub(crate) velocity_limit: Option<Register>,
    pub(crate) current_limit: Option<Register>,
    pub(crate) return_delay: Option<Register>,
    pub(crate) bus_watchdog: Option<Register>,
    pub(crate) status_return_level: Option<Register>,
    pub(crate) registered: Option<Register>,
    pub(crate) moving: Option<Register>,
    pub(crate) moving_threshold: Option<Register>,
    pub(crate) present_voltage: Option<Register>,
    pub(crate) present_output: Option<Register>,
    pub(crate) min_voltage: Option<Register>,
    pub(crate) max_voltage: Option<Register>,
    pub(crate) temperature_limit: Option<Register>,
    pub(crate) shutdown: Option<Register>,
    pub(crate) torque_limit: Option<Register>,
    pub(crate) cw_angle_limit: Option<Register>,
    pub(crate) ccw_angle_limit: Option<Register>,
    pub(crate) lock: Option<Register>,
    pub(crate) overload_torque: Option<Register>,
    pub(crate) protection_time: Option<Register>,
    pub(crate) position_p: Option<Register>,
    pub(crate) velocity_p: Option<Register>,
    pub(crate) velocity_i: Option<Register>,
    pub(crate) firmware_version: Option<Register>,
    pub(crate) status_word: Option<Register>,
    pub(crate) modes_display: Option<Register>,
    pub(crate) error_code: Option<Register>,
    pub(crate) profile_velocity: Option<Register>,
    pub(crate) profile_acceleration: Option<Register>,
    pub(crate) profile_deceleration: Option<Register>,
    pub(crate) quick_stop_deceleration: Option<Register>,
    pub(crate) quick_stop_option: Option<Register>,
}

impl Entries {
    pub(crate) fn resolve(profile: &Profile) -> Entries {
        let role = |role: Role| profile.role(role).cloned();
        let named = |names: &[&str]| names.iter().find_map(|n| profile.register(n).cloned());
        Entries {
            id: named(&["ID"]),
            torque_enable: role(Role::TorqueEnable),
            operating_mode: role(Role::OperatingMode),
            goal_position: role(Role::GoalPosition),
            goal_velocity: role(Role::GoalVelocity),
            present_position: role(Role::PresentPosition),
            present_velocity: role(Role::PresentVelocity),
            present_current: role(Role::PresentCurrent),
            present_temperature: role(Role::PresentTemperature),
            hardware_error: role(Role::HardwareError),
            velocity_limit: role(Role::VelocityLimit),
            current_limit: role(Role::CurrentLimit),
            return_delay: role(Role::ReturnDelay),
            bus_watchdog: role(Role::BusWatchdog),
            status_return_level: named(&["Status Return Level", "Response Status Level"]),
            registered: named(&["Registered Instruction", "Registered", "Async Write Flag"]),
            moving: named(&["Moving"]),
            moving_threshold: named(&["Moving Threshold"]),
            present_voltage: named(&["Present Input Voltage", "Present Voltage"]),
            present_output: named(&["Present PWM", "Present Load"]),
            min_voltage: named(&["Min Voltage Limit", "Min Input Voltage"]),
            max_voltage: named(&["Max Voltage Limit", "Max Input Voltage"]),
            temperature_limit: named(&["Temperature Limit", "Max Temperature Limit"]),
            shutdown: named(&["Shutdown", "Unloading Condition"]),
            torque_limit: named(&["Torque Limit"]),
            cw_angle_limit: named(&["CW Angle Limit"]),
            ccw_angle_limit: named(&["CCW Angle Limit"]),
            lock: named(&["Lock"]),
            overload_torque: named(&["Overload Torque"]),
            protection_time: named(&["Protection Time"]),
            position_p: named(&["Position P Gain"]),
            velocity_p: named(&["Velocity P Gain"]),
            velocity_i: named(&["Velocity I Gain"]),
            firmware_version: named(&["Firmware Version", "Firmware Major Version"]),
            status_word: role(Role::StatusWord),
            modes_display: named(&["Modes of Operation Display"]),
            error_code: named(&["Error Code"]),
            profile_velocity: named(&["Profile Velocity"]),
            profile_acceleration: named(&["Profile Acceleration"]),
            profile_deceleration: named(&["Profile Deceleration"]),
            quick_stop_deceleration: named(&["Quick Stop Deceleration"]),
            quick_stop_option: named(&["Quick Stop Option Code"]),
        }
    }
}
