package nn

import (
	"fmt"
	"math"
)

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

// Huber returns the mean Huber loss with threshold delta (quadratic within
// delta, linear beyond) and writes dL/dpred times scale into grad.
func Huber(pred, target, grad []float32, delta, scale float32) float64 {
	if len(pred) != len(target) || len(grad) != len(pred) {
		panic(fmt.Sprintf("nn: Huber lengths %d, %d, %d", len(pred), len(target), len(grad)))
	}
	var s float64
	n := float32(len(pred))
	for i, p := range pred {
		d := p - target[i]
		switch {
		case d > delta:
			s += float64(delta * (d - delta/2))
			grad[i] = delta / n * scale
		case d < -delta:
			s += float64(delta * (-d - delta/2))
			grad[i] = -delta / n * scale
		default:
			s += float64(d * d / 2)
			grad[i] = d / n * scale
		}
	}
	return s / float64(len(pred))
}

// SoftmaxOverTime treats logits (T*B, time-major) as B distributions over
// the T steps, returns the mean cross-entropy against target (same layout,
// each sequence's column summing to 1) and writes dL/dlogits times scale
// into grad. probs receives the softmax.
func SoftmaxOverTime(logits, target, grad, probs []float32, T, B int, scale float32) float64 {
	var loss float64
	for b := range B {
		mx := logits[b]
		for t := 1; t < T; t++ {
			mx = max(mx, logits[t*B+b])
		}
		var z float64
		for t := range T {
			z += math.Exp(float64(logits[t*B+b] - mx))
		}
		lz := math.Log(z)
		for t := range T {
			i := t*B + b
			lp := float64(logits[i]-mx) - lz
			probs[i] = float32(math.Exp(lp))
			if target[i] != 0 {
				loss -= float64(target[i]) * lp
			}
			grad[i] = (probs[i] - target[i]) / float32(B) * scale
		}
	}
	return loss / float64(B)
}

// BCEWithLogits is the weighted mean binary cross-entropy of logits z
// against labels y in {0, 1}, computed stably as max(z,0) - z*y +
// log(1+e^-|z|); posWeight multiplies the positive class's term (as in
// PyTorch's pos_weight). Gradients times scale go to grad.
func BCEWithLogits(z, y, grad []float32, posWeight float64, scale float32) float64 {
	var s, wsum float64
	for i, zi := range z {
		w := 1.0
		if y[i] == 1 {
			w = posWeight
		}
		wsum += w
		zz, yy := float64(zi), float64(y[i])
		s += w * (math.Max(zz, 0) - zz*yy + math.Log1p(math.Exp(-math.Abs(zz))))
		p := 1 / (1 + math.Exp(-zz))
		grad[i] = float32(w*(p-yy)) * scale
	}
	for i := range grad {
		grad[i] /= float32(wsum)
	}
	return s / wsum
}

// SoftmaxCE is the weighted mean cross-entropy of rows of logits (rows×k)
// against class indices, with per-class weights (nil: all 1), normalised by
// the total weight as PyTorch's CrossEntropyLoss does.
func SoftmaxCE(logits []float32, rows, k int, class []int, weights []float64, grad []float32, scale float32) float64 {
	var s, wsum float64
	for r := range rows {
		z := logits[r*k : (r+1)*k]
		mx := z[0]
		for _, v := range z[1:] {
			mx = max(mx, v)
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(float64(v - mx))
		}
		w := 1.0
		if weights != nil {
			w = weights[class[r]]
		}
		wsum += w
		s -= w * (float64(z[class[r]]-mx) - math.Log(sum))
		for j, v := range z {
			p := math.Exp(float64(v-mx)) / sum
			if j == class[r] {
				p--
			}
			grad[r*k+j] = float32(w*p) * scale
		}
	}
	for i := range grad {
		grad[i] /= float32(wsum)
	}
	return s / wsum
}
