package diff

// SetInMemoryShare sets the share of the memory budget within which a
// pair of values is compared in memory (see elements.go), and returns a
// function that restores it.
func SetInMemoryShare(n int64) func() {
	old := inMemoryShare
	inMemoryShare = n
	return func() { inMemoryShare = old }
}
