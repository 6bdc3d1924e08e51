//! `nrg ph` (in progress).
