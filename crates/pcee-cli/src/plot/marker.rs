//! Point markers, so that every curve is told apart by its shape and not by colour alone.

use pcee::Method;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

/// A marker shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A filled circle.
    Circle,
    /// A filled triangle.
    Triangle,
    /// A hollow square.
    Square,
    /// A cross (×).
    Cross,
}

/// The marker of a method in every figure.
pub fn method_marker(method: Method) -> Marker {
    match method {
        Method::Pcee => Marker::Circle,
        Method::Confidence => Marker::Triangle,
        Method::PceeWs | Method::PceeLcb => Marker::Square,
        Method::Oracle | Method::MsdnetBudget => Marker::Cross,
    }
}

/// `marker` in `color` at `at` (a data point or, in a composed element, a pixel offset),
/// `size` pixels across.
pub struct Mark<C> {
    at: C,
    marker: Marker,
    size: i32,
    color: RGBColor,
}

/// A [`Mark`] of `marker` in `color`, `size` pixels across, at `at`.
pub fn element<C>(marker: Marker, at: C, size: i32, color: RGBColor) -> Mark<C> {
    Mark {
        at,
        marker,
        size,
        color,
    }
}

impl<'a, C: 'a> PointCollection<'a, C> for &'a Mark<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for Mark<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else {
            return Ok(());
        };
        let h = self.size / 2;
        let (filled, stroke) = (self.color.filled(), self.color.stroke_width(2));
        match self.marker {
            Marker::Circle => backend.draw_circle((x, y), h as u32, &filled, true),
            Marker::Triangle => {
                let corners = [(x, y - h - 1), (x - h - 1, y + h), (x + h + 1, y + h)];
                backend.fill_polygon(corners, &filled)
            }
            Marker::Square => backend.draw_rect((x - h, y - h), (x + h, y + h), &stroke, false),
            Marker::Cross => {
                backend.draw_line((x - h, y - h), (x + h, y + h), &stroke)?;
                backend.draw_line((x - h, y + h), (x + h, y - h), &stroke)
            }
        }
    }
}
