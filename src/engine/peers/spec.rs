//! What peers exist, their options, and parsing `:peer KIND ADDR key=value…`.

use std::collections::BTreeMap;

use crate::engine::error::Note;

/// Whether a peer listens (server) or connects (client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// One option a peer kind takes: name, default, what it does.
pub type OptInfo = (&'static str, &'static str, &'static str);

pub struct PeerKind {
    pub kind: &'static str,
    pub role: Role,
    pub about: &'static str,
    pub options: &'static [OptInfo],
}

/// The options every client peer takes, with what they do.
pub const CLIENT_OPTS: &[OptInfo] = &[
    (
        "delay_ms",
        "0",
        "wait this long before connecting (and between tries while refused)",
    ),
    (
        "retry_ms",
        "200",
        "try again this often while the connection is refused",
    ),
    (
        "tries",
        "0",
        "give up after this many refused connects (0: never)",
    ),
];

/// Every peer kind, with its options. `addr` is always required.
pub const KINDS: &[PeerKind] = &[
    PeerKind {
        kind: "echo",
        role: Role::Server,
        about: "TCP server: sends back every byte it receives",
        options: &[("delay_ms", "0", "wait before echoing each chunk")],
    },
    PeerKind {
        kind: "upper",
        role: Role::Server,
        about: "TCP server: sends back what it receives in upper case",
        options: &[],
    },
    PeerKind {
        kind: "discard",
        role: Role::Server,
        about: "TCP server (sink): reads and drops everything as fast as the kernel delivers",
        options: &[
            ("bufsize", "262144", "bytes per read"),
            (
                "preview",
                "256",
                "bytes of each chunk kept in the traffic log",
            ),
        ],
    },
    PeerKind {
        kind: "slowreader",
        role: Role::Server,
        about: "TCP server with a small receive buffer that reads slowly, so senders block",
        options: &[
            ("rcvbuf", "4096", "SO_RCVBUF of the accepted socket"),
            ("chunk", "1024", "bytes per read"),
            ("interval_ms", "200", "pause between reads"),
            (
                "start_ms",
                "1000",
                "wait this long after accept before the first read",
            ),
        ],
    },
    PeerKind {
        kind: "resetter",
        role: Role::Server,
        about: "TCP server: once data arrives, closes without reading it, so the kernel sends RST",
        options: &[("delay_ms", "100", "wait after data arrives before closing")],
    },
    PeerKind {
        kind: "neveraccept",
        role: Role::Server,
        about: "TCP server that listens and never calls accept()",
        options: &[("backlog", "1", "the listen() backlog")],
    },
    PeerKind {
        kind: "udpecho",
        role: Role::Server,
        about: "UDP server: sends every datagram back to its sender",
        options: &[],
    },
    PeerKind {
        kind: "greeter",
        role: Role::Client,
        about: "TCP client: connects, sends a greeting, prints replies; closes when told",
        options: &[
            (
                "message",
                "hello\\n",
                "what to send after connecting (escapes allowed)",
            ),
            ("count", "1", "how many clients to connect at once"),
            (
                "close_ms",
                "-1",
                "close this long after sending (-1: stay until the other side closes)",
            ),
            ("delay_ms", "0", ""),
            ("retry_ms", "200", ""),
            ("tries", "0", ""),
        ],
    },
    PeerKind {
        kind: "chat",
        role: Role::Client,
        about: "TCP client: sends lines one by one and prints what comes back",
        options: &[
            (
                "lines",
                "hi|how are you?|bye",
                "lines to send, separated by |",
            ),
            ("interval_ms", "1000", "pause between lines"),
            ("delay_ms", "0", ""),
            ("retry_ms", "200", ""),
            ("tries", "0", ""),
        ],
    },
    PeerKind {
        kind: "chunker",
        role: Role::Client,
        about: "TCP client: sends one message in pieces with pauses (split), or several messages at once (burst)",
        options: &[
            ("mode", "split", "split | burst"),
            (
                "message",
                "hello, world\\n",
                "split: the message; burst: messages separated by |",
            ),
            ("pieces", "3", "split: how many pieces"),
            ("pause_ms", "300", "split: pause between pieces"),
            ("delay_ms", "0", ""),
            ("retry_ms", "200", ""),
            ("tries", "0", ""),
        ],
    },
    PeerKind {
        kind: "device",
        role: Role::Client,
        about: "remote-control device: connects, says HELLO, obeys LED ON/LED OFF/STATUS/PING lines, replies OK",
        options: &[
            ("id", "lamp", "the device's name in its HELLO line"),
            ("delay_ms", "0", ""),
            ("retry_ms", "200", ""),
            ("tries", "0", ""),
        ],
    },
    PeerKind {
        kind: "poller",
        role: Role::Client,
        about: "polling device: connects, sends POLL every interval and obeys the command in each reply (NONE = nothing to do)",
        options: &[
            ("id", "lamp", "the device's name in its HELLO line"),
            ("interval_ms", "1000", "how often to ask"),
            ("delay_ms", "0", ""),
            ("retry_ms", "200", ""),
            ("tries", "0", ""),
        ],
    },
];

pub fn kind_info(kind: &str) -> Option<&'static PeerKind> {
    let kind = match kind {
        "sink" => "discard",
        "uppercase" => "upper",
        "slow" | "slow-reader" | "slow_reader" => "slowreader",
        "never-accept" | "never_accept" => "neveraccept",
        "udp-echo" | "udp_echo" => "udpecho",
        "client" => "greeter",
        "polling" | "polling-device" => "poller",
        k => k,
    };
    KINDS.iter().find(|k| k.kind == kind)
}

/// A peer to start: `:peer echo 127.0.0.1:9000 delay_ms=100 name=srv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSpec {
    pub kind: String,
    /// Name shown as the owner of its sockets; defaults to the kind.
    pub name: Option<String>,
    /// `host:port` (or `[v6]:port`): where a server listens / a client connects.
    pub addr: String,
    pub options: BTreeMap<String, String>,
}

impl PeerSpec {
    pub fn new(kind: &str, addr: &str) -> PeerSpec {
        PeerSpec {
            kind: kind.to_string(),
            name: None,
            addr: addr.to_string(),
            options: BTreeMap::new(),
        }
    }

    pub fn opt(mut self, key: &str, value: &str) -> PeerSpec {
        self.options.insert(key.to_string(), value.to_string());
        self
    }

    /// Parse the words after `:peer`. Values may be quoted with `"`.
    /// The error is a `lab.peer_*` note.
    pub fn parse(args: &str) -> Result<PeerSpec, Note> {
        let words = split_words(args)?;
        let mut it = words.into_iter();
        let kind = it.next().ok_or_else(|| Note::new("lab.peer_usage"))?;
        let info = kind_info(&kind).ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|k| k.kind).collect();
            let near = names
                .iter()
                .map(|n| (strsim::osa_distance(&kind.to_lowercase(), n), *n))
                .filter(|(d, _)| *d <= 2)
                .min();
            let note = match near {
                Some((_, n)) => Note::new("lab.peer_unknown_kind_near").with("near", n),
                None => Note::new("lab.peer_unknown_kind_list"),
            };
            note.with("kind", &kind).with("peers", names.join(", "))
        })?;
        let mut spec = PeerSpec::new(info.kind, "");
        for w in it {
            if let Some((k, v)) = w.split_once('=') {
                if k == "name" {
                    spec.name = Some(v.to_string());
                } else if k == "addr" {
                    spec.addr = v.to_string();
                } else {
                    spec.options.insert(k.to_string(), v.to_string());
                }
            } else if spec.addr.is_empty() {
                spec.addr = w;
            } else {
                return Err(Note::new("lab.peer_unexpected").with("word", w));
            }
        }
        if spec.addr.is_empty() {
            return Err(Note::new("lab.peer_needs_addr").with("kind", info.kind));
        }
        spec.validate()?;
        Ok(spec)
    }

    /// Check kind, option names and that numeric options are numbers.
    pub fn validate(&self) -> Result<(), Note> {
        let info = kind_info(&self.kind)
            .ok_or_else(|| Note::new("lab.peer_unknown_kind").with("kind", &self.kind))?;
        for (k, v) in &self.options {
            let Some((_, default, _)) = info.options.iter().chain(CLIENT_OPTS).find(|o| o.0 == k)
            else {
                let names: Vec<&str> = info.options.iter().map(|o| o.0).collect();
                return Err(if names.is_empty() {
                    Note::new("lab.peer_no_options")
                } else {
                    Note::new("lab.peer_no_such_option").with("options", names.join(", "))
                }
                .with("kind", info.kind)
                .with("option", k));
            };
            if default.parse::<i64>().is_ok() && v.parse::<i64>().is_err() {
                return Err(Note::new("lab.peer_not_a_number")
                    .with("kind", info.kind)
                    .with("option", k)
                    .with("value", v));
            }
        }
        Ok(())
    }

    /// An option's value, or its default.
    pub fn get(&self, key: &str) -> String {
        if let Some(v) = self.options.get(key) {
            return v.clone();
        }
        kind_info(&self.kind)
            .and_then(|i| i.options.iter().chain(CLIENT_OPTS).find(|o| o.0 == key))
            .map(|o| o.1.to_string())
            .unwrap_or_default()
    }

    pub fn get_i64(&self, key: &str) -> i64 {
        self.get(key).parse().unwrap_or(0)
    }
}

fn split_words(s: &str) -> Result<Vec<String>, Note> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut has = false;
    for c in s.chars() {
        match c {
            '"' => {
                in_quote = !in_quote;
                has = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if in_quote {
        return Err(Note::new("lab.peer_unclosed_quote"));
    }
    if has {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kind_addr_and_options() {
        let s = PeerSpec::parse(r#"greeter 127.0.0.1:9000 message="hi there\n" count=3 name=g"#)
            .unwrap();
        assert_eq!(s.kind, "greeter");
        assert_eq!(s.addr, "127.0.0.1:9000");
        assert_eq!(s.name.as_deref(), Some("g"));
        assert_eq!(s.get("message"), "hi there\\n");
        assert_eq!(s.get_i64("count"), 3);
        assert_eq!(s.get_i64("retry_ms"), 200);
    }

    #[test]
    fn rejects_bad_input() {
        let key = |args: &str| PeerSpec::parse(args).unwrap_err().key;
        assert_eq!(key(""), "lab.peer_usage");
        let e = PeerSpec::parse("ech 127.0.0.1:1").unwrap_err();
        assert_eq!(
            (e.key, e.arg("kind"), e.arg("near")),
            ("lab.peer_unknown_kind_near", Some("ech"), Some("echo"))
        );
        assert_eq!(key("echo"), "lab.peer_needs_addr");
        let e = PeerSpec::parse("echo 127.0.0.1:1 foo=1").unwrap_err();
        assert_eq!(
            (e.key, e.arg("option")),
            ("lab.peer_no_such_option", Some("foo"))
        );
        assert_eq!(key("greeter 127.0.0.1:1 count=x"), "lab.peer_not_a_number");
        assert_eq!(
            key("greeter 127.0.0.1:1 message=\"x"),
            "lab.peer_unclosed_quote"
        );
    }
}
