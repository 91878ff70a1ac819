package nn

import "math"

// Adam is Adam/AdamW with PyTorch's defaults and bias correction.
// WeightDecay > 0 gives AdamW's decoupled decay.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64

	step int
	m, v [][]float32
}

// NewAdam returns Adam with betas (0.9, 0.999) and eps 1e-8.
func NewAdam(lr float64) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Step updates params from their gradients.
func (a *Adam) Step(params []*Param) {
	if a.m == nil {
		a.m = make([][]float32, len(params))
		a.v = make([][]float32, len(params))
		for i, p := range params {
			a.m[i] = make([]float32, len(p.W))
			a.v[i] = make([]float32, len(p.W))
		}
	}
	a.step++
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	c1 := 1 - math.Pow(a.Beta1, float64(a.step))
	c2 := 1 - math.Pow(a.Beta2, float64(a.step))
	lr := float32(a.LR / c1)
	sqc2 := float32(math.Sqrt(c2))
	eps := float32(a.Eps)
	decay := float32(1 - a.LR*a.WeightDecay)
	for i, p := range params {
		m, v := a.m[i], a.v[i]
		for j, g := range p.G {
			m[j] = b1*m[j] + (1-b1)*g
			v[j] = b2*v[j] + (1-b2)*g*g
			w := p.W[j]
			if a.WeightDecay != 0 {
				w *= decay
			}
			p.W[j] = w - lr*m[j]/(float32(math.Sqrt(float64(v[j])))/sqc2+eps)
		}
	}
}

// AdamState is the optimiser's memory, for checkpoints.
type AdamState struct {
	Step int
	M, V [][]float32
}

// State returns a deep copy of the optimiser's memory.
func (a *Adam) State() AdamState {
	s := AdamState{Step: a.step}
	for i := range a.m {
		s.M = append(s.M, append([]float32(nil), a.m[i]...))
		s.V = append(s.V, append([]float32(nil), a.v[i]...))
	}
	return s
}

// SetState restores memory saved by State.
func (a *Adam) SetState(s AdamState) {
	a.step = s.Step
	a.m, a.v = nil, nil
	for i := range s.M {
		a.m = append(a.m, append([]float32(nil), s.M[i]...))
		a.v = append(a.v, append([]float32(nil), s.V[i]...))
	}
}
