//! IDX reading and `nrg classify` (in progress).
