//! `drivedeck-cli ports`: the serial ports of this machine, with the USB vendor and
//! product IDs, manufacturer, product and serial number of each adapter where the
//! operating system gives them. Pseudo-terminals (simulators) are not listed.

/// Arguments of `ports`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

/// Lists the ports.
pub fn run(args: Args) -> anyhow::Result<()> {
    let ports = drivedeck_engine::ports()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&ports)?);
        return Ok(());
    }
    if ports.is_empty() {
        println!("no serial ports (is the adapter plugged in?)");
    }
    for port in &ports {
        println!("{}", port.describe());
    }
    Ok(())
}
