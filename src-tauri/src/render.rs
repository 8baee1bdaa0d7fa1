//! Whether WebKit composites the window with OpenGL (Linux).
//!
//! On a machine without a GPU (no DRM render node: a VM, a remote desktop, Xvfb in CI)
//! Mesa emulates OpenGL on the CPU (llvmpipe), and WebKit's compositing then costs more
//! than it gives. Measured with `cargo xtask bench-ui` on the 2-core development machine
//! under Xvfb: with compositing the live chart at 8 × 1 kHz ran at 32 frames/s with the
//! web process using 1.36 cores (0.9 of them llvmpipe), without it at 73 frames/s and
//! 0.59 cores, and the idle web process held about 100 MB less. So without a render node
//! DriveDeck starts WebKit with `WEBKIT_DISABLE_COMPOSITING_MODE=1`; with one, nothing
//! changes. `DRIVEDECK_COMPOSITING=on` or `off` overrides the guess.
//!
//! WebKit reads that variable when it starts its web process, and setting a variable in
//! a running program is unsafe in Rust 2024 (another thread may read the environment at
//! the same moment); switching WebKit's hardware-acceleration policy on a live webview
//! crashes its web process (WebKitGTK 2.50). So, first thing at start-up, the app
//! replaces itself (exec: same process, same arguments) with a copy of itself that has
//! the variable in its environment.

use std::path::Path;

/// The variable WebKitGTK reads.
pub const WEBKIT_VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// DriveDeck's override: `on` or `off`.
pub const OVERRIDE: &str = "DRIVEDECK_COMPOSITING";

/// Whether to start WebKit without compositing, and why. `setting` is
/// `DRIVEDECK_COMPOSITING`; `webkit` is `WEBKIT_DISABLE_COMPOSITING_MODE` as already
/// set (kept: the user chose); `dri` is normally `/dev/dri`.
pub fn without_compositing(
    setting: Option<&str>,
    webkit: Option<&str>,
    dri: &Path,
) -> (bool, String) {
    if let Some(value) = webkit {
        return (value != "0", format!("{WEBKIT_VARIABLE}={value} was set"));
    }
    match setting.map(str::trim) {
        Some("on") => return (false, format!("{OVERRIDE}=on")),
        Some("off") => return (true, format!("{OVERRIDE}=off")),
        Some(other) => log::warn!("{OVERRIDE}={other:?} is neither on nor off: ignored"),
        None => {}
    }
    let render_node = std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    if render_node {
        (false, format!("a GPU render node in {}", dri.display()))
    } else {
        (
            true,
            format!(
                "no GPU render node in {}: OpenGL would be emulated on the CPU",
                dri.display()
            ),
        )
    }
}

/// On Linux, when WebKit should run without compositing and the variable is not set yet:
/// replaces this process with itself, the variable set. Returns only when nothing is to
/// be done or the exec failed (logged; the app then runs as it is).
pub fn restart_without_compositing_if_needed() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let webkit = std::env::var(WEBKIT_VARIABLE).ok();
        let setting = std::env::var(OVERRIDE).ok();
        let (off, why) =
            without_compositing(setting.as_deref(), webkit.as_deref(), Path::new("/dev/dri"));
        log::info!(
            "WebKit compositing {} ({why})",
            if off { "off" } else { "on" }
        );
        if !off || webkit.is_some() {
            return;
        }
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                log::warn!("cannot find this program to restart it without compositing: {e}");
                return;
            }
        };
        // exec returns only on failure.
        let error = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(WEBKIT_VARIABLE, "1")
            .exec();
        log::warn!("could not restart without compositing: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_render_node_means_no_compositing_unless_told() {
        let dir = tempfile::tempdir().expect("temp dir");
        let off = |setting, webkit, dri: &Path| without_compositing(setting, webkit, dri).0;
        assert!(off(None, None, dir.path()));
        assert!(off(None, None, &dir.path().join("missing")));
        std::fs::write(dir.path().join("card0"), "").expect("card");
        assert!(off(None, None, dir.path()));
        std::fs::write(dir.path().join("renderD128"), "").expect("render node");
        assert!(!off(None, None, dir.path()));
        assert!(off(Some("off"), None, dir.path()));
        let empty = tempfile::tempdir().expect("temp dir");
        assert!(!off(Some("on"), None, empty.path()));
        assert!(off(Some("maybe"), None, empty.path()));
        // What the user set for WebKit stands.
        assert!(!off(Some("off"), Some("0"), empty.path()));
        assert!(off(Some("on"), Some("1"), dir.path()));
    }
}
