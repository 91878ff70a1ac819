// Package nn is reckon's float32 neural-network core: layers with
// hand-written forward and backward passes, losses and optimisers.
//
// Layers own their parameters (Param: weights W and gradient G) and cache
// what their backward pass needs during Forward, so one layer value serves
// one forward/backward at a time. Data-parallel training gives each worker
// a replica (Replicate) whose weights share the master's memory but whose
// gradients are its own; the master sums the replicas' gradients in replica
// order, so a run is bit-for-bit repeatable for a given seed and worker
// count.
//
// Sequences are time-major: a batch of B sequences of T steps with F
// features is one []float32 of T*B*F values, step t of sequence b at
// (t*B+b)*F. Every layer's backward pass is checked against finite
// differences in the tests.
package nn
