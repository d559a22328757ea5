package auth

// HoldDerivations takes every password derivation slot, as a burst of logins would,
// until release is called.
func HoldDerivations() (release func()) {
	for range cap(deriving) {
		deriving <- struct{}{}
	}
	return func() {
		for range cap(deriving) {
			<-deriving
		}
	}
}
