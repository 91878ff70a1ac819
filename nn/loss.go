package nn

import "fmt"

// MSE returns mean((pred-target)^2) over n predictions and writes
// dL/dpred into grad. scale multiplies the gradient: a worker that holds
// part of a batch passes its share so the replicas' gradients sum to the
// batch gradient.
func MSE(pred, target, grad []float32, scale float32) float64 {
	if len(pred) != len(target) || len(grad) != len(pred) {
		panic(fmt.Sprintf("nn: MSE lengths %d, %d, %d", len(pred), len(target), len(grad)))
	}
	var s float64
	n := float32(len(pred))
	for i, p := range pred {
		d := p - target[i]
		s += float64(d) * float64(d)
		grad[i] = 2 * d / n * scale
	}
	return s / float64(len(pred))
}
