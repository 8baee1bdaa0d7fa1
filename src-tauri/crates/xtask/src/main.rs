//! DriveDeck's task runner (`cargo xtask …`, an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask run [-- ARGS]`: set up, build, open the app on the simulated rig.
//! - `cargo xtask test`: set up, then every check and test: rustfmt, clippy, the Rust
//!   tests (unit, integration, engine ⇄ simulator over a pty), the UI's unit tests, the
//!   installers (`bundle`), the end-to-end tests of the real window of the release app
//!   that went into them (Xvfb, WebDriver), the install test of the .deb in a fresh Debian
//!   root, and a short fuzzing run (5 s per target).
//! - `cargo xtask fuzz [SECONDS]`: every fuzz target (the codecs and the profile parser,
//!   `src-tauri/crates/proto/fuzz`) for SECONDS each, 10 by default; installs cargo-fuzz
//!   first if it is missing.
//! - `cargo xtask setup`: only the set-up both of them start with.
//! - `cargo xtask bench-ui`: idle memory of the whole release app on the simulated rig
//!   against a hello-world Tauri app built here with the same Tauri, then the live
//!   chart's frames per second and main-thread load with 8 channels streaming at 1 kHz
//!   (`tests/ui/chartbench.mjs`; figures, no asserts).
//! - `cargo xtask bundle [--target TRIPLE] [--bundles LIST]`: set up, then the installers
//!   (.deb and .rpm on Linux by default; LIST as for `tauri build --bundles`) with the Tauri
//!   CLI pinned in `ui/package.json`, `drivedeck-cli` inside. `cargo xtask test` and the
//!   release workflow both build them this way.
//! - `cargo xtask sidecar [--target TRIPLE]`: only `drivedeck-cli` in release, put where
//!   the bundler takes it from (the release workflow runs this before the Tauri action).
//! - `cargo xtask install-test [--here]`: `bundle`, then `tests/install/install-test.sh`
//!   on the .deb: installed into a fresh Debian root made with debootstrap (root or
//!   sudo needed), or with `--here` onto this machine (run that on a machine you may
//!   change).
//!
//! Set-up installs what a fresh Debian/Ubuntu machine lacks: the apt packages Tauri and
//! the tests need (with sudo when not root), the en_US.UTF-8 locale, the UI's npm
//! packages (`npm ci`), and the built UI. Std only, so it compiles in seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Debian/Ubuntu packages: Tauri's (webkit2gtk 4.1 and friends), libudev for serial
/// ports, and what the window tests use (Xvfb, WebKitWebDriver, locales).
const APT_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libssl-dev",
    "libxdo-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libudev-dev",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "locales",
    // The AppImage bundler (release workflow) runs these on the binaries.
    "file",
    "patchelf",
];

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    // crates/xtask → src-tauri/crates → src-tauri → repository root
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn step(title: &str) {
    eprintln!("\n==> {title}");
}

fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0")
}

/// `cmd` as root: directly when we are root, else through sudo.
fn privileged(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut cmd = Command::new("sudo");
        cmd.arg(program);
        cmd
    }
}

fn apt_packages() -> Result {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|pkg| {
            !output(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
                .is_some_and(|s| s.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if output(Command::new("apt-get").arg("--version")).is_none() {
        return Err(format!(
            "missing system packages {missing:?}, and this is not a Debian/Ubuntu machine: \
             install webkit2gtk-4.1, libudev, Xvfb and WebKitWebDriver with your package manager"
        ));
    }
    step(&format!(
        "installing system packages: {}",
        missing.join(" ")
    ));
    run(privileged("apt-get").args(["update", "-qq"]))?;
    run(privileged("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing))
}

fn locale() -> Result {
    let have = output(Command::new("locale").arg("-a"))
        .is_some_and(|s| s.lines().any(|l| l.eq_ignore_ascii_case("en_US.utf8")));
    if have {
        return Ok(());
    }
    step("generating the en_US.UTF-8 locale (the window tests use it)");
    if Path::new("/etc/locale.gen").exists() {
        run(privileged("sed").args([
            "-i",
            "s/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/",
            "/etc/locale.gen",
        ]))?;
        run(&mut privileged("locale-gen"))
    } else {
        run(privileged("locale-gen").arg("en_US.UTF-8"))
    }
}

fn npm(ui: &Path, args: &[&str]) -> Result {
    run(Command::new("npm").args(args).current_dir(ui))
}

fn ui_build() -> Result {
    let ui = root().join("ui");
    let lock = ui.join("package-lock.json");
    let stamp = ui.join("node_modules/.package-lock.json");
    let stale = match (std::fs::metadata(&lock), std::fs::metadata(&stamp)) {
        (Ok(l), Ok(s)) => match (l.modified(), s.modified()) {
            (Ok(l), Ok(s)) => l > s,
            _ => true,
        },
        _ => true,
    };
    if stale {
        step("installing the UI's npm packages (npm ci)");
        npm(&ui, &["ci", "--no-audit", "--no-fund"])?;
    }
    step("building the UI (ui/dist)");
    npm(&ui, &["run", "build"])
}

/// rustfmt and clippy, which a minimal rustup profile leaves out.
fn rust_components() -> Result {
    for (probe, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        if output(cargo().args([probe, "--version"])).is_none() {
            step(&format!("adding the {component} component"));
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

fn setup() -> Result {
    rust_components()?;
    // Windows and macOS need no system packages for the build (the release workflow's
    // runners have the SDKs); the window and install tests run on Linux only.
    if cfg!(target_os = "linux") {
        apt_packages()?;
        locale()?;
    }
    ui_build()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn app_run(args: &[String]) -> Result {
    setup()?;
    step("building the app");
    run(cargo().args(["build", "-p", "drivedeck"]))?;
    step("opening DriveDeck on the simulated rig");
    run(Command::new(target_dir().join("debug/drivedeck")).args(args))
}

fn test() -> Result {
    setup()?;
    step("rustfmt");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("clippy");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("Rust tests (unit, integration, engine ⇄ simulator over a pty)");
    // Every wait in the tests is bounded; this bound catches a hang in the code itself.
    // The shell (`drivedeck`, the only crate on Tauri and WebKitGTK) is tested later, in
    // release on the build that goes into the installers: its Tauri stack is then
    // compiled once, not in debug as well.
    run(&mut bounded(
        cargo().args(["test", "--workspace", "--exclude", "drivedeck"]),
        1200,
    ))?;
    step("UI unit tests (vitest)");
    npm(&root().join("ui"), &["test"])?;
    // The installers are built once, and everything after tests what they hold: the
    // window tests run the release app and drivedeck-cli that went into the .deb, and
    // the install test installs that .deb into a fresh Debian root.
    let bundles = bundle(None, None)?;
    window_tests(&target_dir().join("release/drivedeck"))?;
    install_test_on(&bundles, false)?;
    step("the shell's Rust tests (release: the Tauri stack the installers were built with)");
    run(&mut bounded(
        cargo().args(["test", "--release", "-p", "drivedeck"]),
        600,
    ))?;
    fuzz(CI_FUZZ_SECONDS)
}

/// Every `tests/ui/*.test.mjs`: the real window of `app` under Xvfb, through WebDriver
/// (`drivedeck-cli`, which some of them start, is taken from beside `app`).
fn window_tests(app: &Path) -> Result {
    let mut window_tests: Vec<PathBuf> = std::fs::read_dir(root().join("tests/ui"))
        .map_err(|e| format!("cannot list tests/ui: {e}"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    window_tests.sort();
    step(&format!(
        "end-to-end: the real window of {} under Xvfb, through WebDriver",
        app.display()
    ));
    run(&mut bounded(
        Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1280x800x24", "node", "--test"])
            .arg("--test-concurrency=1")
            // Every test ends with its after hooks; a stray handle must not hang the run.
            .arg("--test-force-exit")
            .args(&window_tests)
            .env("DRIVEDECK_APP", app)
            .current_dir(root()),
        600,
    ))
}

/// Seconds per fuzz target in `cargo xtask test`: enough to catch a shallow crash on
/// every CI run; `cargo xtask fuzz 600` is the longer run on demand.
const CI_FUZZ_SECONDS: u32 = 5;

/// Seconds per fuzz target in `cargo xtask fuzz` without an argument.
const DEFAULT_FUZZ_SECONDS: u32 = 10;

/// The crate whose `fuzz/` directory holds the fuzz targets.
fn fuzzed_crate() -> PathBuf {
    root().join("src-tauri/crates/proto")
}

/// `cargo fuzz …` in the fuzzed crate. cargo-fuzz needs nightly features (sanitizers,
/// `-Z` flags); RUSTC_BOOTSTRAP lets the stable toolchain provide them.
fn cargo_fuzz() -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz")
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(fuzzed_crate());
    cmd
}

/// Every fuzz target for `seconds` each. Findings land in `target/fuzz/artifacts/<target>/`;
/// the corpus grows in `target/fuzz/corpus/<target>/`, seeded from `fuzz/seeds/<target>/`
/// (and `profiles/` for the profile parser).
fn fuzz(seconds: u32) -> Result {
    if output(cargo_fuzz().arg("--version")).is_none() {
        step("installing cargo-fuzz (once per machine)");
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let target_dir = target_dir().join("fuzz");
    let listed = output(cargo_fuzz().arg("list"))
        .ok_or("`cargo fuzz list` failed in src-tauri/crates/proto")?;
    let targets: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if targets.is_empty() {
        return Err("no fuzz targets found in src-tauri/crates/proto/fuzz".into());
    }
    step(&format!("building {} fuzz targets", targets.len()));
    run(&mut bounded(
        cargo_fuzz()
            .arg("build")
            .arg("--target-dir")
            .arg(&target_dir),
        1800,
    ))?;
    for target in targets {
        step(&format!("fuzzing {target} for {seconds} s"));
        let corpus = target_dir.join("corpus").join(target);
        let artifacts = target_dir.join("artifacts").join(target);
        for dir in [&corpus, &artifacts] {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut cmd = cargo_fuzz();
        cmd.args(["run", "--target-dir"])
            .arg(&target_dir)
            .arg(target)
            .arg(&corpus);
        // Seeds: the specifications' example frames, and the shipped profiles for the
        // profile parser.
        let seeds = [
            fuzzed_crate().join("fuzz/seeds").join(target),
            fuzzed_crate().join("profiles"),
        ];
        let wanted = |dir: &Path| dir.ends_with("profiles") == target.starts_with("profile");
        cmd.args(seeds.iter().filter(|dir| wanted(dir) && dir.is_dir()))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()));
        // The run stops itself after `seconds`; the bound catches a hang in a target.
        run(&mut bounded(&mut cmd, seconds + 120)).map_err(|e| {
            format!(
                "{e}\nfuzz target {target} failed: the crashing input is in {}",
                artifacts.display()
            )
        })?;
    }
    Ok(())
}

/// The folder cargo builds into (`CARGO_TARGET_DIR` or `target/`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        })
        .unwrap_or_else(|| root().join("target"))
}

/// The triple rustc builds for by default.
fn host_triple() -> Result<String> {
    let info = output(Command::new("rustc").arg("-vV")).ok_or("could not run `rustc -vV`")?;
    info.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_string())
        .ok_or_else(|| "`rustc -vV` printed no host triple".into())
}

/// Builds `drivedeck-cli` in release for `target` (the host if none) and copies it to
/// `src-tauri/binaries/drivedeck-cli-<triple>[.exe]`, the name Tauri's `externalBin`
/// (in `src-tauri/tauri.bundle.conf.json`) looks for. Installers put it beside the app:
/// `/usr/bin/drivedeck-cli` on Linux, next to `DriveDeck.exe` on Windows, in
/// `DriveDeck.app/Contents/MacOS/` on macOS.
fn sidecar(target: Option<&str>) -> Result<PathBuf> {
    let triple = match target {
        Some(triple) => triple.to_string(),
        None => host_triple()?,
    };
    step(&format!("building drivedeck-cli (release, {triple})"));
    let mut build = cargo();
    build.args(["build", "--release", "--package", "drivedeck-cli"]);
    let mut built = target_dir();
    if let Some(triple) = target {
        build.args(["--target", triple]);
        built.push(triple);
    }
    run(&mut build)?;
    let exe = if triple.contains("windows") {
        ".exe"
    } else {
        ""
    };
    let from = built.join("release").join(format!("drivedeck-cli{exe}"));
    let dir = root().join("src-tauri/binaries");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let to = dir.join(format!("drivedeck-cli-{triple}{exe}"));
    std::fs::copy(&from, &to)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    Ok(to)
}

/// The pinned Tauri CLI (`@tauri-apps/cli` in `ui/package.json`), run from the
/// repository root so it finds `src-tauri/` and takes `ui/` as the frontend folder.
fn tauri_cli() -> Command {
    let mut cmd = Command::new(if cfg!(windows) { "npx.cmd" } else { "npx" });
    cmd.args(["--no-install", "--prefix", "ui", "tauri"])
        .current_dir(root());
    cmd
}

/// The installers this machine can build without downloading tools: .deb and .rpm on
/// Linux (AppImage fetches its AppRun and linuxdeploy at build time, so only the
/// release workflow builds it), .msi and NSIS on Windows, .app and .dmg on macOS.
fn offline_bundles() -> &'static str {
    if cfg!(target_os = "windows") {
        "msi,nsis"
    } else if cfg!(target_os = "macos") {
        "app,dmg"
    } else {
        "deb,rpm"
    }
}

/// Builds the installers (`bundles`, a comma-separated list for `tauri build --bundles`;
/// [`offline_bundles`] when `None`); returns the folder they are in. CI's test run and the
/// release workflow both build through here, so what is released is what was tested.
fn bundle(target: Option<&str>, bundles: Option<&str>) -> Result<PathBuf> {
    setup()?;
    sidecar(target)?;
    step("building the app in release and bundling it (tauri build)");
    let mut build = tauri_cli();
    build.args([
        "build",
        "--ci",
        "--config",
        "src-tauri/tauri.bundle.conf.json",
        "--bundles",
        bundles.unwrap_or(offline_bundles()),
    ]);
    let mut out = target_dir();
    if let Some(triple) = target {
        build.args(["--target", triple]);
        out.push(triple);
    }
    run(&mut build)?;
    let out = out.join("release/bundle");
    step(&format!("installers in {}", out.display()));
    for kind in std::fs::read_dir(&out)
        .map_err(|e| format!("no bundles in {}: {e}", out.display()))?
        .flatten()
    {
        for file in std::fs::read_dir(kind.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(meta) = file.metadata()
                && meta.is_file()
            {
                eprintln!(
                    "  {:>6.2} MB  {}",
                    meta.len() as f64 / 1e6,
                    file.path().display()
                );
            }
        }
    }
    Ok(out)
}

/// A hello-world Tauri app with the same Tauri, the same features and the same release
/// profile as DriveDeck, written into the target folder: the baseline the footprint is
/// compared with. Returns its binary.
fn hello_world() -> Result<PathBuf> {
    let dir = target_dir().join("hello-tauri");
    let write = |path: &str, text: &str| -> Result {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))
    };
    let manifest = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("cannot read Cargo.toml: {e}"))?;
    let line = |key: &str| {
        manifest
            .lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .map(str::to_string)
            .ok_or(format!("no {key} in [workspace.dependencies]"))
    };
    let profile = manifest
        .split("[profile.release]")
        .nth(1)
        .map(|rest| rest.split("\n[").next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    write(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"hello-tauri\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [workspace]\n\n[build-dependencies]\n{}\n\n[dependencies]\n{}\n\n\
             [profile.release]\n{profile}\n",
            line("tauri-build")?,
            line("tauri")?
        ),
    )?;
    write("build.rs", "fn main() {\n    tauri_build::build();\n}\n")?;
    write(
        "src/main.rs",
        "fn main() {\n    tauri::Builder::default()\n        .run(tauri::generate_context!())\n        \
         .expect(\"hello\");\n}\n",
    )?;
    write(
        "dist/index.html",
        "<!doctype html><html><body><h1>Hello, world</h1></body></html>\n",
    )?;
    let icon = root().join("icons/icon.png");
    write(
        "tauri.conf.json",
        &format!(
            "{{\"productName\": \"hello-tauri\", \"identifier\": \"dev.drivedeck.hello\",\n\
             \"build\": {{\"frontendDist\": \"dist\"}},\n\
             \"app\": {{\"windows\": [{{\"title\": \"Hello\", \"width\": 1280, \"height\": 800}}]}},\n\
             \"bundle\": {{\"icon\": [{:?}]}}}}\n",
            icon.display().to_string()
        ),
    )?;
    // The same versions as DriveDeck's lock file, so the same Tauri is measured.
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    step("building the hello-world Tauri app (release)");
    run(cargo()
        .args(["build", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir()))?;
    Ok(target_dir().join("release/hello-tauri"))
}

/// The UI benchmarks: idle memory of the whole app against a hello-world Tauri app, then
/// the live chart's frame rate and main-thread load with 8 channels at 1 kHz (with
/// WebKit's OpenGL compositing on, then off: see src-tauri/src/render.rs).
fn bench_ui() -> Result {
    setup()?;
    step("building DriveDeck (release)");
    run(cargo().args(["build", "--release", "-p", "drivedeck"]))?;
    let hello = hello_world()?;
    let app = target_dir().join("release/drivedeck");
    step("measuring idle memory under Xvfb");
    run(&mut bounded(
        Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1280x800x24", "node"])
            .arg(root().join("tests/ui/footprint.mjs"))
            .arg(&app)
            .arg(hello)
            .current_dir(root()),
        300,
    ))?;
    for compositing in [true, false] {
        step(&format!(
            "measuring the live chart under Xvfb (8 channels at 1 kHz, WebKit compositing {})",
            if compositing { "on" } else { "off" }
        ));
        let mut chart = Command::new("xvfb-run");
        chart
            .args(["-a", "-s", "-screen 0 1280x800x24", "node"])
            .arg(root().join("tests/ui/chartbench.mjs"))
            .arg(&app)
            .current_dir(root());
        chart.env(
            "DRIVEDECK_COMPOSITING",
            if compositing { "on" } else { "off" },
        );
        run(&mut bounded(&mut chart, 300))?;
    }
    Ok(())
}

/// Builds the .deb and runs the install test on it (installs, launches, upgrades,
/// removes and purges it), in a fresh debootstrap root unless `here`.
fn install_test(here: bool) -> Result {
    let out = bundle(None, None)?;
    install_test_on(&out, here)
}

/// The install test on the .deb in the bundle folder `out`.
fn install_test_on(out: &Path, here: bool) -> Result {
    let deb = std::fs::read_dir(out.join("deb"))
        .map_err(|e| format!("no .deb built: {e}"))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .ok_or("no .deb built")?;
    // A fresh root needs root (debootstrap, chroot, mounts). Say so and fail: a run that
    // skipped the install test would pass without testing what users install.
    if !is_root() && output(Command::new("sudo").args(["-n", "true"])).is_none() {
        return Err(
            "the install test needs root (or sudo without a password) to make a fresh Debian \
             root with debootstrap; run as root, or run `cargo xtask install-test --here` on a \
             machine you may change"
                .into(),
        );
    }
    step(&format!(
        "install test of {} ({})",
        deb.display(),
        if here {
            "on this machine"
        } else {
            "in a fresh Debian root"
        }
    ));
    let mut test = privileged("bash");
    test.arg(root().join("tests/install/install-test.sh"));
    if !here {
        test.arg("--chroot");
    }
    // Bounded like the other steps: debootstrap and apt can stall on a network that hangs.
    run(&mut bounded(test.arg(&deb).current_dir(root()), 1200))
}

/// `--target TRIPLE` among `args`, if given.
fn target_arg(args: &[String]) -> Result<Option<&str>> {
    match args {
        [] => Ok(None),
        [flag, triple] if flag == "--target" => Ok(Some(triple.as_str())),
        _ => Err(format!(
            "unexpected arguments {args:?} (expected: --target TRIPLE)"
        )),
    }
}

/// `[--target TRIPLE] [--bundles LIST]` of `cargo xtask bundle`.
fn bundle_args(args: &[String]) -> Result<(Option<&str>, Option<&str>)> {
    let (mut target, mut bundles) = (None, None);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let slot = match flag.as_str() {
            "--target" => &mut target,
            "--bundles" => &mut bundles,
            _ => {
                return Err(format!(
                    "unexpected argument {flag:?} (expected: [--target TRIPLE] [--bundles LIST])"
                ));
            }
        };
        match rest.next() {
            Some(value) if !value.starts_with("--") => *slot = Some(value.as_str()),
            _ => return Err(format!("{flag} needs a value")),
        }
    }
    Ok((target, bundles))
}

/// The same command under coreutils `timeout`: killed after `seconds`, so a hang fails
/// the run with a message instead of eating CI's time.
fn bounded(cmd: &mut Command, seconds: u32) -> Command {
    let mut wrapped = Command::new("timeout");
    wrapped
        .args(["--kill-after=10", &seconds.to_string()])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("run") => {
            let rest: Vec<String> = args[1..]
                .iter()
                .skip_while(|a| *a == "--")
                .cloned()
                .collect();
            app_run(&rest)
        }
        Some("test") => test(),
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u32>()) {
            None => fuzz(DEFAULT_FUZZ_SECONDS),
            Some(Ok(seconds)) if seconds > 0 => fuzz(seconds),
            Some(_) => Err(format!(
                "fuzz: SECONDS must be a positive whole number, not {:?}",
                args[1]
            )),
        },
        Some("bench-ui") => bench_ui(),
        Some("bundle") => bundle_args(&args[1..])
            .and_then(|(target, bundles)| bundle(target, bundles).map(drop)),
        Some("sidecar") => target_arg(&args[1..]).and_then(|target| sidecar(target).map(drop)),
        Some("install-test") => match &args[1..] {
            [] => install_test(false),
            [flag] if flag == "--here" => install_test(true),
            other => Err(format!("unexpected arguments {other:?} (expected: --here)")),
        },
        _ => Err(
            "usage: cargo xtask (run [-- APP ARGS] | test | fuzz [SECONDS] | setup | bench-ui \
                  | bundle [--target TRIPLE] [--bundles LIST] | sidecar [--target TRIPLE] | install-test [--here])"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
