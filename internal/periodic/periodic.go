// Package periodic runs a function at a fixed interval on a goroutine of
// its own, for progress lines and checkpoints, until told to stop.
package periodic

import "time"

// Every calls tick every interval until the returned stop function is
// called. stop waits for a tick in progress to finish, so once it returns
// tick is never called again.
func Every(interval time.Duration, tick func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				tick()
			}
		}
	}()
	return func() { close(quit); <-done }
}
