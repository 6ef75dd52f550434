//! A student's session: the command language bound to an engine.
