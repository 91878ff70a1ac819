package reentry

import (
	"context"
	"fmt"
	"sync"
)

// Generate produces the tracks of flights start..Count-1 in index order,
// calling emit once per flight from the calling goroutine. Flights are
// integrated in parallel on cfg.Workers goroutines; the order and bytes of
// what is emitted do not depend on that number, nor on start (every flight
// has its own random streams), which is what makes resuming exact. progress,
// when not nil, is called after each emitted flight with the number of
// flights done so far, counting from 0.
func Generate(ctx context.Context, cfg Config, start int, emit func([]Track) error, progress func(done int)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if start < 0 || start > cfg.Count {
		return fmt.Errorf("start %d outside [0, %d]", start, cfg.Count)
	}
	workers := max(cfg.Workers, 1)
	window := 4 * workers // flights in flight at most: bounds memory for huge counts

	type result struct {
		tracks []Track
		err    error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One buffered slot per window position; slot i%window is reused only
	// after flight i has been emitted, which the semaphore guarantees.
	slots := make([]chan result, window)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ts, err := generateFlight(&cfg, i)
				slots[i%window] <- result{ts, err}
			}
		}()
	}
	defer wg.Wait()

	// feed hands out indices but never more than window ahead of the emitter.
	sem := make(chan struct{}, window)
	go func() {
		defer close(next)
		for i := start; i < cfg.Count; i++ {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	for i := start; i < cfg.Count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var r result
		select {
		case r = <-slots[i%window]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-sem
		if r.err != nil {
			return r.err
		}
		if err := emit(r.tracks); err != nil {
			return fmt.Errorf("track %d: %w", i, err)
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return nil
}
