//! The names the language knows before the student defines any.

use crate::engine::Note;

/// The socket module's constants, with their Linux values.
pub const CONSTANTS: &[(&str, i64)] = &[
    ("AF_INET", 2),
    ("AF_INET6", 10),
    ("SOCK_STREAM", 1),
    ("SOCK_DGRAM", 2),
    ("SOL_SOCKET", 1),
    ("SO_REUSEADDR", 2),
    ("SO_REUSEPORT", 15),
    ("SO_RCVBUF", 8),
    ("SO_SNDBUF", 7),
    ("SO_LINGER", 13),
    ("SO_KEEPALIVE", 9),
    ("SO_ERROR", 4),
    ("SO_TYPE", 3),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_UDP", 17),
    ("IPPROTO_IPV6", 41),
    ("TCP_NODELAY", 1),
    ("IPV6_V6ONLY", 26),
    ("SHUT_RD", 0),
    ("SHUT_WR", 1),
    ("SHUT_RDWR", 2),
    ("MSG_PEEK", 2),
    ("MSG_DONTWAIT", 64),
];

pub fn constant(name: &str) -> Option<i64> {
    CONSTANTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Built-in functions: `socket` and `select` make socket calls, the others are pure.
pub const FUNCTIONS: &[&str] = &[
    "socket", "select", "len", "print", "str", "int", "bytes", "repr",
];

/// Names a student may try that socklab answers with a hint instead of a NameError.
pub fn hint_for(name: &str) -> Option<Note> {
    Some(Note::new(match name {
        "exit" | "quit" => "lang.hint_exit",
        "help" => "lang.hint_help",
        "create_connection" => "lang.hint_create_connection",
        "create_server" => "lang.hint_create_server",
        _ => return None,
    }))
}

/// Functions that are socket calls (go to the engine).
pub fn is_call_function(name: &str) -> bool {
    matches!(name, "socket" | "select")
}

/// Every method of a socket object the lab runs.
pub const SOCKET_METHODS: &[&str] = &[
    "accept",
    "bind",
    "close",
    "connect",
    "connect_ex",
    "fileno",
    "getpeername",
    "getsockname",
    "getsockopt",
    "gettimeout",
    "listen",
    "recv",
    "recvfrom",
    "send",
    "sendall",
    "sendto",
    "setblocking",
    "setsockopt",
    "settimeout",
    "shutdown",
];

pub const STR_METHODS: &[&str] = &[
    "encode",
    "endswith",
    "lower",
    "startswith",
    "strip",
    "upper",
];

pub const BYTES_METHODS: &[&str] = &[
    "decode",
    "endswith",
    "hex",
    "lower",
    "startswith",
    "strip",
    "upper",
];

/// Lab commands (`:help`), for completion.
pub const LAB_COMMANDS: &[&str] = &[
    "export", "go", "help", "hint", "kill", "lesson", "next", "peer", "peers", "quit", "rerun",
    "reset", "step", "stop", "trace", "until",
];
