package nn

import (
	"math"

	"github.com/reckon-ml/reckon/sgemm"
)

// The activations' constants, shared with the vector kernels (actK).
const (
	log2e     = 1.4426950408889634
	ln2hi     = 0.693145751953125
	ln2lo     = 1.428606765330187e-06
	expMin    = -87.3 // below it e^x is 0 in float32 (near enough)
	tanhSat   = 9     // beyond ±9, tanh is ±1 in float32
	tanhSmall = 0.01  // within ±0.01, tanh by its series
)

// exp32 is e^x in float32 arithmetic with a relative error under 2e-7 over
// the whole float32 range, about 4x faster than math.Exp. LSTM gates spend
// most of their non-matmul time here.
func exp32(x float32) float32 {
	if x > 88 { // near overflow: rare, let math do the edge
		return float32(math.Exp(float64(x)))
	}
	if x < expMin {
		return 0
	}
	// x = n*ln2 + r, |r| <= ln2/2; e^r by its degree-6 Taylor polynomial.
	// Every step is rounded to float32 on its own (the conversions forbid
	// fusing), which is what the vector kernels do lane by lane.
	n := float32(math.Floor(float64(float32(x*log2e) + 0.5)))
	r := float32(x-float32(n*ln2hi)) - float32(n*ln2lo)
	p := expPoly(r)
	return math.Float32frombits(math.Float32bits(p) + uint32(int32(n))<<23)
}

// expPoly is 1 + r*(1 + r*(1/2 + r*(1/6 + r*(1/24 + r*(1/120 + r/720))))),
// Horner's rule with each product and sum rounded to float32.
func expPoly(r float32) float32 {
	q := float32(r * expC[0])
	for _, c := range expC[1:] {
		q = float32(r * float32(c+q))
	}
	return 1 + q
}

// expC are expPoly's coefficients from the innermost out; the assembly
// reads them from here too.
var expC = [...]float32{1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1}

func sigmoid32(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + exp32(-x))
	}
	e := exp32(x)
	return e / (1 + e)
}

func tanh32(x float32) float32 {
	if x > tanhSat {
		return 1
	}
	if x < -tanhSat {
		return -1
	}
	if x > -tanhSmall && x < tanhSmall { // avoid cancellation near 0
		return x * (1 - x*x/3)
	}
	e := exp32(2 * x)
	return (e - 1) / (e + 1)
}

// sigmoidSlice sets dst[i] = sigmoid32(src[i]); dst may be src.
func sigmoidSlice(dst, src []float32) {
	for i := sigmoidVec(dst, src); i < len(src); i++ {
		dst[i] = sigmoid32(src[i])
	}
}

// tanhSlice sets dst[i] = tanh32(src[i]); dst may be src.
func tanhSlice(dst, src []float32) {
	for i := tanhVec(dst, src); i < len(src); i++ {
		dst[i] = tanh32(src[i])
	}
}

// Offsets into actK.
const (
	kLog2e = iota
	kHalf
	kLn2hi
	kLn2lo
	kOne
	kExpMin
	kTwo
	kThree
	kNine
	kMinusNine
	kMinusOne
	kSmall
	kMinusSmall
	actKLen
)

func actKernelConsts() [actKLen]float32 {
	var k [actKLen]float32
	k[kLog2e], k[kHalf], k[kLn2hi], k[kLn2lo] = log2e, 0.5, ln2hi, ln2lo
	k[kOne], k[kExpMin], k[kTwo], k[kThree] = 1, expMin, 2, 3
	k[kNine], k[kMinusNine], k[kMinusOne] = tanhSat, -tanhSat, -1
	k[kSmall], k[kMinusSmall] = tanhSmall, -tanhSmall
	return k
}

// UsePortable runs every matrix product and activation on the Go code
// paths (on) or on the fastest the CPU has (off). Both give the same bits,
// so a model trained with a seed is the same file on any CPU; tests use
// this to check it on one machine. Not safe to call while a net trains.
func UsePortable(on bool) {
	sgemm.UsePortable(on)
	useAVX2 = !on && hasAVX2
}
