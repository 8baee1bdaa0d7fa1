//! The profile generator servo firmwares share: a reference that moves toward a goal
//! position within a speed and an acceleration (a trapezoid, a triangle on a short move,
//! a rectangle with infinite acceleration, a step with infinite speed), or toward a goal
//! velocity within an acceleration. The DYNAMIXEL X (Profile Velocity/Acceleration) and
//! Feetech (Goal Speed/Acceleration) families feed their loops from it. Jerk limits are
//! not modelled.

/// The reference a profile generates: position, velocity and acceleration.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Trajectory {
    /// rad.
    pub position: f64,
    /// rad/s.
    pub velocity: f64,
    /// rad/s² over the last step.
    pub acceleration: f64,
}

impl Trajectory {
    /// At rest at `position`.
    pub fn at(position: f64) -> Trajectory {
        Trajectory {
            position,
            ..Trajectory::default()
        }
    }

    /// One step of `dt` toward `goal` at no more than `speed` and `acceleration` (either
    /// infinite: unlimited); it arrives without overshooting and then rests.
    pub fn toward_position(&mut self, goal: f64, speed: f64, acceleration: f64, dt: f64) {
        let before = self.velocity;
        let left = goal - self.position;
        if speed.is_infinite() {
            self.position = goal;
            self.velocity = 0.0;
        } else {
            // Arrive, not overshoot: no faster than the acceleration can stop in `left`.
            let stop = (2.0 * acceleration * left.abs()).sqrt();
            let wanted = speed.min(stop).copysign(left);
            let step = acceleration * dt;
            let velocity = before + (wanted - before).clamp(-step, step);
            if left == 0.0 || left.abs() <= velocity.abs() * dt {
                self.position = goal;
                self.velocity = 0.0;
            } else {
                self.position += velocity * dt;
                self.velocity = velocity;
            }
        }
        self.acceleration = if dt > 0.0 {
            (self.velocity - before) / dt
        } else {
            0.0
        };
    }

    /// One step of `dt` toward the velocity `goal` at no more than `acceleration`.
    pub fn toward_velocity(&mut self, goal: f64, acceleration: f64, dt: f64) {
        let before = self.velocity;
        let step = acceleration * dt;
        self.velocity += (goal - before).clamp(-step, step);
        self.position += self.velocity * dt;
        self.acceleration = if dt > 0.0 {
            (self.velocity - before) / dt
        } else {
            0.0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trapezoid_cruises_at_the_speed_and_lands_on_the_goal() {
        let mut t = Trajectory::at(0.0);
        let dt = 0.001;
        let mut fastest = 0.0f64;
        for _ in 0..3000 {
            t.toward_position(2.0, 1.0, 4.0, dt);
            fastest = fastest.max(t.velocity);
            assert!(t.position <= 2.0);
        }
        assert!((fastest - 1.0).abs() < 1e-9);
        assert_eq!(t.position, 2.0);
        assert_eq!(t.velocity, 0.0);
    }

    #[test]
    fn a_short_move_is_a_triangle_and_infinite_speed_a_step() {
        let mut t = Trajectory::at(0.0);
        let mut fastest = 0.0f64;
        for _ in 0..2000 {
            t.toward_position(0.01, 1.0, 4.0, 0.001);
            fastest = fastest.max(t.velocity);
        }
        // v_peak = √(a·d) = 0.2 rad/s, below the 1 rad/s limit.
        assert!(fastest < 0.25, "{fastest}");
        assert_eq!(t.position, 0.01);
        t.toward_position(-1.0, f64::INFINITY, 4.0, 0.001);
        assert_eq!(t.position, -1.0);
    }

    #[test]
    fn a_velocity_ramp_is_bounded_by_the_acceleration() {
        let mut t = Trajectory::default();
        t.toward_velocity(3.0, 10.0, 0.1);
        assert!((t.velocity - 1.0).abs() < 1e-12);
        t.toward_velocity(3.0, f64::INFINITY, 0.1);
        assert_eq!(t.velocity, 3.0);
    }
}
