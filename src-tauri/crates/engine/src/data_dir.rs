//! Where DriveDeck keeps a user's data, and the first run's set-up of that folder.
//!
//! One folder per user: the platform's app data folder for the app's identifier
//! (`dev.drivedeck.DriveDeck`), as Tauri's `app_data_dir()` names it (the desktop shell
//! passes it in; any other client can open the same folder):
//!
//! | platform | folder |
//! | --- | --- |
//! | Linux | `$XDG_DATA_HOME/dev.drivedeck.DriveDeck` (default `~/.local/share/…`) |
//! | macOS | `~/Library/Application Support/dev.drivedeck.DriveDeck` |
//! | Windows | `%APPDATA%\dev.drivedeck.DriveDeck` |
//!
//! It holds `drivedeck.db` (the query store: sessions, samples, the job journal),
//! `settings.json` (window size, last connection, chart choices: the desktop shell's
//! `settings`) and
//! `profiles/`, where users drop their own drive profiles (one TOML file per drive
//! model). The first run creates the folder, `profiles/` with a README and an example;
//! later runs leave everything there as it is. Installers never write into it, so an
//! upgrade keeps it and uninstalling leaves it for the user to delete.

use drivedeck_proto::profile::{Profile, ProfileError};
use std::io;
use std::path::{Path, PathBuf};

/// The query store's file name.
pub const DATABASE: &str = "drivedeck.db";
/// The user's drive profiles folder's name.
pub const PROFILES: &str = "profiles";

/// What the first run writes into `profiles/`.
const PROFILES_README: &str = "\
DriveDeck drive profiles
========================

Put a drive profile here to teach DriveDeck a drive model that speaks a protocol it
knows: one TOML file per model, named <vendor>-<model>.toml, holding the model's
control table (name, address, size, type, unit, scale, min, max, access of each
register) and which registers mean enable, mode, target, actual position, velocity
and current, fault, and the safe stop.

robotis-xm430-w350.toml.example is the built-in XM430-W350 profile, as a starting
point: copy it to a name ending in .toml and edit it. DriveDeck reads every *.toml
file here at start-up and writes each one it refuses, with the line and the reason,
to its log.

DriveDeck never changes or deletes the files here; upgrading or uninstalling the app
keeps them.
";

/// The built-in XM430-W350 profile, as an example of the format.
const EXAMPLE_PROFILE: &str = include_str!("../../proto/profiles/robotis-xm430-w350.toml");

/// The app's identifier: its data folder's name.
pub const IDENTIFIER: &str = "dev.drivedeck.DriveDeck";

/// The platform's data folder for DriveDeck, found the way Tauri's `app_data_dir()`
/// finds it (see the table above), for clients without Tauri (the CLI). `None` when the
/// environment names no home.
pub fn default_root() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(target_os = "windows") {
        var("APPDATA")?
    } else if cfg!(target_os = "macos") {
        var("HOME")?.join("Library/Application Support")
    } else {
        var("XDG_DATA_HOME").or_else(|| var("HOME").map(|h| h.join(".local/share")))?
    };
    Some(base.join(IDENTIFIER))
}

/// The user's data folder.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Opens the data folder at `root`, creating it and `profiles/` (with its README
    /// and example) when `profiles/` does not exist yet. Existing files are never
    /// touched.
    pub fn prepare(root: &Path) -> io::Result<DataDir> {
        let profiles = root.join(PROFILES);
        if !profiles.is_dir() {
            std::fs::create_dir_all(&profiles)?;
            std::fs::write(profiles.join("README.txt"), PROFILES_README)?;
            std::fs::write(
                profiles.join("robotis-xm430-w350.toml.example"),
                EXAMPLE_PROFILE,
            )?;
        }
        Ok(DataDir {
            root: root.to_path_buf(),
        })
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The query store's default file.
    pub fn database(&self) -> PathBuf {
        self.root.join(DATABASE)
    }

    /// The user's drive profiles folder.
    pub fn profiles(&self) -> PathBuf {
        self.root.join(PROFILES)
    }

    /// Every `*.toml` file in `profiles/`, by file name, each parsed and checked.
    pub fn user_profiles(&self) -> io::Result<Vec<(PathBuf, Result<Profile, ProfileError>)>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.profiles())?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        files.sort();
        Ok(files
            .into_iter()
            .map(|path| {
                let profile = Profile::load(&path);
                (path, profile)
            })
            .collect())
    }

    /// The user's drive profiles that load: each one logged, each refused one logged with
    /// its file, line and reason (a bad file never stops a start-up).
    pub fn usable_profiles(&self) -> Vec<Profile> {
        match self.user_profiles() {
            Ok(found) => found
                .into_iter()
                .filter_map(|(path, profile)| match profile {
                    Ok(profile) => {
                        log::info!(
                            "drive profile {} {} from {}",
                            profile.vendor,
                            profile.name,
                            path.display()
                        );
                        Some(profile)
                    }
                    Err(e) => {
                        log::warn!("drive profile refused: {e}");
                        None
                    }
                })
                .collect(),
            Err(e) => {
                log::warn!(
                    "cannot read the profiles folder {}: {e}",
                    self.profiles().display()
                );
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_creates_the_folder_with_profiles_readme_and_example() {
        let home = tempfile::tempdir().expect("temp dir");
        let root = home.path().join("dev.drivedeck.DriveDeck");
        let data = DataDir::prepare(&root).expect("prepared");
        assert_eq!(data.database(), root.join("drivedeck.db"));
        assert!(data.profiles().is_dir());
        let readme = std::fs::read_to_string(data.profiles().join("README.txt")).expect("readme");
        assert!(readme.contains("*.toml"));
        // The example is not a profile until the user renames it.
        assert!(data.user_profiles().expect("listed").is_empty());
        let example = data.profiles().join("robotis-xm430-w350.toml.example");
        let profile = Profile::load(&example).expect("the example is a valid profile");
        assert_eq!(profile.name, "XM430-W350");
    }

    #[test]
    fn a_later_run_keeps_what_the_user_changed() {
        let home = tempfile::tempdir().expect("temp dir");
        let data = DataDir::prepare(home.path()).expect("first run");
        let mine = data.profiles().join("my-drive.toml");
        std::fs::write(&mine, "# mine\n").expect("user file");
        std::fs::remove_file(data.profiles().join("README.txt")).expect("user deleted it");
        std::fs::write(data.database(), b"not touched").expect("db");

        let again = DataDir::prepare(home.path()).expect("second run");
        assert_eq!(std::fs::read_to_string(&mine).expect("kept"), "# mine\n");
        assert!(
            !again.profiles().join("README.txt").exists(),
            "not re-created"
        );
        assert_eq!(std::fs::read(again.database()).expect("db"), b"not touched");
    }

    #[test]
    fn user_profiles_are_checked_and_a_bad_one_names_its_file_and_line() {
        let home = tempfile::tempdir().expect("temp dir");
        let data = DataDir::prepare(home.path()).expect("prepared");
        std::fs::write(data.profiles().join("a-good.toml"), EXAMPLE_PROFILE).expect("good");
        std::fs::write(
            data.profiles().join("b-bad.toml"),
            "[drive]\nname = \"X\"\nprotocol = \"no-such-protocol\"\n",
        )
        .expect("bad");
        std::fs::write(data.profiles().join("notes.txt"), "ignored").expect("other file");

        let found = data.user_profiles().expect("listed");
        assert_eq!(found.len(), 2, "only *.toml files: {found:?}");
        assert!(found[0].0.ends_with("a-good.toml"));
        assert_eq!(found[0].1.as_ref().expect("valid").name, "XM430-W350");
        assert!(found[1].0.ends_with("b-bad.toml"));
        let error = found[1].1.as_ref().expect_err("refused").to_string();
        assert!(error.contains("b-bad.toml:"), "{error}");
    }

    #[test]
    fn only_the_profiles_that_load_are_used() {
        let home = tempfile::tempdir().expect("temp dir");
        let data = DataDir::prepare(home.path()).expect("prepared");
        std::fs::write(data.profiles().join("a-good.toml"), EXAMPLE_PROFILE).expect("good");
        std::fs::write(data.profiles().join("b-bad.toml"), "not a profile").expect("bad");
        let usable = data.usable_profiles();
        assert_eq!(usable.len(), 1);
        assert_eq!(usable[0].name, "XM430-W350");
        std::fs::remove_dir_all(data.profiles()).expect("the user deleted the folder");
        assert!(data.usable_profiles().is_empty());
    }
}
