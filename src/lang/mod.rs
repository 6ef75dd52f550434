//! The command language: a strict subset of Python's socket API.
