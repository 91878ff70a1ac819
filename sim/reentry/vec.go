package reentry

import (
	"math"

	"github.com/reckon-ml/reckon/physics"
)

type vec3 [3]float64

func (a vec3) add(b vec3) vec3             { return vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func (a vec3) sub(b vec3) vec3             { return vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec3) scale(s float64) vec3        { return vec3{a[0] * s, a[1] * s, a[2] * s} }
func (a vec3) axpy(s float64, b vec3) vec3 { return vec3{a[0] + s*b[0], a[1] + s*b[1], a[2] + s*b[2]} }
func (a vec3) dot(b vec3) float64          { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec3) norm() float64               { return math.Sqrt(a.dot(a)) }
func (a vec3) cross(b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec3) unit() vec3 { return a.scale(1 / a.norm()) }

// geocentric turns an ENU position (origin on the sphere at launch) into a
// vector from the Earth's centre.
func geocentric(p vec3) vec3 { return physics.Geocentric(p) }

// altitudeOf is physics.Altitude of an ENU position.
func altitudeOf(p vec3) float64 { return physics.Altitude(p[0], p[1], p[2]) }
