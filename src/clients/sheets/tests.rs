//! Client tests against the Google emulator.
