//! A TCP proxy between the app and PostgreSQL that a test can cut and restore, so the database
//! becomes unreachable without root: cut, every connection through it goes silent (bytes are
//! neither forwarded nor answered, as behind a dead link) and new ones are accepted and left
//! silent too; restored, the silent ones are closed (the server has long given up on them) and
//! new connections are forwarded again.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub struct PgProxy {
    /// `postgres://…` naming the proxy instead of the server.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

struct State {
    up: bool,
    /// Cancelled to end every connection of the current period (cut or up).
    period: CancellationToken,
}

impl PgProxy {
    /// Listens on 127.0.0.1:0 and forwards to the server of `url` (loopback only).
    pub async fn start(url: &str) -> Self {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (authority, path) = rest.split_at(rest.find('/').expect("a database"));
        let (user, host) = authority.rsplit_once('@').expect("a user");
        assert!(host.starts_with("127.0.0.1:"), "loopback only: {host}");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = format!(
            "{scheme}://{user}@{}{path}",
            listener.local_addr().expect("addr")
        );
        let state = Arc::new(Mutex::new(State {
            up: true,
            period: CancellationToken::new(),
        }));
        let stop = CancellationToken::new();
        tokio::spawn(accept(
            listener,
            host.to_owned(),
            Arc::clone(&state),
            stop.clone(),
        ));
        Self {
            url: proxy,
            state,
            stop,
        }
    }

    /// From now on the database is unreachable: open connections go silent, new ones hang.
    pub fn cut(&self) {
        self.switch(false);
    }

    /// The database is back: silent connections are closed, new ones are forwarded.
    pub fn restore(&self) {
        self.switch(true);
    }

    fn switch(&self, up: bool) {
        let mut state = self.state.lock().expect("proxy state");
        state.up = up;
        if up {
            // A cut leaves connections silent but open; the restore ends them, which is what
            // the app then sees of them, and starts a new period for the connections to come.
            state.period.cancel();
            state.period = CancellationToken::new();
        }
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.state.lock().expect("proxy state").period.cancel();
    }
}

async fn accept(
    listener: TcpListener,
    server: String,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
) {
    loop {
        let (client, _) = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => continue,
            },
        };
        let (up, period) = {
            let s = state.lock().expect("proxy state");
            (s.up, s.period.clone())
        };
        let state = Arc::clone(&state);
        let server = server.clone();
        tokio::spawn(async move {
            if !up {
                // Accepted, never answered: a connect that hangs until the link returns.
                period.cancelled().await;
                return;
            }
            let Ok(upstream) = TcpStream::connect(&server).await else {
                return;
            };
            pipe(client, upstream, state, period).await;
        });
    }
}

/// Copies both ways while the proxy is up; once cut, stops copying but keeps both sockets open
/// until the period ends (the restore), then closes them.
async fn pipe(
    client: TcpStream,
    upstream: TcpStream,
    state: Arc<Mutex<State>>,
    period: CancellationToken,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let up = |state: &Arc<Mutex<State>>| state.lock().expect("proxy state").up;
    let forward = async {
        let mut a = [0u8; 16384];
        let mut b = [0u8; 16384];
        loop {
            use tokio::io::AsyncReadExt as _;
            tokio::select! {
                n = cr.read(&mut a) => {
                    let Ok(n) = n else { return };
                    if n == 0 { return; }
                    if !up(&state) { break; }
                    if uw.write_all(&a[..n]).await.is_err() { return; }
                }
                n = ur.read(&mut b) => {
                    let Ok(n) = n else { return };
                    if n == 0 { return; }
                    if !up(&state) { break; }
                    if cw.write_all(&b[..n]).await.is_err() { return; }
                }
            }
        }
        // Cut: silent until the restore ends this connection.
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = period.cancelled() => {}
        () = forward => {}
    }
}
