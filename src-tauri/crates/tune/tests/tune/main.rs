//! Integration tests of the tuning maths against cases whose answer is known: analytic
//! step responses, discrete systems with exact frequency responses, analytic margins and
//! a relay on a known plant.

mod closed_loop;
mod frf;
mod margins;
mod relay;
mod sim;
mod step;
