//! What a request's observability costs when several threads record at once: each thread
//! plays requests that record a dozen metric series (the gateway's and Lambda's, as a
//! function route does) and append two records to one log group (the access record and the
//! invocation's), past the group's bound so every append also evicts. Run on 1 thread and on
//! as many threads as the machine has cores; the ratio of their throughputs is how well it
//! scales (cores × would be perfect; below 1× means threads slow each other down).
//! Run: `cargo bench --bench observe_threads` (BENCH_SECONDS sets the length per row).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use portico_runtime::observe::metrics::{Kind, Metrics, Series};
use portico_runtime::observe::{LogRecord, LogStore};
use portico_runtime::Clock;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stands in for an access record: a few owned strings, formatted only when read.
struct Record {
    request_id: String,
    path: String,
    user_agent: String,
}

impl LogRecord for Record {
    fn lines(&self) -> Vec<String> {
        vec![format!(
            "{} {} {}",
            self.request_id, self.path, self.user_agent
        )]
    }
}

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!("observe_threads: {seconds} s per row, {cores} cores");
    println!("| threads | requests/s (all threads) | ns per request per thread | vs 1 thread |");
    println!("|---|---|---|---|");
    let single = run(1, seconds);
    row(1, single, single);
    for threads in [cores, cores * 2] {
        row(threads, run(threads, seconds), single);
    }
}

fn row(threads: usize, per_sec: f64, single: f64) {
    println!(
        "| {threads} | {per_sec:.0} | {:.0} | {:.2}× |",
        threads as f64 * 1e9 / per_sec,
        per_sec / single
    );
}

/// Requests per second over all threads.
fn run(threads: usize, seconds: f64) -> f64 {
    let metrics = Arc::new(Metrics::new(Clock::system()));
    let series = Arc::new(request_series(&metrics));
    let logs = Arc::new(LogStore::new(false));
    let start = Arc::new(Barrier::new(threads + 1));
    let deadline = Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (series, logs, start) = (series.clone(), logs.clone(), start.clone());
            std::thread::spawn(move || {
                let group = logs.group("/bench");
                let stream: Arc<str> = Arc::from("stream");
                start.wait();
                let began = Instant::now();
                let mut done = 0u64;
                while began.elapsed() < deadline {
                    for _ in 0..256 {
                        one_request(&series, &group, &stream, t as u64 + done);
                        done += 1;
                    }
                }
                (done, began.elapsed())
            })
        })
        .collect();
    start.wait();
    let mut total = 0.0;
    for w in workers {
        let (done, took) = w.join().expect("bench thread");
        total += done as f64 / took.as_secs_f64();
    }
    // Every sample recorded is read back: the stripes fold on read.
    let count = series[0].stats(0, u64::MAX - 1).sample_count;
    assert!(count > 0, "the samples must be readable");
    total
}

fn one_request(
    series: &[Arc<Series>],
    group: &portico_runtime::observe::LogGroup,
    stream: &Arc<str>,
    n: u64,
) {
    let minute = 29_000_000;
    for s in series {
        s.record(minute, n % 1_000);
    }
    for _ in 0..2 {
        group.push_record(
            stream,
            n,
            Arc::new(Record {
                request_id: format!("{n:016x}"),
                path: "/hello/bench".to_owned(),
                user_agent: "wrk".to_owned(),
            }),
        );
    }
}

/// The series a function route records per request.
fn request_series(metrics: &Metrics) -> Vec<Arc<Series>> {
    let api = || {
        vec![
            ("ApiName", "bench".to_owned()),
            ("Stage", "$default".to_owned()),
        ]
    };
    let function = || vec![("FunctionName", "hello".to_owned())];
    let mut all = Vec::new();
    for (name, kind) in [
        ("Count", Kind::Counter),
        ("4XXError", Kind::Counter),
        ("5XXError", Kind::Counter),
        ("Latency", Kind::Distribution),
        ("IntegrationLatency", Kind::Distribution),
    ] {
        all.push(metrics.series("AWS/ApiGateway", name, api(), kind));
    }
    for (name, kind) in [
        ("Invocations", Kind::Counter),
        ("Errors", Kind::Counter),
        ("Duration", Kind::Distribution),
        ("ConcurrentExecutions", Kind::Distribution),
    ] {
        all.push(metrics.series("AWS/Lambda", name, function(), kind));
        all.push(metrics.series("AWS/Lambda", name, vec![], kind));
    }
    all
}
