
pub mod graph;
pub mod plot;
pub mod problem;
pub mod run;
pub mod report;
pub mod cli;
