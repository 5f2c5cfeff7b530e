//! A simulated Triton datacenter: scenario generator for `triton-sim create`.
