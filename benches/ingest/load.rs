//! The load generator: signed deliveries prepared before timing, posted from a fixed number of
//! workers sharing one connection pool, and a `/healthz` prober running beside them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio_util::sync::CancellationToken;

/// Longest a target is driven, whatever the event count.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Pause between two `/healthz` probes.
const PROBE_EVERY: Duration = Duration::from_millis(5);

/// One signed delivery, prepared before timing starts.
pub struct Delivery {
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
}

/// What one target answered.
pub struct Outcome {
    pub sent: usize,
    /// 2xx answers.
    pub accepted: usize,
    /// 503 answers (a full queue, a failed commit, the in-flight cap).
    pub unavailable: usize,
    pub elapsed: Duration,
    /// CPU time this process spent meanwhile (load generator and any server in it).
    pub cpu: Option<Duration>,
    /// Of accepted requests, sorted.
    pub latencies: Vec<Duration>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }

    pub fn p(&self, q: f64) -> Duration {
        percentile(&self.latencies, q)
    }

    pub fn print(&self, name: &str) {
        println!(
            "{name:<17} {}/{} accepted in {:.2} s = {:>7.0} events/s, p50 {:>6.2} ms, p99 {:>6.2} ms, \
             max {:>6.1} ms, 503s {}, other failures {}",
            self.accepted,
            self.sent,
            self.elapsed.as_secs_f64(),
            self.rate(),
            ms(self.p(0.50)),
            ms(self.p(0.99)),
            ms(self.p(1.0)),
            self.unavailable,
            self.sent - self.accepted - self.unavailable,
        );
        if let Some(cpu) = self.cpu {
            println!(
                "{:<17} CPU of this process (load generator + server in it): {:.0} us/event",
                "",
                per_event_us(cpu, self.sent)
            );
        }
    }
}

pub fn per_event_us(cpu: Duration, events: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / events.max(1) as f64
}

/// CPU time (user + system, all threads) of process `pid` (`"self"` for this one) so far, from
/// `/proc`: a machine shared with other work makes wall-clock rates noisy, CPU per event less so.
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, 100 on every Linux architecture we build for.
    Some(Duration::from_millis(ticks * 10))
}

/// The `q` quantile of sorted `latencies` (zero when there are none).
pub fn percentile(latencies: &[Duration], q: f64) -> Duration {
    let Some(last) = latencies.len().checked_sub(1) else {
        return Duration::ZERO;
    };
    latencies[((last as f64) * q).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A client with room for `connections` kept-alive connections to one host.
pub fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Posts every delivery to `url` from `concurrency` workers sharing `client`'s pool.
pub async fn drive(
    client: &reqwest::Client,
    url: &str,
    deliveries: Vec<Delivery>,
    concurrency: usize,
) -> Outcome {
    drive_spread(client, &[url], deliveries, concurrency).await
}

/// [`drive`] across several replicas: worker `i` posts to `urls[i % urls.len()]`, as a load
/// balancer spreading connections would.
pub async fn drive_spread(
    client: &reqwest::Client,
    urls: &[&str],
    deliveries: Vec<Delivery>,
    concurrency: usize,
) -> Outcome {
    let deliveries = Arc::new(deliveries);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_time("self");
    let started = Instant::now();
    let deadline = started + TIME_LIMIT;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (client, url) = (client.clone(), urls[worker % urls.len()].to_owned());
            let (deliveries, next) = (Arc::clone(&deliveries), Arc::clone(&next));
            tokio::spawn(async move {
                let (mut sent, mut unavailable, mut latencies) = (0, 0, Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(d) = deliveries.get(i) else { break };
                    if Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    let mut request = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(d.body.clone());
                    for (name, value) in &d.headers {
                        request = request.header(*name, value);
                    }
                    let response = request.send().await;
                    sent += 1;
                    let Ok(r) = response else { continue };
                    let status = r.status();
                    if r.bytes().await.is_err() {
                        continue;
                    }
                    if status.is_success() {
                        latencies.push(t.elapsed());
                    } else if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                        unavailable += 1;
                    }
                }
                (sent, unavailable, latencies)
            })
        })
        .collect();
    let (mut sent, mut unavailable, mut latencies) = (0, 0, Vec::new());
    for worker in workers {
        if let Ok((s, u, l)) = worker.await {
            sent += s;
            unavailable += u;
            latencies.extend(l);
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time("self")
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    latencies.sort();
    Outcome {
        sent,
        accepted: latencies.len(),
        unavailable,
        elapsed,
        cpu,
        latencies,
    }
}

/// `/healthz` latencies seen by a prober on its own connection.
pub struct Probes {
    pub latencies: Vec<Duration>,
    pub failed: usize,
}

impl Probes {
    pub fn print(&self, what: &str) {
        println!(
            "/healthz during {what}: {} probes, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} failed",
            self.latencies.len(),
            ms(percentile(&self.latencies, 0.50)),
            ms(percentile(&self.latencies, 0.99)),
            ms(percentile(&self.latencies, 1.0)),
            self.failed,
        );
    }
}

/// Probes `url` every few milliseconds until `stop`, as a load balancer's health check would.
pub async fn probe_health(url: String, stop: CancellationToken) -> anyhow::Result<Probes> {
    let client = client(1)?;
    let (mut latencies, mut failed) = (Vec::new(), 0);
    while !stop.is_cancelled() {
        let t = Instant::now();
        let answered = match client.get(&url).send().await {
            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
            Err(_) => false,
        };
        if answered {
            latencies.push(t.elapsed());
        } else {
            failed += 1;
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(PROBE_EVERY) => {}
        }
    }
    latencies.sort();
    Ok(Probes { latencies, failed })
}

/// Drives `url` with `deliveries` while `/healthz` at `health_url` is probed.
pub async fn drive_probed(
    client: &reqwest::Client,
    url: &str,
    health_url: &str,
    deliveries: Vec<Delivery>,
    concurrency: usize,
) -> anyhow::Result<(Outcome, Probes)> {
    let stop = CancellationToken::new();
    let prober = tokio::spawn(probe_health(health_url.to_owned(), stop.clone()));
    let outcome = drive(client, url, deliveries, concurrency).await;
    stop.cancel();
    Ok((outcome, prober.await??))
}

pub fn env_count(name: &str, default: usize, max: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(default)
        .clamp(1, max)
}
