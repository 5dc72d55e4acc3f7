//! Local synchronisation primitives of minireactor.
