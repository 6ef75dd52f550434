//! One lab socket.
