package physics_test

import (
	"fmt"

	"github.com/reckon-ml/reckon/physics"
)

func Example() {
	// 80 km above the launch point, and 100 km downrange at the same z:
	// the sphere curves away, so the second point is higher.
	fmt.Printf("%.0f m\n", physics.Altitude(0, 0, 80e3))
	fmt.Printf("%.0f m\n", physics.Altitude(100e3, 0, 80e3))
	// Air at 80 km (US-1976: 1.846e-5 kg/m^3) and the drag of a 500 kg/m^2
	// body at 6 km/s: rho v^2 / (2 beta) = 0.664 m/s^2, in g.
	rho := physics.Density(80e3)
	fmt.Printf("%.4g kg/m^3, %.4f g\n", rho, physics.Drag(rho, 6000, 500)/physics.G0)
	// Output:
	// 80000 m
	// 80775 m
	// 1.846e-05 kg/m^3, 0.0678 g
}
