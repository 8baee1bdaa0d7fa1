//! `drivedeck-cli bench`: measured figures, printed, never asserted.
//!
//! `bench tune` (in `bench_tune`) times the tuning FRF with coherence against SciPy;
//! `bench tune-rate` (in `bench_tune_rate`) measures a tuning run's reading rate against
//! the wire.
//!
//! `bench link` (in `bench_link`) measures a link's telemetry poll rate against the
//! wire-time limit.
//!
//! `bench store` measures the query store on an on-disk WAL database in a temporary
//! folder (or `--dir`):
//! - ingest: samples/s sustained, 12 drives × 3 channels of realistic telemetry (1 kHz
//!   with jitter, slow motion plus noise), events pre-built so only the store is timed;
//! - bytes per sample on disk after a checkpoint;
//! - window queries over a 10,000,000-sample session (one drive, three channels) at
//!   2,000 px, random zooms from 0.01 % to 100 % (log-uniform): p50/p95, against a naive
//!   `GROUP BY` bucket query over a row-per-sample table of the same data, the same
//!   zooms, in the same run;
//! - live tail: a sample handed to the writer → readable by `tail`, p50/p99 (1 kHz × 8
//!   drives, the reader polling as a chart would).

use anyhow::Context;
use drivedeck_domain::{DriveRef, Event, TelemetrySample};
use drivedeck_store::{Store, TailCursor};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// The query store: ingest, size, window queries, live tail.
    Store(StoreArgs),
    /// A link's telemetry poll rate against the wire-time limit (paced simulator).
    Link(super::bench_link::LinkArgs),
    /// Submit → first byte heard by the simulator, on an idle link.
    Bus(super::bench_bus::BusArgs),
    /// E-stop → first byte of the stop frame, with a full queue, telemetry at full rate
    /// and chart queries running.
    Estop(super::bench_estop::EstopArgs),
    /// FRF + coherence of a 60 s, 1 kHz tuning run (1 input, 3 outputs), against SciPy.
    Tune(super::bench_tune::TuneArgs),
    /// A tuning run's reading rate against the wire-time limit, and the host's
    /// turnaround per cycle (paced simulator, the whole engine).
    TuneRate(super::bench_tune_rate::TuneRateArgs),
}

/// Arguments of `bench store`.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// Samples to ingest for the ingest figure.
    #[arg(long, default_value_t = 20_000_000)]
    ingest_samples: u64,
    /// Samples in the session the window queries run over.
    #[arg(long, default_value_t = 10_000_000)]
    window_samples: u64,
    /// Random zooms to time.
    #[arg(long, default_value_t = 200)]
    zooms: usize,
    /// Seconds of live tail to time.
    #[arg(long, default_value_t = 5)]
    tail_seconds: u64,
    /// Folder for the databases (default: a temporary folder, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Runs a benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Store(args) => store(args),
        What::Link(args) => super::bench_link::run(args),
        What::Bus(args) => super::bench_bus::run(args),
        What::Estop(args) => super::bench_estop::run(args),
        What::Tune(args) => super::bench_tune::run(args),
        What::TuneRate(args) => super::bench_tune_rate::run(args),
    }
}

/// A small, fast, seeded generator: the same data every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const T0: i64 = 1_700_000_000_000_000;

/// Telemetry of `drives` drives at 1 kHz (±20 µs jitter), in events of 100 polls.
fn telemetry(drives: u8, samples: u64, seed: u64) -> Vec<Event> {
    let mut rng = Lcg(seed);
    let polls = samples / (3 * u64::from(drives));
    let mut events = Vec::new();
    let mut batch = Vec::with_capacity(100 * usize::from(drives));
    for k in 0..polls {
        let t = T0 + k as i64 * 1000 + (rng.next() * 40.0) as i64;
        for d in 1..=drives {
            let phase = f64::from(d);
            let s = k as f64 * 0.001;
            batch.push(TelemetrySample {
                drive: DriveRef { link: 0, id: d },
                t_us: t,
                // Position steps through moves and holds, quantised like a 4096-count
                // encoder; velocity and current carry noise.
                position: ((s * 0.5 + phase).sin() * 2.0 * 4096.0 / std::f64::consts::TAU).round()
                    * std::f64::consts::TAU
                    / 4096.0,
                velocity: (s * 0.5 + phase).cos() + (rng.next() - 0.5) * 0.02,
                current: 0.3 * (s * 3.0 + phase).sin() + (rng.next() - 0.5) * 0.01,
            });
        }
        if batch.len() >= 100 * usize::from(drives) {
            events.push(Event::Samples {
                samples: std::mem::take(&mut batch),
            });
        }
    }
    if !batch.is_empty() {
        events.push(Event::Samples { samples: batch });
    }
    events
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn file_size(path: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            std::fs::metadata(format!("{}{suffix}", path.display()))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

fn store(args: StoreArgs) -> anyhow::Result<()> {
    let tmp;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    println!(
        "store benchmark in {} ({} cores)",
        dir.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 1. Ingest.
    let path = dir.join("ingest.db");
    let _ = std::fs::remove_file(&path);
    let events = telemetry(12, args.ingest_samples, 1);
    let samples: u64 = events
        .iter()
        .map(|e| match e {
            Event::Samples { samples } => samples.len() as u64 * 3,
            _ => 0,
        })
        .sum();
    let store = Store::open(&path)?;
    let writer = store.writer();
    writer.start_session("ingest", "", T0)?;
    let started = Instant::now();
    for event in events {
        writer.apply(event);
    }
    writer.flush()?;
    let ingest_s = started.elapsed().as_secs_f64();
    writer.stop_session(T0 + 1);
    store.close();
    drop(store);
    let conn = rusqlite::Connection::open(&path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    drop(conn);
    let bytes = file_size(&path);
    println!(
        "ingest: {samples} samples in {ingest_s:.2} s = {:.2} M samples/s (goal ≥ 5)",
        samples as f64 / ingest_s / 1e6
    );
    println!(
        "size: {:.2} bytes/sample after checkpoint (goal ≤ 6), {:.1} MB",
        bytes as f64 / samples as f64,
        bytes as f64 / 1e6
    );
    std::fs::remove_file(&path).ok();

    // 2. Window queries against a naive GROUP BY.
    window_bench(&dir, &args)?;

    // 3. Live tail latency.
    tail_bench(&dir, args.tail_seconds)?;
    Ok(())
}

fn window_bench(dir: &Path, args: &StoreArgs) -> anyhow::Result<()> {
    let path = dir.join("window.db");
    let _ = std::fs::remove_file(&path);
    let events = telemetry(1, args.window_samples, 2);
    let store = Store::open(&path)?;
    let writer = store.writer();
    let session = writer.start_session("window", "", T0)?;
    // The naive table holds the same samples, a row each, indexed by channel and time.
    let mut naive = rusqlite::Connection::open(dir.join("naive.db"))?;
    naive.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         DROP TABLE IF EXISTS samples;
         CREATE TABLE samples (channel INTEGER NOT NULL, t_us INTEGER NOT NULL, value REAL NOT NULL);",
    )?;
    let mut last_t = T0;
    {
        let tx = naive.transaction()?;
        {
            let mut insert =
                tx.prepare("INSERT INTO samples (channel, t_us, value) VALUES (?1, ?2, ?3)")?;
            for event in &events {
                if let Event::Samples { samples } = event {
                    for s in samples {
                        for (c, v) in [s.position, s.velocity, s.current].iter().enumerate() {
                            // The store keeps f32; the naive table gets the same values.
                            insert.execute(rusqlite::params![
                                c as i64,
                                s.t_us,
                                f64::from(*v as f32)
                            ])?;
                        }
                        last_t = s.t_us;
                    }
                }
            }
        }
        tx.commit()?;
    }
    naive.execute_batch("CREATE INDEX samples_by_channel_time ON samples (channel, t_us);")?;
    for event in events {
        writer.apply(event);
    }
    writer.stop_session(last_t);
    writer.flush()?;
    let reader = store.reader()?;
    let channels: Vec<i64> = reader.channels(session)?.iter().map(|c| c.id).collect();
    let span_s = (last_t - T0) as f64 / 1e6;
    let width = 2000u32;
    let mut rng = Lcg(3);
    let mut ours = Vec::with_capacity(args.zooms);
    let mut theirs = Vec::with_capacity(args.zooms);
    let mut points = 0usize;
    let mut stmt = naive.prepare(
        "SELECT (t_us - ?2) * ?4 / (?3 - ?2) AS px, min(value), max(value), count(*)
         FROM samples WHERE channel = ?1 AND t_us BETWEEN ?2 AND ?3 GROUP BY px",
    )?;
    for _ in 0..args.zooms {
        // Log-uniform zoom between 0.01 % and 100 % of the session.
        let fraction = 10f64.powf(-4.0 + 4.0 * rng.next());
        let length = span_s * fraction;
        let from = (span_s - length) * rng.next();
        let to = from + length;
        let started = Instant::now();
        let batch = reader.window(session, &channels, from, to, width)?;
        ours.push(started.elapsed().as_secs_f64() * 1e3);
        points += batch.len();
        let (t0, t1) = (T0 + (from * 1e6) as i64, T0 + (to * 1e6) as i64);
        let started = Instant::now();
        let mut buckets = 0usize;
        for c in 0..3i64 {
            let rows = stmt.query_map(rusqlite::params![c, t0, t1, i64::from(width)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })?;
            buckets += rows.count();
        }
        theirs.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(buckets);
    }
    let sort = |v: &mut Vec<f64>| v.sort_by(|a, b| a.total_cmp(b));
    sort(&mut ours);
    sort(&mut theirs);
    let total = |v: &[f64]| v.iter().sum::<f64>();
    println!(
        "window over {} samples (3 channels), {width} px, {} random zooms 0.01–100 %:",
        args.window_samples, args.zooms
    );
    println!(
        "  chunks+rollups: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (goal p95 ≤ 10), {:.0} points/query",
        percentile(&ours, 0.5),
        percentile(&ours, 0.95),
        percentile(&ours, 1.0),
        points as f64 / args.zooms as f64
    );
    println!(
        "  naive GROUP BY: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        percentile(&theirs, 0.5),
        percentile(&theirs, 0.95),
        percentile(&theirs, 1.0)
    );
    println!(
        "  speed-up: {:.0}× at p50, {:.0}× at p95, {:.0}× in total time (goal ≥ 30×)",
        percentile(&theirs, 0.5) / percentile(&ours, 0.5),
        percentile(&theirs, 0.95) / percentile(&ours, 0.95),
        total(&theirs) / total(&ours)
    );
    drop(stmt);
    drop(naive);
    store.close();
    for name in ["window.db", "naive.db"] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
        }
    }
    Ok(())
}

fn tail_bench(dir: &Path, seconds: u64) -> anyhow::Result<()> {
    let path = dir.join("tail.db");
    let _ = std::fs::remove_file(&path);
    let store = Store::open(&path)?;
    let writer = store.writer();
    let session = writer.start_session("tail", "", T0)?;
    let drives = 8u8;
    let polls = seconds * 1000;
    let origin = Instant::now();
    // The time each poll was handed to the writer, µs since `origin`.
    let sent: std::sync::Arc<Vec<std::sync::atomic::AtomicU64>> = std::sync::Arc::new(
        (0..polls)
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect(),
    );
    let producer = {
        let sent = std::sync::Arc::clone(&sent);
        let writer = writer.clone();
        std::thread::spawn(move || {
            for k in 0..polls {
                let due = origin + Duration::from_micros(k * 1000);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let samples = (1..=drives)
                    .map(|d| TelemetrySample {
                        drive: DriveRef { link: 0, id: d },
                        t_us: T0 + k as i64 * 1000,
                        position: k as f64,
                        velocity: 0.0,
                        current: 0.0,
                    })
                    .collect();
                sent[k as usize].store(
                    origin.elapsed().as_micros() as u64,
                    std::sync::atomic::Ordering::Release,
                );
                writer.apply(Event::Samples { samples });
            }
        })
    };
    let reader = store.reader()?;
    let mut cursor = TailCursor::new();
    let mut channel = None;
    let mut latencies = Vec::with_capacity(polls as usize);
    let deadline = Instant::now() + Duration::from_secs(seconds + 5);
    while latencies.len() < polls as usize && Instant::now() < deadline {
        if channel.is_none() {
            channel = reader.channels(session)?.first().map(|c| c.id);
        }
        if let Some(channel) = channel {
            let batch = reader.tail(session, &[channel], &cursor, None, 100_000)?;
            let now = origin.elapsed().as_micros() as u64;
            for v in &batch.series[0].values {
                let k = *v as usize;
                let at = sent[k].load(std::sync::atomic::Ordering::Acquire);
                latencies.push((now.saturating_sub(at)) as f64 / 1e3);
            }
            cursor = batch.cursor();
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    producer
        .join()
        .ok()
        .context("the producer thread panicked")?;
    latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "tail: sample → readable, {} samples at 1 kHz × {drives} drives: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 ≤ 20)",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    store.close();
    Ok(())
}
