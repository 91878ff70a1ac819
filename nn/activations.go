package nn

import (
	"math/rand/v2"
)

// ReLU is max(0, x), elementwise.
type ReLU struct{ mask []bool }

func (a *ReLU) Forward(x []float32) []float32 {
	y := make([]float32, len(x))
	a.mask = make([]bool, len(x))
	for i, v := range x {
		if v > 0 {
			y[i], a.mask[i] = v, true
		}
	}
	return y
}

func (a *ReLU) Backward(dy []float32) []float32 {
	dx := make([]float32, len(dy))
	for i, on := range a.mask {
		if on {
			dx[i] = dy[i]
		}
	}
	return dx
}

// Tanh is tanh(x), elementwise.
type Tanh struct{ y []float32 }

func (a *Tanh) Forward(x []float32) []float32 {
	a.y = make([]float32, len(x))
	tanhSlice(a.y, x)
	return a.y
}

func (a *Tanh) Backward(dy []float32) []float32 {
	dx := make([]float32, len(dy))
	for i, y := range a.y {
		dx[i] = dy[i] * (1 - y*y)
	}
	return dx
}

// Sigmoid is 1/(1+e^-x), elementwise.
type Sigmoid struct{ y []float32 }

func (a *Sigmoid) Forward(x []float32) []float32 {
	a.y = make([]float32, len(x))
	sigmoidSlice(a.y, x)
	return a.y
}

func (a *Sigmoid) Backward(dy []float32) []float32 {
	dx := make([]float32, len(dy))
	for i, y := range a.y {
		dx[i] = dy[i] * y * (1 - y)
	}
	return dx
}

// Dropout zeroes each value with probability P in training and scales the
// rest by 1/(1-P) (inverted dropout), so evaluation is the identity. Each
// replica draws from its own seeded generator.
type Dropout struct {
	P        float64
	Training bool
	R        *rand.Rand
	mask     []float32
}

func (d *Dropout) Forward(x []float32) []float32 {
	if !d.Training || d.P == 0 {
		d.mask = nil
		return x
	}
	y := make([]float32, len(x))
	d.mask = make([]float32, len(x))
	keep := float32(1 / (1 - d.P))
	for i, v := range x {
		if d.R.Float64() >= d.P {
			d.mask[i] = keep
			y[i] = v * keep
		}
	}
	return y
}

func (d *Dropout) Backward(dy []float32) []float32 {
	if d.mask == nil {
		return dy
	}
	dx := make([]float32, len(dy))
	for i, m := range d.mask {
		dx[i] = dy[i] * m
	}
	return dx
}
