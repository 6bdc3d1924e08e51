
pub mod graph;
pub mod plot;
pub mod problem;
pub mod run;
pub mod report;
pub mod cli;
pub mod baselines;
pub mod accuracy;
pub mod reproduce;
pub mod sweep;
