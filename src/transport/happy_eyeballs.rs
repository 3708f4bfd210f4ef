//! The TCP connect to a host's addresses: Happy Eyeballs (RFC 8305), the
//! way Node's `autoSelectFamily` does it.
//!
//! The resolved addresses are put in Node's order ([`order`]): grouped by
//! family, the family of the first address first, then alternating (IPv6,
//! IPv4, IPv6, ... when the resolver put IPv6 first). `family: 4 | 6` keeps
//! one family only.
//!
//! [`connect_any`] starts with the first address. The next one starts when
//! the running attempts have had `autoSelectFamilyAttemptTimeout` (default
//! 250 ms) without an answer, or at once when an attempt fails. Unlike
//! Node, earlier attempts keep running (RFC 8305): the first connection to
//! succeed wins, and the others are dropped (their sockets closed). With
//! `autoSelectFamily: false` each address gets the whole remaining time,
//! one after the other.
//!
//! Every address tried and what happened to it is kept ([`Attempt`]), so a
//! failure names them all: refused, another error, no answer before the
//! deadline, or never started.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::error::{ConnectError, ConnectErrorKind as Kind};

/// Node's default `autoSelectFamilyAttemptTimeout`.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);

/// Node's floor for `autoSelectFamilyAttemptTimeout`: a smaller value is
/// raised to this.
pub const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(10);

/// How the TCP connect picks among a host's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyOptions {
    /// Happy Eyeballs on (`autoSelectFamily`, default true).
    pub auto_select: bool,
    /// How long an attempt runs alone before the next one starts.
    pub attempt_timeout: Duration,
    /// 0: both families; 4 or 6: that family only (`family`).
    pub family: u8,
}

impl Default for FamilyOptions {
    fn default() -> Self {
        FamilyOptions {
            auto_select: true,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            family: 0,
        }
    }
}

/// What happened to one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This attempt won.
    Connected,
    /// The peer answered with a reset: nothing listens there.
    Refused,
    /// Another failure (unreachable, ...), in the system's words.
    Failed(String),
    /// Still waiting for an answer when the deadline passed.
    NoAnswer,
    /// Still waiting when another address won; dropped.
    Abandoned,
    /// Not started: the deadline passed or another address won first.
    NotTried,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Connected => f.write_str("connected"),
            Outcome::Refused => f.write_str("connection refused"),
            Outcome::Failed(why) => f.write_str(why),
            Outcome::NoAnswer => f.write_str("no answer"),
            Outcome::Abandoned => f.write_str("no answer yet; dropped when another address won"),
            Outcome::NotTried => f.write_str("not tried"),
        }
    }
}

/// One address and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The address.
    pub addr: SocketAddr,
    /// What happened.
    pub outcome: Outcome,
}

/// `attempts` as `addr: outcome; addr: outcome`.
pub fn describe(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("{}: {}", a.addr, a.outcome))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `addrs` filtered to `family` (0: all) and put in Node's order: the
/// first address's family first, then alternating families.
pub fn order(addrs: &[SocketAddr], family: u8) -> Vec<SocketAddr> {
    let wanted = |a: &SocketAddr| match family {
        4 => a.is_ipv4(),
        6 => a.is_ipv6(),
        _ => true,
    };
    let kept: Vec<SocketAddr> = addrs.iter().copied().filter(wanted).collect();
    let Some(first) = kept.first() else {
        return kept;
    };
    let first_v6 = first.is_ipv6();
    let (a, b): (Vec<SocketAddr>, Vec<SocketAddr>) =
        kept.iter().partition(|x| x.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(kept.len());
    for i in 0..a.len().max(b.len()) {
        out.extend(a.get(i));
        out.extend(b.get(i));
    }
    out
}

/// How [`connect_any`] failed: every address with its outcome, and whether
/// the deadline ended it.
#[derive(Debug)]
pub struct Failure {
    /// Every address, in the order tried.
    pub attempts: Vec<Attempt>,
    /// The deadline passed with attempts still waiting.
    pub timed_out: bool,
}

impl Failure {
    /// Every address was refused.
    pub fn all_refused(&self) -> bool {
        self.attempts.iter().all(|a| a.outcome == Outcome::Refused)
    }

    /// The last address an attempt was started for.
    pub fn last_tried(&self) -> Option<SocketAddr> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.outcome != Outcome::NotTried)
            .map(|a| a.addr)
    }

    /// The failure in words: `what` is `host:port` (or `the proxy
    /// host:port`), `limit` the `handshakeTimeout` that ran out.
    pub fn to_error(&self, what: &str, to_proxy: bool, limit: Duration) -> ConnectError {
        let listed = describe(&self.attempts);
        if self.timed_out {
            ConnectError::new(
                Kind::Timeout,
                format!(
                    "timeout during the TCP connect to {what}: no progress within {} ms ({listed})",
                    limit.as_millis()
                ),
            )
        } else if self.all_refused() {
            ConnectError::new(
                Kind::ConnectionRefused,
                format!(
                    "connection refused by {what} ({listed}): nothing is listening there; is the {} running?",
                    if to_proxy { "proxy" } else { "server" }
                ),
            )
        } else {
            ConnectError::new(
                Kind::Tcp,
                format!("TCP connection to {what} failed: {listed}"),
            )
        }
    }
}

/// Connects to one of `addrs` (already in order) before `deadline`, as the
/// module docs describe. On success returns the stream and every address
/// with its outcome.
pub async fn connect_any(
    addrs: &[SocketAddr],
    opts: &FamilyOptions,
    deadline: Instant,
) -> Result<(TcpStream, Vec<Attempt>), Failure> {
    let mut attempts: Vec<Attempt> = addrs
        .iter()
        .map(|&addr| Attempt {
            addr,
            outcome: Outcome::NotTried,
        })
        .collect();
    let stagger = opts.attempt_timeout.max(MIN_ATTEMPT_TIMEOUT);
    let start = |i: usize| async move {
        let r: io::Result<TcpStream> = TcpStream::connect(addrs[i]).await;
        (i, r)
    };
    let mut running = FuturesUnordered::new();
    let deadline_sleep = tokio::time::sleep_until(deadline);
    tokio::pin!(deadline_sleep);
    let stagger_sleep = tokio::time::sleep(stagger);
    tokio::pin!(stagger_sleep);
    // Started, and marked as waiting until it answers.
    let Some(&first) = addrs.first() else {
        return Err(Failure {
            attempts,
            timed_out: false,
        });
    };
    tracing::debug!(addr = %first, "transport: tcp attempt started");
    attempts[0].outcome = Outcome::NoAnswer;
    running.push(start(0));
    let mut next = 1;
    let mut stagger_armed = opts.auto_select;
    loop {
        tokio::select! {
            biased;
            Some((i, r)) = running.next(), if !running.is_empty() => {
                match r {
                    Ok(stream) => {
                        attempts[i].outcome = Outcome::Connected;
                        for a in attempts.iter_mut() {
                            if a.outcome == Outcome::NoAnswer {
                                a.outcome = Outcome::Abandoned;
                            }
                        }
                        tracing::debug!(peer = %addrs[i], attempts = %describe(&attempts), "transport: tcp attempt won");
                        return Ok((stream, attempts));
                    }
                    Err(e) => {
                        attempts[i].outcome = failed(&e);
                        tracing::debug!(addr = %addrs[i], error = %e, "transport: tcp attempt failed");
                        if next < addrs.len() {
                            // A failure starts the next address at once.
                            stagger_sleep.as_mut().reset(Instant::now());
                            stagger_armed = true;
                        } else if running.is_empty() {
                            return Err(Failure { attempts, timed_out: false });
                        }
                    }
                }
            }
            () = &mut stagger_sleep, if stagger_armed && next < addrs.len() => {
                tracing::debug!(addr = %addrs[next], "transport: tcp attempt started");
                // Marked as waiting until it answers.
                attempts[next].outcome = Outcome::NoAnswer;
                running.push(start(next));
                next += 1;
                if opts.auto_select {
                    stagger_sleep.as_mut().reset(Instant::now() + stagger);
                } else {
                    stagger_armed = false;
                }
            }
            () = &mut deadline_sleep => {
                return Err(Failure { attempts, timed_out: true });
            }
        }
    }
}

fn failed(e: &io::Error) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Outcome::Refused,
        _ if out_of_fds(e) => Outcome::Failed(format!(
            "{e}: this process has no file descriptor left (every socket takes one); \
             close sockets it no longer needs, or raise its limit (`ulimit -n`, or \
             LimitNOFILE= under systemd)"
        )),
        _ => Outcome::Failed(e.to_string()),
    }
}

/// Whether `e` says the process (EMFILE) or the system (ENFILE) has run out
/// of file descriptors.
fn out_of_fds(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn running_out_of_file_descriptors_says_what_to_do() {
        let e = io::Error::from_raw_os_error(libc::EMFILE);
        let Outcome::Failed(why) = failed(&e) else {
            panic!("EMFILE is a failure")
        };
        assert!(why.contains("(os error 24)"), "{why}");
        assert!(why.contains("ulimit -n"), "{why}");
        let other = io::Error::from_raw_os_error(libc::ENETUNREACH);
        assert!(!failed(&other).to_string().contains("ulimit"));
    }

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn order_alternates_starting_with_the_first_family() {
        let addrs = [
            a("[::1]:1"),
            a("[::2]:1"),
            a("127.0.0.1:1"),
            a("127.0.0.2:1"),
        ];
        assert_eq!(
            order(&addrs, 0),
            [
                a("[::1]:1"),
                a("127.0.0.1:1"),
                a("[::2]:1"),
                a("127.0.0.2:1")
            ]
        );
        let addrs = [a("127.0.0.1:1"), a("127.0.0.2:1"), a("[::1]:1")];
        assert_eq!(
            order(&addrs, 0),
            [a("127.0.0.1:1"), a("[::1]:1"), a("127.0.0.2:1")]
        );
        assert_eq!(order(&addrs, 6), [a("[::1]:1")]);
        assert_eq!(order(&addrs, 4), [a("127.0.0.1:1"), a("127.0.0.2:1")]);
        assert!(order(&[a("[::1]:1")], 4).is_empty());
    }

    #[tokio::test]
    async fn a_refused_address_moves_on_at_once_and_every_address_is_named() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        // An attempt timeout far longer than the test: only the failure can
        // have started the second address.
        let opts = FamilyOptions {
            attempt_timeout: Duration::from_secs(3600),
            ..FamilyOptions::default()
        };
        let deadline = Instant::now() + Duration::from_secs(3600);
        let (stream, attempts) = connect_any(&[dead_addr, live_addr], &opts, deadline)
            .await
            .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), live_addr);
        assert_eq!(attempts[0].outcome, Outcome::Refused);
        assert_eq!(attempts[1].outcome, Outcome::Connected);

        let f = connect_any(&[dead_addr, dead_addr], &opts, deadline)
            .await
            .err()
            .unwrap();
        assert!(f.all_refused() && !f.timed_out, "{f:?}");
        assert_eq!(
            describe(&f.attempts),
            format!("{dead_addr}: connection refused; {dead_addr}: connection refused")
        );
    }
}
